import * as net from 'net';
import { performance } from 'perf_hooks';
import { NEVER, Subject } from 'rxjs';
import { PermitBackendError, PermitLostError, usingLease, type Lease } from '../../src/index.js';
import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import {
  command,
  libraries,
  nextTick,
  redisUrl,
  startRedisServer,
  uniqueKey,
  type ClientLibrary,
  type RedisServer,
} from './redis-helpers.js';
import { Child, forkChild } from './children.js';

// Faults against a real redis-server (Node only), each coordinated by events and messages, never by
// sleeps: a holder killed with SIGKILL, a holder stopped past its lease (SIGSTOP, SIGCONT), the
// subscriber connections killed, the server paused (CLIENT PAUSE), a network that blackholes and
// comes back (a TCP proxy in the test), a server restarted without persistence. Holders in other
// processes are children (child_process.fork of redis-child.ts).

const LEASE_MS = 900;
/** Per spec: forking a child that compiles TypeScript takes seconds on a loaded machine. */
const SPEC_TIMEOUT_MS = 30_000;
/** Scheduling slack on a loaded machine, on top of the bounds the SPEC gives. */
const SLACK_MS = 400;

/** A resource that refuses a write whose fencing token is lower than one it accepted before. */
class FencingStore {
  private highest = -Infinity;
  write(token: number): boolean {
    if (token < this.highest) return false;
    this.highest = token;
    return true;
  }
}

/**
 * A TCP proxy to a Redis server that can blackhole the traffic (hold every byte, both ways, as a
 * partitioned network does while TCP retransmits) and restore it (deliver what it held, in order).
 */
class BlackholeProxy {
  private readonly server = net.createServer((client) => this.connect(client));
  private readonly sockets = new Set<net.Socket>();
  private readonly held: Array<() => void> = [];
  private blackholed = false;
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `redis://127.0.0.1:${this.port}`;
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const forward = (to: net.Socket) => (chunk: Buffer) => {
      if (this.blackholed) this.held.push(() => to.write(chunk));
      else to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
  }

  blackhole(): void {
    this.blackholed = true;
  }

  restore(): void {
    this.blackholed = false;
    for (const deliver of this.held.splice(0)) deliver();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A TCP proxy to a Redis server that can drop its subscriber connections (those that sent
 * SUBSCRIBE), and hold the server's answer to the INFO of the next connection (ioredis's ready
 * check, the last step of its handshake) until the client closes its side: the answer arrives
 * after the close, as a slow server's does.
 */
class ReadyCheckProxy {
  private readonly server = net.createServer({ allowHalfOpen: true }, (client) => this.connect(client));
  private readonly sockets = new Set<net.Socket>();
  private readonly subscribers = new Set<net.Socket>();
  private holdNext: (() => void) | null = null;
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Resolves when a connection sent INFO; its answer is held until the client closes its side. */
  holdNextReadyCheck(): Promise<void> {
    return new Promise((resolve) => (this.holdNext = resolve));
  }

  /** Closes the connections that subscribed (their clients reconnect). */
  dropSubscribers(): void {
    for (const socket of this.subscribers) socket.destroy();
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect({ port: this.target, host: '127.0.0.1', allowHalfOpen: true });
    let held: Buffer[] | null = null;
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.subscribers.delete(client);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (/\r\nsubscribe\r\n/i.test(text)) this.subscribers.add(client);
      if (this.holdNext !== null && /\r\ninfo\r\n/i.test(text)) {
        held = [];
        this.holdNext();
        this.holdNext = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (held) held.push(chunk);
      else client.write(chunk);
    });
    client.on('end', () => {
      for (const chunk of held?.splice(0) ?? []) client.write(chunk);
      held = null;
      client.end();
      upstream.end();
    });
    upstream.on('end', () => client.end());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Holds a lease with a stream that runs until `stop` emits; reports the grant and the loss. */
function hold(semaphore: RedisSemaphore): {
  granted: Promise<Lease>;
  lost: Promise<{ error: unknown; at: number }>;
  stop: Subject<void>;
} {
  const stop = new Subject<void>();
  let grant!: (lease: Lease) => void;
  let lose!: (loss: { error: unknown; at: number }) => void;
  const granted = new Promise<Lease>((resolve) => (grant = resolve));
  const lost = new Promise<{ error: unknown; at: number }>((resolve) => (lose = resolve));
  usingLease(semaphore, (lease) => {
    grant(lease);
    return stop;
  }).subscribe({ error: (error: unknown) => lose({ error, at: performance.now() }) });
  return { granted, lost, stop };
}

function describeFaults(library: ClientLibrary): void {
  describe(`RedisSemaphore faults over ${library.name}`, () => {
    let defaultTimeout: number;
    beforeAll(() => {
      defaultTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
      jasmine.DEFAULT_TIMEOUT_INTERVAL = SPEC_TIMEOUT_MS;
    });
    afterAll(() => {
      jasmine.DEFAULT_TIMEOUT_INTERVAL = defaultTimeout;
    });

    let url: string;
    let clients: RedisClient[];
    let semaphores: RedisSemaphore[];
    let children: Child[];

    beforeAll(async () => {
      url = await redisUrl();
    });

    beforeEach(() => {
      clients = [];
      semaphores = [];
      children = [];
    });

    afterEach(async () => {
      for (const child of children) {
        if (child.process.exitCode === null && child.process.signalCode === null) {
          child.process.kill('SIGCONT');
          child.process.kill('SIGKILL');
        }
        await child.exited;
      }
      for (const semaphore of semaphores) await semaphore.close().catch(() => {});
      for (const client of clients) await library.close(client);
    });

    async function connect(at = url): Promise<RedisClient> {
      const client = await library.connect(at);
      clients.push(client);
      return client;
    }

    async function make(key: string, client?: RedisClient, leaseMs = LEASE_MS): Promise<RedisSemaphore> {
      const semaphore = new RedisSemaphore(client ?? (await connect()), key, { permits: 1, leaseMs });
      semaphores.push(semaphore);
      return semaphore;
    }

    async function childHolding(key: string): Promise<{ child: Child; token: number }> {
      const child = forkChild('redis-child.ts');
      children.push(child);
      child.send({ cmd: 'start', url, key, permits: 1, leaseMs: LEASE_MS, library: library.name });
      await child.next('ready');
      child.send({ cmd: 'hold' });
      const { token } = await child.next('granted');
      return { child, token: token! };
    }

    it('kill -9 of a holder: a waiter in another process is granted within leaseMs*4/3, with a higher token', async () => {
      const key = uniqueKey('kill');
      const { child, token } = await childHolding(key);
      const waiter = await make(key);
      const granted = waiter.lease();
      const killedAt = performance.now();
      child.process.kill('SIGKILL');
      await child.exited;
      const lease = await granted;
      const waited = performance.now() - killedAt;
      expect(lease.token).toBeGreaterThan(token);
      expect(waited).toBeLessThan((LEASE_MS * 4) / 3 + SLACK_MS);
      lease.release();
    });

    it('SIGSTOP past the lease, then SIGCONT: the holder errors with PermitLostError and the fencing store refuses its write', async () => {
      const key = uniqueKey('stop');
      const store = new FencingStore();
      const { child, token } = await childHolding(key);
      expect(store.write(token)).toBe(true);
      const waiter = await make(key);
      const granted = waiter.lease();
      child.process.kill('SIGSTOP');
      const lease = await granted; // only once the stopped holder's lease ended on the server
      expect(lease.token).toBeGreaterThan(token);
      expect(store.write(lease.token)).toBe(true);
      child.process.kill('SIGCONT');
      const lost = await child.next('lost');
      expect(lost).toEqual(jasmine.objectContaining({ name: 'PermitLostError', regrantable: true, token }));
      child.send({ cmd: 'write' });
      const write = await child.next('write');
      expect(write.lost).toBe(true);
      expect(store.write(write.token!)).toBe(false);
      lease.release();
    });

    it('CLIENT KILL TYPE pubsub: a waiter is still granted within one heartbeat of the release', async () => {
      const key = uniqueKey('pubsub');
      const holder = await make(key);
      const waiter = await make(key);
      const admin = await connect();
      const held = await holder.lease();
      const granted = waiter.lease();
      await waiter.lease({ timeout: 0, priority: Number.MIN_SAFE_INTEGER }).catch(() => undefined);
      expect(waiter.waiting).toBe(1);
      await command(admin, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      const releasedAt = performance.now();
      held.release();
      const lease = await granted;
      expect(performance.now() - releasedAt).toBeLessThan(LEASE_MS / 3 + SLACK_MS);
      lease.release();
    });

    it('CLIENT PAUSE shorter than the lease: nothing is lost, the waiter is served after the pause', async () => {
      const key = uniqueKey('pause');
      const holder = hold(await make(key));
      await holder.granted;
      const waiter = await make(key);
      const admin = await connect();
      const granted = waiter.lease();
      await command(admin, ['CLIENT', 'PAUSE', String(LEASE_MS / 4), 'ALL']);
      holder.stop.complete(); // released while the server is paused
      const lease = await granted;
      lease.release();
      const outcome = await Promise.race([holder.lost.then(() => 'lost'), Promise.resolve('kept')]);
      expect(outcome).toBe('kept');
    });

    it('CLIENT PAUSE longer than the lease: the holder learns it lost the lease before the waiter is granted', async () => {
      const key = uniqueKey('longpause');
      const holder = hold(await make(key));
      await holder.granted;
      const waiter = await make(key);
      const admin = await connect();
      const granted = waiter.lease().then((lease) => ({ lease, at: performance.now() }));
      await command(admin, ['CLIENT', 'PAUSE', String(LEASE_MS * 2), 'ALL']);
      const lost = await holder.lost;
      expect(lost.error).toBeInstanceOf(PermitLostError);
      expect((lost.error as PermitLostError).regrantable).toBe(true);
      const { lease, at } = await granted;
      expect(lost.at).toBeLessThan(at);
      lease.release();
    });

    it('a network that blackholes, then comes back: PermitLostError before anyone else is granted; the holder recovers', async () => {
      const key = uniqueKey('blackhole');
      const target = Number(new URL(url).port);
      const proxy = new BlackholeProxy(target);
      const proxied = await proxy.start();
      let far: RedisSemaphore | undefined;
      try {
        far = await make(key, await connect(proxied));
        const holder = hold(far);
        await holder.granted;
        const waiter = await make(key);
        const granted = waiter.lease().then((lease) => ({ lease, at: performance.now() }));
        proxy.blackhole();
        const lost = await holder.lost;
        expect(lost.error).toBeInstanceOf(PermitLostError);
        const { lease, at } = await granted;
        expect(lost.at).toBeLessThan(at);
        proxy.restore();
        const again = far.lease();
        lease.release();
        (await again).release();
        await far.close();
      } finally {
        await proxy.close();
      }
    });

    if (library.name === 'ioredis') {
      // ioredis resubscribes on its own once a reconnection is ready; closed during that
      // reconnection's handshake, its SUBSCRIBE went out after the close and was rejected with
      // nobody listening: an unhandled rejection in the user's process.
      it('closed while its subscriber connection reconnects: no unhandled rejection', async () => {
        const proxy = new ReadyCheckProxy(Number(new URL(url).port));
        const proxied = await proxy.start();
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          const semaphore = await make(uniqueKey('reconnecting'), await connect(proxied));
          (await semaphore.lease()).release(); // registered: its subscriber connection subscribed
          const readyCheck = proxy.holdNextReadyCheck();
          proxy.dropSubscribers();
          await readyCheck; // the subscriber reconnects; its ready check waits for its answer
          await semaphore.close(); // the answer comes after the close
          await nextTick(); // unhandled rejections are reported once the microtasks ran
          expect(unhandled).toEqual([]);
        } finally {
          process.off('unhandledRejection', onUnhandled);
          await proxy.close();
        }
      });
    }
  });
}

describe('RedisSemaphore after a redis-server restart without persistence', () => {
  let server: RedisServer;
  let defaultTimeout: number;
  beforeAll(() => {
    defaultTimeout = jasmine.DEFAULT_TIMEOUT_INTERVAL;
    jasmine.DEFAULT_TIMEOUT_INTERVAL = SPEC_TIMEOUT_MS;
  });
  afterAll(() => {
    jasmine.DEFAULT_TIMEOUT_INTERVAL = defaultTimeout;
  });
  const clients: RedisClient[] = [];
  const semaphores: RedisSemaphore[] = [];

  afterAll(async () => {
    for (const semaphore of semaphores) await semaphore.close().catch(() => {});
    for (const client of clients) await libraries[0]!.close(client);
    await server?.stop();
  });

  for (const library of libraries) {
    it(`detects the lost state over ${library.name}: holders get PermitLostError, waiters PermitBackendError`, async () => {
      server = await startRedisServer();
      const key = uniqueKey('restart');
      const connect = async () => {
        const client = await library.connect(server.url);
        clients.push(client);
        const semaphore = new RedisSemaphore(client, key, { permits: 1, leaseMs: LEASE_MS });
        semaphores.push(semaphore);
        return semaphore;
      };
      const a = await connect();
      const b = await connect();
      const holder = hold(a);
      const first = await holder.granted;
      const waiting = b.lease().catch((error: unknown) => error);
      await b.lease({ timeout: 0, priority: Number.MIN_SAFE_INTEGER }).catch(() => undefined);
      await server.stop();
      server = await startRedisServer(server.port);
      const lost = await holder.lost;
      expect(lost.error).toBeInstanceOf(PermitLostError);
      expect(first.signal.aborted).withContext("the lease's signal tells its holder").toBe(true);
      expect(first.signal.reason).toBe(lost.error);
      expect(await waiting).toBeInstanceOf(PermitBackendError);
      const next = await b.lease();
      expect(next.token).toBeGreaterThan(first.token);
      next.release();
      for (const semaphore of semaphores.splice(0)) await semaphore.close().catch(() => {});
      for (const client of clients.splice(0)) await library.close(client);
      await server.stop();
    });
  }
});

void NEVER;
for (const library of libraries) describeFaults(library);

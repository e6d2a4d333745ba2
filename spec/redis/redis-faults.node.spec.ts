import * as net from 'net';
import { performance } from 'perf_hooks';
import { NEVER, Subject, filter, firstValueFrom } from 'rxjs';
import { PermitBackendError, PermitLostError, usingLease, type Lease } from '../../src/index.js';
import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import { SCRIPTS } from '../../src/redis/scripts.js';
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
 * A TCP proxy to a Redis server on 127.0.0.1: listens on a free port, pairs each client with a
 * connection of its own to the server (either side closing closes both), and closes everything.
 * Subclasses say what passes between the two.
 */
abstract class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    protected readonly target: number,
    options: net.ServerOpts = {},
  ) {
    this.server = net.createServer(options, (client) => this.connect(client));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return `redis://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Tracks a client and its upstream; when either closes, `closed` runs and both are destroyed. */
  protected pair(client: net.Socket, upstream: net.Socket, closed: () => void = () => {}): void {
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        closed();
        client.destroy();
        upstream.destroy();
      });
    }
  }

  protected abstract connect(client: net.Socket): void;
}

/**
 * A TCP proxy to a Redis server that can blackhole the traffic (hold every byte, both ways, as a
 * partitioned network does while TCP retransmits) and restore it (deliver what it held, in order).
 */
class BlackholeProxy extends TcpProxy {
  private readonly held: Array<() => void> = [];
  private blackholed = false;

  protected connect(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    this.pair(client, upstream);
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
}

/**
 * A TCP proxy to a Redis server that can drop its subscriber connections (those that sent
 * SUBSCRIBE), and hold the server's answers on the next connection that sends a given request,
 * from that request on, until told or until the client closes its side (the answers then arrive
 * after the close, as a slow server's do). It also tells when a client sent a given request.
 */
class HoldingProxy extends TcpProxy {
  private readonly subscribers = new Set<net.Socket>();
  private hold: { pattern: string; resolve: () => void } | null = null;
  private readonly watches: Array<{ pattern: string; resolve: () => void; answered: boolean }> = [];
  private readonly deliveries = new Set<() => void>();

  constructor(target: number) {
    super(target, { allowHalfOpen: true });
  }

  /** Resolves when a connection sent `pattern` (raw RESP); its answers are held from then on. */
  holdAnswersAfter(pattern: string): Promise<void> {
    return new Promise((resolve) => (this.hold = { pattern: pattern.toLowerCase(), resolve }));
  }

  /** Resolves when a client sends `pattern` (raw RESP) next. */
  sent(pattern: string): Promise<void> {
    return this.watch(pattern, false);
  }

  /** Resolves when a client sends `pattern` (raw RESP) next, once the answer after it passed. */
  answered(pattern: string): Promise<void> {
    return this.watch(pattern, true);
  }

  private watch(pattern: string, answered: boolean): Promise<void> {
    return new Promise((resolve) => this.watches.push({ pattern: pattern.toLowerCase(), resolve, answered }));
  }

  /** Delivers the held answers, in order, and holds no more. */
  deliver(): void {
    for (const deliver of [...this.deliveries]) deliver();
  }

  /** Closes the connections that subscribed (their clients reconnect). */
  dropSubscribers(): void {
    for (const socket of this.subscribers) socket.destroy();
  }

  protected connect(client: net.Socket): void {
    const upstream = net.connect({ port: this.target, host: '127.0.0.1', allowHalfOpen: true });
    let held: Buffer[] | null = null;
    const answered: Array<() => void> = [];
    const deliver = () => {
      for (const chunk of held?.splice(0) ?? []) client.write(chunk);
      held = null;
      this.deliveries.delete(deliver);
    };
    this.pair(client, upstream, () => {
      this.subscribers.delete(client);
      this.deliveries.delete(deliver);
    });
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1').toLowerCase();
      if (text.includes('\r\nsubscribe\r\n')) this.subscribers.add(client);
      if (this.hold !== null && text.includes(this.hold.pattern)) {
        held = [];
        this.deliveries.add(deliver);
        this.hold.resolve();
        this.hold = null;
      }
      upstream.write(chunk);
      for (const watch of this.watches.filter((w) => text.includes(w.pattern))) {
        this.watches.splice(this.watches.indexOf(watch), 1);
        if (watch.answered) answered.push(watch.resolve);
        else watch.resolve();
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (held) held.push(chunk);
      else client.write(chunk);
      if (!held) for (const resolve of answered.splice(0)) resolve();
    });
    client.on('end', () => {
      deliver();
      client.end();
      upstream.end();
    });
    upstream.on('end', () => client.end());
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

    // After a restart (or SCRIPT FLUSH) an enqueue meets NOSCRIPT and goes again as EVAL: a
    // heartbeat or a withdrawal sent meanwhile (EVALSHA of a script still cached) runs on the
    // server before it. The proxy holds the answers from the enqueue on until that other command
    // was sent; then only the server has seen the two in that order.
    async function enqueueOvertaken(): Promise<{ semaphore: RedisSemaphore; proxy: HoldingProxy }> {
      const proxy = new HoldingProxy(Number(new URL(url).port));
      const semaphore = await make(uniqueKey('noscript'), await connect(await proxy.start()));
      (await semaphore.lease()).release(); // registered, its scripts cached
      await firstValueFrom(semaphore.pipe(filter((value) => value === 1))); // the release answered
      const admin = await connect();
      await command(admin, ['SCRIPT', 'FLUSH']);
      await command(admin, ['SCRIPT', 'LOAD', SCRIPTS.heartbeat.source]);
      await command(admin, ['SCRIPT', 'LOAD', SCRIPTS.release.source]);
      return { semaphore, proxy };
    }

    it('an enqueue sent again as EVAL after NOSCRIPT, passed by a heartbeat: the request is still granted', async () => {
      const { semaphore, proxy } = await enqueueOvertaken();
      try {
        // Held while a heartbeat is on its way, its answer would hold the next heartbeat back.
        await proxy.answered(SCRIPTS.heartbeat.sha); // the next one is a third of the lease away
        const enqueued = proxy.holdAnswersAfter(SCRIPTS.enqueue.sha);
        const heartbeat = proxy.sent(SCRIPTS.heartbeat.sha);
        const granted = semaphore.lease();
        await enqueued; // its NOSCRIPT answer is held
        await heartbeat; // the next heartbeat asks the server about it before it is queued
        proxy.deliver();
        (await granted).release();
      } finally {
        await proxy.close();
      }
    });

    it('an enqueue sent again as EVAL after NOSCRIPT, passed by its withdrawal: the permit is not kept', async () => {
      const { semaphore, proxy } = await enqueueOvertaken();
      try {
        const enqueued = proxy.holdAnswersAfter(SCRIPTS.enqueue.sha);
        const abort = new AbortController();
        const withdrawn = semaphore.lease({ signal: abort.signal }).catch((error: unknown) => error);
        await enqueued; // its NOSCRIPT answer is held
        abort.abort();
        expect(await withdrawn).toBe(abort.signal.reason);
        const taken = firstValueFrom(semaphore.pipe(filter((value) => value === 0)));
        proxy.deliver();
        await taken; // the enqueue sent again took the permit; what this process sent then goes after
        (await semaphore.lease({ timeout: 0 })).release();
      } finally {
        await proxy.close();
      }
    });

    if (library.name === 'ioredis') {
      // ioredis resubscribes on its own once a reconnection is ready; closed during that
      // reconnection's handshake, its SUBSCRIBE went out after the close and was rejected with
      // nobody listening: an unhandled rejection in the user's process.
      it('closed while its subscriber connection reconnects: no unhandled rejection', async () => {
        const proxy = new HoldingProxy(Number(new URL(url).port));
        const proxied = await proxy.start();
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          const semaphore = await make(uniqueKey('reconnecting'), await connect(proxied));
          (await semaphore.lease()).release(); // registered: its subscriber connection subscribed
          const readyCheck = proxy.holdAnswersAfter('\r\ninfo\r\n');
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

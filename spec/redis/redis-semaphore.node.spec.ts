import { defer, firstValueFrom, lastValueFrom, of, timer } from 'rxjs';
import { filter, finalize } from 'rxjs/operators';
import {
  PermitBackendError,
  boundedPermit,
  PermitRejectedError,
  PermitTimeoutError,
  withPermit,
  type Lease,
} from '../../src/index.js';
import { RedisSemaphore, type RedisClient } from '../../src/redis/index.js';
import {
  command,
  ioredis,
  libraries,
  redisUrl,
  startRedisServer,
  uniqueKey,
  type ClientLibrary,
} from './redis-helpers.js';

// RedisSemaphore against the test run's real redis-server (Node only): each spec uses two client
// connections, which the server sees as two processes, on a key of its own; both client libraries.

function describeWith(library: ClientLibrary): void {
  describe(`RedisSemaphore over ${library.name}`, () => {
    let url: string;
    let clients: RedisClient[];
    let semaphores: RedisSemaphore[];

    beforeAll(async () => {
      url = await redisUrl();
    });

    beforeEach(() => {
      clients = [];
      semaphores = [];
    });

    afterEach(async () => {
      for (const semaphore of semaphores) await semaphore.close().catch(() => {});
      for (const client of clients) await library.close(client);
    });

    /** `count` instances on one key, each on a connection of its own. */
    async function make(
      count: number,
      permits: number,
      options: { leaseMs?: number; key?: string } = {},
    ): Promise<RedisSemaphore[]> {
      const key = options.key ?? uniqueKey();
      const made: RedisSemaphore[] = [];
      for (let i = 0; i < count; i++) {
        const client = await library.connect(url);
        clients.push(client);
        const semaphore = new RedisSemaphore(client, key, { permits, leaseMs: options.leaseMs ?? 3000 });
        semaphores.push(semaphore);
        made.push(semaphore);
      }
      return made;
    }

    it('grants a free permit, shows the value taken, and hands it to another process on release', async () => {
      const [a, b] = await make(2, 1);
      const first = await a.lease();
      expect(first.permits).toBe(1);
      expect(a.value).toBe(0);
      const second = b.lease();
      first.release();
      const granted = await second;
      expect(granted.token).toBeGreaterThan(first.token);
      granted.release();
    });

    it('serves requests in order of arrival at Redis, across processes (no barging)', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      const order: string[] = [];
      const queued: Promise<Lease>[] = [];
      // Each request is known to the server before the next one is made: waiting grows one by one.
      let count = 0;
      for (const [name, semaphore] of [
        ['b1', b],
        ['a1', a],
        ['b2', b],
        ['a2', a],
      ] as const) {
        queued.push(
          semaphore.lease().then((lease) => {
            order.push(name);
            lease.release();
            return lease;
          }),
        );
        await waitingReaches(semaphore, ++count);
      }
      holder.release();
      const leases = await Promise.all(queued);
      expect(order).toEqual(['b1', 'a1', 'b2', 'a2']);
      const tokens = leases.map((lease) => lease.token);
      expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
    });

    it('keeps head-of-line order for weighted requests: a small request waits behind a large one', async () => {
      const [a, b] = await make(2, 3);
      const holder = await a.lease({ permits: 2 });
      const order: string[] = [];
      const large = b.lease({ permits: 3 }).then((lease) => {
        order.push('large');
        lease.release();
      });
      await waitingReaches(b, 1);
      const small = a.lease({ permits: 1 }).then((lease) => {
        order.push('small');
        lease.release();
      });
      await waitingReaches(a, 2);
      expect(a.value).toBe(1); // one permit is free, yet the small request waits behind the large
      holder.release();
      await Promise.all([large, small]);
      expect(order).toEqual(['large', 'small']);
    });

    it('serves a higher priority first, FIFO within a priority', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      const order: string[] = [];
      const queue = (semaphore: RedisSemaphore, name: string, priority: number) =>
        semaphore.lease({ priority }).then((lease) => {
          order.push(name);
          lease.release();
        });
      const all = [queue(b, 'low', 0)];
      await waitingReaches(b, 1);
      all.push(queue(a, 'high-1', 5));
      await waitingReaches(a, 2);
      all.push(queue(b, 'high-2', 5));
      await waitingReaches(b, 3);
      holder.release();
      await Promise.all(all);
      expect(order).toEqual(['high-1', 'high-2', 'low']);
    });

    it('times out a queued request (PermitTimeoutError) without consuming a permit', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      await expectAsync(b.lease({ timeout: 50 })).toBeRejectedWithError(PermitTimeoutError);
      holder.release();
      const next = await b.lease();
      expect(next.permits).toBe(1);
      next.release();
      expect((await stats(b)).timedOut).toBe(1);
    });

    it('refuses a now-or-never request when the permits are taken, decided by the server', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      await expectAsync(b.lease({ timeout: 0 })).toBeRejectedWithError(PermitTimeoutError);
      expect(await firstValueFrom(b.acquire({ blocking: false }))).toBe(false);
      holder.release();
      await valueReaches(a, 1); // the release reached the server (another connection than b's)
      const taken = await firstValueFrom(b.acquire({ blocking: false }));
      expect(taken).toBe(true);
      b.release();
    });

    it('is an exact bulkhead across processes: maxWaiting counts the queued requests of every process', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      const queued = firstValueFrom(of('a').pipe(boundedPermit(a, { maxWaiting: 1 })));
      await waitingReaches(a, 1);
      // b's own view has nobody queued, but the server counts a's request: b is refused at once
      const shed = await firstValueFrom(of('b').pipe(boundedPermit(b, { maxWaiting: 1 }))).catch(
        (error: unknown) => error,
      );
      expect(shed).toBeInstanceOf(PermitRejectedError);
      expect((shed as PermitRejectedError).waiting).toBe(1);
      holder.release();
      expect(await queued).toBe('a');
    });

    it('withdraws a request when its stream is unsubscribed: the next one is served', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      const abort = new AbortController();
      const withdrawn = b.lease({ signal: abort.signal });
      await waitingReaches(b, 1);
      const next = a.lease();
      await waitingReaches(a, 2);
      abort.abort(new Error('not needed'));
      await expectAsync(withdrawn).toBeRejectedWithError('not needed');
      holder.release();
      const lease = await next;
      expect(lease.permits).toBe(1);
      lease.release();
    });

    it('gates streams with withPermit across processes: never more holders than permits', async () => {
      const instances = await make(3, 2);
      let holding = 0;
      let most = 0;
      const done: Promise<unknown>[] = [];
      for (let i = 0; i < 9; i++) {
        const work = defer(() => {
          holding++;
          most = Math.max(most, holding);
          return timer(10).pipe(finalize(() => holding--));
        });
        done.push(lastValueFrom(work.pipe(withPermit(instances[i % 3]!))));
      }
      await Promise.all(done);
      expect(most).toBeLessThanOrEqual(2);
      expect(holding).toBe(0);
      await valueReaches(instances[0]!, 2);
    });

    it('adjust() changes the stored permits and hands new ones to the queue', async () => {
      const [a, b] = await make(2, 1);
      const holder = await a.lease();
      const waiting = b.lease();
      await waitingReaches(b, 1);
      a.adjust(1);
      const lease = await waiting;
      expect(lease.permits).toBe(1);
      lease.release();
      holder.release();
      // b was made with 1 permit; the key now stores 2: its requests fail, giving both numbers
      await expectAsync(b.lease()).toBeRejectedWith(
        jasmine.objectContaining({
          name: 'PermitBackendError',
          message: jasmine.stringMatching(/stores 2 permits.*with 1/),
        }),
      );
    });

    it('fails every request of an instance made with another number of permits, giving both numbers', async () => {
      const key = uniqueKey();
      const [a] = await make(1, 2, { key });
      (await a.lease()).release();
      const [b] = await make(1, 5, { key });
      const error = await b.lease().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermitBackendError);
      expect((error as Error).message).toContain('stores 2 permits');
      expect(((error as Error).cause as Error).message).toContain('made with 5');
    });

    it('refuses, as never grantable, a queued request left larger than the stored permits by adjust', async () => {
      const [a, b] = await make(2, 2);
      const holder = await a.lease({ permits: 2 });
      const large = b.lease({ permits: 2 });
      await waitingReaches(b, 1);
      a.adjust(-1);
      await expectAsync(large).toBeRejectedWithError(PermitRejectedError);
      holder.release();
    });

    it('tryAcquire throws: a remote semaphore cannot answer synchronously', async () => {
      const [a] = await make(1, 1);
      expect(() => a.tryAcquire()).toThrowError(TypeError, /acquire\(\{ blocking: false \}\)/);
    });

    it('acquire() and release(): release gives back permits this instance holds without a lease', async () => {
      const [a, b] = await make(2, 2);
      expect(await firstValueFrom(a.acquire({ permits: 2 }))).toBe(true);
      const waiting = b.lease();
      await waitingReaches(b, 1);
      a.release();
      (await waiting).release();
      a.release();
      await valueReaches(a, 2);
      expect(() => a.release()).toThrowError(/releasing 1/);
    });

    it('close() withdraws queued requests and releases leases: another process gets the permits', async () => {
      const [a, b] = await make(2, 1);
      const held = await a.lease();
      const queued = a.lease().catch((error: unknown) => error);
      const other = b.lease();
      await waitingReaches(b, 2);
      await a.close();
      expect(await queued).toBeInstanceOf(PermitBackendError);
      expect(held.released).toBe(true);
      const lease = await other;
      expect(lease.permits).toBe(1);
      lease.release();
      await expectAsync(a.lease()).toBeRejectedWithError(PermitBackendError);
    });

    it('keeps all its keys in one cluster slot (one hash tag)', async () => {
      const key = uniqueKey('slot');
      const [a] = await make(1, 1, { key });
      (await a.lease()).release();
      const keys = (await command(clients[0]!, ['KEYS', `*${key}*`])) as string[];
      expect(keys.length).toBeGreaterThanOrEqual(2);
      const slots = await Promise.all(
        keys.map((k) => command(clients[0]!, ['CLUSTER', 'KEYSLOT', k]).catch(() => null)),
      );
      const tags = keys.map((k) => /\{([^}]*)\}/.exec(k)?.[1]);
      expect(new Set(tags).size).toBe(1);
      if (slots.every((slot) => slot !== null)) expect(new Set(slots).size).toBe(1);
    });

    it('validates its arguments', async () => {
      const client = await library.connect(url);
      clients.push(client);
      expect(() => new RedisSemaphore({} as RedisClient, 'k', { permits: 1 })).toThrowError(
        TypeError,
        /ioredis/,
      );
      expect(() => new RedisSemaphore(client, '', { permits: 1 })).toThrowError(TypeError, /key/);
      expect(() => new RedisSemaphore(client, 'k', {} as never)).toThrowError(
        TypeError,
        /permits is required/,
      );
      expect(() => new RedisSemaphore(client, 'k', { permits: -1 })).toThrowError(RangeError);
      expect(() => new RedisSemaphore(client, 'k', { permits: 1, leaseMs: 5 })).toThrowError(
        RangeError,
        /30/,
      );
      expect(() => new RedisSemaphore(client, 'k', { permits: 1, lease: 5 } as never)).toThrowError(
        TypeError,
        /unknown option "lease"/,
      );
    });
  });
}

/**
 * Resolves once every request `semaphore` sent before is known to the server, then checks the queue
 * length it heard: a now-or-never request of the lowest priority, sent on the same connection after
 * them, is answered after them (and refused, as anything queued is ahead of it).
 */
async function waitingReaches(semaphore: RedisSemaphore, count: number): Promise<void> {
  await semaphore.lease({ timeout: 0, priority: Number.MIN_SAFE_INTEGER }).then(
    (lease) => lease.release(),
    () => undefined,
  );
  expect(semaphore.waiting).toBe(count);
}

async function valueReaches(semaphore: RedisSemaphore, value: number): Promise<void> {
  await firstValueFrom(semaphore.pipe(filter((v) => v === value)));
}

async function stats(semaphore: RedisSemaphore) {
  return semaphore.stats();
}

for (const library of libraries) describeWith(library);

describe('RedisSemaphore on a server that may evict keys', () => {
  it('warns once that the maxmemory-policy is not noeviction', async () => {
    const server = await startRedisServer();
    const client = await ioredis.connect(server.url);
    try {
      await command(client, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      const warned = new Promise<Error>((resolve) => {
        const onWarning = (warning: Error) => {
          if (warning.name !== 'RedisSemaphoreWarning') return;
          process.off('warning', onWarning);
          resolve(warning);
        };
        process.on('warning', onWarning);
      });
      const semaphore = new RedisSemaphore(client, uniqueKey('policy'), { permits: 1 });
      const warning = await warned;
      expect(warning.message).toContain('allkeys-lru');
      await semaphore.close();
    } finally {
      await ioredis.close(client);
      await server.stop();
    }
  });
});

describe('RedisSemaphore on a server whose script cache is empty', () => {
  it('keeps the order of its commands: a release, then a now-or-never request in the same turn, is granted', async () => {
    const server = await startRedisServer();
    const client = await ioredis.connect(server.url);
    try {
      const semaphore = new RedisSemaphore(client, uniqueKey('scripts'), { permits: 1 });
      const first = await semaphore.lease();
      first.release(); // the first release of this server: its script was never sent before
      const second = await semaphore.lease({ timeout: 0 });
      expect(second.token).toBeGreaterThan(first.token);
      second.release();
      await semaphore.close();
    } finally {
      await ioredis.close(client);
      await server.stop();
    }
  });
});

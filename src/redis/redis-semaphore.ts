import type { SchedulerLike } from 'rxjs';
import { BackendSemaphore } from '../backend-semaphore.js';
import {
  checkCount,
  checkName,
  checkOptions,
  checkScheduler,
  describeValue,
  primitiveLabel,
} from '../internal/validate.js';
import { connectionFor, type RedisClient } from './adapter.js';
import { RedisBackend } from './redis-backend.js';

const KIND = 'RedisSemaphore';

/** Options of {@link RedisSemaphore}. */
export interface RedisSemaphoreOptions {
  /**
   * The number of permits stored under the key. The first instance to use the key stores it; an
   * instance made with another number fails every request with `PermitBackendError` giving both
   * numbers (`adjust` is how the stored count changes).
   */
  permits: number;
  /**
   * How long the server keeps this process's permits and queued requests without hearing from it,
   * in ms: its heartbeat renews them every `leaseMs / 3`. A process that dies holding permits loses
   * them within `leaseMs * 4 / 3`; a holder that cannot renew in time (Redis unreachable, the
   * process stalled) is told with `PermitLostError` before its lease ends. An integer >= 30.
   * @default 10000
   */
  leaseMs?: number | undefined;
  /**
   * Runs the timeouts of requests and measures `stats()` times.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
  /** A name for messages and errors (the key when omitted). */
  name?: string | undefined;
}

/**
 * A semaphore whose permits live in Redis, shared by every process (and machine) that uses the same
 * key: one fair limit for a fleet — several servers calling one rate-limited API, workers sharing 10
 * database connections. It is a `PermitPool` like `Semaphore`: `withPermit`, `mergeMapWithPermit`,
 * `usingLease`, `acquire`, `lease()` and `run()` work on it unchanged.
 *
 * The queue lives in Redis and is served in order of priority, then arrival; a release hands the
 * permits to the head inside the server (no barging, no polling), and the grant is pushed to the
 * waiting process (pub/sub), checked again on every heartbeat. Every grant carries a fencing token
 * from one counter per key. Leases are kept alive by one heartbeat per instance; see
 * {@link RedisSemaphoreOptions.leaseMs}. A lost lease errors its stream with `PermitLostError`; a
 * request the server cannot serve (unreachable, its state lost) errors with `PermitBackendError`.
 *
 * Unlike an in-process semaphore, nothing is granted synchronously (every grant is one hop away),
 * `value` and `waiting` are the last values heard from the server (refreshed by every answer and at
 * least every `leaseMs / 3`), and `tryAcquire` throws: ask with `acquire({ blocking: false })` or
 * `lease({ timeout: 0 })`. Call {@link close} when done: it withdraws and releases what this
 * instance has, stops its heartbeat and closes its subscriber connection (the client you passed
 * stays yours to close).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisSemaphore } from 'rxjs-permits/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const api = new RedisSemaphore(redis, 'partner-api', { permits: 10 });
 * const answer = await api.run(() => fetch('https://partner.example/api'));
 * await api.close();
 * redis.disconnect();
 * ```
 *
 * @throws `TypeError` when `client` is neither an ioredis nor a node-redis client, `key` is not a
 * non-empty string, or an option has the wrong type or an unknown key.
 * @throws `RangeError` when `permits` is not an integer >= 0 or `leaseMs` not an integer >= 30.
 */
export class RedisSemaphore extends BackendSemaphore {
  private readonly redis: RedisBackend;

  /**
   * Connects to the semaphore stored under `key` (making it with `options.permits` when the key is
   * new), through `client`; opens a subscriber connection of its own.
   *
   * @param client An ioredis client or a connected node-redis client.
   * @param key The semaphore's name in Redis; every process that uses it shares its permits.
   * @param options `permits` (required), `leaseMs`, `scheduler`, `name`.
   */
  constructor(client: RedisClient, key: string, options: RedisSemaphoreOptions) {
    const connection = connectionFor(KIND, client);
    if (typeof key !== 'string' || key === '') {
      throw new TypeError(`${KIND}: key must be a non-empty string, got ${describeValue(key)}`);
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${KIND}: options must be an object with permits, got ${describeValue(options)}`);
    }
    const opts = checkOptions<RedisSemaphoreOptions>(KIND, options, [
      'permits',
      'leaseMs',
      'scheduler',
      'name',
    ]);
    if (opts.permits === undefined) throw new TypeError(`${KIND}: options.permits is required`);
    const permits = checkCount(KIND, 'options.permits', opts.permits);
    const leaseMs = opts.leaseMs === undefined ? 10_000 : checkCount(KIND, 'options.leaseMs', opts.leaseMs);
    if (leaseMs < 30)
      throw new RangeError(`${KIND}: options.leaseMs must be an integer >= 30, got ${leaseMs}`);
    const scheduler = checkScheduler(KIND, 'options.scheduler', opts.scheduler);
    const name = checkName(KIND, opts.name) ?? key;
    const backend = new RedisBackend(connection, {
      name: primitiveLabel(KIND, name),
      key,
      permits,
      leaseMs,
      scheduler,
    });
    super(backend, { scheduler, name });
    this.redis = backend;
  }

  /**
   * Not available here: a remote semaphore cannot answer synchronously whether permits are free.
   * Ask the server instead, with `acquire({ blocking: false })` (emits `false` when they are taken)
   * or `lease({ timeout: 0 })` (rejects with `PermitTimeoutError`); both are decided atomically by
   * the server and never overtake a queued request.
   *
   * @example
   * ```ts
   * semaphore.acquire({ blocking: false }).subscribe((taken) => {
   *   if (taken) doWork().finally(() => semaphore.release());
   * });
   * ```
   *
   * @param permits How many permits would be taken.
   * @return Never returns.
   * @throws `TypeError` always, naming the asynchronous alternatives.
   * @throws `RangeError` first, when `permits` is not a positive integer or exceeds the stored permits.
   */
  override tryAcquire(permits?: number): boolean {
    return super.tryAcquire(permits);
  }

  /**
   * Withdraws this instance's queued requests (their streams error with `PermitBackendError`),
   * releases its leases (their holders are told with `PermitLostError`), stops its heartbeat and
   * closes its subscriber connection. Resolves once Redis has them back. Requests made afterwards
   * fail with `PermitBackendError`.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void semaphore.close().then(() => redis.quit()));
   * ```
   *
   * @return A promise that resolves when everything is given back and the connection is closed.
   */
  close(): Promise<void> {
    return this.redis.close();
  }
}

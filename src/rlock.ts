import { Observable, type SchedulerLike } from 'rxjs';
import { statsClock } from './internal/clock.js';
import { LockCore } from './core/lock-core.js';
import { acquirePermits } from './internal/acquire.js';
import { waitConfig } from './internal/permit-request.js';
import { reportUnhandledError } from './internal/report-error.js';
import { subscribeToValue } from './internal/value-subscribe.js';
import {
  acquireHint,
  checkBoolean,
  checkFunction,
  checkOptions,
  checkPrimitiveOptions,
  checkOwner,
  checkPriority,
  checkScheduler,
  checkTimeout,
} from './internal/validate.js';
import type { Lease, PermitStats } from './core/permit-backend.js';
import { checkLeaseOptions } from './internal/lease-options.js';
import { leasePermits, runPermits } from './internal/lease-promise.js';
import type { AcquireOptions, LeaseOptions, PrimitiveOptions } from './types.js';

const KIND = 'RLock';
// See src/internal/gate-target.ts for why a registered symbol rather than a WeakMap.
const LOCK_TARGET = Symbol.for('rxjs-permits.lockTarget');

/** What `reentrant` needs of an RLock. @internal */
export interface LockTarget {
  readonly core: LockCore;
  readonly scheduler: SchedulerLike | undefined;
}

/** The engine of `lock` and its scheduler, or a TypeError naming the call when it is not an RLock. @internal */
export function lockTargetOf(where: string, lock: unknown): LockTarget {
  const target =
    typeof lock === 'object' && lock !== null
      ? ((lock as Record<symbol, LockTarget | undefined>)[LOCK_TARGET] ?? undefined)
      : undefined;
  if (target === undefined) throw new TypeError(`${where}: lock must be an RLock`);
  return target;
}

/**
 * A reentrant lock, after gevent's `RLock`: one owner at a time; the owner may acquire it again
 * without waiting (its `count` grows) and must release it as often. Owners are any objects —
 * where gevent uses the current greenlet, a stream names its owner, or lets {@link reentrant}
 * infer it from the subscription chain. Waiting owners are served first come, first served.
 *
 * It is an `Observable<number>` of its free permit: 1 when free, 0 when held; a subscriber receives
 * the current value at once, then every change; it never completes.
 *
 * @example
 * ```ts
 * import { RLock } from 'rxjs-permits';
 *
 * const lock = new RLock();
 * const me = {};
 * lock.tryAcquire(me);   // true
 * lock.tryAcquire(me);   // true: re-entered, count 2
 * lock.tryAcquire({});   // false: another owner
 * lock.release(me);
 * lock.release(me);      // free again
 * ```
 *
 * @throws `TypeError` from the constructor when `options.scheduler` is not a scheduler,
 * `options.name` is not a non-empty string, or an option key is unknown.
 * @see {@link reentrant}
 */
export class RLock extends Observable<number> {
  private readonly core: LockCore;
  private readonly scheduler: SchedulerLike | undefined;
  private readonly label: string;
  private readonly givenName: string | undefined;

  /**
   * Creates a free lock.
   *
   * @param options `scheduler`: the default scheduler for this lock's timeouts; `name`: named in
   * messages and errors.
   */
  constructor(options?: PrimitiveOptions) {
    const { scheduler, name, label } = checkPrimitiveOptions(KIND, options);
    const core = new LockCore(label, reportUnhandledError, statsClock(scheduler));
    super(subscribeToValue(core));
    this.core = core;
    this.scheduler = scheduler;
    this.label = label;
    this.givenName = name;
    Object.defineProperty(this, LOCK_TARGET, { value: { core, scheduler } });
  }

  /** The name given to the constructor, if any (it appears in messages and errors). */
  get name(): string | undefined {
    return this.givenName;
  }

  /** The owner holding the lock, or `null` when it is free. */
  get owner(): object | null {
    return this.core.owner;
  }

  /** The owner's recursion depth: how many releases it owes (0 when free). */
  get count(): number {
    return this.core.count;
  }

  /** Requests queued now, over all waiting owners. */
  get waiting(): number {
    return this.core.waiting;
  }

  /** Whether the lock is held: `count > 0`. */
  locked(): boolean {
    return this.core.count > 0;
  }

  /**
   * Whether `owner` holds the lock (gevent's `_is_owned`).
   * @throws `TypeError` when `owner` is not an object.
   */
  isOwnedBy(owner: object): boolean {
    checkOwner(`${this.label}.isOwnedBy`, 'owner', owner);
    return this.core.owner === owner;
  }

  /**
   * Requests the lock for `owner`. Cold: each subscription is one request. The owner re-enters at
   * once; another owner joins the FIFO queue unless the lock is free and nobody waits. Emits `true`
   * when granted (the owner must then {@link release} once more) or `false` when a non-blocking or
   * timed request fails, then completes. Unsubscribing while queued withdraws the request.
   *
   * @example
   * ```ts
   * const owner = { name: 'refresh' };
   * lock.acquire(owner, { timeout: 1000 }).subscribe((granted) => {
   *   if (granted) {
   *     try { refresh(); } finally { lock.release(owner); }
   *   }
   * });
   * ```
   *
   * @param owner Who takes the lock: any object.
   * @param options `blocking` (default true), `timeout` in ms, `scheduler`.
   * @throws `TypeError` when `owner` is not an object, or an option has the wrong type or an unknown
   * key.
   * @throws `RangeError` when `timeout` is NaN.
   */
  acquire(owner: object, options?: Omit<AcquireOptions, 'permits'>): Observable<boolean> {
    const where = `${this.label}.acquire`;
    checkOwner(where, 'owner', owner);
    const opts = checkOptions<AcquireOptions>(
      where,
      options,
      ['blocking', 'timeout', 'priority', 'scheduler'],
      acquireHint,
    );
    const blocking = checkBoolean(where, 'options.blocking', opts.blocking) ?? true;
    const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
    const priority = checkPriority(where, 'options.priority', opts.priority);
    const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? this.scheduler;
    return acquirePermits(
      this.core.backendFor(owner),
      waitConfig(1, priority, blocking ? timeout : 0, Infinity),
      scheduler,
    );
  }

  /**
   * Takes the lock for `owner` now if it is free and nobody waits, or re-enters it if `owner`
   * holds it. Never waits.
   *
   * @example
   * ```ts
   * if (lock.tryAcquire(me)) {
   *   try { work(); } finally { lock.release(me); }
   * }
   * ```
   * @return Whether the lock was taken.
   * @throws `TypeError` when `owner` is not an object.
   */
  tryAcquire(owner: object): boolean {
    checkOwner(`${this.label}.tryAcquire`, 'owner', owner);
    return this.core.tryAcquire(owner);
  }

  /**
   * Releases one level of `owner`'s hold; at the last level the lock passes to the next waiting
   * owner (all of its queued requests are granted together) or becomes free.
   *
   * @example
   * ```ts
   * lock.release(me);
   * ```
   * @throws {@link LockOwnershipError} when `owner` does not hold the lock, or nobody does; nothing
   * changes then.
   * @throws `TypeError` when `owner` is not an object.
   */
  release(owner: object): void {
    checkOwner(`${this.label}.release`, 'owner', owner);
    this.core.release(owner);
  }

  /**
   * Waits for the lock for `owner` with `await` (rule 22), as `Semaphore.lease` does: the owner
   * re-enters at once if it holds the lock (the lease shares the hold's token); other owners queue.
   * Releasing the lease releases one level of `owner`'s hold.
   *
   * @example
   * ```ts
   * const lease = await lock.lease(me, { timeout: 1000 });
   * try { await refresh(); } finally { lease.release(); }
   * ```
   *
   * @param owner Who takes the lock: any object.
   * @param options `timeout` in ms, `priority`, `signal`, `scheduler`.
   * @throws `TypeError` when `owner` is not an object, or an option has the wrong type or an unknown
   * key.
   * @throws `RangeError` when `priority` is not a safe integer or `timeout` is NaN.
   */
  lease(owner: object, options?: Omit<LeaseOptions, 'permits'>): Promise<Lease> {
    const where = `${this.label}.lease`;
    checkOwner(where, 'owner', owner);
    return leasePermits(checkLeaseOptions(where, options, this.core.backendFor(owner), null, this.scheduler));
  }

  /**
   * Runs `task` holding the lock for `owner`, as `Semaphore.run` does.
   *
   * @example
   * ```ts
   * const token = await lock.run(me, () => refreshToken());
   * ```
   *
   * @param owner Who takes the lock: any object.
   * @param task Called once the lock is held.
   * @param options As {@link lease}'s.
   * @throws `TypeError` when `owner` is not an object, `task` is not a function, or an option is bad.
   * @throws `RangeError` when `priority` is not a safe integer or `timeout` is NaN.
   */
  run<T>(
    owner: object,
    task: (lease: Lease) => T | PromiseLike<T>,
    options?: Omit<LeaseOptions, 'permits'>,
  ): Promise<T> {
    const where = `${this.label}.run`;
    checkOwner(where, 'owner', owner);
    checkFunction(where, 'task', task);
    return runPermits(
      checkLeaseOptions(where, options, this.core.backendFor(owner), null, this.scheduler),
      task,
    );
  }

  /**
   * A snapshot of this lock's counts since it was made, as `Semaphore.stats()`: an owner's re-entry
   * counts as granted with a wait of 0.
   *
   * @example
   * ```ts
   * console.log(lock.stats().waitMs.max);
   * ```
   */
  stats(): PermitStats {
    return { name: this.givenName, ...this.core.stats() };
  }
}

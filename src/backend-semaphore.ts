import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { Lease, PermitBackend, PermitStats } from './core/permit-backend.js';
import { checkLeaseOptions, type LeaseCall } from './internal/lease-options.js';
import { leasePermits, queueLease, runPermits } from './internal/lease-promise.js';
import { acquirePermits } from './internal/acquire.js';
import { waitConfig } from './internal/permit-request.js';
import { registerGateTarget } from './internal/gate-target.js';
import { subscribeToValue } from './internal/value-subscribe.js';
import {
  acquireHint,
  checkBoolean,
  checkDelta,
  checkFunction,
  checkOptions,
  checkPermits,
  checkPriority,
  checkScheduler,
  checkTimeout,
  isPermitCount,
} from './internal/validate.js';
import type { AcquireOptions, LeaseOptions, PermitPool, WaitOptions } from './types.js';

/**
 * A {@link PermitPool} over any {@link PermitBackend}: everything a semaphore does — `acquire`,
 * `tryAcquire`, `release`, `wait`, `rawlink`, the permit observable, `stats`, `adjust`, and every
 * operator — done through the backend contract only. `Semaphore` is this class over the in-process
 * engine; extend it (or construct it) over your own backend to put permits elsewhere.
 *
 * @example
 * ```ts
 * import { BackendSemaphore, type PermitBackend } from 'rxjs-permits';
 *
 * class MySemaphore extends BackendSemaphore {
 *   constructor(backend: PermitBackend) {
 *     super(backend, { name: 'remote' });
 *   }
 * }
 * ```
 *
 * @throws `TypeError` from the constructor when `backend` lacks a method of the contract.
 * @see {@link Semaphore}, {@link PermitBackend}
 */
export class BackendSemaphore extends Observable<number> implements PermitPool {
  /** @internal The backend every call goes through. */
  protected readonly backend: PermitBackend;
  /** @internal The default scheduler for timeouts. */
  protected readonly scheduler: SchedulerLike | undefined;
  /** @internal The kind, and the name when there is one: `Semaphore "uploads"`. */
  protected readonly label: string;
  private readonly givenName: string | undefined;
  private plainAcquire: Observable<boolean> | null = null;
  /** `lease()`/`run()` without options, made on first use and shared by those calls. */
  private plainLease: LeaseCall | null = null;
  /**
   * Linked rawlink callbacks. Not keyed by `(semaphore: this) => void`: a `this` type in a private
   * member would make every subclass that adds a member unassignable to `BackendSemaphore`.
   */
  private rawlinks: Map<unknown, () => void> | null = null;

  /**
   * Wraps `backend`.
   *
   * @param backend The permits: any implementation of the {@link PermitBackend} contract.
   * @param settings `scheduler`: the default scheduler for timeouts; `name`: the name given by the
   * user (messages use `backend.name`).
   */
  constructor(
    backend: PermitBackend,
    settings: { scheduler?: SchedulerLike | undefined; name?: string | undefined } = {},
  ) {
    for (const method of ['request', 'tryAcquire', 'release', 'stats', 'watchValue', 'watchReady'] as const) {
      if (typeof (backend as unknown as Record<string, unknown> | null)?.[method] !== 'function') {
        throw new TypeError(`BackendSemaphore: backend must implement PermitBackend (no ${method}())`);
      }
    }
    super(subscribeToValue(backend));
    this.backend = backend;
    this.scheduler = settings.scheduler;
    this.label = backend.name;
    this.givenName = settings.name;
    registerGateTarget(this, { backend, scheduler: settings.scheduler });
  }

  /** The name given to the constructor, if any (it appears in messages and errors). */
  get name(): string | undefined {
    return this.givenName;
  }

  /** Permits available now (gevent's counter). Permits handed straight to waiters never show here. */
  get value(): number {
    return this.backend.value;
  }

  /** Requests queued now (by `acquire`, the operators, or any other user of this semaphore). */
  get waiting(): number {
    return this.backend.waiting;
  }

  /**
   * Whether no permit is free: `value <= 0`.
   *
   * @example
   * ```ts
   * const semaphore = new Semaphore(1);
   * semaphore.tryAcquire();
   * semaphore.locked(); // true
   * ```
   */
  locked(): boolean {
    return this.backend.value <= 0;
  }

  /** The opposite of {@link locked}: whether `value > 0`. */
  ready(): boolean {
    return this.backend.value > 0;
  }

  /**
   * Requests permits. The returned Observable is cold: each subscription is one request, which
   * joins the FIFO queue unless it can be granted at once. It emits `true` when granted — the
   * subscriber then holds the permits and must {@link release} them — or `false` when a
   * non-blocking request finds them taken or a timed one times out; then it completes.
   * Unsubscribing while queued withdraws the request (it consumes nothing); unsubscribing after
   * `true` does not release.
   *
   * @example
   * ```ts
   * const semaphore = new Semaphore(1);
   * semaphore.acquire({ timeout: 1000 }).subscribe((granted) => {
   *   if (granted) {
   *     try { doWork(); } finally { semaphore.release(); }
   *   }
   * });
   * ```
   *
   * @param options `blocking` (default true), `timeout` in ms, `permits` (default 1), `scheduler`.
   * @return An Observable that emits `true` or `false` once, then completes.
   * @throws `RangeError` when `permits` is not a positive integer, exceeds a BoundedSemaphore's
   * bound, or `timeout` is NaN.
   * @throws `TypeError` when an option has the wrong type or an unknown key.
   */
  acquire(options?: AcquireOptions): Observable<boolean> {
    // The plain request is the common one; its Observable is cold and stateless, so one serves all.
    if (options === undefined && this.backend.maxPermits >= 1) {
      return (this.plainAcquire ??= acquirePermits(this.backend, PLAIN, this.scheduler));
    }
    const where = `${this.label}.acquire`;
    const opts = checkOptions<AcquireOptions>(
      where,
      options,
      ['blocking', 'timeout', 'permits', 'priority', 'scheduler'],
      acquireHint,
    );
    const blocking = checkBoolean(where, 'options.blocking', opts.blocking) ?? true;
    const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
    const permits = checkPermits(where, 'options.permits', opts.permits ?? 1, this.backend.maxPermits);
    const priority = checkPriority(where, 'options.priority', opts.priority);
    const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? this.scheduler;
    return acquirePermits(
      this.backend,
      waitConfig(permits, priority, blocking ? timeout : 0, Infinity),
      scheduler,
    );
  }

  /**
   * Takes `permits` now if they are free and nobody is queued; never waits, never overtakes a
   * queued request.
   *
   * @example
   * ```ts
   * if (semaphore.tryAcquire()) {
   *   try { doWork(); } finally { semaphore.release(); }
   * }
   * ```
   *
   * @param permits How many permits to take, a positive integer (default 1).
   * @return Whether they were taken.
   * @throws `RangeError` when `permits` is not a positive integer or exceeds the bound.
   */
  tryAcquire(permits: number = 1): boolean {
    // The hot path (bench/ W1): 1 is valid unless the bound is 0, and a message is built only for
    // a bad argument.
    const backend = this.backend;
    if ((permits !== 1 || backend.maxPermits < 1) && !isPermitCount(permits, backend.maxPermits)) {
      checkPermits(`${this.label}.tryAcquire`, 'permits', permits, backend.maxPermits);
    }
    return backend.tryAcquire(permits);
  }

  /**
   * Gives `permits` back. They go straight to queued requests, from the head, while the head fits
   * (their streams start before `release` returns); the rest become free. A Semaphore may be
   * released above its initial value (gevent's deliberate over-release); a BoundedSemaphore may not.
   *
   * A release made from inside a grant (a gated stream that completes synchronously) is folded into
   * the grant loop already running: it returns at once, and its grants run, in order, before the
   * outermost operation returns.
   *
   * @example
   * ```ts
   * const semaphore = new Semaphore(0);
   * semaphore.acquire().subscribe(() => console.log('granted'));
   * semaphore.release(); // logs 'granted', returns 0
   * ```
   *
   * @param permits How many permits to give back, a positive integer (default 1).
   * @return `value` after the hand-off.
   * @throws `RangeError` when `permits` is not a positive integer.
   * @throws {@link index!OverReleaseError} from a BoundedSemaphore when the value would exceed the bound; the
   * release then changes nothing.
   */
  release(permits: number = 1): number {
    if (permits !== 1 && !isPermitCount(permits, Infinity))
      checkPermits(`${this.label}.release`, 'permits', permits);
    return this.backend.release(permits);
  }

  /**
   * Waits until the semaphore is ready (`value > 0`) without taking a permit. Emits the value at
   * once when it is ready, otherwise at the next moment it is ready after queued requests were
   * served (queued requests come first), or the value as it is (possibly 0) at the timeout; then
   * completes. One release can wake several waits. Waits and {@link rawlink} callbacks are woken in
   * the order they were made, and readiness is checked before each (as gevent does): a callback
   * that takes the last permit leaves the waits after it waiting for the next time. A woken wait
   * emits the value when it is told, so always more than 0.
   *
   * @example
   * ```ts
   * semaphore.wait({ timeout: 500 }).subscribe((value) => console.log('free now:', value));
   * ```
   *
   * @param options `timeout` in ms (`null`: for ever, `<= 0`: at once), `scheduler`.
   * @return An Observable that emits one value, then completes.
   * @throws `RangeError` when `timeout` is NaN.
   * @throws `TypeError` when an option has the wrong type or an unknown key.
   */
  wait(options?: WaitOptions): Observable<number> {
    const where = `${this.label}.wait`;
    const opts = checkOptions<WaitOptions>(where, options, ['timeout', 'scheduler']);
    const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
    const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? this.scheduler;
    const backend = this.backend;
    return new Observable<number>((subscriber) => {
      if (backend.value > 0 || (timeout !== null && timeout <= 0)) {
        subscriber.next(backend.value);
        subscriber.complete();
        return;
      }
      let timer: Subscription | null = null;
      const unwatch = backend.watchReady({
        onReady(value) {
          timer?.unsubscribe();
          subscriber.next(value);
          subscriber.complete();
        },
      });
      if (timeout !== null) {
        timer = (scheduler ?? asyncScheduler).schedule(() => {
          unwatch();
          subscriber.next(backend.value);
          subscriber.complete();
        }, timeout);
      }
      return () => {
        unwatch();
        timer?.unsubscribe();
      };
    });
  }

  /**
   * Registers a one-shot callback for the next time the semaphore is ready: it is unlinked, then
   * called with the semaphore — synchronously, now, if the semaphore is ready now. The callback
   * takes no permit itself. Linking the same callback twice links it once. Linked callbacks and
   * waits are called in the order they were linked, each only while the semaphore is still ready:
   * a callback that takes the last permit (with `tryAcquire`) leaves the ones after it linked, in
   * order, until the semaphore is ready again. An error it throws when called later is reported like
   * an RxJS unhandled error and changes nothing in the semaphore.
   *
   * @example
   * ```ts
   * semaphore.rawlink((s) => console.log('ready, value', s.value));
   * ```
   *
   * @param callback Called with this semaphore.
   * @throws `TypeError` when `callback` is not a function.
   */
  rawlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.rawlink`, 'callback', callback);
    if (this.backend.value > 0) {
      // Linked already, with its wake-up maybe queued: this call is that one-shot, not a second.
      this.unlinkQuietly(callback);
      callback(this);
      return;
    }
    const rawlinks = (this.rawlinks ??= new Map());
    if (rawlinks.has(callback)) return;
    rawlinks.set(
      callback,
      this.backend.watchReady({
        onReady: () => {
          rawlinks.delete(callback);
          callback(this);
        },
      }),
    );
  }

  /**
   * Cancels a callback registered with {@link rawlink}; does nothing when it is not linked.
   *
   * @param callback The callback given to `rawlink`.
   * @throws `TypeError` when `callback` is not a function.
   */
  unlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.unlink`, 'callback', callback);
    this.unlinkQuietly(callback);
  }

  private unlinkQuietly(callback: (semaphore: this) => void): void {
    const unwatch = this.rawlinks?.get(callback);
    if (unwatch === undefined) return;
    this.rawlinks!.delete(callback);
    unwatch();
  }

  /**
   * Waits for permits with `await` (rule 22): joins the same queue as the streams (with its
   * `priority`), inside the call, and resolves with the held {@link Lease} — release it when done,
   * or hold it with `using`. Rejects with {@link index!PermitTimeoutError} at the timeout, with
   * `signal.reason` when `signal` aborts (the request is withdrawn and consumes nothing; an
   * already-aborted signal rejects at once and queues nothing), or with
   * {@link index!PermitBackendError} when a remote backend fails. An abort after the grant does
   * nothing.
   *
   * @example
   * ```ts
   * const lease = await semaphore.lease({ timeout: 5_000, signal: request.signal });
   * try {
   *   await upload(file);
   * } finally {
   *   lease.release();
   * }
   * ```
   *
   * @param options `permits`, `timeout` in ms, `priority`, `signal`, `scheduler`.
   * @return A Promise of the held lease.
   * @throws `RangeError` when `permits` is not a positive integer or exceeds a bound, `priority` is
   * not a safe integer, or `timeout` is NaN (thrown by the call, not as a rejection).
   * @throws `TypeError` when an option has the wrong type or an unknown key.
   */
  lease(options?: LeaseOptions): Promise<Lease> {
    // The common call: no options to check, one shared configuration; free permits taken at once.
    if (options === undefined) {
      const lease = this.backend.tryLease?.(PLAIN.demand) ?? null;
      if (lease !== null) return Promise.resolve(lease);
      // Not free: queue it (tryLease is not asked twice).
      if (this.backend.maxPermits >= 1) return queueLease(this.plainLeaseCall());
    }
    const { backend } = this;
    return leasePermits(
      checkLeaseOptions(`${this.label}.lease`, options, backend, backend.maxPermits, this.scheduler),
    );
  }

  /**
   * Runs `task` holding permits (p-limit's `limit(fn)`, async-mutex's `runExclusive`): waits as
   * {@link lease} does, calls `task(lease)`, releases the lease once the task's result settles —
   * however it settles, a synchronous throw included — and settles as the task did. The task
   * starts the moment the permits are held, as a gated stream does (rule 5): inside the `run` call
   * when they are free, else inside the release that hands them over. On a remote backend, a lease
   * lost while the task runs rejects the Promise with `PermitLostError` at once (the task's
   * own result is then ignored).
   *
   * @example
   * ```ts
   * const user = await api.run(() => fetchUser(id), { timeout: 10_000 });
   * ```
   *
   * @param task Called once the permits are held; its result (or Promise) is the result.
   * @param options As {@link lease}'s.
   * @return A Promise of the task's result.
   * @throws `TypeError` when `task` is not a function, or an option is bad (as {@link lease}).
   * @throws `RangeError` for a bad `permits`, `priority` or `timeout` (as {@link lease}).
   */
  run<T>(task: (lease: Lease) => T | PromiseLike<T>, options?: LeaseOptions): Promise<T> {
    if (typeof task !== 'function') checkFunction(`${this.label}.run`, 'task', task);
    const { backend } = this;
    if (options === undefined && backend.maxPermits >= 1) return runPermits(this.plainLeaseCall(), task);
    return runPermits(
      checkLeaseOptions(`${this.label}.run`, options, backend, backend.maxPermits, this.scheduler),
      task,
    );
  }
  /** The call of `lease()`/`run()` without options on this primitive. */
  private plainLeaseCall(): LeaseCall {
    return (this.plainLease ??= {
      backend: this.backend,
      config: PLAIN,
      scheduler: this.scheduler,
      signal: undefined,
    });
  }

  /**
   * A snapshot of this primitive's counts since it was made (rule 21): `value` and `waiting` as the
   * getters; requests `granted` (a request granted at once counts, with a wait of 0), `timedOut`,
   * `rejected` (refused without waiting) and `withdrawn` (unsubscribed or aborted while queued);
   * `peakWaiting`; and `waitMs`, the queued time of granted requests on the scheduler's clock.
   *
   * @example
   * ```ts
   * const { granted, waitMs } = semaphore.stats();
   * console.log(`mean wait ${waitMs.total / Math.max(1, waitMs.count)} ms over ${granted} grants`);
   * ```
   */
  stats(): PermitStats {
    return { name: this.givenName, ...this.backend.stats() };
  }

  /**
   * Changes the number of permits now (rule 20), as p-limit's `concurrency` setter does: `delta > 0`
   * adds permits and hands them to queued requests as a release does; `delta < 0` removes free
   * permits at once and the rest as holders release them (`value` may go negative, "owed", and
   * nothing is granted until it is positive again). A BoundedSemaphore's bound moves by `delta` too,
   * and a queued request that no longer fits under it fails with {@link index!PermitRejectedError}.
   *
   * @example
   * ```ts
   * const api = new Semaphore(4);
   * api.adjust(+2); // 6 at once
   * api.adjust(-3); // 3, as soon as the holders of the others release
   * ```
   *
   * @param delta An integer.
   * @return `value` after the change.
   * @throws `RangeError` when `delta` is not an integer, or would lower a bound below 0.
   * @throws `TypeError` when the backend cannot change its number of permits.
   */
  adjust(delta: number): number {
    checkDelta(`${this.label}.adjust`, delta);
    const { backend } = this;
    if (backend.adjust === undefined) {
      throw new TypeError(`${this.label}.adjust: this backend cannot change its number of permits`);
    }
    return backend.adjust(delta);
  }
}

/** The configuration of a plain `acquire()`: one permit, priority 0, for ever. */
const PLAIN = waitConfig(1, 0, null, Infinity);

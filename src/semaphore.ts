import { Observable, asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { SemaphoreCore } from './core/semaphore-core.js';
import type { ReadyWatch } from './core/value-watchers.js';
import { acquirePermits } from './internal/acquire.js';
import { registerGateTarget } from './internal/gate-target.js';
import { reportUnhandledError } from './internal/report-error.js';
import { subscribeToValue } from './internal/value-subscribe.js';
import {
  acquireHint,
  checkBoolean,
  checkCount,
  checkFunction,
  checkOptions,
  checkPrimitiveOptions,
  checkPermits,
  checkScheduler,
  checkTimeout,
  isPermitCount,
} from './internal/validate.js';
import type { AcquireOptions, PermitPool, PrimitiveOptions, WaitOptions } from './types.js';

/**
 * A counting semaphore, after gevent's `gevent.lock.Semaphore`: a counter of permits that
 * `acquire` takes and `release` gives back, shared by every stream that uses it.
 *
 * It is an `Observable<number>` of its `value` (permits not taken): a subscriber receives the
 * current value at once, then every settled change; it never completes.
 *
 * Unlike gevent, waiters are always served first come, first served: a request is granted at once
 * only when nobody is queued, and `tryAcquire` never overtakes a queued request. Permits released
 * while requests wait go straight to them (the hand-off is synchronous, so `TestScheduler` sees it
 * in the frame of the release). Like gevent's, it does not track ownership: anyone may release,
 * even above the initial value (use {@link BoundedSemaphore} to forbid that).
 *
 * Most code does not call `acquire`/`release` itself but gates streams with {@link withPermit},
 * {@link boundedPermit} or {@link mergeMapWithPermit}.
 *
 * @example
 * ```ts
 * import { Semaphore } from 'rxjs-permits';
 *
 * const semaphore = new Semaphore(2);
 * semaphore.subscribe((value) => console.log('free:', value)); // free: 2
 * semaphore.tryAcquire();                                       // free: 1
 * semaphore.acquire().subscribe((granted) => console.log(granted)); // true, then free: 0
 * semaphore.release(2);                                         // free: 2
 * ```
 *
 * @throws `RangeError` from the constructor when `value` is not an integer >= 0.
 * @throws `TypeError` from the constructor when `value` is not a number, `options.scheduler`
 * is not a scheduler, `options.name` is not a non-empty string, or an option key is unknown.
 * @see {@link BoundedSemaphore}, {@link DummySemaphore}, {@link withPermit}
 */
export class Semaphore extends Observable<number> implements PermitPool {
  /** @internal Whether releases may not lift the value above the initial value. */
  protected static readonly bounded: boolean = false;
  /** @internal The name used in messages. */
  protected static readonly primitiveName: string = 'Semaphore';

  private readonly core: SemaphoreCore;
  private readonly scheduler: SchedulerLike | undefined;
  /** The kind, and the name when there is one: `Semaphore "uploads"`. */
  private readonly label: string;
  private readonly givenName: string | undefined;
  private plainAcquire: Observable<boolean> | null = null;
  private rawlinks: Map<(semaphore: this) => void, ReadyWatch> | null = null;

  /**
   * Creates a semaphore with `value` permits.
   *
   * @param value The initial number of permits: an integer >= 0 (0 starts locked).
   * @param options `scheduler`: the default scheduler for this semaphore's timeouts; `name`: named
   * in messages and errors.
   */
  constructor(value: number = 1, options?: PrimitiveOptions) {
    const kind = (new.target as unknown as typeof Semaphore).primitiveName;
    const bounded = (new.target as unknown as typeof Semaphore).bounded;
    const initial = checkCount(kind, 'value', value);
    const { scheduler, name, label } = checkPrimitiveOptions(kind, options);
    const core = new SemaphoreCore(initial, bounded ? initial : Infinity, label, reportUnhandledError);
    super(subscribeToValue(core));
    this.core = core;
    this.scheduler = scheduler;
    this.label = label;
    this.givenName = name;
    registerGateTarget(this, { backend: core, scheduler });
  }

  /** The name given to the constructor, if any (it appears in messages and errors). */
  get name(): string | undefined {
    return this.givenName;
  }

  /** Permits available now (gevent's counter). Permits handed straight to waiters never show here. */
  get value(): number {
    return this.core.value;
  }

  /** Requests queued now (by `acquire`, the operators, or any other user of this semaphore). */
  get waiting(): number {
    return this.core.waiting;
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
    return this.core.value <= 0;
  }

  /** The opposite of {@link locked}: whether `value > 0`. */
  ready(): boolean {
    return this.core.value > 0;
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
    if (options === undefined && this.core.bound >= 1) {
      return (this.plainAcquire ??= acquirePermits(this.core, 1, true, null, this.scheduler));
    }
    const where = `${this.label}.acquire`;
    const opts = checkOptions<AcquireOptions>(
      where,
      options,
      ['blocking', 'timeout', 'permits', 'scheduler'],
      acquireHint,
    );
    const blocking = checkBoolean(where, 'options.blocking', opts.blocking) ?? true;
    const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
    const permits = checkPermits(where, 'options.permits', opts.permits ?? 1, this.core.bound);
    const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? this.scheduler;
    return acquirePermits(this.core, permits, blocking, timeout, scheduler);
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
    const core = this.core;
    if ((permits !== 1 || core.bound < 1) && !isPermitCount(permits, core.bound)) {
      checkPermits(`${this.label}.tryAcquire`, 'permits', permits, core.bound);
    }
    return core.tryAcquire(permits);
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
   * @throws {@link OverReleaseError} from a BoundedSemaphore when the value would exceed the bound; the
   * release then changes nothing.
   */
  release(permits: number = 1): number {
    if (permits !== 1 && !isPermitCount(permits, Infinity))
      checkPermits(`${this.label}.release`, 'permits', permits);
    return this.core.release(permits);
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
    const core = this.core;
    return new Observable<number>((subscriber) => {
      if (core.value > 0 || (timeout !== null && timeout <= 0)) {
        subscriber.next(core.value);
        subscriber.complete();
        return;
      }
      let timer: Subscription | null = null;
      const watch = core.watchers.watchReady({
        onReady(value) {
          timer?.unsubscribe();
          subscriber.next(value);
          subscriber.complete();
        },
      });
      if (timeout !== null) {
        timer = (scheduler ?? asyncScheduler).schedule(() => {
          core.watchers.unwatchReady(watch);
          subscriber.next(core.value);
          subscriber.complete();
        }, timeout);
      }
      return () => {
        core.watchers.unwatchReady(watch);
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
    if (this.core.value > 0) {
      // Linked already, with its wake-up maybe queued: this call is that one-shot, not a second.
      this.unlinkQuietly(callback);
      callback(this);
      return;
    }
    const rawlinks = (this.rawlinks ??= new Map());
    if (rawlinks.has(callback)) return;
    rawlinks.set(
      callback,
      this.core.watchers.watchReady({
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
    const watch = this.rawlinks?.get(callback);
    if (watch === undefined) return;
    this.rawlinks!.delete(callback);
    this.core.watchers.unwatchReady(watch);
  }
}

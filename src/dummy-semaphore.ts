import { Observable } from 'rxjs';
import { registerGateTarget } from './internal/gate-target.js';
import {
  acquireHint,
  checkBoolean,
  checkFunction,
  checkOptions,
  checkPrimitiveOptions,
  checkPermits,
  checkScheduler,
  checkTimeout,
} from './internal/validate.js';
import type { AcquireOptions, PermitPool, PrimitiveOptions, WaitOptions } from './types.js';

const KIND = 'DummySemaphore';

/**
 * A semaphore that never blocks, after gevent's `DummySemaphore`: its value is `Infinity`,
 * `acquire` is granted at once, `release`, `rawlink` and `unlink` do nothing, and the operators
 * pass streams through untouched. Use it where a limit is optional: code written against
 * `Semaphore | DummySemaphore` needs no branch for "unlimited".
 *
 * It is an `Observable<number>` that emits `Infinity` on subscribe and never completes. Arguments
 * are checked as by {@link Semaphore}, so code that is wrong with a real semaphore fails here too.
 *
 * @example
 * ```ts
 * import { DummySemaphore, Semaphore, withPermit } from 'rxjs-permits';
 *
 * const limit = config.unlimited ? new DummySemaphore() : new Semaphore(4);
 * upload$.pipe(withPermit(limit)).subscribe();
 * ```
 *
 * @throws `RangeError` / `TypeError` from its methods for bad arguments, as `Semaphore`'s (its
 * constructor accepts any value, but checks its options).
 * @see {@link Semaphore}
 */
export class DummySemaphore extends Observable<number> implements PermitPool {
  private readonly label: string;
  private readonly givenName: string | undefined;

  /**
   * Creates a semaphore that never blocks.
   *
   * @param _value Accepted and ignored, for compatibility with `Semaphore`.
   * @param options `name`: named in messages; `scheduler`: checked, then unused (nothing waits).
   */
  constructor(_value?: number | null, options?: PrimitiveOptions) {
    super((subscriber) => {
      subscriber.next(Infinity);
    });
    const { name, label } = checkPrimitiveOptions(KIND, options);
    this.givenName = name;
    this.label = label;
    registerGateTarget(this, { backend: null, scheduler: undefined });
  }

  /** The name given to the constructor, if any. */
  get name(): string | undefined {
    return this.givenName;
  }

  /** Always `Infinity`. */
  get value(): number {
    return Infinity;
  }

  /** Always 0: nothing ever waits. */
  get waiting(): number {
    return 0;
  }

  /** Always `false`. */
  locked(): boolean {
    return false;
  }

  /** Always `true`. */
  ready(): boolean {
    return true;
  }

  /**
   * Emits `true` synchronously, then completes. Options are checked, then ignored.
   *
   * @example
   * ```ts
   * new DummySemaphore().acquire().subscribe(console.log); // true
   * ```
   * @throws `RangeError` / `TypeError` for bad options, as `Semaphore.acquire`.
   */
  acquire(options?: AcquireOptions): Observable<boolean> {
    const where = `${this.label}.acquire`;
    const opts = checkOptions<AcquireOptions>(
      where,
      options,
      ['blocking', 'timeout', 'permits', 'scheduler'],
      acquireHint,
    );
    checkBoolean(where, 'options.blocking', opts.blocking);
    checkTimeout(where, 'options.timeout', opts.timeout);
    checkPermits(where, 'options.permits', opts.permits ?? 1);
    checkScheduler(where, 'options.scheduler', opts.scheduler);
    return new Observable<boolean>((subscriber) => {
      subscriber.next(true);
      subscriber.complete();
    });
  }

  /**
   * Always `true`.
   * @throws `RangeError` when `permits` is not a positive integer.
   */
  tryAcquire(permits: number = 1): boolean {
    checkPermits(`${this.label}.tryAcquire`, 'permits', permits);
    return true;
  }

  /**
   * Does nothing; returns `Infinity`.
   * @throws `RangeError` when `permits` is not a positive integer.
   */
  release(permits: number = 1): number {
    checkPermits(`${this.label}.release`, 'permits', permits);
    return Infinity;
  }

  /**
   * Emits `Infinity` synchronously, then completes.
   * @throws `RangeError` / `TypeError` for bad options, as `Semaphore.wait`.
   */
  wait(options?: WaitOptions): Observable<number> {
    const where = `${this.label}.wait`;
    const opts = checkOptions<WaitOptions>(where, options, ['timeout', 'scheduler']);
    checkTimeout(where, 'options.timeout', opts.timeout);
    checkScheduler(where, 'options.scheduler', opts.scheduler);
    return new Observable<number>((subscriber) => {
      subscriber.next(Infinity);
      subscriber.complete();
    });
  }

  /**
   * Does nothing (as gevent's): a dummy semaphore never changes, so there is nothing to be told of.
   * @throws `TypeError` when `callback` is not a function.
   */
  rawlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.rawlink`, 'callback', callback);
  }

  /**
   * Does nothing.
   * @throws `TypeError` when `callback` is not a function.
   */
  unlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.unlink`, 'callback', callback);
  }
}

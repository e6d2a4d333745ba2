import type { SchedulerLike } from 'rxjs';

/**
 * Options of `acquire()`.
 *
 * In every options object of this library, `timeout <= 0` means "do not wait", the scheduler
 * defaults to the primitive's, else `asyncScheduler`, and with `blocking: false` a timeout is
 * ignored.
 */
export interface AcquireOptions {
  /**
   * Wait for the permits when they are not free. With `false`, `acquire()` emits at once whether
   * it got them, and `timeout` is ignored.
   * @default true
   */
  blocking?: boolean;
  /**
   * Milliseconds to wait before giving up (then `acquire()` emits `false`). `null` or `undefined`
   * waits for ever; `<= 0` does not wait at all.
   * @default null
   */
  timeout?: number | null;
  /**
   * How many permits to take at once (a weighted acquire): a positive integer.
   * @default 1
   */
  permits?: number;
  /**
   * Runs the timeout. In marble tests, `TestScheduler.run` virtualises the default.
   * @default the primitive's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike;
}

/** Options of `wait()`. */
export interface WaitOptions {
  /**
   * Milliseconds to wait for the primitive to be ready; then `wait()` emits the value as it is
   * (possibly 0). `null` or `undefined` waits for ever; `<= 0` emits the value at once.
   * @default null
   */
  timeout?: number | null;
  /**
   * Runs the timeout.
   * @default the primitive's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike;
}

/** Options of the `Semaphore`, `BoundedSemaphore` and `RLock` constructors. */
export interface PrimitiveOptions {
  /**
   * The default scheduler for every timeout on this primitive (of `acquire`, `wait` and the
   * operators), unless a call names its own.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

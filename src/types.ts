import type { Observable, SchedulerLike } from 'rxjs';
import type { Lease, PermitStats } from './core/permit-backend.js';

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
  blocking?: boolean | undefined;
  /**
   * Milliseconds to wait before giving up (then `acquire()` emits `false`). `null` or `undefined`
   * waits for ever; `<= 0` does not wait at all.
   * @default null
   */
  timeout?: number | null | undefined;
  /**
   * How many permits to take at once (a weighted acquire): a positive integer.
   * @default 1
   */
  permits?: number | undefined;
  /**
   * Higher is served first: a safe integer. Requests of one priority are served in the order they
   * came, and a request never overtakes one of its own or a higher priority (strict head-of-line
   * over the queue ordered by priority, then arrival).
   * @default 0
   */
  priority?: number | undefined;
  /**
   * Runs the timeout. In marble tests, `TestScheduler.run` virtualises the default.
   * @default the primitive's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike | undefined;
}

/** Options of `lease()` and `run()` (rule 22). */
export interface LeaseOptions {
  /**
   * How many permits to take at once: a positive integer.
   * @default 1
   */
  permits?: number | undefined;
  /**
   * Milliseconds to wait; then the Promise rejects with `PermitTimeoutError`. `null`/`undefined`
   * waits for ever; `<= 0` does not wait (granted at once or rejected at once).
   * @default null
   */
  timeout?: number | null | undefined;
  /**
   * Higher is served first: a safe integer.
   * @default 0
   */
  priority?: number | undefined;
  /**
   * Aborting it withdraws the request (it consumes nothing) and rejects with `signal.reason`; an
   * already-aborted signal rejects at once and queues nothing. An abort after the grant does
   * nothing: the lease stays held.
   */
  signal?: AbortSignal | undefined;
  /**
   * Runs the timeout.
   * @default the primitive's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike | undefined;
}

/** Options of `wait()`. */
export interface WaitOptions {
  /**
   * Milliseconds to wait for the primitive to be ready; then `wait()` emits the value as it is
   * (possibly 0). `null` or `undefined` waits for ever; `<= 0` emits the value at once.
   * @default null
   */
  timeout?: number | null | undefined;
  /**
   * Runs the timeout.
   * @default the primitive's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike | undefined;
}

/** Options of the `Semaphore`, `BoundedSemaphore`, `DummySemaphore` and `RLock` constructors. */
export interface PrimitiveOptions {
  /**
   * The default scheduler for every timeout on this primitive (of `acquire`, `wait` and the
   * operators), unless a call names its own.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
  /**
   * A name for messages and errors, so that a timeout in an app with several semaphores says which
   * one: `Semaphore "uploads": no permit within 100 ms ...`. A non-empty string.
   * @default none: messages name the kind only (`Semaphore`)
   */
  name?: string | undefined;
}

/**
 * Any primitive the operators accept: `Semaphore`, `BoundedSemaphore`, `DummySemaphore`, the
 * `SimulatedRemoteSemaphore` of `rxjs-permits/testing`, and any {@link BackendSemaphore} over a
 * backend of your own (an `RLock` is used through `reentrant`). Take this type where a function accepts "a limit", so that
 * callers may pass any of them:
 *
 * @example
 * ```ts
 * import { DummySemaphore, Semaphore, withPermit, type PermitPool } from 'rxjs-permits';
 * import type { Observable } from 'rxjs';
 *
 * function limited<T>(work$: Observable<T>, pool: PermitPool): Observable<T> {
 *   return work$.pipe(withPermit(pool));
 * }
 * limited(work$, new Semaphore(4));
 * limited(work$, new DummySemaphore()); // no limit
 * ```
 *
 * The operators reach the permits through the {@link PermitBackend} of a {@link BackendSemaphore}:
 * every primitive of the package is one, and a backend of your own becomes one by extending it.
 * Another object of this shape is a TypeError when an operator is created.
 */
export interface PermitPool extends Observable<number> {
  /** Permits available now. */
  readonly value: number;
  /** Requests queued now. */
  readonly waiting: number;
  /** Whether no permit is free: `value <= 0`. */
  locked(): boolean;
  /** Whether a permit is free: `value > 0`. */
  ready(): boolean;
  /** Requests permits: emits `true` when granted (then release them), or `false`; then completes. */
  acquire(options?: AcquireOptions): Observable<boolean>;
  /** Takes `permits` now if they are free and nobody is queued. */
  tryAcquire(permits?: number): boolean;
  /** Gives `permits` back; returns `value` after the hand-off. */
  release(permits?: number): number;
  /** Waits for permits with `await`: a Promise of the held lease. */
  lease(options?: LeaseOptions): Promise<Lease>;
  /** Runs `task` holding permits; releases them when its result settles. */
  run<T>(task: (lease: Lease) => T | PromiseLike<T>, options?: LeaseOptions): Promise<T>;
  /** A snapshot of the counts since it was made. */
  stats(): PermitStats;
  /** Changes the number of permits (a TypeError where the backend cannot). */
  adjust(delta: number): number;
}

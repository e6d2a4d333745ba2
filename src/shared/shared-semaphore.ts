import type { SchedulerLike } from 'rxjs';
import { BackendSemaphore } from '../backend-semaphore.js';
import { statsClock } from '../internal/clock.js';
import {
  checkBoolean,
  checkCount,
  checkName,
  checkOptions,
  checkScheduler,
  checkPermits,
  describeValue,
  isPermitCount,
  primitiveLabel,
} from '../internal/validate.js';
import { checkSharedMemory, currentThreadId } from './environment.js';
import { H_BOUND, H_CAPACITY, MAX_PERMITS } from './layout.js';
import { SharedBackend } from './shared-backend.js';
import { SharedMemory } from './shared-memory.js';
import { holdLifeLock, watchLifeLocks } from './web-locks.js';

const KIND = 'SharedSemaphore';
/** The default number of requests that may be queued at once, over every thread. */
const DEFAULT_CAPACITY = 4096;
/** The most requests that may be queued at once (the buffer grows by 48 bytes per request). */
const MAX_CAPACITY = 1 << 20;

/**
 * What a thread needs to attach to a {@link SharedSemaphore}: post it to a worker
 * (`worker.postMessage(semaphore.handle)` or in `workerData`), which calls
 * {@link SharedSemaphore.from} with it. Structured-cloneable: a SharedArrayBuffer and a name.
 */
export interface SharedSemaphoreHandle {
  /** The shared memory of the semaphore. */
  readonly buffer: SharedArrayBuffer;
  /** The name given to the constructor, if any (messages and errors use it in every thread). */
  readonly name: string | undefined;
}

/** Options of the {@link SharedSemaphore} constructor. */
export interface SharedSemaphoreOptions {
  /**
   * How many requests may be queued at once, over every thread; one more is refused with
   * `PermitRejectedError` (a stream errors, `lease()` rejects, `acquire()` emits `false`). An
   * integer from 0 to 1,048,576; the shared buffer takes 48 bytes per queued request.
   * @default 4096
   */
  capacity?: number | undefined;
  /**
   * Whether a release above the initial number of permits throws `OverReleaseError` (as a
   * `BoundedSemaphore`).
   * @default false
   */
  bounded?: boolean | undefined;
  /**
   * The default scheduler for this thread's timeouts on the semaphore.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
  /** A name for messages and errors, in every thread. A non-empty string. */
  name?: string | undefined;
}

/** What {@link SharedSemaphore.watch} needs of a worker: Node's `Worker` has it. */
export interface WatchedWorker {
  /** The worker's thread id (Node's `worker.threadId`); it reads -1 once the worker has exited. */
  readonly threadId: number;
  /** Registers a listener of the worker's `'exit'` event. */
  once(event: 'exit', listener: () => void): unknown;
}

/** Set by {@link SharedSemaphore.from} for the constructor call it makes. */
let attaching: { backend: SharedBackend; handle: SharedSemaphoreHandle } | null = null;

/** This thread's backend of each semaphore it attached to, by the semaphore's id. */
const attached = new Map<number, WeakRef<SharedBackend>>();

/**
 * A semaphore whose permits are shared by threads — Node `worker_threads` or browser Web Workers —
 * through one SharedArrayBuffer: one fair limit however many threads use it. Create it in one
 * thread, post its {@link handle} to the others, and call {@link SharedSemaphore.from} there; every
 * operator, `acquire`, `lease()`, `run()`, `wait`, `rawlink` and the permit observable work on it as
 * on a {@link Semaphore}.
 *
 * What it keeps of the in-process semantics (SPEC §7): requests are served FIFO in their order of
 * arrival at the shared queue, by priority then arrival, with strict head-of-line blocking; a
 * request is granted synchronously when the permits are free and nobody is queued; a release hands
 * permits to the head of the queue atomically — a grantee in the releasing thread is told
 * synchronously, one in another thread on a later task (its doorbell: one `Atomics.waitAsync` per
 * thread and semaphore, woken by `Atomics.notify`, no polling); withdrawal is O(1); an over-release
 * of a bounded semaphore throws. `value` and `waiting` count every thread; the permit observable
 * shows this thread's changes in order and other threads' changes as they are heard (they may
 * coalesce). Fencing tokens increase across threads (one counter in shared memory). `stats()`
 * counts this thread's requests.
 *
 * The shared state changes in a short critical section (a compare-and-swap spin lock, held for a
 * few hundred nanoseconds, never across an `await` or a call of user code); a waiting thread never
 * blocks. At most 64 threads are attached at once.
 *
 * **Threads that die.** A worker that exits or is terminated while holding or queueing permits
 * would strand them: {@link watch} the worker (in Node) and, on its `'exit'`, its held permits go
 * back, its queued requests leave the queue, and the queue moves on — also when it died inside the
 * critical section (each step of it is logged, and undone). In a browser, a `Worker` has no exit
 * event: each thread holds a Web Lock for its life, and the other threads that use the semaphore
 * request it, so when a worker is terminated (or its page closes) they are granted its lock and
 * reclaim its permits the same way (a worker stuck in an endless loop keeps its lock, and one
 * terminated before its lock was granted, just after it attached, is not seen); without
 * `navigator.locks` nothing can tell that a worker died.
 * A thread whose semaphore object is garbage collected gives its permits back too (no lease of it
 * can be released any more).
 *
 * In a browser it needs a cross-origin-isolated page (COOP/COEP headers): without one the
 * constructor throws a TypeError that names the requirement.
 *
 * @example
 * ```ts
 * // main.ts
 * import { Worker } from 'node:worker_threads';
 * import { SharedSemaphore } from 'rxjs-permits';
 *
 * const gpu = new SharedSemaphore(2, { name: 'gpu' });
 * for (let i = 0; i < 4; i++) {
 *   const worker = new Worker('./render.js', { workerData: gpu.handle });
 *   gpu.watch(worker); // its permits come back if it dies
 * }
 *
 * // render.ts (in each worker)
 * import { workerData } from 'node:worker_threads';
 * import { SharedSemaphore } from 'rxjs-permits';
 *
 * const gpu = SharedSemaphore.from(workerData);
 * await gpu.run(() => render()); // at most 2 threads render at once
 * ```
 *
 * @throws `TypeError` from the constructor when SharedArrayBuffer is unavailable (a browser page
 * that is not cross-origin isolated) or `Atomics.waitAsync` is missing; when an option has the
 * wrong type or an unknown key.
 * @throws `RangeError` from the constructor when `value` is not an integer from 0 to 2^31 - 1, or
 * `capacity` is not an integer from 0 to 2^20.
 * @see {@link Semaphore}, {@link SharedSemaphoreHandle}
 */
export class SharedSemaphore extends BackendSemaphore {
  /**
   * What another thread needs to attach to this semaphore: post it to a worker, which calls
   * {@link SharedSemaphore.from}. Structured-cloneable.
   */
  readonly handle: SharedSemaphoreHandle;
  private readonly shared: SharedBackend;

  /**
   * Creates a semaphore of `value` permits in fresh shared memory, attached to this thread.
   *
   * @param value The initial number of permits: an integer from 0 to 2^31 - 1.
   * @param options `capacity` (default 4096), `bounded` (default false), `scheduler`, `name`.
   */
  constructor(value: number, options?: SharedSemaphoreOptions) {
    let backend: SharedBackend;
    let handle: SharedSemaphoreHandle;
    let scheduler: SchedulerLike | undefined;
    let name: string | undefined;
    if (attaching !== null) {
      ({ backend, handle } = attaching);
      attaching = null;
      name = handle.name;
    } else {
      checkSharedMemory(KIND);
      const initial = checkCount(KIND, 'value', value);
      if (initial > MAX_PERMITS) {
        throw new RangeError(`${KIND}: value must be at most ${MAX_PERMITS}, got ${initial}`);
      }
      const opts = checkOptions<SharedSemaphoreOptions>(KIND, options, [
        'capacity',
        'bounded',
        'scheduler',
        'name',
      ]);
      const capacity = checkCount(KIND, 'options.capacity', opts.capacity ?? DEFAULT_CAPACITY);
      if (capacity > MAX_CAPACITY) {
        throw new RangeError(`${KIND}: options.capacity must be at most ${MAX_CAPACITY}, got ${capacity}`);
      }
      const bounded = checkBoolean(KIND, 'options.bounded', opts.bounded) ?? false;
      scheduler = checkScheduler(KIND, 'options.scheduler', opts.scheduler);
      name = checkName(KIND, opts.name);
      const buffer = SharedMemory.create(initial, bounded, capacity);
      handle = Object.freeze({ buffer, name });
      backend = attach(new SharedMemory(buffer), primitiveLabel(KIND, name), scheduler);
    }
    super(backend, { scheduler, name });
    this.handle = handle;
    this.shared = backend;
  }

  /**
   * Attaches this thread to the semaphore of `handle` (made by the constructor in another thread and
   * posted here). A thread attaches once per semaphore: calling it again in the same thread shares
   * that thread's state (its queue position, held permits and listeners).
   *
   * @example
   * ```ts
   * import { workerData } from 'node:worker_threads';
   * const limit = SharedSemaphore.from(workerData.limit);
   * ```
   *
   * @param handle A {@link SharedSemaphore.handle}, structured-cloned to this thread.
   * @param options `scheduler`: the default scheduler for this thread's timeouts.
   * @return A SharedSemaphore for this thread.
   * @throws `TypeError` when `handle` is not a SharedSemaphore handle, or shared memory is unavailable.
   * @throws `RangeError` when 64 threads are attached to the semaphore already.
   */
  static from(
    handle: SharedSemaphoreHandle,
    options?: { scheduler?: SchedulerLike | undefined },
  ): SharedSemaphore {
    const where = `${KIND}.from`;
    checkSharedMemory(where);
    const buffer = (handle as { buffer?: unknown } | null)?.buffer;
    if (
      typeof handle !== 'object' ||
      handle === null ||
      !(buffer instanceof SharedArrayBuffer) ||
      !SharedMemory.isSemaphoreBuffer(buffer)
    ) {
      throw new TypeError(
        `${where}: handle must be a SharedSemaphore's handle, got ${describeValue(handle)}`,
      );
    }
    const opts = checkOptions<{ scheduler: SchedulerLike }>(where, options, ['scheduler']);
    const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler);
    const name = handle.name === undefined ? undefined : checkName(where, handle.name);
    const memory = new SharedMemory(buffer);
    const existing = attached.get(memory.id)?.deref();
    const backend = existing ?? attach(memory, primitiveLabel(KIND, name), scheduler);
    attaching = { backend, handle: Object.freeze({ buffer, name }) };
    try {
      return new SharedSemaphore(0, { scheduler });
    } finally {
      attaching = null;
    }
  }

  /**
   * Takes `permits` now if they are free and nobody is queued in any thread; never waits, never
   * overtakes a queued request (as {@link Semaphore.tryAcquire}).
   *
   * @example
   * ```ts
   * if (limit.tryAcquire()) {
   *   try { doWork(); } finally { limit.release(); }
   * }
   * ```
   *
   * @param permits How many permits to take, a positive integer (default 1).
   * @return Whether they were taken.
   * @throws `RangeError` when `permits` is not a positive integer or exceeds the bound.
   */
  override tryAcquire(permits: number = 1): boolean {
    // The hot path (bench W6): this backend's own call, not the shared one of every primitive.
    const shared = this.shared;
    if ((permits !== 1 || shared.maxPermits < 1) && !isPermitCount(permits, shared.maxPermits)) {
      checkPermits(`${this.label}.tryAcquire`, 'permits', permits, shared.maxPermits);
    }
    return shared.tryAcquire(permits);
  }

  /**
   * Gives `permits` back: they go straight to queued requests from the head, in every thread
   * (this thread's grantees are told before it returns, others' on a later task), the rest become
   * free (as {@link Semaphore.release}).
   *
   * @example
   * ```ts
   * limit.release();
   * ```
   *
   * @param permits How many permits to give back, a positive integer (default 1).
   * @return `value` after the hand-off.
   * @throws `RangeError` when `permits` is not a positive integer, or the value would exceed 2^31 - 1.
   * @throws {@link index!OverReleaseError} when the semaphore is `bounded` and the value would exceed
   * the bound; the release then changes nothing.
   */
  override release(permits: number = 1): number {
    if (permits !== 1 && !isPermitCount(permits, Infinity)) {
      checkPermits(`${this.label}.release`, 'permits', permits);
    }
    return this.shared.release(permits);
  }

  /**
   * The most requests that may be queued at once over every thread (the constructor's `capacity`).
   */
  get capacity(): number {
    return this.shared.i32[H_CAPACITY];
  }

  /** Whether a release above the bound throws `OverReleaseError` (the constructor's `bounded`). */
  get bounded(): boolean {
    return Atomics.load(this.shared.i32, H_BOUND) >= 0;
  }

  /**
   * Gives back what `worker` holds when it exits or is terminated: on its `'exit'` event, the
   * permits its thread holds are released, its queued requests leave the queue (the queue moves on,
   * waiters in every thread are granted), and its place among the attached threads is freed — also
   * when it died inside the critical section. May be called at any time before the worker exits,
   * also after it acquired; watching the same worker twice does no harm. (Node's `Worker`; in a
   * browser the Web Locks described on the class do this without a call.)
   *
   * @example
   * ```ts
   * const worker = new Worker('./job.js', { workerData: limit.handle });
   * limit.watch(worker);
   * ```
   *
   * @param worker A Node `Worker` (anything with a `threadId` and `once('exit', listener)`).
   * @throws `TypeError` when `worker` lacks `threadId` or `once`, or has exited already (its
   * `threadId` reads -1: what it held can no longer be told apart).
   */
  watch(worker: WatchedWorker): void {
    const where = `${this.label}.watch`;
    const threadId = (worker as { threadId?: unknown } | null)?.threadId;
    if (typeof worker !== 'object' || worker === null || typeof worker.once !== 'function') {
      throw new TypeError(
        `${where}: worker must be a Worker (with once('exit')), got ${describeValue(worker)}`,
      );
    }
    if (typeof threadId !== 'number') {
      throw new TypeError(`${where}: worker.threadId must be a number, got ${describeValue(threadId)}`);
    }
    if (threadId < 0) {
      throw new TypeError(
        `${where}: the worker has exited already (threadId ${threadId}); watch it before it exits`,
      );
    }
    const backend = this.shared;
    worker.once('exit', () => backend.reclaimThread(threadId));
  }
}

/** A backend for this thread on `memory`, registered for `from` and for the garbage collector. */
function attach(memory: SharedMemory, label: string, scheduler: SchedulerLike | undefined): SharedBackend {
  const threadId = currentThreadId();
  const me = memory.attach(threadId);
  if (me === -1) {
    throw new RangeError(
      `${label}: ${memory.layout.participants} threads are attached to it already, the most it serves`,
    );
  }
  const backend = new SharedBackend(memory, me, label, statsClock(scheduler));
  attached.set(memory.id, new WeakRef(backend));
  collected.register(backend, { memory, me, id: memory.id });
  backend.lifeLockHeld = holdLifeLock(memory, me);
  backend.onWait = watchLifeLocks(backend);
  return backend;
}

/**
 * A backend nobody references any more can never release what it holds: its thread recovers its
 * participant as if the thread had died.
 */
const collected = new FinalizationRegistry<{ memory: SharedMemory; me: number; id: number }>(
  ({ memory, me, id }) => {
    if (attached.get(id)?.deref() === undefined) attached.delete(id);
    SharedBackend.recoverOrphan(memory, me);
  },
);

import { Observable, Subscriber, from, type ObservableInput, type OperatorFunction } from 'rxjs';
import type { Lease, PermitBackend } from '../core/permit-backend.js';
import {
  PermitRequest,
  rejectedErrorFor,
  timeoutErrorFor,
  type RequestKind,
} from '../internal/permit-request.js';
import type {
  PermitBackendError,
  PermitLostError,
  PermitRejectedError,
  PermitTimeoutError,
} from '../errors.js';
import type { PermitPool } from '../types.js';
import { checkFunction } from '../internal/validate.js';
import { gateConfig, type PermitOptions } from './options.js';
import { replacementFor, type GateConfig } from './permit-gate.js';
import { PermitHolder } from './permit-holder.js';

/**
 * A `mergeMap` whose inner streams are gated by a semaphore shared with other streams: each source
 * value queues one small request in the semaphore's FIFO, and `project(value)` is called and
 * subscribed only once that request is granted; the permits go back when the inner completes,
 * errors or is cut off.
 *
 * Prefer it to `mergeMap(x => inner(x).pipe(withPermit(semaphore)))` when many values may wait:
 * there every waiting value is a live inner subscription, and RxJS 7 removes each finished inner
 * from its parent with `indexOf` + `splice`, which is quadratic (10^5 waiting values cost seconds).
 * Here a waiting value costs one queued request, withdrawn in O(1).
 *
 * It completes when the source and every inner have completed. A source error, an inner error, or
 * unsubscribing withdraws every queued request. Options apply per value: a value whose request
 * times out errors the whole stream with {@link PermitTimeoutError}, or, with `with`, has its
 * inner replaced by the fallback (which runs without a permit). With a `DummySemaphore` it is a
 * plain `mergeMap(project)`.
 *
 * @example
 * ```ts
 * import { Semaphore, mergeMapWithPermit } from 'rxjs-permits';
 * import { from } from 'rxjs';
 *
 * const api = new Semaphore(8); // shared with every other caller of the API
 *
 * from(userIds)
 *   .pipe(mergeMapWithPermit(api, (id) => fetchUser(id)))
 *   .subscribe((user) => console.log(user.name));
 * ```
 *
 * @param semaphore The shared limit: any {@link PermitPool} (a `Semaphore`, `BoundedSemaphore` or
 * `DummySemaphore`).
 * @param project Maps a value, its index and the {@link Lease} it holds to the inner stream, called
 * once the value's permits are granted.
 * @param options `permits`, `priority`, `timeout`, `scheduler`, `with`, per value, as in `withPermit`.
 * @return A function that returns an Observable of the inner streams' values, merged.
 * @throws `TypeError` when `semaphore` is not a {@link PermitPool}, `project` is not a function, or
 * an option has the wrong type or an unknown key.
 * @throws `RangeError` when `permits` is not a positive integer or exceeds a bound, `priority` is
 * not a safe integer, or `timeout` is NaN.
 * @see {@link withPermit}
 */
export function mergeMapWithPermit<T, R, F = R>(
  semaphore: PermitPool,
  project: (value: T, index: number, lease: Lease) => ObservableInput<R>,
  options?: PermitOptions<F>,
): OperatorFunction<T, R | F> {
  checkFunction('mergeMapWithPermit', 'project', project);
  const { target, config } = gateConfig<R | F>(
    'mergeMapWithPermit',
    semaphore,
    options,
    Infinity,
    concurrencyHint,
  );
  const backend = target.backend;
  return (source) =>
    new Observable<R | F>((downstream) => {
      const merge = new PermitMerge<T, R | F>(downstream, project, backend, config);
      downstream.add(merge);
      source.subscribe(new MergeSourceSubscriber(downstream, merge));
    });
}

/** For `mergeMapWithPermit(sem, fn, 4)`, a `mergeMap(fn, 4)` habit. */
function concurrencyHint(value: unknown): string {
  return typeof value === 'number'
    ? `: the concurrency limit is the semaphore's own (its permits), not a third argument; for at most ${value} at once use new Semaphore(${value})`
    : '';
}

/** One source value's request: its slots (see {@link PermitRequest}); its kind is its merge. */
type QueuedValue<T, R> = PermitRequest & {
  readonly kind: PermitMerge<T, R>;
  /**
   * The value, until its request is answered; then, where a lease can be lost (see `onGrant`), its
   * inner.
   */
  s0: T | MergeInnerSubscriber<T, R> | undefined;
  /** Its index while queued (>= 0), then {@link RUNNING} or {@link DONE}. */
  s1: number;
  /** The next older and newer values queued (the merge's list; `prev`/`next` are the engine's). */
  s2: QueuedValue<T, R> | null;
  s3: QueuedValue<T, R> | null;
};

/** The phase of a value whose request left the queue: its inner runs (or its fallback). */
const RUNNING = -1;
/** The phase of a value withdrawn while queued: the merge is over. */
const DONE = -2;

/**
 * The state of one subscription: counts, and the values whose requests are still queued. It is the
 * kind of those requests: what a value's request does when answered.
 */
class PermitMerge<T, R> implements RequestKind {
  /**
   * Values whose request is queued, oldest first, so that they can all be withdrawn: a list linked
   * through their older/newer slots (their `prev`/`next` link them in the engine's queue).
   */
  oldestQueued: QueuedValue<T, R> | null = null;
  newestQueued: QueuedValue<T, R> | null = null;
  /**
   * The oldest and newest inners running now, fallbacks (which hold no permit) included: cut off
   * on an error, oldest first.
   * The running inners are a list linked through their `older`/`newer` fields (a `Set` cost an
   * add and a delete, hashing the subscriber, per value). Not a `WaiterQueue`: that one links
   * through `prev`/`next`, and `next` is a Subscriber's own method.
   */
  oldestRunning: MergeInnerSubscriber<T, R> | null = null;
  newestRunning: MergeInnerSubscriber<T, R> | null = null;
  /** Values not finished yet: queued, or with a running inner. */
  active = 0;
  sourceDone = false;
  closed = false;
  private index = 0;

  constructor(
    readonly downstream: Subscriber<R>,
    readonly project: (value: T, index: number, lease: Lease) => ObservableInput<R>,
    readonly backend: PermitBackend,
    readonly config: GateConfig<R>,
  ) {}

  push(value: T): void {
    // A grant run while the merge fails can emit into the source: nobody would get that value.
    if (this.closed) return;
    this.active++;
    const newest = this.newestQueued;
    const entry = new PermitRequest(this, value, this.index++, newest, null) as QueuedValue<T, R>;
    if (newest === null) this.oldestQueued = entry;
    else newest.s3 = entry;
    this.newestQueued = entry;
    entry.ask(this.backend, this.config, this.config.scheduler);
  }

  /** Subscribes an inner; `lease` is null for a fallback, which holds no permit. */
  subscribeInner(inner: Observable<R>, lease: Lease | null): MergeInnerSubscriber<T, R> {
    const subscriber = new MergeInnerSubscriber(this, lease);
    inner.subscribe(subscriber);
    return subscriber;
  }

  innerDone(): void {
    this.active--;
    this.completeIfDone();
  }

  completeIfDone(): void {
    if (this.sourceDone && this.active === 0) this.downstream.complete();
  }

  /**
   * Errors the whole stream. As `withPermit` does (rule 8, docs/semantics.md), every permit is back before the
   * error is forwarded: queued values are withdrawn and running inners cut off first.
   * @param held a lease the caller holds outside any inner (a value whose `project` threw).
   */
  fail(error: unknown, held: Lease | null = null): void {
    if (this.closed) {
      held?.release();
      return; // the first error wins
    }
    this.unsubscribe();
    // Released only once the queued values are withdrawn, so these permits start none of them.
    held?.release();
    // Oldest first; each leaves the list as it is torn down (one torn down already does nothing).
    let inner = this.oldestRunning;
    while (inner !== null) {
      const { newer } = inner;
      inner.tearDown();
      inner = newer;
    }
    this.downstream.error(error);
  }

  /** Teardown: withdraws every queued request and cancels its timer. */
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    // Newest first: withdrawing a queued request can grant the ones behind it (rule 7), which must
    // not be values of this merge, so only the last withdrawal (the oldest) re-examines the queue.
    let entry: QueuedValue<T, R> | null;
    while ((entry = this.newestQueued) !== null) {
      this.unqueue(entry);
      entry.s1 = DONE;
      entry.unsubscribe();
      entry.s0 = undefined;
    }
  }

  /** Takes `entry` out of the values queued. */
  private unqueue(entry: QueuedValue<T, R>): void {
    const { s2: older, s3: newer } = entry;
    if (older === null) this.oldestQueued = newer;
    else older.s3 = newer;
    if (newer === null) this.newestQueued = older;
    else newer.s2 = older;
    entry.s2 = entry.s3 = null;
  }

  // What a value's request does when answered (RequestKind).

  maxWaiting(): number {
    return this.config.maxWaiting;
  }

  onGrant(request: PermitRequest, lease: Lease): void {
    const entry = request as QueuedValue<T, R>;
    const index = entry.s1;
    const value = entry.s0 as T;
    this.leaveQueue(entry);
    let inner: Observable<R>;
    try {
      inner = from(this.project(value, index, lease));
    } catch (error) {
      this.fail(error, lease);
      return;
    }
    const subscriber = this.subscribeInner(inner, lease);
    // Kept only where a lease can be lost: an in-process semaphore (this request's engine) never
    // loses one. There, this request was queued long enough to be in the old generation, and a
    // pointer from it to the young inner would keep every finished inner alive until a full GC.
    if (entry.engine === null) entry.s0 = subscriber;
  }

  onTimeout(request: PermitRequest): void {
    this.fallBack(request as QueuedValue<T, R>, timeoutErrorFor(this.backend, this.config));
  }

  onRefused(request: PermitRequest, waiting: number, never: boolean): void {
    this.fallBack(request as QueuedValue<T, R>, rejectedErrorFor(this.backend, this.config, waiting, never));
  }

  onFailure(request: PermitRequest, error: PermitBackendError): void {
    const entry = request as QueuedValue<T, R>;
    if (entry.s1 === DONE) return;
    this.leaveQueue(entry);
    this.fail(error);
  }

  onLost(request: PermitRequest, error: PermitLostError): void {
    // Asked of an in-process engine, a request is never told of a loss. `s0` is the inner, or
    // undefined when `project` threw (the merge failed).
    ((request as QueuedValue<T, R>).s0 as MergeInnerSubscriber<T, R> | undefined)?.lost(error);
  }

  /** A timeout or a refusal: the fallback's stream replaces the inner, or the merge errors. */
  private fallBack(entry: QueuedValue<T, R>, error: PermitTimeoutError | PermitRejectedError): void {
    // The withdrawal may have let another user run and close this merge (which dropped this value).
    if (entry.s1 === DONE) return;
    this.leaveQueue(entry);
    const { fallback } = this.config;
    if (fallback === undefined) this.fail(error);
    else this.subscribeInner(replacementFor(fallback, error), null); // a throwing fallback errors the merge
  }

  /** The value's request is answered: it leaves the values queued, and forgets its value. */
  private leaveQueue(entry: QueuedValue<T, R>): void {
    entry.s1 = RUNNING;
    entry.s0 = undefined;
    this.unqueue(entry);
  }
}

/** Subscribes the source: each value queues a request; completion waits for the inners. */
class MergeSourceSubscriber<T, R> extends Subscriber<T> {
  constructor(
    destination: Subscriber<R>,
    private readonly merge: PermitMerge<T, R>,
  ) {
    super(destination);
  }

  protected override _next(value: T): void {
    this.merge.push(value);
  }

  protected override _complete(): void {
    this.merge.sourceDone = true;
    this.merge.completeIfDone();
    this.unsubscribe();
  }

  protected override _error(error: unknown): void {
    this.merge.fail(error);
  }
}

/** Holds one inner's permits; its completion counts towards the merge's, not downstream's. */
class MergeInnerSubscriber<T, R> extends PermitHolder<R> {
  /** The next older and newer inners running (the merge's list), while this one runs. */
  older: MergeInnerSubscriber<T, R> | null = null;
  newer: MergeInnerSubscriber<T, R> | null = null;
  private readonly merge: PermitMerge<T, R>;

  constructor(merge: PermitMerge<T, R>, lease: Lease | null) {
    super(merge.downstream, lease);
    this.merge = merge;
    // On a downstream already closed, super() has torn this down before `merge` was set.
    if (!this.closed) {
      const newest = merge.newestRunning;
      this.older = newest;
      if (newest === null) merge.oldestRunning = this;
      else newest.newer = this;
      merge.newestRunning = this;
    }
  }

  protected override _complete(): void {
    this.tearDown(); // the inner's teardown runs, then its permits go back
    this.merge.innerDone();
  }

  protected override _error(error: unknown): void {
    this.merge.fail(error);
  }

  override unsubscribe(): void {
    const { merge } = this;
    // Set once running (and torn down by super() before it was set, on a closed downstream).
    if (merge !== undefined && !this.closed) {
      const { older, newer } = this;
      if (newer === null) merge.newestRunning = older;
      else newer.older = older;
      if (older === null) merge.oldestRunning = newer;
      else older.newer = newer;
      this.older = this.newer = null;
    }
    super.unsubscribe();
  }
}

import { ModelClock, type ModelTimer } from './clock.js';
import {
  adjustDelta,
  appliesTo,
  appliesToMerge,
  isModelWaiting,
  modelActionable,
  openModelRequest,
  performOn,
  resolveTarget,
  countGrant,
  emptyStats,
  queueIndex,
  type AnyAction,
  type ModelStats,
  type ModelEntry,
  type RequestState,
} from './shared.js';

/**
 * The reference model of a `Semaphore` / `BoundedSemaphore` (SPEC §2 and §5), written from the
 * contract with plain arrays and no RxJS: a counter, a queue ordered by (priority desc, arrival) with
 * strict head-of-line granting over that order (rules 2 and 19), a hand-off that deducts permits at
 * once and announces grants from one trampoline (rules 3-4), timeouts on a virtual clock (rule 6),
 * withdrawal (rule 7), the gated-stream lifetime of `withPermit` / `boundedPermit` (rule 8), `wait` /
 * `rawlink` (rules 10-11), the settled values of the permit observable (rule 12), the bound (rule 13),
 * `mergeMapWithPermit` (rule 18), `adjust` (rule 20) and the `stats()` counters (rule 21).
 *
 * Priority (rule 19 and its settled details): a request is granted at once only when its permits are
 * free and no queued request of equal or higher priority exists; otherwise it joins the queue after
 * every request of equal or higher priority. A request that may not wait (`blocking: false`,
 * `timeout <= 0`, a full bulkhead) follows the same rule and is refused instead of queued;
 * `tryAcquire` never overtakes any queued request, whatever its priority.
 *
 * `adjust(delta)` (rule 20): the value moves by `delta` (it may go negative: permits owed); a
 * BoundedSemaphore's bound moves too (RangeError below 0, nothing changed), and when it falls, every
 * queued request that no longer fits under it leaves the queue at once and fails with
 * `PermitRejectedError` (`acquire()`: `false`), told through the trampoline in queue order before the
 * grants the same call makes.
 *
 * Statistics (rule 21 and its settled details): `granted` counts every request told of its grant
 * (at once, `tryAcquire` success, or after queueing), with its queued time in `waitMs`; `rejected`
 * every refusal without queueing (`tryAcquire` false, `blocking: false` / `timeout <= 0` failures,
 * a full bulkhead, a request that can never fit the bound) and every queued request `adjust` refuses;
 * `timedOut` every timeout of a waiting request; `withdrawn` every unsubscribe of a waiting request.
 * A request whose permits were assigned by a hand-off but that was withdrawn before it was told
 * (docs/semantics.md, "ASSIGNED -> WITHDRAWN") was never granted: it counts as withdrawn (or timed
 * out), not as granted.
 *
 * Where the contract leaves an order open, the model takes the reading that keeps rules 2, 7 and 18
 * literal, and the real primitives must agree:
 * - a `mergeMapWithPermit` that is unsubscribed or fails withdraws all its queued values before any
 *   grant that withdrawal causes runs (as if withdrawn newest first, so that only the last
 *   withdrawal re-examines the queue): none of them is granted on the way, and none blocks the
 *   queue meanwhile;
 * - values its source emits once it is closed are ignored, and its first error is the one
 *   delivered;
 * - a request whose deadline has come is not touched by other steps of that frame (its timeout
 *   fires first or is already firing).
 *
 * Everything the real system should make visible is logged: `events` (grants, `false`, gated
 * stream notifications, in the order subscribers see them), `valueLog` (settled values, as the
 * permit observable must deliver them) and `readyLog` (`wait` results and `rawlink` calls).
 */

/** What can be done to a named request (or, for `acquire`, under a free name). */
export type Action = AnyAction;

/** Something an `acquire()` observer does as soon as it is granted, before anything else. */
export interface Reaction {
  readonly action: Action;
  /** A name, or {@link NEXT_WAITING}. */
  readonly target: string;
}

/**
 * A request spec: one permit, blocking, no timeout, no reaction, no fallback, no `maxWaiting`,
 * inners `of(value)`, but for `fields`.
 */
export function requestSpec(
  name: string,
  kind: RequestSpec['kind'],
  fields: Partial<Omit<RequestSpec, 'name' | 'kind'>> = {},
): RequestSpec {
  return {
    name,
    kind,
    permits: 1,
    timeout: null,
    blocking: true,
    atOnce: false,
    fallback: false,
    maxWaiting: null,
    then: null,
    innerDelay: 0,
    priority: 0,
    ...fields,
  };
}

/** The plain request `acquire` reactions make: one permit, blocking, no timeout. */
export function plainAcquire(name: string): RequestSpec {
  return requestSpec(name, 'acquire');
}

/** What a named request is and how it behaves once granted. */
export interface RequestSpec {
  readonly name: string;
  /**
   * `acquire()`, `tryAcquire()`, a gated stream (`withPermit` / `boundedPermit`), a
   * `mergeMapWithPermit` subscription, or one value queued by such a merge.
   */
  readonly kind: 'acquire' | 'tryAcquire' | 'gate' | 'merge' | 'mergeValue';
  readonly permits: number;
  /** `null`: wait for ever; `<= 0`: do not wait. */
  readonly timeout: number | null;
  /** acquire: `blocking` option. */
  readonly blocking: boolean;
  /** acquire: the observer releases as soon as it sees `true`; gate: the source completes synchronously. */
  readonly atOnce: boolean;
  /** gate: a `with` fallback. */
  readonly fallback: boolean;
  /** gate: `null` for `withPermit`, else `boundedPermit` with this `maxWaiting`. */
  readonly maxWaiting: number | null;
  /** acquire: what its observer does when granted (from inside the grant). */
  readonly then: Reaction | null;
  /** merge: each value's inner is `timer(innerDelay)` (`of(value)` for 0). */
  readonly innerDelay: number;
  /** merge: the inner errors at its timer instead of emitting (only with `innerDelay` > 0). */
  readonly innerErrors?: boolean;
  /** Rule 19: higher is served first; 0 by default. */
  readonly priority: number;
}

/** A request; `state` `closing`: withdrawn by its timeout (or refused), its subscriber not yet told. */
export interface ModelRequest extends ModelEntry<RequestSpec> {
  /** merge: its state; mergeValue: the merge it belongs to. */
  readonly merge?: ModelMerge;
  /** mergeValue: the source value. */
  readonly value?: number;
  /** When it joined the queue (for `stats().waitMs`); unset when it never queued. */
  queuedAt?: number;
}

/** What a request that may not wait, or cannot be granted, is told instead of being queued. */
type Refusal = { readonly never: boolean; readonly waiting: number };

/**
 * A `source.pipe(mergeMapWithPermit(semaphore, project, options))` subscription (rule 18): every
 * source value queues a request in the semaphore's FIFO; `project` runs when it is granted; the
 * permits go back when that inner completes or is cut off. Unsubscribing, a source error or a
 * timeout without fallback withdraws every queued value (all of them, from the newest: none of them
 * is granted on the way) and cuts the running inners off.
 */
export interface ModelMerge {
  readonly request: ModelRequest;
  /** Values whose request is queued (or assigned), oldest first. */
  readonly queued: ModelRequest[];
  /** Inners running, in subscription order. */
  readonly running: ModelInner[];
  active: number;
  emitted: number;
  sourceDone: boolean;
  closed: boolean;
}

interface ModelInner {
  readonly value: number | 'fallback';
  timer: ModelTimer | null;
}

interface ReadyEntry {
  readonly id: string;
  readonly kind: 'wait' | 'rawlink';
  timer: ModelTimer | null;
}

export class SemaphoreModel {
  value: number;
  /** The bound of a BoundedSemaphore (moved by `adjust`); `Infinity` for a Semaphore. */
  bound: number;
  /** Permits added by deliberate over-releases (unbounded `Semaphore` only). */
  extra = 0;
  /** The sum of every `adjust` delta. */
  adjusted = 0;
  readonly stats: ModelStats;
  readonly queue: ModelRequest[] = [];
  readonly requests = new Map<string, ModelRequest>();
  readonly clock = new ModelClock();

  readonly events: string[] = [];
  readonly valueLog: number[] = [];
  readonly readyLog: string[] = [];

  private jobs: Array<() => void> = [];
  private running = false;
  private announced: number;
  /** {@link handoffs} when the last value was queued for announcement. */
  private announcedAfter = 0;
  /** The last value the permanent subscriber was told. */
  private lastLogged: number;
  /** Hand-offs to queued requests so far: a value queued before the latest may be stale. */
  private handoffs = 0;
  private wakeQueued = false;
  private ready: ReadyEntry[] = [];
  private readyCount = 0;
  private seq = 0;
  /** Subscribers of the permit observable, beyond the one the harness keeps from the start. */
  listeners = 0;
  step = 0;

  constructor(
    readonly initial: number,
    readonly bounded: boolean,
  ) {
    this.value = initial;
    this.bound = bounded ? initial : Infinity;
    this.announced = initial;
    this.lastLogged = initial;
    this.stats = emptyStats(initial);
  }

  /** What `stats()` must return now (but `name`). */
  snapshot(): ModelStats {
    return {
      ...this.stats,
      value: this.value,
      waiting: this.queue.length,
      waitMs: { ...this.stats.waitMs },
    };
  }

  /** The live request called `name` (not finished), if any. */
  live(name: string): ModelRequest | undefined {
    const request = this.requests.get(name);
    return request !== undefined && request.state !== 'done' ? request : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // The engine: counter, FIFO, hand-off, trampoline.

  /**
   * Queues the announcement of the settled value and a wake-up pass, both checked when they run
   * (settled details of §2): a value is dropped when a hand-off since gave some of the permits it
   * counts to a queued request; ready entries are served in link order while the value is > 0,
   * checked before each, and those after a stop stay linked, in order.
   */
  private settle(): void {
    if (this.value !== this.announced || this.handoffs !== this.announcedAfter) {
      this.announced = this.value;
      this.announcedAfter = this.handoffs;
      const value = this.value;
      const handoffs = this.handoffs;
      this.jobs.push(() => {
        if (this.handoffs !== handoffs && value > this.value) return;
        if (value === this.lastLogged) return;
        this.lastLogged = value;
        this.valueLog.push(value);
      });
    }
    if (this.value > 0 && this.ready.length > 0 && !this.wakeQueued) {
      this.wakeQueued = true;
      this.jobs.push(() => {
        this.wakeQueued = false;
        const last = this.ready[this.ready.length - 1];
        while (this.ready.length > 0 && this.value > 0) {
          const entry = this.ready.shift()!;
          entry.timer?.cancel();
          this.readyLog.push(entry.kind === 'wait' ? `${entry.id} -> ${this.value}` : `${entry.id} called`);
          if (entry === last) break;
        }
      });
    }
  }

  private drain(): void {
    if (this.running) return;
    this.running = true;
    try {
      let job: (() => void) | undefined;
      while ((job = this.jobs.shift()) !== undefined) job();
    } finally {
      this.running = false;
    }
  }

  private grantQueued(): void {
    while (this.queue.length > 0 && this.queue[0].spec.permits <= this.value) {
      const head = this.queue.shift()!;
      this.value -= head.spec.permits;
      head.state = 'assigned';
      this.handoffs++;
      this.jobs.push(() => {
        if (head.state !== 'assigned') return;
        this.granted(head);
      });
    }
  }

  /**
   * Grants `request` now (rule 5), refuses it, or queues it in (priority, arrival) order. Granted at
   * once only when its permits are free and no queued request of equal or higher priority exists
   * (settled details of §5). Refused, without queueing, when it can never fit the bound, or when
   * `maxWaiting` requests are already queued (0: a request that may not wait).
   */
  private request(request: ModelRequest, maxWaiting: number): 'granted' | 'queued' | Refusal {
    const { permits, priority } = request.spec;
    if (permits > this.bound) return this.refuse(request, true);
    const ahead = this.queue.length > 0 && this.queue[0].spec.priority >= priority;
    if (!ahead && this.value >= permits) {
      this.value -= permits;
      this.settle();
      const outermost = !this.running;
      this.running = true;
      try {
        this.granted(request);
      } finally {
        if (outermost) {
          this.running = false;
          this.drain();
        }
      }
      return 'granted';
    }
    if (this.queue.length >= maxWaiting) return this.refuse(request, false);
    request.state = 'queued';
    request.queuedAt = this.clock.now;
    this.queue.splice(queueIndex(this.queue, priority), 0, request);
    if (this.queue.length > this.stats.peakWaiting) this.stats.peakWaiting = this.queue.length;
    return 'queued';
  }

  private refuse(request: ModelRequest, never: boolean): Refusal {
    request.state = 'closing';
    this.stats.rejected++;
    return { never, waiting: this.queue.length };
  }

  /** `release(n)`: returns the value after the hand-off, or throws 'OverReleaseError'. */
  release(permits: number): number {
    if (this.value + permits > this.bound) throw new Error('OverReleaseError');
    this.value += permits;
    this.grantQueued();
    this.settle();
    this.drain();
    return this.value;
  }

  private withdraw(
    request: ModelRequest,
    final: RequestState = 'done',
    reason: 'timeout' | 'cancel' = 'cancel',
  ): boolean {
    request.timer?.cancel();
    request.timer = null;
    if (request.state === 'queued' || request.state === 'assigned') {
      if (reason === 'timeout') this.stats.timedOut++;
      else this.stats.withdrawn++;
    }
    if (request.state === 'queued') {
      const index = this.queue.indexOf(request);
      this.queue.splice(index, 1);
      request.state = final;
      if (index === 0) {
        this.grantQueued();
        this.settle();
        this.drain();
      }
      return true;
    }
    if (request.state === 'assigned') {
      request.state = final;
      this.value += request.spec.permits;
      this.grantQueued();
      this.settle();
      this.drain();
      return true;
    }
    return false;
  }

  /** `tryAcquire(permits)`: never overtakes any queued request, whatever its priority. */
  tryAcquire(permits: number): boolean {
    if (this.queue.length !== 0 || this.value < permits) {
      this.stats.rejected++;
      return false;
    }
    this.value -= permits;
    countGrant(this.stats, 0);
    this.settle();
    this.drain();
    return true;
  }

  /**
   * `adjust(delta)` (rule 20); throws 'RangeError' (and changes nothing) when a bound would fall
   * below 0. Returns the value.
   */
  adjust(delta: number): number {
    if (delta === 0) return this.value;
    if (this.bounded) {
      if (this.bound + delta < 0) throw new Error('RangeError');
      this.bound += delta;
      for (const request of this.queue.filter((queued) => queued.spec.permits > this.bound)) {
        this.queue.splice(this.queue.indexOf(request), 1);
        request.timer?.cancel();
        request.timer = null;
        this.refuse(request, true);
        this.jobs.push(() => {
          if (request.state === 'closing') this.refused(request, { never: true, waiting: this.queue.length });
        });
      }
    }
    this.value += delta;
    this.adjusted += delta;
    this.grantQueued();
    this.settle();
    this.drain();
    return this.value;
  }

  /**
   * A request refused (without queueing, or by `adjust`) is told: a full bulkhead (`maxWaiting`
   * requests queued) or a request that can never fit is a `PermitRejectedError`; one that only
   * could not wait (`timeout <= 0`) a `PermitTimeoutError` (SPEC §1 errors, rule 6).
   */
  private refused(request: ModelRequest, refusal: Refusal): void {
    const { spec } = request;
    request.state = 'done';
    const rejected = refusal.never || refusal.waiting >= (spec.maxWaiting ?? Infinity);
    const error = rejected ? 'PermitRejectedError' : 'PermitTimeoutError';
    // How the subscriber sees the error (a fallback sees its name only): see describeError.
    const seen = refusal.never ? `${error} (bound ${this.bound})` : error;
    if (spec.kind === 'acquire') this.events.push(`${spec.name}: false`);
    else if (spec.kind === 'gate') this.fail(request, error, seen);
    else if (spec.kind === 'mergeValue') this.mergeValueFailed(request, error, seen);
  }

  /** A request is told of its grant: what its subscriber, observer and source do then. */
  private granted(request: ModelRequest): void {
    const { spec } = request;
    countGrant(this.stats, request.queuedAt === undefined ? 0 : this.clock.now - request.queuedAt);
    request.state = 'holding';
    request.timer?.cancel();
    request.timer = null;
    if (spec.kind === 'mergeValue') {
      this.mergeValueGranted(request);
      return;
    }
    if (spec.kind === 'gate') {
      this.events.push(`${spec.name}: source subscribed`);
      if (spec.atOnce) {
        this.events.push(`${spec.name}: next ${spec.name}1`);
        request.state = 'done';
        this.release(spec.permits);
        this.events.push(`${spec.name}: complete`);
      }
      return;
    }
    this.sawTrue(request);
  }

  /** An `acquire()` observer sees `true`: it holds the permits, and reacts. */
  private sawTrue(request: ModelRequest): void {
    const { spec } = request;
    request.state = 'holding';
    this.events.push(`${spec.name}: true`);
    const target = spec.then === null ? null : this.resolve(request, spec.then.target);
    if (target !== null && this.can(target, spec.then!.action)) this.perform(target, spec.then!.action);
    if (spec.atOnce && request.state === 'holding') {
      request.state = 'done';
      this.release(spec.permits);
    }
  }

  /** The name `target` designates for `request`'s reaction, if any. */
  private resolve(request: ModelRequest, target: string): string | null {
    return resolveTarget(target, request, this.requests.values(), this.clock.now, isModelWaiting);
  }

  /**
   * Whether `action` applies to `name` now. Not to a request inside its own subscribe, nor to one
   * whose deadline has come (its timeout is firing, or about to in this frame).
   */
  can(name: string, action: Action): boolean {
    const delta = adjustDelta(action);
    // adjust() applies unless it would lower a bound below 0 (a RangeError: see AdjustStep).
    if (delta !== null) return this.bound + delta >= 0;
    const request = this.live(name);
    // A plain acquire() beyond the bound (lowered by adjust) would be a RangeError.
    if (action === 'acquire') return request === undefined && this.bound >= 1;
    if (!modelActionable(request, this.clock.now)) return false;
    const { kind, atOnce } = request.spec;
    if (kind === 'merge') return appliesToMerge(action, request.merge!.sourceDone);
    return appliesTo(action, kind, atOnce, request.state === 'holding', isModelWaiting(request));
  }

  perform(name: string, action: Action): void {
    performOn(this, name, action, () => this.acquire(plainAcquire(name)));
  }

  // ------------------------------------------------------------------------------------------
  // What the commands do.

  private open(spec: RequestSpec): ModelRequest {
    const request: ModelRequest = openModelRequest(spec, ++this.seq, this.clock.now);
    this.requests.set(spec.name, request);
    return request;
  }

  /** `acquire(options)` subscribed, or `tryAcquire(permits)`. */
  acquire(spec: RequestSpec): void {
    const request = this.open(spec);
    try {
      if (spec.kind === 'tryAcquire') {
        request.state = this.tryAcquire(spec.permits) ? 'holding' : 'done';
        return;
      }
      const mayWait = spec.blocking && (spec.timeout === null || spec.timeout > 0);
      const outcome = this.request(request, mayWait ? Infinity : 0);
      if (outcome === 'granted') return;
      if (outcome !== 'queued') {
        this.refused(request, outcome);
        return;
      }
      if (spec.timeout !== null) {
        request.timer = this.clock.schedule(spec.timeout, () => {
          request.timer = null;
          if (this.withdraw(request, 'closing', 'timeout')) {
            request.state = 'done';
            this.events.push(`${spec.name}: false`);
          }
        });
      }
    } finally {
      request.settling = false;
    }
  }

  /** A gated stream subscribed: `source.pipe(withPermit(...))` or `boundedPermit`. */
  gate(spec: RequestSpec): void {
    const request = this.open(spec);
    try {
      const mayWait = spec.timeout === null || spec.timeout > 0;
      const outcome = this.request(request, mayWait ? (spec.maxWaiting ?? Infinity) : 0);
      if (outcome === 'granted') return;
      if (outcome !== 'queued') {
        this.refused(request, outcome);
        return;
      }
      if (spec.timeout === null) return;
      request.timer = this.clock.schedule(spec.timeout, () => {
        request.timer = null;
        if (this.withdraw(request, 'closing', 'timeout')) this.fail(request, 'PermitTimeoutError');
      });
    } finally {
      request.settling = false;
    }
  }

  /** A gated stream fails with `error`: its fallback runs, or its subscriber sees `seen`. */
  private fail(request: ModelRequest, error: string, seen = error): void {
    const { name } = request.spec;
    request.state = 'done';
    if (request.spec.fallback) {
      this.events.push(`${name}: next fallback for ${error}`, `${name}: complete`);
    } else {
      this.events.push(`${name}: error ${seen}`);
    }
  }

  /** The holder of an acquire releases what it took. */
  releaseHeld(name: string): number {
    const request = this.live(name)!;
    request.state = 'done';
    return this.release(request.spec.permits);
  }

  /** Unsubscribes a queued `acquire()`. */
  unsubscribe(name: string): void {
    this.withdraw(this.live(name)!);
  }

  /** The source of a running gated stream (or of a merge) completes or errors. */
  finish(name: string, how: 'complete' | 'error'): void {
    const request = this.live(name)!;
    if (request.spec.kind === 'merge') {
      const merge = request.merge!;
      merge.sourceDone = true;
      if (how === 'complete') this.completeIfDone(merge);
      else this.failMerge(merge, `TestError ${name}`);
      return;
    }
    request.state = 'done';
    this.release(request.spec.permits);
    this.events.push(how === 'complete' ? `${name}: complete` : `${name}: error TestError ${name}`);
  }

  /** A gated stream is unsubscribed (cut off): withdrawn while queued, its permits back if running. */
  cut(name: string): void {
    const request = this.live(name)!;
    if (request.spec.kind === 'merge') {
      // The subscriber's finalizers, in order: the merge (withdraws its queued values), then each
      // running inner (its permits back).
      const merge = request.merge!;
      request.state = 'done';
      merge.sourceDone = true;
      this.closeMerge(merge);
      for (const inner of merge.running.splice(0)) this.cutInner(merge, inner);
      return;
    }
    if (request.state === 'holding') {
      request.state = 'done';
      this.release(request.spec.permits);
    } else {
      this.withdraw(request);
    }
  }

  /** A release by nobody who holds a permit. Throws 'OverReleaseError' when above the bound. */
  overRelease(permits: number): number {
    const value = this.release(permits);
    this.extra += permits;
    return value;
  }

  // ------------------------------------------------------------------------------------------
  // mergeMapWithPermit

  /** `source.pipe(mergeMapWithPermit(...))` subscribed. */
  mergeStart(spec: RequestSpec): void {
    const request: ModelRequest = {
      spec,
      state: 'holding',
      timer: null,
      deadline: Infinity,
      settling: false,
      seq: ++this.seq,
    };
    const merge: ModelMerge = {
      request,
      queued: [],
      running: [],
      active: 0,
      emitted: 0,
      sourceDone: false,
      closed: false,
    };
    (request as { merge?: ModelMerge }).merge = merge;
    this.requests.set(spec.name, request);
  }

  /** The merge's source emits its next value (ignored once the merge is closed). */
  emit(name: string): void {
    const merge = this.live(name)!.merge!;
    const value = ++merge.emitted;
    if (merge.closed) return;
    const { spec } = merge.request;
    merge.active++;
    const entry: ModelRequest = {
      spec: { ...spec, name: `${spec.name}.${value}`, kind: 'mergeValue', then: null },
      state: 'queued',
      timer: null,
      deadline: spec.timeout !== null && spec.timeout > 0 ? this.clock.now + spec.timeout : Infinity,
      settling: false,
      seq: ++this.seq,
      merge,
      value,
    };
    merge.queued.push(entry);
    const mayWait = spec.timeout === null || spec.timeout > 0;
    const outcome = this.request(entry, mayWait ? Infinity : 0);
    if (outcome === 'granted') return;
    if (outcome !== 'queued') {
      this.refused(entry, outcome);
      return;
    }
    if (spec.timeout === null) return;
    entry.timer = this.clock.schedule(spec.timeout, () => {
      entry.timer = null;
      this.mergeValueTimeOut(entry);
    });
  }

  private leaveMergeQueue(entry: ModelRequest): void {
    const queued = entry.merge!.queued;
    const index = queued.indexOf(entry);
    if (index >= 0) queued.splice(index, 1);
    entry.timer?.cancel();
    entry.timer = null;
  }

  private mergeValueGranted(entry: ModelRequest): void {
    const merge = entry.merge!;
    this.leaveMergeQueue(entry);
    entry.state = 'holding';
    this.events.push(`${merge.request.spec.name}: project ${entry.value}`);
    this.subscribeInner(merge, entry.value!);
  }

  private subscribeInner(merge: ModelMerge, value: number | 'fallback', error = 'PermitTimeoutError'): void {
    const name = merge.request.spec.name;
    const inner: ModelInner = { value, timer: null };
    merge.running.push(inner);
    if (value === 'fallback') {
      this.events.push(`${name}: next fallback for ${error}`);
      this.innerComplete(merge, inner);
      return;
    }
    const delay = merge.request.spec.innerDelay;
    if (delay === 0) {
      this.events.push(`${name}: next ${value}`);
      this.innerComplete(merge, inner);
      return;
    }
    inner.timer = this.clock.schedule(delay, () => {
      inner.timer = null;
      if (merge.request.spec.innerErrors) {
        this.failMerge(merge, `TestError ${name}.${value}`);
        return;
      }
      this.events.push(`${name}: next ${value}`);
      this.innerComplete(merge, inner);
    });
  }

  private innerComplete(merge: ModelMerge, inner: ModelInner): void {
    merge.running.splice(merge.running.indexOf(inner), 1);
    if (inner.value !== 'fallback') this.release(merge.request.spec.permits);
    merge.active--;
    this.completeIfDone(merge);
  }

  private cutInner(merge: ModelMerge, inner: ModelInner): void {
    inner.timer?.cancel();
    inner.timer = null;
    if (inner.value !== 'fallback') this.release(merge.request.spec.permits);
  }

  private completeIfDone(merge: ModelMerge): void {
    if (!merge.sourceDone || merge.active !== 0 || merge.request.state === 'done') return;
    merge.request.state = 'done';
    merge.closed = true;
    this.events.push(`${merge.request.spec.name}: complete`);
  }

  /** Withdraws every queued value, newest first, so that no withdrawal grants one of them. */
  private closeMerge(merge: ModelMerge): void {
    if (merge.closed) return;
    merge.closed = true;
    let entry: ModelRequest | undefined;
    while ((entry = merge.queued.pop()) !== undefined) {
      this.withdraw(entry);
      entry.state = 'done';
    }
  }

  /** The merge errors: the first error wins; one raised while it fails (or after) is dropped. */
  private failMerge(merge: ModelMerge, error: string): void {
    if (merge.closed) return;
    this.closeMerge(merge);
    for (const inner of merge.running.splice(0)) this.cutInner(merge, inner);
    if (merge.request.state === 'done') return; // unsubscribed meanwhile: nobody to tell
    merge.request.state = 'done';
    this.events.push(`${merge.request.spec.name}: error ${error}`);
  }

  private mergeValueTimeOut(entry: ModelRequest): void {
    if (!this.withdraw(entry, 'closing', 'timeout')) return;
    this.mergeValueFailed(entry, 'PermitTimeoutError');
  }

  /** A value's request timed out or was refused: the fallback replaces its inner, or the merge fails. */
  private mergeValueFailed(entry: ModelRequest, error: string, seen = error): void {
    const merge = entry.merge!;
    this.leaveMergeQueue(entry);
    entry.state = 'done';
    if (merge.closed) return; // cut off meanwhile: nobody to tell
    if (merge.request.spec.fallback) this.subscribeInner(merge, 'fallback', error);
    else this.failMerge(merge, seen);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  wait(timeout: number | null): string {
    const id = `wait#${++this.readyCount}`;
    if (this.value > 0 || (timeout !== null && timeout <= 0)) {
      this.readyLog.push(`${id} -> ${this.value}`);
      return id;
    }
    const entry: ReadyEntry = { id, kind: 'wait', timer: null };
    this.ready.push(entry);
    if (timeout !== null) {
      entry.timer = this.clock.schedule(timeout, () => {
        this.ready.splice(this.ready.indexOf(entry), 1);
        this.readyLog.push(`${id} -> ${this.value}`);
      });
    }
    return id;
  }

  rawlink(): string {
    const id = `rawlink#${++this.readyCount}`;
    if (this.value > 0) this.readyLog.push(`${id} called`);
    else this.ready.push({ id, kind: 'rawlink', timer: null });
    return id;
  }
}

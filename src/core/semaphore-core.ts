import { OverReleaseError } from '../errors.js';
import { GrantLoop, type ErrorReporter, type Job } from './grant-loop.js';
import type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitStats,
  PermitTicket,
  ReadyListener,
  ValueListener,
} from './permit-backend.js';
import { PriorityQueue } from './priority-queue.js';
import { ANSWERED, AtOnceGrant } from './at-once-grant.js';
import { ASSIGNED, DONE, QUEUED, REFUSING, RequestNode } from './request-node.js';
import { StatsCounter } from './stats.js';
import { ValueWatchers } from './value-watchers.js';

/**
 * The in-process permit engine behind `Semaphore` and `BoundedSemaphore`, and the first
 * implementation of the {@link PermitBackend} contract: a counter, a queue ordered by priority then
 * arrival with O(1) withdrawal, strict head-of-line granting (also for weighted requests), fencing
 * tokens, `adjust`, statistics, and the trampolined {@link GrantLoop}. Free of RxJS; arguments are
 * trusted (the public classes check them).
 */
export class SemaphoreCore implements PermitBackend {
  /** Permits not taken; negative while permits removed by `adjust` are still owed. */
  value: number;
  /** The highest value a release may reach; `Infinity` when unbounded. */
  bound: number;
  readonly queue = new PriorityQueue<QueuedRequest>();
  readonly loop: GrantLoop;
  readonly watchers: ValueWatchers;
  readonly counts: StatsCounter;
  /** The last fencing token drawn. */
  private lastToken = 0;

  constructor(
    value: number,
    bounded: boolean,
    /** Named in error messages. */
    readonly name: string,
    reportError: ErrorReporter,
    now: () => number,
  ) {
    this.value = value;
    this.bound = bounded ? value : Infinity;
    this.counts = new StatsCounter(now);
    this.loop = new GrantLoop(reportError, () => this.counts.loopEnded());
    this.watchers = new ValueWatchers(value, reportError, () => this.value);
  }

  get maxPermits(): number {
    return this.bound;
  }

  get waiting(): number {
    return this.queue.length;
  }

  drawToken(): number {
    return ++this.lastToken;
  }

  tryAcquire(permits: number): boolean {
    if (this.queue.length !== 0 || this.value < permits) {
      this.counts.rejected++;
      return false;
    }
    this.value -= permits;
    this.lastToken++;
    this.counts.granted++;
    this.settle();
    return true;
  }

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const { permits } = demand;
    // Granted at once, or queued. (The hot path is kept small, so that callers can inline it.)
    if (this.freeFor(demand)) {
      if (permits > this.bound) return this.refuse(grantee, 'never'); // an over-released semaphore
      this.value -= permits;
      return this.grantAtOnce(grantee, permits, demand.priority);
    }
    return this.enqueue(demand, grantee);
  }

  /**
   * Whether `demand` is granted at once: its permits are free and nobody of equal or higher
   * priority is queued (rules 2, 5 and 19).
   */
  private freeFor(demand: PermitDemand): boolean {
    const head = this.queue.head;
    return this.value >= demand.permits && (head === null || demand.priority > head.priority);
  }

  /** Tells `grantee` of a grant of `permits`, already taken, inside the call. */
  private grantAtOnce(grantee: PermitGrantee, permits: number, priority: number): PermitTicket {
    let grant: Job & PermitTicket;
    const own = this.adopt(grantee, permits, priority);
    if (own !== null) {
      own.state = ASSIGNED; // its wait (in `token` until the grant draws one) is 0
      grant = own;
    } else {
      grant = new AtOnceGrant(this, grantee, permits, ++this.lastToken);
    }
    if (this.watchers.listeners !== 0) this.watchers.settled(this.value, this.loop);
    this.loop.grantNow(grant);
    return grant;
  }

  /** Queues a request that is not granted at once, or refuses it. */
  private enqueue(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const { permits, priority, maxWaiting } = demand;
    if (permits > this.bound) return this.refuse(grantee, 'never');
    if (this.queue.length >= maxWaiting) return this.refuse(grantee, maxWaiting === 0 ? 'busy' : 'full');
    const node =
      this.adopt(grantee, permits, priority) ?? new ForeignRequest(this, grantee, permits, priority);
    node.token = this.loop.active ? this.counts.loopNow() : this.counts.now(); // queued at (see RequestNode)
    this.queue.push(node);
    this.counts.queued(this.queue.length);
    return node;
  }

  tryLease(demand: PermitDemand): Lease | null {
    if (!this.freeFor(demand)) return null;
    const { permits } = demand;
    this.value -= permits;
    this.counts.granted++;
    const lease = new AtOnceGrant(this, null, permits, ++this.lastToken);
    this.settle();
    return lease;
  }

  tryGrantNow<T>(demand: PermitDemand, tell: (arg: T) => void, arg: T): boolean {
    const { permits } = demand;
    if (!this.freeFor(demand) || permits > this.bound) return false; // `request` refuses the latter
    this.value -= permits;
    this.lastToken++; // its token, which nobody sees
    this.counts.granted++; // with a wait of 0
    // As `grantAtOnce` does: the value is queued for its listeners, the grantee is told first.
    if (this.watchers.listeners !== 0) this.watchers.settled(this.value, this.loop);
    this.loop.tellNow(tell, arg);
    return true;
  }

  release(permits: number): number {
    if (this.value + permits > this.bound) {
      throw new OverReleaseError({ primitive: this.name, bound: this.bound, value: this.value, permits });
    }
    this.value += permits;
    if (this.queue.length !== 0) this.grantQueued();
    this.settle();
    return this.value;
  }

  /**
   * Adds `delta` permits (or removes them: `value` may go negative, "owed", and nothing is granted
   * until it is positive again). A bounded engine moves its bound too; queued requests that can no
   * longer fit under it are refused. Returns `value`.
   */
  adjust(delta: number): number {
    if (delta === 0) return this.value;
    if (this.bound !== Infinity) {
      if (this.bound + delta < 0) {
        throw new RangeError(
          `${this.name}.adjust: ${delta} would lower the bound from ${this.bound} to ${this.bound + delta}, below 0`,
        );
      }
      this.bound += delta;
      if (delta < 0) this.refuseOversized();
    }
    this.value += delta;
    if (this.queue.length !== 0) this.grantQueued();
    this.settle();
    return this.value;
  }

  stats(): Omit<PermitStats, 'name'> {
    return this.counts.snapshot(this.value, this.queue.length);
  }

  watchValue(listener: ValueListener): () => void {
    return this.watchers.watchValue(listener);
  }

  watchReady(listener: ReadyListener): () => void {
    return this.watchers.watchReady(listener);
  }

  /** Takes a request out of the queue, or gives back the permits of one not yet told of its grant. */
  withdraw(node: QueuedRequest, reason: 'timeout' | 'cancel' | undefined): boolean {
    if (node.state === QUEUED) {
      const queue = this.queue;
      const wasHead = node === queue.head;
      queue.remove(node);
      node.state = DONE;
      node.takeGrantee();
      if (reason === 'timeout') this.counts.timedOut++;
      else this.counts.withdrawn++;
      // A withdrawn weighted head may have blocked smaller requests behind it (rule 7).
      if (wasHead) {
        this.grantQueued();
        this.settle();
      }
      return true;
    }
    if (node.state !== ASSIGNED) return false;
    // Assigned, withdrawn before its grantee was told: never granted; the permits go back.
    node.state = DONE;
    node.takeGrantee();
    this.counts.left(reason);
    this.value += node.permits;
    this.grantQueued();
    this.settle();
    return true;
  }

  /**
   * Takes in a grantee that is its own request node (a `QueuedRequest` not yet asked of an engine)
   * and returns it; `null` for any other grantee, which gets a node of the engine's own.
   */
  private adopt(grantee: PermitGrantee, permits: number, priority: number): QueuedRequest | null {
    if (!(grantee instanceof QueuedRequest) || grantee.engine !== null) return null;
    grantee.engine = this;
    grantee.permits = permits;
    grantee.priority = priority;
    return grantee;
  }

  /** Refuses a request that was never queued: its grantee is told now, inside `request`. */
  private refuse(grantee: PermitGrantee, reason: 'busy' | 'full' | 'never'): PermitTicket {
    this.counts.rejected++;
    grantee.refuse({ reason, waiting: this.queue.length });
    return ANSWERED;
  }

  /** After the bound fell: queued requests that could never fit are refused, through the loop. */
  private refuseOversized(): void {
    let node = this.queue.head;
    while (node !== null) {
      const next = this.queue.after(node);
      if (node.permits > this.bound) {
        this.queue.remove(node);
        node.state = REFUSING;
        this.counts.rejected++;
        this.loop.push(node);
      }
      node = next;
    }
  }

  /** Serves the queue from its head while the head fits: the atomic part of a hand-off. */
  private grantQueued(): void {
    let head: QueuedRequest | null;
    let now = -1;
    while ((head = this.queue.head) !== null && head.permits <= this.value) {
      this.queue.remove(head);
      this.value -= head.permits;
      head.state = ASSIGNED;
      if (now < 0) now = this.counts.loopNow();
      head.token = now - head.token; // how long it waited; its token is drawn when it is told
      this.watchers.handoffs++;
      this.loop.push(head);
    }
  }

  /** Announces the settled value, then runs the loop unless one is already on the stack. */
  private settle(): void {
    if (this.watchers.listeners !== 0) this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }
}

/**
 * One request of a semaphore, from queued to released: ticket, queue node, job and lease.
 *
 * A grantee may extend it (the RxJS layer's requests do, through `PermitRequest`), made with no
 * engine: the first `SemaphoreCore` it is asked of then takes the grantee itself as its node, ticket
 * and lease — one object per request instead of two (fewer bytes per queued request, no allocation
 * for a grant made at once). Asked of any other backend, its node fields stay unused.
 */
export class QueuedRequest extends RequestNode<QueuedRequest, SemaphoreCore> {
  /** Its own grantee (only a grantee is ever adopted; see {@link ForeignRequest} for the others). */
  takeGrantee(): PermitGrantee | null {
    return this as unknown as PermitGrantee;
  }

  protected giveBack(): void {
    this.engine.release(this.permits);
  }
}

/** The engine's own node for a grantee that is not a `QueuedRequest` (a backend's user of its own). */
class ForeignRequest extends QueuedRequest {
  constructor(
    engine: SemaphoreCore,
    private grantee: PermitGrantee | null,
    permits: number,
    priority: number,
  ) {
    super(engine, permits, priority);
  }

  override takeGrantee(): PermitGrantee | null {
    const grantee = this.grantee;
    this.grantee = null;
    return grantee;
  }
}

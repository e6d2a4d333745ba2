import { LockOwnershipError } from '../errors.js';
import { GrantLoop, type ErrorReporter } from './grant-loop.js';
import type {
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitStats,
  PermitTicket,
  ReadyListener,
  ValueListener,
} from './permit-backend.js';
import { PriorityQueue } from './priority-queue.js';
import { ASSIGNED, DONE, QUEUED, RequestNode } from './request-node.js';
import { StatsCounter } from './stats.js';
import { ValueWatchers } from './value-watchers.js';

/**
 * The engine behind `RLock`: one owner (any object) at a time, a recursion count, and a queue of
 * requests ordered by priority, then arrival. The owner re-enters at once. When the lock is freed,
 * the owner of the first queued request takes it, and all of that owner's queued requests are
 * granted together (they are the same owner, so the later ones would re-enter anyway): an owner's
 * place in the queue is that of its first request still queued, and a withdrawn request keeps no
 * place (docs/semantics.md, rules 15 and 19). Each request sits in two intrusive lists — the queue,
 * and its owner's list — so withdrawal is O(1). One hold draws one fencing token, shared by the
 * owner's re-entries. It shares the {@link GrantLoop} and {@link ValueWatchers} of the semaphore
 * engine; its value is 1 when free, 0 when held. Free of RxJS.
 */
export class LockCore {
  owner: object | null = null;
  count = 0;
  /** Every queued request, over all waiting owners, in serving order. */
  readonly queue = new PriorityQueue<LockRequest>();
  private readonly waitingOwners = new Map<object, WaitingOwner>();
  readonly loop: GrantLoop;
  readonly watchers: ValueWatchers;
  readonly counts: StatsCounter;
  private lastToken = 0;
  /** The token of the current hold. */
  private holdToken = 0;

  constructor(
    readonly name: string,
    reportError: ErrorReporter,
    now: () => number,
  ) {
    this.counts = new StatsCounter(now);
    this.loop = new GrantLoop(reportError, () => this.counts.loopEnded());
    this.watchers = new ValueWatchers(1, reportError, () => this.value);
  }

  /** 1 when free, 0 when held. */
  get value(): number {
    return this.owner === null ? 1 : 0;
  }

  /** Queued requests, over all waiting owners. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Every request of one hold shares the hold's token (drawn when the owner took the lock). */
  drawToken(): number {
    return this.holdToken;
  }

  /** Takes the lock for `owner` now (re-entering if it holds it) without overtaking a waiting owner. */
  tryAcquire(owner: object): boolean {
    if (this.owner === owner) {
      this.count++;
    } else if (this.owner === null) {
      this.take(owner);
    } else {
      this.counts.rejected++;
      return false;
    }
    this.counts.granted++;
    this.settle();
    return true;
  }

  request(owner: object, demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const node = new LockRequest(this, owner, grantee, demand.priority);
    // The lock is never free while requests are queued: a release hands it on at once.
    if (this.owner === owner || this.owner === null) {
      if (this.owner === owner) this.count++;
      else this.take(owner);
      node.state = ASSIGNED; // its wait (in `token` until the grant reads the hold's) is 0
      this.watchers.settled(this.value, this.loop);
      this.loop.grantNow(node);
      return node;
    }
    if (this.queue.length >= demand.maxWaiting) {
      node.state = DONE;
      node.grantee = null;
      this.counts.rejected++;
      grantee.refuse({ reason: demand.maxWaiting === 0 ? 'busy' : 'full', waiting: this.queue.length });
      return node;
    }
    let waiting = this.waitingOwners.get(owner);
    if (waiting === undefined) {
      waiting = new WaitingOwner(owner);
      this.waitingOwners.set(owner, waiting);
    }
    node.waitingOwner = waiting;
    node.token = this.loop.active ? this.counts.loopNow() : this.counts.now(); // queued at
    waiting.add(node);
    this.queue.push(node);
    this.counts.queued(this.queue.length);
    return node;
  }

  release(owner: object): void {
    if (owner !== this.owner) {
      throw new LockOwnershipError({ primitive: this.name, caller: owner, owner: this.owner });
    }
    this.leaveOnce();
  }

  withdraw(node: LockRequest, reason: 'timeout' | 'cancel' | undefined): boolean {
    switch (node.state) {
      case QUEUED: {
        // The lock is never free while a request is queued, so taking one out never lets another in.
        const waiting = node.waitingOwner!;
        this.queue.remove(node);
        if (waiting.remove(node) === 0) this.waitingOwners.delete(waiting.owner);
        node.state = DONE;
        node.grantee = null;
        this.counts.left(reason);
        return true;
      }
      case ASSIGNED:
        node.state = DONE;
        node.grantee = null;
        this.counts.left(reason);
        this.leaveOnce();
        return true;
      default:
        return false;
    }
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

  /** The lock seen by one owner, through the backend contract (a lock has one permit). */
  backendFor(owner: object): LockBackend {
    return new LockBackend(this, owner);
  }

  private take(owner: object): void {
    this.owner = owner;
    this.count = 1;
    this.holdToken = ++this.lastToken;
  }

  /** One level of the owner's recursion ends; at zero the next waiting owner takes the lock. */
  private leaveOnce(): void {
    if (--this.count === 0) {
      this.owner = null;
      this.grantNextOwner();
    }
    this.settle();
  }

  /** The owner of the first queued request takes the lock with all its queued requests. */
  private grantNextOwner(): void {
    const head = this.queue.head;
    if (head === null) return;
    const next = head.waitingOwner!;
    this.waitingOwners.delete(next.owner);
    this.take(next.owner);
    this.count = 0;
    const now = this.counts.loopNow();
    let node: LockRequest | null;
    while ((node = next.first) !== null) {
      next.remove(node);
      this.queue.remove(node);
      this.count++;
      node.state = ASSIGNED;
      node.token = now - node.token; // how long it waited; the hold's token when it is told
      this.loop.push(node);
    }
    this.watchers.handoffs++;
  }

  private settle(): void {
    this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }
}

/** An owner waiting for the lock: its queued requests, oldest first, linked through `ownerNext`. */
class WaitingOwner {
  first: LockRequest | null = null;
  last: LockRequest | null = null;
  length = 0;

  constructor(readonly owner: object) {}

  add(node: LockRequest): void {
    node.ownerPrev = this.last;
    node.ownerNext = null;
    if (this.last === null) this.first = node;
    else this.last.ownerNext = node;
    this.last = node;
    this.length++;
  }

  /** Unlinks `node`, which must be this owner's; returns how many are left. */
  remove(node: LockRequest): number {
    const { ownerPrev, ownerNext } = node;
    if (ownerPrev === null) this.first = ownerNext;
    else ownerPrev.ownerNext = ownerNext;
    if (ownerNext === null) this.last = ownerPrev;
    else ownerNext.ownerPrev = ownerPrev;
    node.ownerPrev = node.ownerNext = null;
    return --this.length;
  }
}

/** One request for the lock: ticket, queue node, job and (once granted) lease of one hold level. */
class LockRequest extends RequestNode<LockRequest, LockCore> {
  /** Links in the owner's own list (`prev`/`next` link the lock's queue). */
  ownerPrev: LockRequest | null = null;
  ownerNext: LockRequest | null = null;
  waitingOwner: WaitingOwner | null = null;

  constructor(
    engine: LockCore,
    readonly owner: object,
    public grantee: PermitGrantee | null,
    priority: number,
  ) {
    super(engine, 1, priority);
  }

  takeGrantee(): PermitGrantee | null {
    const grantee = this.grantee;
    this.grantee = null;
    return grantee;
  }

  protected giveBack(): void {
    this.engine.release(this.owner);
  }
}

/** The lock seen by one owner, through the {@link PermitBackend} contract. */
export class LockBackend implements PermitBackend {
  readonly maxPermits = 1;

  constructor(
    readonly core: LockCore,
    readonly owner: object,
  ) {}

  get name(): string {
    return this.core.name;
  }

  get value(): number {
    return this.core.value;
  }

  get waiting(): number {
    return this.core.waiting;
  }

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    return this.core.request(this.owner, demand, grantee);
  }

  tryAcquire(): boolean {
    return this.core.tryAcquire(this.owner);
  }

  release(): number {
    this.core.release(this.owner);
    return this.core.value;
  }

  stats(): Omit<PermitStats, 'name'> {
    return this.core.stats();
  }

  watchValue(listener: ValueListener): () => void {
    return this.core.watchValue(listener);
  }

  watchReady(listener: ReadyListener): () => void {
    return this.core.watchReady(listener);
  }
}

import { LockOwnershipError } from '../errors.js';
import { GrantLoop, type ErrorReporter } from './grant-loop.js';
import {
  GRANTED_TICKET,
  type PermitGrantee,
  type PermitBackend,
  type PermitTicket,
} from './permit-backend.js';
import { ASSIGNED, QUEUED, RequestNode, WITHDRAWN } from './request-node.js';
import { ValueWatchers } from './value-watchers.js';
import { WaiterQueue } from './waiter-queue.js';

/**
 * The engine behind `RLock`: one owner (any object) at a time, a recursion count, and a FIFO of
 * requests. The owner re-enters at once. When the lock is freed, the owner of the oldest queued
 * request takes it, and all of that owner's queued requests are granted together (they are the same
 * owner, so the later ones would re-enter anyway): an owner's place in the queue is that of its
 * oldest request still queued, and a withdrawn request keeps no place (docs/semantics.md, rule 15).
 * Each request sits in two intrusive lists — the queue, and its owner's list — so withdrawal is
 * O(1). It shares the {@link GrantLoop} and {@link ValueWatchers} of the semaphore engine; its value
 * is 1 when free, 0 when held. Free of RxJS.
 */
export class LockCore {
  owner: object | null = null;
  count = 0;
  /** Every queued request, over all waiting owners, in the order they came. */
  readonly queue = new WaiterQueue<LockRequest>();
  private readonly waitingOwners = new Map<object, WaitingOwner>();
  readonly loop: GrantLoop;
  readonly watchers: ValueWatchers;

  constructor(
    readonly name: string,
    reportError: ErrorReporter,
  ) {
    this.loop = new GrantLoop(reportError);
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

  /** Takes the lock for `owner` now (re-entering if it holds it) without overtaking a waiting owner. */
  tryAcquire(owner: object): boolean {
    if (!this.takeNow(owner)) return false;
    this.settle();
    return true;
  }

  request(owner: object, grantee: PermitGrantee): PermitTicket {
    if (this.takeNow(owner)) {
      this.watchers.settled(this.value, this.loop);
      this.loop.grantNow(grantee);
      return GRANTED_TICKET;
    }
    let waiting = this.waitingOwners.get(owner);
    if (waiting === undefined) {
      waiting = new WaitingOwner(owner);
      this.waitingOwners.set(owner, waiting);
    }
    const request = new LockRequest(this, waiting, grantee);
    waiting.add(request);
    this.queue.push(request);
    return request;
  }

  release(owner: object): void {
    if (owner !== this.owner) {
      throw new LockOwnershipError({ primitive: this.name, caller: owner, owner: this.owner });
    }
    this.leaveOnce();
  }

  withdraw(request: LockRequest): boolean {
    switch (request.state) {
      case QUEUED: {
        // The lock is never free while a request is queued (a release grants the next owner at
        // once), so taking one out never lets another in.
        const waiting = request.waitingOwner;
        this.queue.remove(request);
        if (waiting.remove(request) === 0) this.waitingOwners.delete(waiting.owner);
        request.state = WITHDRAWN;
        request.grantee = null;
        return true;
      }
      case ASSIGNED:
        request.state = WITHDRAWN;
        request.grantee = null;
        this.leaveOnce();
        return true;
      default:
        return false;
    }
  }

  private takeNow(owner: object): boolean {
    if (this.owner === owner) {
      this.count++;
      return true;
    }
    if (this.owner !== null || this.queue.length !== 0) return false;
    this.owner = owner;
    this.count = 1;
    return true;
  }

  /** One level of the owner's recursion ends; at zero the next waiting owner takes the lock. */
  private leaveOnce(): void {
    if (--this.count === 0) {
      this.owner = null;
      this.grantNextOwner();
    }
    this.settle();
  }

  /** The owner of the oldest queued request takes the lock with all its queued requests. */
  private grantNextOwner(): void {
    const head = this.queue.head;
    if (head === null) return;
    const next = head.waitingOwner;
    this.waitingOwners.delete(next.owner);
    this.owner = next.owner;
    let request: LockRequest | null;
    while ((request = next.first) !== null) {
      next.remove(request);
      this.queue.remove(request);
      this.count++;
      request.state = ASSIGNED;
      this.loop.push(request);
    }
    this.watchers.handoffs++;
  }

  private settle(): void {
    this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }

  /** A {@link PermitBackend} that acts for `owner` (a lock has one permit: `permits` is ignored). */
  backendFor(owner: object): LockSource {
    return new LockSource(this, owner);
  }
}

/** An owner waiting for the lock: its queued requests, oldest first, linked through `ownerNext`. */
class WaitingOwner {
  first: LockRequest | null = null;
  last: LockRequest | null = null;
  length = 0;

  constructor(readonly owner: object) {}

  add(request: LockRequest): void {
    request.ownerPrev = this.last;
    request.ownerNext = null;
    if (this.last === null) this.first = request;
    else this.last.ownerNext = request;
    this.last = request;
    this.length++;
  }

  /** Unlinks `request`, which must be this owner's; returns how many are left. */
  remove(request: LockRequest): number {
    const { ownerPrev, ownerNext } = request;
    if (ownerPrev === null) this.first = ownerNext;
    else ownerPrev.ownerNext = ownerNext;
    if (ownerNext === null) this.last = ownerPrev;
    else ownerNext.ownerPrev = ownerPrev;
    request.ownerPrev = request.ownerNext = null;
    return --this.length;
  }
}

class LockRequest extends RequestNode<LockRequest> {
  /** Links in the owner's own list (`prev`/`next` link the lock's queue). */
  ownerPrev: LockRequest | null = null;
  ownerNext: LockRequest | null = null;

  constructor(
    private readonly core: LockCore,
    readonly waitingOwner: WaitingOwner,
    grantee: PermitGrantee,
  ) {
    super(grantee);
  }

  withdraw(): boolean {
    return this.core.withdraw(this);
  }
}

/** The lock seen by one owner, through the interface the operators use. */
export class LockSource implements PermitBackend {
  readonly maxPermits = 1;

  constructor(
    readonly core: LockCore,
    readonly owner: object,
  ) {}

  get name(): string {
    return this.core.name;
  }

  get waiting(): number {
    return this.core.waiting;
  }

  tryAcquire(): boolean {
    return this.core.tryAcquire(this.owner);
  }

  request(_permits: number, grantee: PermitGrantee): PermitTicket {
    return this.core.request(this.owner, grantee);
  }

  release(): number {
    this.core.release(this.owner);
    return this.core.value;
  }
}

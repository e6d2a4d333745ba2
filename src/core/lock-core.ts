import { LockOwnershipError } from '../errors.js';
import { GrantLoop, type ErrorReporter } from './grant-loop.js';
import { GRANTED_TICKET, type PermitGrantee, type PermitSource, type PermitTicket } from './permit-source.js';
import { ASSIGNED, QUEUED, RequestNode, WITHDRAWN } from './request-node.js';
import { ValueWatchers } from './value-watchers.js';
import { WaiterQueue, type QueueNode } from './waiter-queue.js';

/**
 * The engine behind `RLock`: one owner (any object) at a time, a recursion count, and a FIFO of
 * waiting owners. The owner re-enters at once; a waiting owner's requests are granted together when
 * its turn comes (they are the same owner, so the later ones would re-enter anyway). Withdrawal is
 * O(1). It shares the {@link GrantLoop} and {@link ValueWatchers} of the semaphore engine; its value
 * is 1 when free, 0 when held. Free of RxJS.
 */
export class LockCore {
  owner: object | null = null;
  count = 0;
  /** Queued requests, over all waiting owners. */
  waiting = 0;
  readonly owners = new WaiterQueue<WaitingOwner>();
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
      this.owners.push(waiting);
    }
    const request = new LockRequest(this, waiting, grantee);
    waiting.requests.push(request);
    this.waiting++;
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
        const waiting = request.waitingOwner;
        waiting.requests.remove(request);
        this.waiting--;
        if (waiting.requests.length === 0) {
          this.owners.remove(waiting);
          this.waitingOwners.delete(waiting.owner);
        }
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
    if (this.owner !== null || this.owners.length !== 0) return false;
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

  private grantNextOwner(): void {
    const next = this.owners.shift();
    if (next === null) return;
    this.waitingOwners.delete(next.owner);
    this.owner = next.owner;
    let request: LockRequest | null;
    while ((request = next.requests.shift()) !== null) {
      this.waiting--;
      this.count++;
      request.state = ASSIGNED;
      this.loop.push(request);
    }
  }

  private settle(): void {
    this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }

  /** A {@link PermitSource} that acts for `owner` (a lock has one permit: `permits` is ignored). */
  sourceFor(owner: object): LockSource {
    return new LockSource(this, owner);
  }
}

/** An owner waiting for the lock, with its queued requests. */
class WaitingOwner implements QueueNode<WaitingOwner> {
  prev: WaitingOwner | null = null;
  next: WaitingOwner | null = null;
  readonly requests = new WaiterQueue<LockRequest>();

  constructor(readonly owner: object) {}
}

class LockRequest extends RequestNode<LockRequest> {
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
export class LockSource implements PermitSource {
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

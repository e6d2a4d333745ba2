import { OverReleaseError } from '../errors.js';
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
 * The in-process permit engine behind `Semaphore` and `BoundedSemaphore`: a counter, a FIFO of
 * requests with O(1) withdrawal, strict head-of-line granting (also for weighted requests), and the
 * trampolined {@link GrantLoop}. Free of RxJS; arguments are trusted (the public classes check them).
 */
export class SemaphoreCore implements PermitBackend {
  /** Permits not taken. */
  value: number;
  readonly queue = new WaiterQueue<QueuedRequest>();
  readonly loop: GrantLoop;
  readonly watchers: ValueWatchers;

  constructor(
    value: number,
    /** The highest value a release may reach; `Infinity` when unbounded. */
    readonly bound: number,
    /** Named in error messages. */
    readonly name: string,
    reportError: ErrorReporter,
  ) {
    this.value = value;
    this.loop = new GrantLoop(reportError);
    this.watchers = new ValueWatchers(value, reportError, () => this.value);
  }

  get maxPermits(): number {
    return this.bound;
  }

  get waiting(): number {
    return this.queue.length;
  }

  tryAcquire(permits: number): boolean {
    if (!this.grantableNow(permits)) return false;
    this.value -= permits;
    this.settle();
    return true;
  }

  request(permits: number, grantee: PermitGrantee): PermitTicket {
    if (this.grantableNow(permits)) {
      this.takeAndGrant(permits, grantee);
      return GRANTED_TICKET;
    }
    const request = new QueuedRequest(this, permits, grantee);
    this.queue.push(request);
    return request;
  }

  release(permits: number): number {
    if (this.value + permits > this.bound) {
      throw new OverReleaseError({ primitive: this.name, bound: this.bound, value: this.value, permits });
    }
    this.value += permits;
    if (this.queue.head !== null) this.grantQueued();
    this.settle();
    return this.value;
  }

  /** Takes a request out of the queue, or gives back the permits of one not yet told of its grant. */
  withdraw(request: QueuedRequest): boolean {
    switch (request.state) {
      case QUEUED: {
        const wasHead = this.queue.head === request;
        this.queue.remove(request);
        request.state = WITHDRAWN;
        request.grantee = null;
        // A withdrawn weighted head may have blocked smaller requests behind it (rule 7).
        if (wasHead) {
          this.grantQueued();
          this.settle();
        }
        return true;
      }
      case ASSIGNED:
        request.state = WITHDRAWN;
        request.grantee = null;
        this.value += request.permits;
        this.grantQueued();
        this.settle();
        return true;
      default:
        return false;
    }
  }

  private grantableNow(permits: number): boolean {
    return this.queue.head === null && this.value >= permits;
  }

  private takeAndGrant(permits: number, grantee: PermitGrantee): void {
    this.value -= permits;
    this.watchers.settled(this.value, this.loop);
    this.loop.grantNow(grantee);
  }

  /** Serves the queue from its head while the head fits: the atomic part of a hand-off. */
  private grantQueued(): void {
    let head: QueuedRequest | null;
    while ((head = this.queue.head) !== null && head.permits <= this.value) {
      this.queue.remove(head);
      this.value -= head.permits;
      head.state = ASSIGNED;
      this.watchers.handoffs++;
      this.loop.push(head);
    }
  }

  /** Announces the settled value, then runs the loop unless one is already on the stack. */
  private settle(): void {
    this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }
}

/** One queued request of a semaphore. */
export class QueuedRequest extends RequestNode<QueuedRequest> {
  constructor(
    private readonly core: SemaphoreCore,
    readonly permits: number,
    grantee: PermitGrantee | null,
  ) {
    super(grantee);
  }

  withdraw(): boolean {
    return this.core.withdraw(this);
  }
}

import { OverReleaseError } from '../errors.js';
import { GrantLoop, type ErrorReporter, type Job } from './grant-loop.js';
import { GRANTED_TICKET, type PermitGrantee, type PermitSource, type PermitTicket } from './permit-source.js';
import { ValueWatchers } from './value-watchers.js';
import { WaiterQueue, type QueueNode } from './waiter-queue.js';

const QUEUED = 0;
/** Dequeued and its permits deducted; the grantee is told when the loop reaches the job. */
const ASSIGNED = 1;
const GRANTED = 2;
const WITHDRAWN = 3;
type RequestState = typeof QUEUED | typeof ASSIGNED | typeof GRANTED | typeof WITHDRAWN;

/**
 * The in-process permit engine behind `Semaphore` and `BoundedSemaphore`: a counter, a FIFO of
 * requests with O(1) withdrawal, strict head-of-line granting (also for weighted requests), and the
 * trampolined {@link GrantLoop}. Free of RxJS; arguments are trusted (the public classes check them).
 */
export class SemaphoreCore implements PermitSource {
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
    this.watchers = new ValueWatchers(value, reportError);
  }

  get maxPermits(): number {
    return this.bound;
  }

  get waiting(): number {
    return this.queue.length;
  }

  tryAcquire(permits: number): boolean {
    if (this.queue.length !== 0 || this.value < permits) return false;
    this.value -= permits;
    this.settle();
    return true;
  }

  request(permits: number, grantee: PermitGrantee): PermitTicket {
    if (this.queue.length === 0 && this.value >= permits) {
      this.value -= permits;
      this.watchers.settled(this.value, this.loop);
      // Rule 5: granted in this call, even inside a running loop. Operations the grantee makes
      // meanwhile are folded into this one (rule 4).
      const outermost = this.loop.enter();
      try {
        grantee.grant();
      } finally {
        this.loop.leave(outermost);
      }
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
    this.grantQueued();
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

  /** Serves the queue from its head while the head fits: the atomic part of a hand-off. */
  private grantQueued(): void {
    let head: QueuedRequest | null;
    while ((head = this.queue.head) !== null && head.permits <= this.value) {
      this.queue.remove(head);
      this.value -= head.permits;
      head.state = ASSIGNED;
      this.loop.push(head);
    }
  }

  /** Announces the settled value, then runs the loop unless one is already on the stack. */
  private settle(): void {
    this.watchers.settled(this.value, this.loop);
    this.loop.drain();
  }
}

/** One queued request: a node of the waiter queue, a job of the loop, and the caller's ticket. */
export class QueuedRequest implements QueueNode<QueuedRequest>, Job, PermitTicket {
  prev: QueuedRequest | null = null;
  next: QueuedRequest | null = null;
  nextJob: Job | null = null;
  state: RequestState = QUEUED;

  constructor(
    private readonly core: SemaphoreCore,
    readonly permits: number,
    public grantee: PermitGrantee | null,
  ) {}

  runJob(): void {
    if (this.state !== ASSIGNED) return;
    this.state = GRANTED;
    const grantee = this.grantee!;
    this.grantee = null;
    grantee.grant();
  }

  withdraw(): boolean {
    return this.core.withdraw(this);
  }
}

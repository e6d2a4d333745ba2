import type { Job } from './grant-loop.js';
import { steadySignal } from './lease-signal.js';
import type { Lease, PermitGrantee, PermitTicket } from './permit-backend.js';
import type { PriorityNode } from './priority-queue.js';
import type { StatsCounter } from './stats.js';

/** What a request needs of the engine that queued it. */
export interface RequestEngine<N> {
  readonly counts: StatsCounter;
  readonly waiting: number;
  /** The fencing token of a grant its grantee is told of now. */
  drawToken(): number;
  /** Takes `node` out of the queue, or gives back its permits if it was assigned but not told. */
  withdraw(node: N, reason: 'timeout' | 'cancel' | undefined): boolean;
}

// The states of a request of an in-process engine, and who moves it (docs/semantics.md, rules 3, 6,
// 7 and 20):
//
//   QUEUED ──(hand-off: release, adjust, withdraw of a blocking head)──> ASSIGNED ──(loop)──> GRANTED
//     │  │                                                                  │                  │
//     │  └──(adjust: can never fit)──> REFUSING ──(loop)──> DONE            │     (lease.release)
//     └──(withdraw: unsubscribe, timeout)──> DONE <──────────(withdraw)─────┘                  v
//                                                                                          RELEASED
//
// ASSIGNED: the permits are deducted and the grant is queued in the grant loop, not yet told; a
// withdrawal then gives them back and re-examines the queue. Once GRANTED, withdraw() returns false:
// the grantee holds the permits as this node, its lease, and gives them back with release().
export const QUEUED = 0;
export const ASSIGNED = 1;
export const GRANTED = 2;
export const DONE = 3;
export const RELEASED = 4;
export const REFUSING = 5;
export type RequestState =
  typeof QUEUED | typeof ASSIGNED | typeof GRANTED | typeof DONE | typeof RELEASED | typeof REFUSING;

/**
 * One request of an in-process engine, from first to last: a node of its queue, a job of its grant
 * loop once assigned, the caller's ticket, and — once granted — the grantee's lease. One object.
 */
export abstract class RequestNode<N extends RequestNode<N, E>, E extends RequestEngine<N>>
  implements PriorityNode<N>, Job, PermitTicket, Lease
{
  // The fields are set in the constructor in this order, the order of their layout in the object:
  // what a withdrawal reads of a node and of its neighbours (links, priority, state) comes first,
  // so that a request withdrawn from a long queue touches as few cache lines as it can.
  prev: N | null;
  /**
   * The next node of its engine's queue while queued; once assigned, the next job of the grant loop
   * (a node is never in both: it leaves the queue before it joins the loop). One field, not two: a
   * queued request is the engine's whole per-request memory.
   */
  next: N | null;
  /**
   * Set when it is made, or — for a grantee that is its own node (see `QueuedRequest`) — when the
   * engine takes it in: at what priority, how many permits, the engine.
   */
  priority: number;
  state: RequestState;
  permits: number;
  /**
   * The fencing token, drawn when the grantee is told (so tokens rise in the order holders learn of
   * their grants, and a grant withdrawn before it was told draws none). Before that, the same field
   * holds the request's time: when it was queued, on the engine's clock, then — once its permits are
   * assigned — how long it waited (0 when granted at once), counted in `stats()` when the grantee is
   * told. Nobody reads a lease's token before its grant.
   */
  token: number;
  engine: E;

  constructor(engine: E, permits: number, priority: number) {
    this.prev = null;
    this.next = null;
    this.priority = priority;
    this.state = QUEUED;
    this.permits = permits;
    this.token = 0;
    this.engine = engine;
  }

  /**
   * Who is told of this request's answer, forgotten from now on (a node is told once). A node that
   * is its own grantee keeps no pointer to itself: one field fewer on every queued request.
   */
  abstract takeGrantee(): PermitGrantee | null;

  /** Tells the grantee of its grant (or of a refusal decided while it was queued). */
  runJob(): void {
    if (this.state === ASSIGNED) {
      const engine = this.engine;
      this.state = GRANTED;
      engine.counts.grantedAfterQueue(this.token); // its wait, or 0 if granted at once
      this.token = engine.drawToken();
      this.takeGrantee()!.grant(this);
    } else if (this.state === REFUSING) {
      this.state = DONE;
      this.takeGrantee()!.refuse({ reason: 'never', waiting: this.engine.waiting });
    }
  }

  get released(): boolean {
    return this.state === RELEASED;
  }

  /** An in-process lease is never lost: its signal never aborts. */
  get signal(): AbortSignal {
    return steadySignal(this);
  }

  /** Gives the permits back, once; later calls (and calls before the grant) do nothing. */
  release(): void {
    if (this.state !== GRANTED) return;
    this.state = RELEASED;
    this.giveBack();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  withdraw(reason?: 'timeout' | 'cancel'): boolean {
    return this.engine.withdraw(this as unknown as N, reason);
  }

  /** Gives the held permits back to the engine. */
  protected abstract giveBack(): void;
}

/**
 * Marks the leases a class makes as plain values for Promise resolution: `lease()` resolves with a
 * lease, and resolving looks its `then` up. A `then: undefined` on the class's own prototype ends
 * that lookup at once, instead of walking the prototype chain to `Object.prototype` and missing
 * (measured: a fifth of an uncontended `await lease()` + `release()`). Nothing else reads it.
 */
export function markNotThenable(leaseClass: abstract new (...args: never[]) => unknown): void {
  Object.defineProperty(leaseClass.prototype, 'then', { value: undefined });
}

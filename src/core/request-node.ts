import type { Job } from './grant-loop.js';
import type { PermitGrantee, PermitTicket } from './permit-backend.js';
import type { QueueNode } from './waiter-queue.js';

// The states of a queued request, and who moves it (docs/semantics.md, rules 3, 6 and 7):
//
//   QUEUED ──(hand-off: release / withdraw of a blocking head)──> ASSIGNED ──(grant loop)──> GRANTED
//     │                                                              │
//     └──(withdraw: unsubscribe, timeout)──> WITHDRAWN <──(withdraw)─┘  permits go back at once
//
// ASSIGNED: the permits are deducted and the grant is queued in the grant loop, not yet told; a
// withdrawal then gives them back and re-examines the queue. Once GRANTED, withdraw() returns false:
// the grantee holds the permits and releases them itself.
export const QUEUED = 0;
/** Dequeued and its permits deducted; the grantee is told when the loop reaches the job. */
export const ASSIGNED = 1;
export const GRANTED = 2;
export const WITHDRAWN = 3;
export type RequestState = typeof QUEUED | typeof ASSIGNED | typeof GRANTED | typeof WITHDRAWN;

/**
 * One queued request of an engine: a node of its waiter queue, a job of its grant loop once
 * assigned, and the caller's ticket.
 */
export abstract class RequestNode<N extends RequestNode<N>> implements QueueNode<N>, Job, PermitTicket {
  prev: N | null = null;
  next: N | null = null;
  nextJob: Job | null = null;
  state: RequestState = QUEUED;

  constructor(public grantee: PermitGrantee | null) {}

  /** Tells the grantee of its grant, unless the request was withdrawn after it was assigned. */
  runJob(): void {
    if (this.state !== ASSIGNED) return;
    this.state = GRANTED;
    const grantee = this.grantee!;
    this.grantee = null;
    grantee.grant();
  }

  abstract withdraw(): boolean;
}

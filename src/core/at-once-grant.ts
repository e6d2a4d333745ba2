import type { Job } from './grant-loop.js';
import type { Lease, PermitGrantee, PermitTicket } from './permit-backend.js';
import { steadySignal } from './lease-signal.js';
import { markNotThenable } from './request-node.js';
import type { StatsCounter } from './stats.js';

/** What an {@link AtOnceGrant} needs of the backend that granted it. */
export interface AtOnceGrantor {
  readonly counts: StatsCounter;
  /** Gives the lease's permits back (a bounded backend may throw, as for any release). */
  release(permits: number): unknown;
}

/**
 * A request granted at once (the common case), by an in-process or shared-memory backend: its job,
 * ticket and lease, and nothing of a queue node — a quarter of a queued request's fields.
 */
export class AtOnceGrant implements Job, PermitTicket, Lease {
  next: Job | null = null;
  released = false;

  constructor(
    private readonly grantor: AtOnceGrantor,
    private grantee: PermitGrantee | null,
    readonly permits: number,
    readonly token: number,
  ) {}

  runJob(): void {
    const grantee = this.grantee!;
    this.grantee = null;
    this.grantor.counts.granted++;
    grantee.grant(this);
  }

  /** Told at once: there is nothing to withdraw. */
  withdraw(): boolean {
    return false;
  }

  /** Never lost: its signal never aborts. */
  get signal(): AbortSignal {
    return steadySignal(this);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.grantor.release(this.permits);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

markNotThenable(AtOnceGrant);

/** The ticket of a request answered inside `request` (refused): there is nothing to withdraw. */
export const ANSWERED: PermitTicket = Object.freeze({ withdraw: () => false });

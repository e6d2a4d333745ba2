import type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitStats,
  PermitTicket,
  ValueListener,
} from './permit-backend.js';
import { ANSWERED } from './at-once-grant.js';
import { steadySignal } from './lease-signal.js';
import { markNotThenable } from './request-node.js';
import { StatsCounter } from './stats.js';

/**
 * The backend of `DummySemaphore`: it never limits anything. Every request is granted at once with a
 * lease whose release does nothing; tokens come from a counter of its own; the value is `Infinity`
 * and never changes, so nobody is ever told of a change or woken.
 */
export class DummyBackend implements PermitBackend {
  readonly value = Infinity;
  readonly waiting = 0;
  readonly maxPermits = Infinity;
  readonly unlimited = true;
  private lastToken = 0;
  private readonly counts = new StatsCounter(() => 0);

  constructor(readonly name: string) {}

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    this.counts.granted++;
    grantee.grant(new DummyLease(demand.permits, ++this.lastToken));
    return ANSWERED;
  }

  tryLease(demand: PermitDemand): Lease {
    this.counts.granted++;
    return new DummyLease(demand.permits, ++this.lastToken);
  }

  tryAcquire(): boolean {
    // A grant like any other: it draws a token, though nobody sees it (SPEC §5).
    this.lastToken++;
    this.counts.granted++;
    return true;
  }

  release(): number {
    return Infinity;
  }

  adjust(): number {
    return Infinity;
  }

  stats(): Omit<PermitStats, 'name'> {
    return this.counts.snapshot(Infinity, 0);
  }

  watchValue(listener: ValueListener): () => void {
    listener.next(Infinity);
    return NOTHING;
  }

  watchReady(): () => void {
    return NOTHING;
  }
}

class DummyLease implements Lease {
  released = false;

  constructor(
    readonly permits: number,
    readonly token: number,
  ) {}

  /** Never lost: its signal never aborts. */
  get signal(): AbortSignal {
    return steadySignal(this);
  }

  release(): void {
    this.released = true;
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

const NOTHING = (): void => {};

markNotThenable(DummyLease);

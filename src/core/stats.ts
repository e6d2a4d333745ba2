import type { PermitStats } from './permit-backend.js';

/**
 * The counters behind `stats()`: plain fields bumped on the paths that already run (a grant, a
 * refusal, a withdrawal), so keeping them costs an increment or two.
 */
export class StatsCounter {
  granted = 0;
  timedOut = 0;
  rejected = 0;
  withdrawn = 0;
  peakWaiting = 0;
  waitCount = 0;
  waitTotal = 0;
  waitMax = 0;

  constructor(
    /** The engine's clock, in ms (the primitive's scheduler's `now`). */
    readonly now: () => number,
  ) {}

  /** A request granted at once: a wait of 0. */
  grantedAtOnce(): void {
    this.granted++;
    this.waitCount++;
  }

  /** A queued request granted after waiting `waited` ms. */
  grantedAfterQueue(waited: number): void {
    this.granted++;
    this.waitCount++;
    this.waitTotal += waited;
    if (waited > this.waitMax) this.waitMax = waited;
  }

  queued(waiting: number): void {
    if (waiting > this.peakWaiting) this.peakWaiting = waiting;
  }

  left(reason: 'timeout' | 'cancel' | undefined): void {
    if (reason === 'timeout') this.timedOut++;
    else this.withdrawn++;
  }

  snapshot(value: number, waiting: number): Omit<PermitStats, 'name'> {
    return {
      value,
      waiting,
      granted: this.granted,
      timedOut: this.timedOut,
      rejected: this.rejected,
      withdrawn: this.withdrawn,
      peakWaiting: this.peakWaiting,
      waitMs: { count: this.waitCount, total: this.waitTotal, max: this.waitMax },
    };
  }
}

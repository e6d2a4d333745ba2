import type { PermitStats } from './permit-backend.js';

/**
 * An engine's clock, in ms. `exact`, when given, is the same clock read afresh each time, for the
 * one reading of each grant loop (the plain clock may share one reading among many calls).
 */
export type StatsClock = (() => number) & { exact?: () => number };

/**
 * The counters behind `stats()`: plain fields bumped on the paths that already run (a grant, a
 * refusal, a withdrawal), so keeping them costs an increment or two. Times are kept relative to the
 * engine's creation, so that they stay small integers (a `Date.now()` stored in an object would be a
 * heap-allocated number).
 */
export class StatsCounter {
  /** Granted requests; each is measured in `waitMs` (a request granted at once waited 0). */
  granted = 0;
  timedOut = 0;
  rejected = 0;
  withdrawn = 0;
  peakWaiting = 0;
  waitTotal = 0;
  waitMax = 0;
  private readonly epoch: number;
  /** The time read once for the grant loop on the stack; -1 when none was read. */
  private loopTime = -1;
  private readonly exactClock: () => number;

  constructor(
    /** The engine's clock, in ms (the primitive's scheduler's `now`). */
    private readonly clock: StatsClock,
  ) {
    this.epoch = clock();
    this.exactClock = clock.exact ?? clock;
  }

  /** The time now, in ms since the engine was made. */
  now(): number {
    // `| 0` keeps it a small integer: a double, even a whole one, stored in a request's field would
    // turn that field into a boxed number (16 more bytes per queued request).
    return (this.clock() - this.epoch) | 0;
  }

  /**
   * The time now, read once per outermost operation: every grant and every request made while one
   * grant loop runs shares it (a clock read costs 70-90 ns on some machines; one synchronous loop
   * happens at one moment of its scheduler anyway). {@link loopEnded} forgets it.
   */
  loopNow(): number {
    return this.loopTime >= 0 ? this.loopTime : (this.loopTime = (this.exactClock() - this.epoch) | 0);
  }

  loopEnded(): void {
    this.loopTime = -1;
  }

  /** A queued request granted after waiting `waited` ms. */
  grantedAfterQueue(waited: number): void {
    this.granted++;
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
      waitMs: { count: this.granted, total: this.waitTotal, max: this.waitMax },
    };
  }
}

/**
 * Virtual time for the model-based tests: the reference model's timers ({@link ModelClock}). The
 * matching way to move an RxJS `VirtualTimeScheduler` forward is `advanceScheduler` (spec/helpers).
 *
 * Both order timers the way `VirtualTimeScheduler` does: by due time, then by the order in which they
 * were scheduled.
 */

/** A timer of the reference model. */
export interface ModelTimer {
  readonly due: number;
  readonly seq: number;
  cancelled: boolean;
  cancel(): void;
}

interface TimerEntry extends ModelTimer {
  readonly fire: () => void;
}

export class ModelClock {
  now = 0;
  private seq = 0;
  private timers: TimerEntry[] = [];

  /** Schedules `fire` `delay` ms from now (`delay` > 0). */
  schedule(delay: number, fire: () => void): ModelTimer {
    const timers = this.timers;
    const entry: TimerEntry = {
      due: this.now + delay,
      seq: this.seq++,
      cancelled: false,
      fire,
      cancel() {
        if (entry.cancelled) return;
        entry.cancelled = true;
        const index = timers.indexOf(entry);
        if (index >= 0) timers.splice(index, 1);
      },
    };
    timers.push(entry);
    return entry;
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due meanwhile, in (due, scheduling) order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let next: TimerEntry | null = null;
      for (const timer of this.timers) {
        if (timer.due > target) continue;
        if (next === null || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) {
          next = timer;
        }
      }
      if (next === null) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      next.cancelled = true;
      this.now = next.due;
      next.fire();
    }
    this.now = target;
  }
}

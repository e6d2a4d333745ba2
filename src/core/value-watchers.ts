import type { ErrorReporter, GrantLoop, Job } from './grant-loop.js';

/** Receives every settled value of a primitive (the permit observable's subscribers). */
export interface ValueListener {
  next(value: number): void;
}

/** Told once, with the value, the next time the primitive is ready (`wait`, `rawlink`). */
export interface ReadyListener {
  onReady(value: number): void;
}

/** A registration; keep it to remove the listener again. */
export interface ValueWatch {
  readonly listener: ValueListener;
  /** The broadcast sequence number when this listener joined: it sees only later broadcasts. */
  readonly since: number;
  lastSeen: number;
}

export interface ReadyWatch {
  readonly listener: ReadyListener;
  active: boolean;
}

/**
 * The listeners of one primitive's value, and the jobs that tell them of it.
 *
 * A value is announced when an operation has settled (after its hand-off), through the primitive's
 * {@link GrantLoop}, so a listener that changes the value from inside a notification cannot make
 * another listener see values out of order: every listener receives the settled values in order and
 * ends on the true one (no BehaviorSubject-style re-entrancy skew).
 */
export class ValueWatchers {
  readonly valueWatches = new Set<ValueWatch>();
  private readyWatches = new Set<ReadyWatch>();
  private announced: number;
  /** Value and ready listeners registered now: with none, {@link settled} has nothing to do. */
  private listeners = 0;
  private sequence = 0;

  constructor(
    initial: number,
    readonly reportError: ErrorReporter,
    /** The primitive's value now: a wake-up reports it as it is when the listener is called. */
    readonly valueNow: () => number,
  ) {
    this.announced = initial;
  }

  /** Adds a value listener and tells it `current` at once. */
  watchValue(listener: ValueListener, current: number): ValueWatch {
    const watch: ValueWatch = { listener, since: this.sequence, lastSeen: current };
    this.valueWatches.add(watch);
    this.listeners++;
    // While nobody listened, changes were not announced: catch up, so the next change is compared
    // with what this listener is about to see.
    this.announced = current;
    listener.next(current);
    return watch;
  }

  unwatchValue(watch: ValueWatch): void {
    if (this.valueWatches.delete(watch)) this.listeners--;
  }

  /** Adds a one-shot ready listener; it is woken by a later {@link settled} with a value > 0. */
  watchReady(listener: ReadyListener): ReadyWatch {
    const watch: ReadyWatch = { listener, active: true };
    this.readyWatches.add(watch);
    this.listeners++;
    return watch;
  }

  unwatchReady(watch: ReadyWatch): void {
    watch.active = false;
    if (this.readyWatches.delete(watch)) this.listeners--;
  }

  /** Queues the broadcast of `value` if it changed, and the wake-up of ready listeners if it is > 0. */
  settled(value: number, loop: GrantLoop): void {
    if (this.listeners === 0) return; // the hot path: nobody is listening
    if (value !== this.announced) {
      this.announced = value;
      if (this.valueWatches.size > 0) loop.push(new Broadcast(this, value, ++this.sequence));
    }
    if (value > 0 && this.readyWatches.size > 0) {
      const woken = this.readyWatches;
      this.readyWatches = new Set();
      this.listeners -= woken.size;
      loop.push(new Wake(woken, this));
    }
  }
}

class Broadcast implements Job {
  nextJob: Job | null = null;

  constructor(
    private readonly watchers: ValueWatchers,
    private readonly value: number,
    private readonly sequence: number,
  ) {}

  runJob(): void {
    const { value, sequence } = this;
    for (const watch of this.watchers.valueWatches) {
      if (watch.since >= sequence || watch.lastSeen === value) continue;
      watch.lastSeen = value;
      try {
        watch.listener.next(value);
      } catch (error) {
        this.watchers.reportError(error);
      }
    }
  }
}

/**
 * Wakes the ready listeners picked when the value became > 0. Each is told the value as it is when
 * it is called, like gevent's `wait()`: grants made at that moment run first (queued requests come
 * first), and what they or earlier listeners take again shows — possibly down to 0.
 */
class Wake implements Job {
  nextJob: Job | null = null;

  constructor(
    private readonly woken: Set<ReadyWatch>,
    private readonly watchers: ValueWatchers,
  ) {}

  runJob(): void {
    for (const watch of this.woken) {
      // A listener removed after it was picked for this wake-up is skipped.
      if (!watch.active) continue;
      watch.active = false;
      try {
        watch.listener.onReady(this.watchers.valueNow());
      } catch (error) {
        this.watchers.reportError(error);
      }
    }
  }
}

import type { ErrorReporter, GrantLoop, Job } from './grant-loop.js';
import { WaiterQueue, type QueueNode } from './waiter-queue.js';

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

/** A registered ready listener: a node of the FIFO of links, in the order they were made. */
export class ReadyWatch implements QueueNode<ReadyWatch> {
  prev: ReadyWatch | null = null;
  next: ReadyWatch | null = null;
  /** Linked and not yet called or removed. */
  active = true;

  constructor(readonly listener: ReadyListener) {}
}

/**
 * The listeners of one primitive's value, and the jobs that tell them of it.
 *
 * A value is announced when an operation has settled (after its hand-off), through the primitive's
 * {@link GrantLoop}, so a listener that changes the value from inside a notification cannot make
 * another listener see values out of order: every listener receives the settled values in order and
 * ends on the true one (no BehaviorSubject-style re-entrancy skew).
 *
 * Two checks happen when a job runs, not when it was queued (docs/semantics.md, rules 3, 10-12):
 * - a broadcast is dropped when permits it counts were handed to queued requests after it was
 *   queued (a hand-off happened since, and fewer permits are free now): the operation that handed
 *   them over queues the up-to-date value behind it;
 * - ready listeners are called in the order they were linked while the primitive is ready, checked
 *   before each one (gevent's notifier checks `ready()` before each link): a listener that takes the
 *   last permit leaves the ones linked after it waiting, in order, for the next time it is ready.
 */
export class ValueWatchers {
  readonly valueWatches = new Set<ValueWatch>();
  readonly readyWatches = new WaiterQueue<ReadyWatch>();
  /**
   * Permits handed to queued requests so far, counted by hand-off: the engine bumps it each time it
   * assigns a queued request. A broadcast queued before the latest hand-off is stale.
   */
  handoffs = 0;
  private announced: number;
  private announcedAfter = 0;
  /**
   * Value and ready listeners registered now: with none, {@link settled} has nothing to do (the
   * engines test it before calling, which keeps their hot paths small enough to inline).
   */
  listeners = 0;
  private sequence = 0;
  private readonly wake: Wake;
  private wakeQueued = false;

  constructor(
    initial: number,
    readonly reportError: ErrorReporter,
    /** The primitive's value now: a wake-up reports it as it is when the listener is called. */
    readonly valueNow: () => number,
  ) {
    this.announced = initial;
    this.wake = new Wake(this);
  }

  /** Adds a value listener and tells it the value now, at once; returns the way to remove it. */
  watchValue(listener: ValueListener): () => void {
    const current = this.valueNow();
    const watch: ValueWatch = { listener, since: this.sequence, lastSeen: current };
    this.valueWatches.add(watch);
    this.listeners++;
    // While nobody listened, changes were not announced: catch up, so the next change is compared
    // with what this listener is about to see.
    this.announced = current;
    this.announcedAfter = this.handoffs;
    listener.next(current);
    return () => this.unwatchValue(watch);
  }

  private unwatchValue(watch: ValueWatch): void {
    if (this.valueWatches.delete(watch)) this.listeners--;
  }

  /**
   * Links a one-shot ready listener at the tail; a later {@link settled} with a value > 0 wakes it.
   * Returns the way to unlink it.
   */
  watchReady(listener: ReadyListener): () => void {
    const watch = new ReadyWatch(listener);
    this.readyWatches.push(watch);
    this.listeners++;
    return () => this.unwatchReady(watch);
  }

  /** Unlinks a ready listener; does nothing once it was called or removed. */
  private unwatchReady(watch: ReadyWatch): void {
    if (!watch.active) return;
    watch.active = false;
    this.readyWatches.remove(watch);
    this.listeners--;
  }

  /**
   * Queues the broadcast of `value` if it changed (or a hand-off made the last one stale), and a
   * wake-up pass over the ready listeners if it is > 0.
   */
  settled(value: number, loop: GrantLoop): void {
    if (this.listeners === 0) return; // the hot path: nobody is listening
    if (value !== this.announced || this.handoffs !== this.announcedAfter) {
      this.announced = value;
      this.announcedAfter = this.handoffs;
      if (this.valueWatches.size > 0) loop.push(new Broadcast(this, value, ++this.sequence, this.handoffs));
    }
    if (value > 0 && this.readyWatches.length > 0 && !this.wakeQueued) {
      this.wakeQueued = true;
      loop.push(this.wake);
    }
  }

  /** One notifier pass over the ready listeners linked when it starts (the {@link Wake} job). */
  wakeReady(): void {
    this.wakeQueued = false;
    const ready = this.readyWatches;
    const last = ready.tail;
    let watch: ReadyWatch | null;
    while ((watch = ready.head) !== null) {
      const value = this.valueNow();
      if (value <= 0) return;
      this.unwatchReady(watch);
      try {
        watch.listener.onReady(value);
      } catch (error) {
        this.reportError(error);
      }
      if (watch === last) return;
    }
  }
}

class Broadcast implements Job {
  next: Job | null = null;

  constructor(
    private readonly watchers: ValueWatchers,
    private readonly value: number,
    private readonly sequence: number,
    /** {@link ValueWatchers.handoffs} when it was queued. */
    private readonly handoffs: number,
  ) {}

  runJob(): void {
    const { value, sequence, watchers } = this;
    for (const watch of watchers.valueWatches) {
      if (this.isStale()) return;
      if (watch.since >= sequence || watch.lastSeen === value) continue;
      watch.lastSeen = value;
      try {
        watch.listener.next(value);
      } catch (error) {
        watchers.reportError(error);
      }
    }
  }

  /**
   * Whether permits this value counts were handed to queued requests after it was queued: a hand-off
   * happened since, and fewer permits than it says are free now. The operation that handed them
   * over has queued the up-to-date value behind it.
   */
  private isStale(): boolean {
    return this.watchers.handoffs !== this.handoffs && this.value > this.watchers.valueNow();
  }
}

/** The wake-up pass of one primitive's ready listeners; at most one is queued at a time. */
class Wake implements Job {
  next: Job | null = null;

  constructor(private readonly watchers: ValueWatchers) {}

  runJob(): void {
    this.watchers.wakeReady();
  }
}

import { ANSWERED, AtOnceGrant } from '../core/at-once-grant.js';
import { GrantLoop, type Job } from '../core/grant-loop.js';
import { steadySignal } from '../core/lease-signal.js';
import type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitStats,
  PermitTicket,
  ReadyListener,
  ValueListener,
} from '../core/permit-backend.js';
import { StatsCounter } from '../core/stats.js';
import { ValueWatchers } from '../core/value-watchers.js';
import { OverReleaseError } from '../errors.js';
import { reportUnhandledError } from '../internal/report-error.js';
import {
  H_BOUND,
  H_HEAD,
  H_HIGH_PARTICIPANT,
  H_TOTAL,
  H_VALUE,
  H_WAITING,
  H_WATCHING,
  MAX_PERMITS,
  P_BELL,
  P_HELD,
  P_LIST_HEAD,
  P_LIST_TAIL,
  P_WATCH,
  SLOT_ASSIGNED,
  SLOT_QUEUED,
  SLOT_REFUSED,
  SLOT_WITHDRAWN,
  S_NEXT,
  S_OWNER,
  S_PERMITS,
  S_STATE,
} from './layout.js';
import { waitAsync } from './environment.js';
import { SharedMemory, type AnswerSink } from './shared-memory.js';

// The states of a request, as its own thread sees it:
//
//   QUEUED ──(hand-off by this thread: synchronous / by another thread: doorbell)──> ASSIGNED ──(loop)──> GRANTED
//     │  └──(adjust: can never fit)──> REFUSING ──(loop)──> DONE                        │                  │
//     └──(withdraw: unsubscribe, timeout)──> DONE <──────────────(withdraw)──────────────┘     (lease.release)
//                                                                                                         v
//                                                                                                     RELEASED
// QUEUED: a slot in shared memory, queued or already answered by another thread and waiting on this
// thread's delivery list (the slot's state says which). ASSIGNED: the permits count in this
// thread's HELD and the grant is queued in this thread's grant loop; a withdrawal then gives them
// back, as a release does. Only this thread moves its own requests out of QUEUED once answered.
const QUEUED = 0;
const ASSIGNED = 1;
const GRANTED = 2;
const DONE = 3;
const RELEASED = 4;
const REFUSING = 5;

/**
 * The permit backend of one thread attached to one SharedSemaphore: the thread-local side (its
 * requests, grant loop, value listeners, statistics, doorbell) of the state in shared memory
 * ({@link SharedMemory}). One per thread and semaphore.
 */
export class SharedBackend implements PermitBackend, AnswerSink {
  readonly memory: SharedMemory;
  readonly i32: Int32Array;
  /** This thread's participant record. */
  readonly me: number;
  readonly loop: GrantLoop;
  readonly watchers: ValueWatchers;
  readonly counts: StatsCounter;
  /** This thread's requests with a slot in shared memory, by slot. */
  private readonly bySlot: (SharedRequest | undefined)[] = [];
  private queuedHere = 0;
  /** A doorbell wait is pending. */
  private armed = false;
  private inBell = false;
  private readonly bell: number;
  /** The word of this thread's HELD count. */
  private readonly heldIndex: number;
  /** Participants to ring once the critical section is over (deduplicated by `ringMark`). */
  private readonly toRing: number[] = [];
  private readonly ringMark: Int32Array;
  private ringEpoch = 1;
  /** This thread has told the others it listens to the value (P_WATCH). */
  private watchingFlag = false;
  /** While requests are queued here, a timer that never fires keeps a Node thread alive. */
  private keepAlive: { ref?: () => void; unref?: () => void } | null = null;
  private readonly onBell = (): void => this.bellRang();
  /** Called when a request of this thread starts waiting (browsers: look for threads to watch). */
  onWait: (() => void) | null = null;
  /** Browsers: resolves once this thread holds its Web Lock for life (see web-locks.ts). */
  lifeLockHeld: Promise<void> | null = null;

  constructor(
    memory: SharedMemory,
    me: number,
    readonly name: string,
    now: () => number,
  ) {
    this.memory = memory;
    this.i32 = memory.i32;
    this.me = me;
    this.bell = memory.p(me, P_BELL);
    this.heldIndex = memory.p(me, P_HELD);
    this.counts = new StatsCounter(now);
    this.loop = new GrantLoop(reportUnhandledError, () => this.counts.loopEnded());
    this.watchers = new ValueWatchers(this.value, reportUnhandledError, () =>
      Atomics.load(this.i32, H_VALUE),
    );
    this.ringMark = new Int32Array(memory.layout.participants);
  }

  get value(): number {
    return Atomics.load(this.i32, H_VALUE);
  }

  get waiting(): number {
    return Atomics.load(this.i32, H_WAITING);
  }

  get maxPermits(): number {
    const bound = Atomics.load(this.i32, H_BOUND);
    return bound < 0 ? Infinity : bound;
  }

  tryAcquire(permits: number): boolean {
    const { memory, i32 } = this;
    memory.lock(this.me);
    if (i32[H_WAITING] !== 0 || i32[H_VALUE] < permits) {
      memory.unlock();
      this.counts.rejected++;
      return false;
    }
    i32[H_VALUE] -= permits;
    i32[this.heldIndex] += permits;
    memory.drawToken();
    memory.unlock();
    this.counts.granted++;
    // The hot path (bench W6): nothing to tell when nobody listens to the value, here or elsewhere.
    if (this.watchers.listeners !== 0 || Atomics.load(i32, H_WATCHING) !== 0) this.changed();
    return true;
  }

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const { permits, priority, maxWaiting } = demand;
    const { memory, i32 } = this;
    memory.lock(this.me);
    const bound = i32[H_BOUND];
    if (bound >= 0 && permits > bound) {
      memory.unlock();
      return this.refuse(grantee, 'never', i32[H_WAITING]);
    }
    // Granted at once when nobody of equal or higher priority is queued and the permits are free.
    if (i32[H_VALUE] >= permits && priority > memory.topPriority()) {
      i32[H_VALUE] -= permits;
      i32[memory.p(this.me, P_HELD)] += permits;
      const token = memory.nextToken();
      memory.unlock();
      const grant = new AtOnceGrant(this, grantee, permits, token);
      this.announce();
      this.loop.grantNow(grant);
      return grant;
    }
    const waiting = i32[H_WAITING];
    if (waiting >= maxWaiting) {
      memory.unlock();
      return this.refuse(grantee, maxWaiting === 0 ? 'busy' : 'full', waiting);
    }
    const slot = memory.enqueue(this.me, permits, priority);
    memory.unlock();
    // Every slot taken: the ring is full (SPEC §8), a refusal whatever the request's maxWaiting.
    if (slot === -1) return this.refuse(grantee, 'full', waiting);
    const request = new SharedRequest(this, grantee, permits, slot);
    request.queuedAt = this.counts.now();
    this.bySlot[slot] = request;
    if (this.queuedHere++ === 0) this.startWaiting();
    this.counts.queued(waiting + 1);
    return request;
  }

  release(permits: number): number {
    const { memory, i32 } = this;
    memory.lock(this.me);
    const value = i32[H_VALUE];
    const bound = i32[H_BOUND];
    if ((bound >= 0 && value + permits > bound) || value + permits > MAX_PERMITS) {
      memory.unlock();
      if (bound >= 0 && value + permits > bound) {
        throw new OverReleaseError({ primitive: this.name, bound, value, permits });
      }
      throw new RangeError(`${this.name}.release: the value would exceed ${MAX_PERMITS}`);
    }
    if (i32[H_HEAD] === -1) {
      // The hot path (bench W6): nobody queued, nothing to hand off.
      i32[H_VALUE] = value + permits;
      i32[this.heldIndex] -= permits;
      memory.unlock();
      if (this.watchers.listeners !== 0 || Atomics.load(i32, H_WATCHING) !== 0) this.changed();
      return value + permits;
    }
    const after = this.giveBack(permits);
    this.changed();
    return after;
  }

  adjust(delta: number): number {
    if (delta === 0) return this.value;
    const { memory, i32 } = this;
    memory.lock(this.me);
    const bound = i32[H_BOUND];
    if (bound >= 0 && bound + delta < 0) {
      memory.unlock();
      throw new RangeError(
        `${this.name}.adjust: ${delta} would lower the bound from ${bound} to ${bound + delta}, below 0`,
      );
    }
    if (i32[H_TOTAL] + delta > MAX_PERMITS || i32[H_VALUE] + delta > MAX_PERMITS) {
      memory.unlock();
      throw new RangeError(`${this.name}.adjust: the number of permits would exceed ${MAX_PERMITS}`);
    }
    memory.write(H_TOTAL, i32[H_TOTAL] + delta);
    if (bound >= 0) memory.write(H_BOUND, bound + delta);
    i32[H_VALUE] += delta;
    memory.commit();
    if (bound >= 0 && delta < 0) memory.refuseOversized(this);
    if (i32[H_HEAD] !== -1) memory.grantQueued(this);
    const after = i32[H_VALUE];
    memory.unlock();
    this.afterSection();
    this.changed();
    return after;
  }

  stats(): Omit<PermitStats, 'name'> {
    return this.counts.snapshot(this.value, this.waiting);
  }

  watchValue(listener: ValueListener): () => void {
    const unwatch = this.watchers.watchValue(listener);
    this.syncWatching();
    return () => {
      unwatch();
      this.syncWatching();
    };
  }

  watchReady(listener: ReadyListener): () => void {
    const unwatch = this.watchers.watchReady(listener);
    this.syncWatching();
    return () => {
      unwatch();
      this.syncWatching();
    };
  }

  // ---------------------------------------------------------------------------------------------
  // AnswerSink: called inside the critical section

  answeredHere(slot: number, token: number): void {
    const request = this.bySlot[slot]!;
    this.bySlot[slot] = undefined;
    if (--this.queuedHere === 0) this.stopWaiting();
    if (token === -1) {
      request.state = REFUSING;
    } else {
      request.state = ASSIGNED;
      request.token = token;
      this.watchers.handoffs++;
    }
    this.loop.push(request);
  }

  ring(p: number): void {
    if (this.ringMark[p] === this.ringEpoch) return;
    this.ringMark[p] = this.ringEpoch;
    this.toRing.push(p);
  }

  // ---------------------------------------------------------------------------------------------
  // Thread-local work

  /**
   * Gives `permits` back (a release, or a grant withdrawn before its grantee was told) and serves the
   * queue; called holding the lock, returns the value after the hand-off, with the lock released.
   */
  private giveBack(permits: number): number {
    const { memory, i32 } = this;
    i32[H_VALUE] += permits;
    i32[this.heldIndex] -= permits;
    if (i32[H_HEAD] !== -1) memory.grantQueued(this);
    const after = i32[H_VALUE];
    memory.unlock();
    this.afterSection();
    return after;
  }

  /** A request withdraws itself (unsubscribed, timed out, aborted). */
  withdraw(request: SharedRequest, reason: 'timeout' | 'cancel' | undefined): boolean {
    switch (request.state) {
      case QUEUED: {
        const { memory, i32 } = this;
        const slot = request.slot;
        memory.lock(this.me);
        const state = i32[memory.s(slot, S_STATE)];
        if (state === SLOT_QUEUED) {
          const wasHead = i32[H_HEAD] === slot;
          memory.unlink(slot);
          memory.freeSlot(slot);
          memory.commit();
          // A withdrawn weighted head may have blocked smaller requests behind it (rule 7).
          if (wasHead) memory.grantQueued(this);
          memory.unlock();
        } else {
          // Answered by another thread, not picked up yet: the slot is freed when it is.
          memory.write(memory.s(slot, S_STATE), SLOT_WITHDRAWN);
          memory.commit();
          if (state === SLOT_ASSIGNED) {
            i32[H_VALUE] += request.permits;
            i32[memory.p(this.me, P_HELD)] -= request.permits;
            if (i32[H_HEAD] !== -1) memory.grantQueued(this);
          }
          memory.unlock();
        }
        this.bySlot[slot] = undefined;
        request.state = DONE;
        request.grantee = null;
        this.counts.left(reason);
        this.afterSection();
        if (--this.queuedHere === 0) this.stopWaiting();
        this.changed();
        return true;
      }
      case ASSIGNED:
        // Assigned, withdrawn before its grantee was told: never granted; the permits go back.
        request.state = DONE;
        request.grantee = null;
        this.counts.left(reason);
        this.memory.lock(this.me);
        this.giveBack(request.permits);
        this.changed();
        return true;
      default:
        return false;
    }
  }

  /** A granted request's lease is released (a bound already over-released by others throws). */
  releaseLease(permits: number): void {
    this.release(permits);
  }

  private refuse(grantee: PermitGrantee, reason: 'busy' | 'full' | 'never', waiting: number): PermitTicket {
    this.counts.rejected++;
    grantee.refuse({ reason, waiting });
    return ANSWERED;
  }

  /** After a critical section: rings the threads it answered. */
  private afterSection(): void {
    const { toRing } = this;
    if (toRing.length === 0) return;
    for (let i = 0; i < toRing.length; i++) this.memory.ring(toRing[i]);
    toRing.length = 0;
    this.ringEpoch++;
  }

  /**
   * The value may have changed: the other threads that listen to it are rung (they coalesce what
   * they see), this thread's listeners are told, and the grant loop runs.
   */
  private changed(): void {
    if (Atomics.load(this.i32, H_WATCHING) > (this.watchingFlag ? 1 : 0)) this.ringWatchers();
    this.announce();
    this.loop.drain();
  }

  private announce(): void {
    if (this.watchers.listeners !== 0) {
      this.watchers.settled(this.value, this.loop);
    }
    if (this.watchingFlag !== (this.watchers.listeners !== 0)) this.syncWatching();
  }

  private ringWatchers(): void {
    const { memory, i32 } = this;
    const high = Atomics.load(i32, H_HIGH_PARTICIPANT);
    for (let p = 0; p < high; p++) {
      if (p !== this.me && Atomics.load(i32, memory.p(p, P_WATCH)) !== 0) memory.ring(p);
    }
  }

  /** Tells the other threads whether this one listens to the value (P_WATCH, H_WATCHING). */
  private syncWatching(): void {
    const watching = this.watchers.listeners !== 0;
    if (watching === this.watchingFlag) return;
    this.watchingFlag = watching;
    const { memory, i32 } = this;
    memory.lock(this.me);
    memory.write(memory.p(this.me, P_WATCH), watching ? 1 : 0);
    memory.write(H_WATCHING, i32[H_WATCHING] + (watching ? 1 : -1));
    memory.commit();
    memory.unlock();
    if (watching) this.arm();
  }

  /**
   * The first request queued here: wait for the doorbell, and keep the thread alive meanwhile (a
   * pending Atomics.waitAsync does not keep a Node thread's event loop alive; a timer that never
   * fires does, and is ref'd and unref'd rather than made for every wait). Browsers need nothing.
   */
  private startWaiting(): void {
    if (this.keepAlive === null) {
      const timer = setInterval(noop, 0x7fffffff) as unknown as { ref?: () => void; unref?: () => void };
      if (typeof timer.unref === 'function') this.keepAlive = timer;
      else clearInterval(timer as unknown as number);
    }
    this.keepAlive?.ref!();
    this.arm();
    this.onWait?.();
  }

  /** No request is queued here any more. */
  private stopWaiting(): void {
    this.keepAlive?.unref!();
  }

  /** Whether this thread has a reason to hear its doorbell. */
  private get interested(): boolean {
    return this.queuedHere !== 0 || this.watchingFlag;
  }

  /** Makes sure one Atomics.waitAsync is pending on this thread's doorbell (never more than one). */
  private arm(seen?: number): void {
    if (this.armed || this.inBell) return;
    this.armed = true;
    if (seen === undefined) {
      // A thread that answered this one before now rang already: its answer is on the delivery list
      // (written before the ring), so look there after reading the bell, or wait for the next ring.
      seen = Atomics.load(this.i32, this.bell);
      if (Atomics.load(this.i32, this.memory.p(this.me, P_LIST_HEAD)) !== -1) {
        void Promise.resolve().then(this.onBell);
        return;
      }
    }
    const wait = waitAsync(this.i32, this.bell, seen);
    if (wait.async) void (wait.value as Promise<unknown>).then(this.onBell);
    else void Promise.resolve().then(this.onBell);
  }

  /** The doorbell rang: picks up what other threads answered, tells the value, re-arms. */
  private bellRang(): void {
    this.armed = false;
    this.inBell = true;
    const seen = Atomics.load(this.i32, this.bell);
    try {
      if (Atomics.load(this.i32, this.memory.p(this.me, P_LIST_HEAD)) !== -1) this.pickUp();
      // A ring may announce a thread that became watchable (its life lock held).
      if (this.queuedHere !== 0) this.onWait?.();
      this.announce();
      this.loop.drain();
    } finally {
      this.inBell = false;
      if (this.interested) this.arm(seen);
    }
  }

  /** Takes this thread's delivery list and queues its grants and refusals in the grant loop. */
  private pickUp(): void {
    const { memory, i32 } = this;
    memory.lock(this.me);
    let slot = i32[memory.p(this.me, P_LIST_HEAD)];
    memory.write(memory.p(this.me, P_LIST_HEAD), -1);
    memory.write(memory.p(this.me, P_LIST_TAIL), -1);
    memory.commit();
    while (slot !== -1) {
      const next = i32[memory.s(slot, S_NEXT)];
      const state = i32[memory.s(slot, S_STATE)];
      const request = this.bySlot[slot];
      if (request !== undefined && i32[memory.s(slot, S_OWNER)] === this.me) {
        if (state === SLOT_ASSIGNED) {
          this.answeredHere(slot, memory.slotToken(slot));
        } else if (state === SLOT_REFUSED) {
          this.answeredHere(slot, -1);
        }
      }
      memory.freeSlot(slot);
      memory.commit();
      slot = next;
    }
    memory.unlock();
  }

  /**
   * Thread `threadId` has exited: recovers every participant it had (see SharedMemory.recover), then
   * tells this thread's grantees and listeners, and rings the other threads it granted.
   */
  reclaimThread(threadId: number): void {
    for (const p of this.memory.participantsOf(threadId)) {
      if (p !== this.me) this.reclaimParticipant(p, -1);
    }
  }

  /** Participant `p` (of `generation`, or any with -1) is gone: gives back what it held. */
  reclaimParticipant(p: number, generation: number): void {
    if (!this.memory.recover(p, this, generation)) return;
    this.afterSection();
    this.changed();
  }

  /**
   * The backend of participant `me` was garbage collected: nobody in its thread can release what it
   * holds, so it is recovered like a dead thread's (its own id takes the lock).
   */
  static recoverOrphan(memory: SharedMemory, me: number): void {
    const toRing: number[] = [];
    memory.recover(me, {
      me,
      answeredHere() {},
      ring: (p) => {
        if (!toRing.includes(p)) toRing.push(p);
      },
    });
    for (const p of toRing) memory.ring(p);
  }

  /** The permits this thread holds now (for tests and diagnostics). */
  get held(): number {
    return Atomics.load(this.i32, this.memory.p(this.me, P_HELD));
  }

  /** Permits of this thread's request in `slot` (for diagnostics). */
  slotPermits(slot: number): number {
    return this.i32[this.memory.s(slot, S_PERMITS)];
  }
}

/** One queued request of this thread: its ticket, its grant loop job and, once granted, its lease. */
export class SharedRequest implements Job, PermitTicket, Lease {
  next: Job | null = null;
  state = QUEUED;
  token = 0;
  /** When it was queued, on the stats clock. */
  queuedAt = 0;

  constructor(
    private readonly backend: SharedBackend,
    public grantee: PermitGrantee | null,
    readonly permits: number,
    readonly slot: number,
  ) {}

  runJob(): void {
    const grantee = this.grantee;
    if (this.state === ASSIGNED) {
      this.state = GRANTED;
      this.grantee = null;
      const { counts } = this.backend;
      counts.grantedAfterQueue(Math.max(0, counts.now() - this.queuedAt));
      grantee!.grant(this);
    } else if (this.state === REFUSING) {
      this.state = DONE;
      this.grantee = null;
      grantee!.refuse({ reason: 'never', waiting: this.backend.waiting });
    }
  }

  /** A lease of a live thread is never lost (a dead thread's permits are reclaimed by others). */
  get signal(): AbortSignal {
    return steadySignal(this);
  }

  get released(): boolean {
    return this.state === RELEASED;
  }

  release(): void {
    if (this.state !== GRANTED) return;
    this.state = RELEASED;
    this.backend.releaseLease(this.permits);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  withdraw(reason?: 'timeout' | 'cancel'): boolean {
    return this.backend.withdraw(this, reason);
  }
}

function noop(): void {}

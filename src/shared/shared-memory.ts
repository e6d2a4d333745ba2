import {
  DEFAULT_PARTICIPANTS,
  H_BOUND,
  H_CAPACITY,
  H_FREE_LEVEL,
  H_FREE_SLOT,
  H_HEAD,
  H_HIGH_PARTICIPANT,
  H_ID,
  H_LOCK,
  H_LOG_LEN,
  H_MAGIC,
  H_PARTICIPANTS,
  H_TOKEN_HI,
  H_TOKEN_LO,
  H_TOP_LEVEL,
  H_TOTAL,
  H_VALUE,
  H_WAITING,
  H_WATCHING,
  LEVEL_WORDS,
  LOG,
  LOG_ENTRIES,
  L_COUNT,
  L_NEXT,
  L_PREV,
  L_TAIL,
  MAGIC,
  PARTICIPANT_ALIVE,
  PARTICIPANT_FREE,
  PARTICIPANT_WORDS,
  P_BELL,
  P_GEN,
  P_HELD,
  P_LIFE,
  P_LIST_HEAD,
  P_LIST_TAIL,
  P_STATE,
  P_THREAD,
  P_WATCH,
  SLOT_ASSIGNED,
  SLOT_FREE,
  SLOT_QUEUED,
  SLOT_REFUSED,
  SLOT_WORDS,
  S_LEVEL,
  S_NEXT,
  S_OWNER,
  S_PERMITS,
  S_PREV,
  S_STATE,
  S_TOKEN_HI,
  S_TOKEN_LO,
  layoutOf,
  type Layout,
} from './layout.js';

/** How long a thread spins for the critical section before it gives up with an error, in ms. */
const SPIN_LIMIT_MS = 2000;

/**
 * Where the grants and refusals decided inside a critical section go: to the thread that made the
 * critical section (`local`, its own requests, told synchronously after it) or to another thread
 * (its delivery list, and a ring of its doorbell after the critical section).
 */
export interface AnswerSink {
  /** The participant making the critical section. */
  readonly me: number;
  /** One of `me`'s own queued requests was granted (`token`) or, with `token` -1, refused. */
  answeredHere(slot: number, token: number): void;
  /** Participant `p` must be rung once the critical section is over. */
  ring(p: number): void;
}

/**
 * The shared state of one SharedSemaphore, and every operation on it, each made inside the critical
 * section by the caller (`lock` ... `unlock`). No thread-local state lives here: the views, the
 * layout, and nothing else. See layout.ts for the words.
 *
 * Crash safety: a thread can die (be terminated) anywhere, also inside the critical section. Writes
 * that must stay consistent with each other go through {@link write}, which logs the old value
 * first; a multi-step operation {@link commit}s after each consistent step. `VALUE` is written
 * without logging: it is always `TOTAL - Σ HELD`, so recovery recomputes it (see {@link recover}).
 */
export class SharedMemory {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly layout: Layout;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    const capacity = this.i32[H_CAPACITY];
    const participants = this.i32[H_PARTICIPANTS];
    this.layout = layoutOf(capacity, participants);
    this.f64 = new Float64Array(buffer, this.layout.priorityBase * 8, capacity);
  }

  /** A fresh buffer: `value` permits, an empty queue of `capacity` slots, no participant. */
  static create(value: number, bounded: boolean, capacity: number): SharedArrayBuffer {
    const layout = layoutOf(capacity, DEFAULT_PARTICIPANTS);
    const buffer = new SharedArrayBuffer(layout.bytes);
    const a = new Int32Array(buffer);
    a[H_ID] = (Math.random() * 0x7fffffff) | 0;
    a[H_LOCK] = 0;
    a[H_VALUE] = value;
    a[H_TOTAL] = value;
    a[H_BOUND] = bounded ? value : -1;
    a[H_HEAD] = -1;
    a[H_TOP_LEVEL] = -1;
    a[H_CAPACITY] = capacity;
    a[H_PARTICIPANTS] = DEFAULT_PARTICIPANTS;
    for (let s = 0; s < capacity; s++) {
      const base = layout.slotBase + s * SLOT_WORDS;
      a[base + S_STATE] = SLOT_FREE;
      a[base + S_NEXT] = s + 1 < capacity ? s + 1 : -1;
      a[layout.levelBase + s * LEVEL_WORDS + L_NEXT] = s + 1 < capacity ? s + 1 : -1;
    }
    a[H_FREE_SLOT] = capacity > 0 ? 0 : -1;
    a[H_FREE_LEVEL] = capacity > 0 ? 0 : -1;
    for (let p = 0; p < DEFAULT_PARTICIPANTS; p++) {
      const base = layout.participantBase + p * PARTICIPANT_WORDS;
      a[base + P_LIST_HEAD] = -1;
      a[base + P_LIST_TAIL] = -1;
    }
    Atomics.store(a, H_MAGIC, MAGIC);
    return buffer;
  }

  /** Whether `buffer` holds a semaphore of this layout. */
  static isSemaphoreBuffer(buffer: SharedArrayBuffer): boolean {
    return buffer.byteLength >= 4 * 24 && Atomics.load(new Int32Array(buffer, 0, 1), H_MAGIC) === MAGIC;
  }

  get id(): number {
    return this.i32[H_ID];
  }

  /** Word index of participant `p`'s field `field`. */
  p(p: number, field: number): number {
    return this.layout.participantBase + p * PARTICIPANT_WORDS + field;
  }

  /** Word index of slot `s`'s field `field`. */
  s(s: number, field: number): number {
    return this.layout.slotBase + s * SLOT_WORDS + field;
  }

  /** Word index of level `l`'s field `field`. */
  l(l: number, field: number): number {
    return this.layout.levelBase + l * LEVEL_WORDS + field;
  }

  // ---------------------------------------------------------------------------------------------
  // The critical section

  /**
   * Takes the critical section for participant `me` (spinning: it is held for a few hundred
   * nanoseconds at most, never across an `await` or a call of user code). A holder that died inside
   * it is recovered by `watch` on its `'exit'`; if the section stays taken by the same holder for
   * {@link SPIN_LIMIT_MS}, this throws instead of spinning for ever (nothing was changed).
   */
  lock(me: number): void {
    if (Atomics.compareExchange(this.i32, H_LOCK, 0, me + 1) !== 0) this.spin(me);
  }

  private spin(me: number): void {
    const a = this.i32;
    let deadline = 0;
    let holder = 0;
    for (let i = 1; ; i++) {
      const seen = Atomics.compareExchange(a, H_LOCK, 0, me + 1);
      if (seen === 0) return;
      if ((i & 1023) === 0) {
        const now = Date.now();
        if (seen !== holder) {
          holder = seen;
          deadline = now + SPIN_LIMIT_MS;
        } else if (now > deadline) {
          throw new Error(
            `SharedSemaphore: the critical section has been held by participant ${seen - 1} (thread ` +
              `${a[this.p(seen - 1, P_THREAD)]}) for ${SPIN_LIMIT_MS} ms: that thread died inside it. ` +
              'watch(worker) recovers it on the worker\'s "exit" event; nothing was changed by this call',
          );
        }
      }
    }
  }

  unlock(): void {
    Atomics.store(this.i32, H_LOCK, 0);
  }

  /** A logged write: undone if the step it belongs to is not committed. */
  write(index: number, value: number): void {
    const a = this.i32;
    const n = a[H_LOG_LEN];
    if (n >= LOG_ENTRIES) throw new Error('SharedSemaphore: undo log overflow (a bug)');
    a[LOG + 2 * n] = index;
    a[LOG + 2 * n + 1] = a[index];
    a[H_LOG_LEN] = n + 1;
    a[index] = value;
  }

  /** The step in progress is complete and consistent: forget its undo log. */
  commit(): void {
    this.i32[H_LOG_LEN] = 0;
  }

  /** Draws a token nobody will see (a `tryAcquire` grant): {@link nextToken} without the number. */
  drawToken(): void {
    const a = this.i32;
    const lo = (a[H_TOKEN_LO] + 1) | 0;
    if (lo === 0) a[H_TOKEN_HI] = a[H_TOKEN_HI] + 1;
    a[H_TOKEN_LO] = lo;
  }

  /** Draws the next fencing token (strictly increasing across threads). */
  nextToken(): number {
    const a = this.i32;
    const lo = (a[H_TOKEN_LO] + 1) | 0;
    // hi before lo: a thread dying between the two writes leaves the counter ahead, never behind.
    if (lo === 0) a[H_TOKEN_HI] = a[H_TOKEN_HI] + 1;
    a[H_TOKEN_LO] = lo;
    return a[H_TOKEN_HI] * 0x100000000 + (lo >>> 0);
  }

  // ---------------------------------------------------------------------------------------------
  // The queue (inside the critical section)

  /** The highest priority queued; -Infinity when nothing is. */
  topPriority(): number {
    const top = this.i32[H_TOP_LEVEL];
    return top === -1 ? -Infinity : this.f64[top];
  }

  /**
   * Queues a request of `owner` for `permits` at `priority`, behind every request of equal or
   * higher priority; returns its slot, or -1 when every slot is taken. One step, committed.
   */
  enqueue(owner: number, permits: number, priority: number): number {
    const a = this.i32;
    const slot = a[H_FREE_SLOT];
    if (slot === -1) return -1;
    // Find the level of `priority`, or the level above which a new one goes.
    let higher = -1;
    let level = a[H_TOP_LEVEL];
    while (level !== -1 && this.f64[level] > priority) {
      higher = level;
      level = a[this.l(level, L_NEXT)];
    }
    this.write(H_FREE_SLOT, a[this.s(slot, S_NEXT)]);
    let after: number; // the slot the new one goes after (-1: at the head)
    if (level !== -1 && this.f64[level] === priority) {
      after = a[this.l(level, L_TAIL)];
    } else {
      // A new level between `higher` and `level`.
      const fresh = a[H_FREE_LEVEL];
      this.write(H_FREE_LEVEL, a[this.l(fresh, L_NEXT)]);
      this.f64[fresh] = priority;
      this.write(this.l(fresh, L_COUNT), 0);
      this.write(this.l(fresh, L_PREV), higher);
      this.write(this.l(fresh, L_NEXT), level);
      if (level !== -1) this.write(this.l(level, L_PREV), fresh);
      if (higher === -1) this.write(H_TOP_LEVEL, fresh);
      else this.write(this.l(higher, L_NEXT), fresh);
      after = higher === -1 ? -1 : a[this.l(higher, L_TAIL)];
      level = fresh;
    }
    const next = after === -1 ? a[H_HEAD] : a[this.s(after, S_NEXT)];
    this.write(this.s(slot, S_OWNER), owner);
    this.write(this.s(slot, S_PERMITS), permits);
    this.write(this.s(slot, S_LEVEL), level);
    this.write(this.s(slot, S_PREV), after);
    this.write(this.s(slot, S_NEXT), next);
    if (next !== -1) this.write(this.s(next, S_PREV), slot);
    if (after === -1) this.write(H_HEAD, slot);
    else this.write(this.s(after, S_NEXT), slot);
    this.write(this.l(level, L_TAIL), slot);
    this.write(this.l(level, L_COUNT), a[this.l(level, L_COUNT)] + 1);
    this.write(H_WAITING, a[H_WAITING] + 1);
    this.write(this.s(slot, S_STATE), SLOT_QUEUED);
    this.commit();
    return slot;
  }

  /** Takes a queued slot out of the queue (its state is left for the caller to set). Not committed. */
  unlink(slot: number): void {
    const a = this.i32;
    const prev = a[this.s(slot, S_PREV)];
    const next = a[this.s(slot, S_NEXT)];
    if (prev === -1) this.write(H_HEAD, next);
    else this.write(this.s(prev, S_NEXT), next);
    if (next !== -1) this.write(this.s(next, S_PREV), prev);
    const level = a[this.s(slot, S_LEVEL)];
    const count = a[this.l(level, L_COUNT)] - 1;
    this.write(this.l(level, L_COUNT), count);
    if (count === 0) {
      const higher = a[this.l(level, L_PREV)];
      const lower = a[this.l(level, L_NEXT)];
      if (higher === -1) this.write(H_TOP_LEVEL, lower);
      else this.write(this.l(higher, L_NEXT), lower);
      if (lower !== -1) this.write(this.l(lower, L_PREV), higher);
      this.write(this.l(level, L_NEXT), a[H_FREE_LEVEL]);
      this.write(H_FREE_LEVEL, level);
    } else if (a[this.l(level, L_TAIL)] === slot) {
      this.write(this.l(level, L_TAIL), prev);
    }
    this.write(H_WAITING, a[H_WAITING] - 1);
  }

  /** Puts a slot back on the free list. Not committed. */
  freeSlot(slot: number): void {
    this.write(this.s(slot, S_STATE), SLOT_FREE);
    this.write(this.s(slot, S_NEXT), this.i32[H_FREE_SLOT]);
    this.write(H_FREE_SLOT, slot);
  }

  /** Appends an answered slot to its owner's delivery list. Not committed. */
  private deliver(owner: number, slot: number, state: number): void {
    const a = this.i32;
    this.write(this.s(slot, S_STATE), state);
    this.write(this.s(slot, S_NEXT), -1);
    const tail = a[this.p(owner, P_LIST_TAIL)];
    if (tail === -1) this.write(this.p(owner, P_LIST_HEAD), slot);
    else this.write(this.s(tail, S_NEXT), slot);
    this.write(this.p(owner, P_LIST_TAIL), slot);
  }

  /**
   * Grants queued requests from the head while the head fits in the value (strict head-of-line):
   * the atomic part of a hand-off. One committed step per grant. Grants of `sink.me`'s own requests
   * free their slot and go to `sink.answeredHere`; the others go on their owner's delivery list.
   * Returns how many were granted.
   */
  grantQueued(sink: AnswerSink): number {
    const a = this.i32;
    let granted = 0;
    let head: number;
    while ((head = a[H_HEAD]) !== -1) {
      const permits = a[this.s(head, S_PERMITS)];
      if (permits > a[H_VALUE]) break;
      const owner = a[this.s(head, S_OWNER)];
      this.unlink(head);
      this.write(this.p(owner, P_HELD), a[this.p(owner, P_HELD)] + permits);
      a[H_VALUE] -= permits;
      const token = this.nextToken();
      granted++;
      if (owner === sink.me) {
        this.freeSlot(head);
        this.commit();
        sink.answeredHere(head, token);
      } else {
        a[this.s(head, S_TOKEN_LO)] = (token % 0x100000000) | 0;
        a[this.s(head, S_TOKEN_HI)] = Math.floor(token / 0x100000000);
        this.deliver(owner, head, SLOT_ASSIGNED);
        this.commit();
        sink.ring(owner);
      }
    }
    return granted;
  }

  /** After the bound fell: refuses every queued request that can never fit under it any more. */
  refuseOversized(sink: AnswerSink): void {
    const a = this.i32;
    const bound = a[H_BOUND];
    let slot = a[H_HEAD];
    while (slot !== -1) {
      const next = a[this.s(slot, S_NEXT)];
      if (a[this.s(slot, S_PERMITS)] > bound) {
        const owner = a[this.s(slot, S_OWNER)];
        this.unlink(slot);
        if (owner === sink.me) {
          this.freeSlot(slot);
          this.commit();
          sink.answeredHere(slot, -1);
        } else {
          this.deliver(owner, slot, SLOT_REFUSED);
          this.commit();
          sink.ring(owner);
        }
      }
      slot = next;
    }
  }

  /** The token a slot on a delivery list was granted with. */
  slotToken(slot: number): number {
    const a = this.i32;
    return a[this.s(slot, S_TOKEN_HI)] * 0x100000000 + (a[this.s(slot, S_TOKEN_LO)] >>> 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Participants

  /** Attaches a thread: a free participant record, or -1 when all are taken. Takes the lock itself. */
  attach(threadId: number): number {
    const a = this.i32;
    // The lock needs an id: the record about to be taken is not known yet, so use a free one's.
    for (;;) {
      let candidate = -1;
      for (let p = 0; p < this.layout.participants; p++) {
        if (Atomics.load(a, this.p(p, P_STATE)) === PARTICIPANT_FREE) {
          candidate = p;
          break;
        }
      }
      if (candidate === -1) return -1;
      this.lock(candidate);
      try {
        if (a[this.p(candidate, P_STATE)] !== PARTICIPANT_FREE) continue; // taken meanwhile
        this.write(this.p(candidate, P_THREAD), threadId);
        this.write(this.p(candidate, P_HELD), 0);
        this.write(this.p(candidate, P_LIST_HEAD), -1);
        this.write(this.p(candidate, P_LIST_TAIL), -1);
        this.write(this.p(candidate, P_WATCH), 0);
        this.write(this.p(candidate, P_LIFE), 0);
        this.write(this.p(candidate, P_GEN), a[this.p(candidate, P_GEN)] + 1);
        if (a[H_HIGH_PARTICIPANT] <= candidate) this.write(H_HIGH_PARTICIPANT, candidate + 1);
        this.write(this.p(candidate, P_STATE), PARTICIPANT_ALIVE);
        this.commit();
        return candidate;
      } finally {
        this.unlock();
      }
    }
  }

  /** The alive participants attached from thread `threadId`. */
  participantsOf(threadId: number): number[] {
    const a = this.i32;
    const found: number[] = [];
    const high = Atomics.load(a, H_HIGH_PARTICIPANT);
    for (let p = 0; p < high; p++) {
      if (
        Atomics.load(a, this.p(p, P_STATE)) === PARTICIPANT_ALIVE &&
        Atomics.load(a, this.p(p, P_THREAD)) === threadId
      ) {
        found.push(p);
      }
    }
    return found;
  }

  /**
   * Participant `dead` is gone (its thread exited, or its last reference was collected): takes the
   * lock — from `dead` itself if it died inside the critical section, undoing its half-done step —
   * withdraws its queued requests, gives back every permit it held (granted, delivered or not), and
   * frees its record; then serves the queue. `by` is the participant id used for the lock (the
   * recovering thread's own, or `dead`'s when a thread recovers its own collected backend). Returns
   * whether a record was freed (false when `dead` was not alive).
   */
  recover(dead: number, sink: AnswerSink, generation = -1): boolean {
    const a = this.i32;
    const by = sink.me;
    for (;;) {
      const seen = Atomics.compareExchange(a, H_LOCK, 0, by + 1);
      if (seen === 0) break;
      if (seen === dead + 1 && Atomics.compareExchange(a, H_LOCK, seen, by + 1) === seen) {
        this.undo();
        this.recompute();
        break;
      }
      // A live holder: wait for it like any other thread.
      this.lock(by);
      break;
    }
    try {
      if (a[this.p(dead, P_STATE)] !== PARTICIPANT_ALIVE) return false;
      if (generation !== -1 && a[this.p(dead, P_GEN)] !== generation) return false;
      const capacity = this.layout.capacity;
      for (let slot = 0; slot < capacity; slot++) {
        const state = a[this.s(slot, S_STATE)];
        if (state === SLOT_FREE || a[this.s(slot, S_OWNER)] !== dead) continue;
        if (state === SLOT_QUEUED) this.unlink(slot);
        this.freeSlot(slot);
        this.commit();
      }
      const held = a[this.p(dead, P_HELD)];
      // Permits it took go back; permits it gave back without taking them (a release made for
      // another thread, or gevent's over-release) stay given.
      if (held > 0) a[H_VALUE] += held;
      else this.write(H_TOTAL, a[H_TOTAL] - held);
      this.write(this.p(dead, P_HELD), 0);
      this.write(this.p(dead, P_LIST_HEAD), -1);
      this.write(this.p(dead, P_LIST_TAIL), -1);
      if (a[this.p(dead, P_WATCH)] !== 0) {
        this.write(this.p(dead, P_WATCH), 0);
        this.write(H_WATCHING, a[H_WATCHING] - 1);
      }
      this.write(this.p(dead, P_LIFE), 0);
      this.write(this.p(dead, P_STATE), PARTICIPANT_FREE);
      this.commit();
      this.grantQueued(sink);
      return true;
    } finally {
      this.unlock();
    }
  }

  /** Undoes the half-done step of a thread that died inside the critical section. */
  private undo(): void {
    const a = this.i32;
    for (let n = a[H_LOG_LEN] - 1; n >= 0; n--) a[a[LOG + 2 * n]] = a[LOG + 2 * n + 1];
    a[H_LOG_LEN] = 0;
  }

  /** VALUE is TOTAL minus every permit held: restores it after a thread died inside the section. */
  private recompute(): void {
    const a = this.i32;
    let held = 0;
    const high = a[H_HIGH_PARTICIPANT];
    for (let p = 0; p < high; p++) {
      if (a[this.p(p, P_STATE)] === PARTICIPANT_ALIVE) held += a[this.p(p, P_HELD)];
    }
    a[H_VALUE] = a[H_TOTAL] - held;
  }

  /** Rings participant `p`'s doorbell (outside the critical section). */
  ring(p: number): void {
    const bell = this.p(p, P_BELL);
    Atomics.add(this.i32, bell, 1);
    Atomics.notify(this.i32, bell);
  }

  /** Whether a slot's state is one an owner picks up from its delivery list. */
  static isAnswer(state: number): boolean {
    return state === SLOT_ASSIGNED || state === SLOT_REFUSED;
  }
}

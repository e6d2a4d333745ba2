// The shared memory of one SharedSemaphore: one SharedArrayBuffer, seen as an Int32Array (every
// word below) and a Float64Array (the priority of each queue level). Every thread attached to the
// semaphore maps the same buffer; the words change only inside the critical section (the LOCK word,
// taken by compare-and-swap), except the doorbells (Atomics.add + Atomics.notify) and the reads of
// VALUE, WAITING and BOUND by the getters (Atomics.load, possibly one operation old).
//
//   header │ undo log │ participants (one per attached thread) │ slots (queued requests) │ levels │ f64
//
// Queue: the slots of queued requests form one doubly linked list in serving order (priority, then
// arrival); the requests of one priority are contiguous and make a "level" (a record with the
// level's last slot and its count, in a doubly linked list of levels, highest first). Enqueueing
// walks the levels (O(distinct priorities queued), O(1) with every priority 0), every other queue
// operation is O(1). Free slots and free level records are singly linked free lists.
//
// A slot granted to a request of another thread is appended to that thread's "delivery list" (a
// singly linked list through S_NEXT, headed in its participant record) and its doorbell is rung.

/** Marks a buffer made by this version of the layout. */
export const MAGIC = 0x52785031; // 'RxP1'

// Header words.
export const H_MAGIC = 0;
/** A random id of the semaphore: one backend per thread and semaphore. */
export const H_ID = 1;
/** 0 when free, else the holder's participant index + 1. */
export const H_LOCK = 2;
/** Entries in the undo log of the step in progress. */
export const H_LOG_LEN = 3;
/** Permits free now; negative while permits removed by `adjust` are owed. */
export const H_VALUE = 4;
/** Permits that exist: VALUE + the HELD of every participant, always (see recompute). */
export const H_TOTAL = 5;
/** The bound of a bounded semaphore; -1 when unbounded. */
export const H_BOUND = 6;
/** Requests queued now. */
export const H_WAITING = 7;
/** The first slot in serving order, -1 when none is queued. */
export const H_HEAD = 8;
/** The highest-priority level, -1 when none is queued. */
export const H_TOP_LEVEL = 9;
export const H_FREE_SLOT = 10;
export const H_FREE_LEVEL = 11;
/** The last fencing token drawn: lo word (unsigned), hi word. */
export const H_TOKEN_LO = 12;
export const H_TOKEN_HI = 13;
export const H_CAPACITY = 14;
export const H_PARTICIPANTS = 15;
/** One more than the highest participant index ever used: scans stop there. */
export const H_HIGH_PARTICIPANT = 16;
/** Participants with listeners of the value (permit observable, wait, rawlink). */
export const H_WATCHING = 17;
export const HEADER_WORDS = 24;

/**
 * The undo log: (word index, old value) pairs written before each logged write of one step of a
 * critical section and cleared when the step is complete. A thread that dies inside the critical
 * section leaves at most one step half done; whoever recovers the lock undoes it.
 */
export const LOG = HEADER_WORDS;
export const LOG_ENTRIES = 128;
export const LOG_WORDS = LOG_ENTRIES * 2;

// A participant record: one per thread attached (one backend per thread and semaphore).
export const P_STATE = 0;
export const P_THREAD = 1;
/** Permits this thread holds (granted to it, including grants not yet delivered); may be < 0. */
export const P_HELD = 2;
/** The doorbell: bumped and notified to wake the thread's one pending Atomics.waitAsync. */
export const P_BELL = 3;
/** The delivery list: slots answered by other threads, for this thread to pick up. */
export const P_LIST_HEAD = 4;
export const P_LIST_TAIL = 5;
/** 1 while the thread has listeners of the value (it is rung on every change). */
export const P_WATCH = 6;
/** Bumped each time the record is taken: tells a thread from an earlier one in the same record. */
export const P_GEN = 7;
/** 1 once the thread holds its Web Lock for life (browsers): the others may watch it. */
export const P_LIFE = 8;
export const PARTICIPANT_WORDS = 10;

export const PARTICIPANT_FREE = 0;
export const PARTICIPANT_ALIVE = 1;

// A slot: one queued request (or one answered request on its owner's delivery list).
export const S_STATE = 0;
export const S_OWNER = 1;
export const S_PERMITS = 2;
export const S_PREV = 3;
export const S_NEXT = 4;
export const S_LEVEL = 5;
export const S_TOKEN_LO = 6;
export const S_TOKEN_HI = 7;
export const SLOT_WORDS = 8;

export const SLOT_FREE = 0;
/** In the queue. */
export const SLOT_QUEUED = 1;
/** Granted by another thread, on the owner's delivery list (its permits already count in its HELD). */
export const SLOT_ASSIGNED = 2;
/** Refused by another thread's `adjust` (can never fit), on the owner's delivery list. */
export const SLOT_REFUSED = 3;
/** Withdrawn by its owner while on its delivery list: freed when the list is picked up. */
export const SLOT_WITHDRAWN = 4;

// A level: the requests of one priority.
export const L_TAIL = 0;
export const L_COUNT = 1;
/** The next lower level. */
export const L_NEXT = 2;
/** The next higher level. */
export const L_PREV = 3;
export const LEVEL_WORDS = 4;

/** The most participants (threads) one semaphore serves at once. */
export const DEFAULT_PARTICIPANTS = 64;
/** The largest value, bound or number of permits the 32-bit words hold. */
export const MAX_PERMITS = 0x7fffffff;

/** Where each region of a buffer starts, from its capacity and number of participants. */
export interface Layout {
  readonly capacity: number;
  readonly participants: number;
  /** Word index of participant 0. */
  readonly participantBase: number;
  /** Word index of slot 0. */
  readonly slotBase: number;
  /** Word index of level 0. */
  readonly levelBase: number;
  /** Float64 index of level 0's priority. */
  readonly priorityBase: number;
  readonly bytes: number;
}

export function layoutOf(capacity: number, participants: number): Layout {
  const participantBase = LOG + LOG_WORDS;
  const slotBase = participantBase + participants * PARTICIPANT_WORDS;
  const levelBase = slotBase + capacity * SLOT_WORDS;
  const end = levelBase + capacity * LEVEL_WORDS;
  const priorityByte = Math.ceil((end * 4) / 8) * 8;
  return {
    capacity,
    participants,
    participantBase,
    slotBase,
    levelBase,
    priorityBase: priorityByte / 8,
    bytes: priorityByte + capacity * 8,
  };
}

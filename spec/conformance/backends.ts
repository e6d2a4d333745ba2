import { type Observable, type SchedulerLike, type VirtualTimeScheduler } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  RLock,
  Semaphore,
  SharedSemaphore,
  type BackendSemaphore,
  type PermitPool,
} from '../../src/index.js';
import { SimulatedRemoteSemaphore } from '../../src/testing/index.js';

// The backends the shared conformance suite (semaphore-conformance.spec.ts) runs against, each as a
// factory and what it keeps of SPEC §2, and the adapters that let the suite drive them. A helper
// module: no `describe` or `it` here.

/**
 * What one backend keeps of SPEC §2 (§7's table), beyond the rules every backend keeps (2, 4, 6-9,
 * 13, 17, 18). The suite reads these traits: a test of a rule the backend does not keep is defined
 * but skipped (reported as pending, with the reason); a test of a kept rule runs, and waits
 * `latency` wherever it needs an answer of the backend.
 */
export interface BackendKeeps {
  /**
   * How long an answer of the backend takes to reach the caller, in ms (frames) of the suite's
   * virtual scheduler: a grant, a refusal, a value change. 0 in-process: answered in the call.
   */
  readonly latency: number;
  /**
   * The backend answers later in real time (a server: `RedisSemaphore`), not on the suite's virtual
   * scheduler: it has no synchronous `tryAcquire` (the suite asks `acquire({ blocking: false })`
   * and waits for the answer), and wherever a spec needs the backend's answers it waits for the
   * adapter's `settled()` instead of letting `latency` pass. Specs written in virtual time (marbles)
   * run as their real-time twins.
   */
  readonly realTime: boolean;
  /**
   * Rule 3, synchronous atomic hand-off: the grantee of a release is told before the outermost
   * operation returns, and no value, `wait` or `rawlink` ever shows a permit handed to a waiter.
   */
  readonly synchronousHandOff: boolean;
  /**
   * Rule 5, synchronous grant: free permits with nobody queued are granted inside the call that asks
   * for them, also inside a running grant loop.
   */
  readonly synchronousGrant: boolean;
  /**
   * Rules 10 and 11: `wait()` and `rawlink()` wake in the operation that makes the primitive ready,
   * after the queued requests were served.
   */
  readonly readyWakeUps: boolean;
  /**
   * Rule 12: the permit observable delivers every settled value, in order, before the operation
   * returns, and leaves every subscriber on the true value.
   */
  readonly everySettledValue: boolean;
}

/** The traits of {@link BackendKeeps} that a backend keeps or not. */
export type KeptRule = Exclude<keyof BackendKeeps, 'latency' | 'realTime'>;

/** The rules behind each trait, for the reason of a skipped test. */
export const ruleOf: Readonly<Record<KeptRule, string>> = {
  synchronousHandOff: 'rule 3 (synchronous hand-off)',
  synchronousGrant: 'rule 5 (synchronous grant)',
  readyWakeUps: 'rules 10-11 (wait/rawlink wake-ups)',
  everySettledValue: 'rule 12 (every settled value)',
};

/** An in-process primitive keeps all of §2. */
export const inProcess: BackendKeeps = {
  latency: 0,
  realTime: false,
  synchronousHandOff: true,
  synchronousGrant: true,
  readyWakeUps: true,
  everySettledValue: true,
};

/**
 * A remote backend (§7): state changes on the server at the call, every answer comes `latency`
 * later; it keeps rules 2, 4, 6-9, 13, 17 and 18, not 3, 5, 10-12 (its values are latency-old).
 */
export function remote(latency: number): BackendKeeps {
  return {
    latency,
    realTime: false,
    synchronousHandOff: false,
    synchronousGrant: false,
    readyWakeUps: false,
    everySettledValue: false,
  };
}

/**
 * A remote backend that answers in real time (a server, §7): it keeps what {@link remote} keeps; its
 * answers are awaited with the adapter's `settled()`.
 */
export const realTimeRemote: BackendKeeps = { ...remote(0), realTime: true };

// ---------------------------------------------------------------------------------------------
// The adapter

/**
 * The behavioural contract shared by every primitive that hands out permits (SPEC §2) is one jasmine
 * suite parameterised by a {@link ConformanceBackend}: a factory, and what the backend keeps.
 *
 * `factory(permits, scheduler)` returns a fresh primitive with `permits` free, wrapped in a
 * {@link ConformanceAdapter}. `scheduler` is the suite's virtual-time scheduler of the running spec
 * (a `TestScheduler`, also the one its `run()` uses): a backend that answers later must answer on
 * it; an in-process primitive ignores it. The suite never calls the factory with more than
 * `capacity` permits, and always with at least 1 (a locked primitive is made by letting a caller
 * take every permit).
 *
 * **Callers.** Every request in the suite is made by a {@link ConformanceCaller}. `adapter.caller()`
 * returns a new, distinct caller; the adapter itself is one more caller. For a semaphore, which
 * tracks no ownership, all callers may be the same object. For a primitive with owners (an `RLock`
 * adapted with one owner per caller) a caller acquiring again what it already holds *re-enters*
 * instead of blocking, so the suite makes every request that must block, queue or be served in
 * order from a different caller, and each caller releases only what it took. Set
 * `reentrantForSameCaller` accordingly: the suite then checks that a second acquire by the same
 * caller re-enters (true) or queues like any other (false).
 *
 * **Optional parts.** Tests of weighted requests (`permits: n`, `release(n)`) are defined only when
 * `weighted` is true and `capacity` allows 3 permits; tests of `wait`, `rawlink` and `unlink` only
 * when the adapter provides them. The factory is called once when the suite is defined, to read
 * these traits (unless the backend gives them as `traits`).
 */
export interface ConformanceCaller {
  /** The primitive's `acquire`, for this caller. `options.permits` is passed only when `weighted`. */
  acquire(options?: ConformanceAcquireOptions): Observable<boolean>;
  /** The primitive's `tryAcquire`, for this caller. `permits` is passed only when `weighted`. */
  tryAcquire(permits?: number): boolean;
  /** The primitive's `release`, for this caller. `permits` is passed only when `weighted`. */
  release(permits?: number): void;
}

export interface ConformanceAcquireOptions {
  blocking?: boolean;
  timeout?: number | null;
  permits?: number;
  scheduler?: SchedulerLike;
}

export interface ConformanceAdapter extends ConformanceCaller {
  /** The primitive itself: an Observable of its value (permits not taken). */
  readonly primitive: Observable<number>;
  /** Permits available now (for an RLock: 1 when free, 0 when held). */
  value(): number;
  /** Requests queued now. */
  waiting(): number;
  locked(): boolean;
  /** A new caller, distinct from every other one (see "Callers" above). */
  caller(): ConformanceCaller;
  /** The most permits `factory` may be asked for. */
  readonly capacity: number | 'unbounded';
  /** Whether `permits: n` / `tryAcquire(n)` / `release(n)` are supported. */
  readonly weighted: boolean;
  /** Whether a caller that holds the primitive re-enters on its own second acquire. */
  readonly reentrantForSameCaller: boolean;
  /** The primitive as the operators take it, when it is a `PermitPool` (an RLock is not). */
  readonly pool?: PermitPool;
  wait?(options?: { timeout?: number | null; scheduler?: SchedulerLike }): Observable<number>;
  rawlink?(callback: (primitive: unknown) => void): void;
  unlink?(callback: (primitive: unknown) => void): void;
  /**
   * Required when the backend answers in real time (`keeps.realTime`): resolves once every answer
   * to what was asked so far has reached the primitive (grants and refusals told, `value` and
   * `waiting` as the backend has them) and nothing more is in flight. Waits for events, never for
   * a fixed time.
   */
  settled?(): Promise<void>;
}

/** What the suite reads of an adapter when it is defined (see {@link ConformanceBackend.traits}). */
export type AdapterTraits = Pick<
  ConformanceAdapter,
  'capacity' | 'weighted' | 'reentrantForSameCaller' | 'wait' | 'rawlink' | 'unlink'
>;

export type ConformanceFactory = (permits: number, scheduler: VirtualTimeScheduler) => ConformanceAdapter;

/** One backend for the suite: how to make it, and what it keeps of §2. */
export interface ConformanceBackend {
  readonly name: string;
  readonly factory: ConformanceFactory;
  readonly keeps: BackendKeeps;
  /**
   * The adapter's traits, for a backend that cannot make a primitive when the suite is defined
   * (its server is connected in a `beforeAll`); by default the suite reads them from `factory(1)`.
   */
  readonly traits?: AdapterTraits;
}

/**
 * The adapter for a semaphore over any backend (Semaphore, BoundedSemaphore, SimulatedRemoteSemaphore,
 * and DummySemaphore for the never-blocks variant): no ownership.
 */
export function adaptSemaphore(semaphore: BackendSemaphore): ConformanceAdapter {
  const caller: ConformanceCaller = {
    acquire: (options) => semaphore.acquire(options),
    tryAcquire: (permits) => semaphore.tryAcquire(permits),
    release: (permits) => {
      semaphore.release(permits);
    },
  };
  return {
    ...caller,
    primitive: semaphore,
    value: () => semaphore.value,
    waiting: () => semaphore.waiting,
    locked: () => semaphore.locked(),
    caller: () => caller,
    capacity: 'unbounded',
    weighted: true,
    reentrantForSameCaller: false,
    pool: semaphore,
    wait: (options) => semaphore.wait(options),
    rawlink: (callback) => semaphore.rawlink(callback),
    unlink: (callback) => semaphore.unlink(callback),
  };
}

// The semaphore view of an RLock (SPEC rule 15: FIFO between owners, timeouts as in rule 6) run
// through the shared conformance suite: one permit; the adapter acts as a fixed owner, and every
// `caller()` is a new owner, so requests that must block or queue come from other owners.

/** `lock` seen by one owner, through the suite's caller interface. */
function callerFor(lock: RLock, owner: object): ConformanceCaller {
  return {
    acquire: (options) => lock.acquire(owner, options),
    tryAcquire: () => lock.tryAcquire(owner),
    release: () => lock.release(owner),
  };
}

/** The value the lock's permit observable emits at once on subscribe (an RLock has no `value`). */
function currentValue(lock: RLock): number {
  let value = NaN;
  lock.subscribe((emitted) => (value = emitted)).unsubscribe();
  return value;
}

let callersMade = 0;

export function adaptRLock(permits: number): ConformanceAdapter {
  if (permits !== 1) throw new Error(`an RLock has exactly 1 permit, the suite asked for ${permits}`);
  const lock = new RLock();
  const fixedOwner = { name: 'conformance fixed owner' };
  return {
    ...callerFor(lock, fixedOwner),
    primitive: lock,
    value: () => currentValue(lock),
    waiting: () => lock.waiting,
    locked: () => lock.locked(),
    caller: () => callerFor(lock, { name: `conformance caller #${++callersMade}` }),
    capacity: 1,
    weighted: false,
    reentrantForSameCaller: true,
  };
}

/**
 * Moves a virtual scheduler (also a `TestScheduler`, in or out of `run()`) forward by `ms`: runs
 * every action due by then, in order, and leaves the clock at the target. Unlike `advanceScheduler`
 * it restores `maxFrames`, so a later `flush()` (the end of `run()`) still runs everything.
 */
export function advance(scheduler: VirtualTimeScheduler, ms: number): void {
  const target = scheduler.frame + ms;
  const maxFrames = scheduler.maxFrames;
  scheduler.maxFrames = target;
  try {
    scheduler.flush();
  } finally {
    scheduler.maxFrames = maxFrames;
  }
  scheduler.frame = target;
}

/** The latency of the simulated remote backends of the suite, in frames. */
export const REMOTE_LATENCY = 3;

/** Every primitive that blocks, through the suite. */
export const blockingBackends: readonly ConformanceBackend[] = [
  { name: 'Semaphore', factory: (permits) => adaptSemaphore(new Semaphore(permits)), keeps: inProcess },
  {
    name: 'BoundedSemaphore',
    factory: (permits) => adaptSemaphore(new BoundedSemaphore(permits)),
    keeps: inProcess,
  },
  { name: 'RLock', factory: adaptRLock, keeps: inProcess },
  // One thread of a SharedSemaphore (SPEC §8): in one thread every hand-off is synchronous.
  {
    name: 'SharedSemaphore (one thread)',
    factory: (permits) => adaptSemaphore(new SharedSemaphore(permits)),
    keeps: inProcess,
  },
  {
    name: 'SharedSemaphore (one thread, bounded)',
    factory: (permits) => adaptSemaphore(new SharedSemaphore(permits, { bounded: true })),
    keeps: inProcess,
  },
  {
    name: `SimulatedRemoteSemaphore (latency ${REMOTE_LATENCY})`,
    factory: (permits, scheduler) =>
      adaptSemaphore(new SimulatedRemoteSemaphore(permits, { latency: REMOTE_LATENCY, scheduler })),
    keeps: remote(REMOTE_LATENCY),
  },
  {
    name: `SimulatedRemoteSemaphore (latency ${REMOTE_LATENCY}, bounded)`,
    factory: (permits, scheduler) =>
      adaptSemaphore(
        new SimulatedRemoteSemaphore(permits, { latency: REMOTE_LATENCY, scheduler, bounded: true }),
      ),
    keeps: remote(REMOTE_LATENCY),
  },
];

/** The primitives that never block (SPEC rule 14), through the never-blocks variant of the suite. */
export const neverBlockingBackends: readonly ConformanceBackend[] = [
  { name: 'DummySemaphore', factory: () => adaptSemaphore(new DummySemaphore()), keeps: inProcess },
];

import {
  EMPTY,
  Subscription,
  VirtualTimeScheduler,
  defer,
  firstValueFrom,
  of,
  type Observable,
  type SchedulerAction,
  type SchedulerLike,
} from 'rxjs';
import {
  withPermit,
  type BackendSemaphore,
  type Lease,
  type LeaseOptions,
  type PermitStats,
} from '../../src/index.js';
import { advanceScheduler, show, nextTask, permitTimeout } from '../helpers/index.js';

// Rule 22 (SPEC §6, docs/semantics.md#rule-22): `lease(options)` and `run(task, options)`, as one
// suite run against each primitive through a `Pool` adapter (./lease-conformance.spec.ts: every
// primitive of the package; spec/redis/redis-conformance.node.spec.ts: RedisSemaphore on a real
// server). Time is a VirtualTimeScheduler given to each primitive (timeouts, latency and wait
// times); Promise callbacks run between virtual frames (`Clock.advance`). A backend that answers in
// real time (a subject with `settled`) is waited for wherever Promise callbacks run, so the same
// specs check it: its own latency is 0 frames, its timeouts still run on the virtual scheduler.
// A helper module: `describeLeaseConformance` defines the specs when called.

/** What a spec needs of a primitive; an RLock takes a fresh owner per request. */
export interface Pool {
  lease(options?: LeaseOptions): Promise<Lease>;
  run<T>(task: (lease: Lease) => T | PromiseLike<T>, options?: LeaseOptions): Promise<T>;
  /** Loosely typed calls, for bad arguments. */
  leaseLoosely(options: unknown): unknown;
  runLoosely(task: unknown, options?: unknown): unknown;
  /** Permits free (an RLock: 1 when free), as the client last heard. */
  readonly value: number;
  readonly waiting: number;
  stats(): PermitStats;
  /**
   * Takes permits for the test, outside the queue (`tryAcquire`; in real time, `acquire({ blocking:
   * false })`, answered by the backend).
   */
  take(permits?: number): boolean | Promise<boolean>;
  /** Whether a permit is free now for another taker (an RLock: another owner); gives it back. */
  isFree(): boolean | Promise<boolean>;
  /** Gives back what {@link take} took. */
  giveBack(permits?: number): void;
  /** `source` gated by the primitive (`withPermit`, or `reentrant` with a fresh owner). */
  gate<T>(source: Observable<T>, options?: { priority?: number; permits?: number }): Observable<T>;
}

/** One primitive for the suite: how to make it, and what it keeps. */
export interface LeaseSubject {
  readonly title: string;
  /** The primitive named in messages and errors. */
  readonly label: string;
  /** Frames between the backend's decision and the moment the client hears of it. */
  readonly latency: number;
  /** Whether requests may ask for several permits. */
  readonly weighted: boolean;
  /** Rule 5: free permits are granted inside the call (in-process). */
  readonly synchronousGrant: boolean;
  /**
   * Makes a fresh primitive with `permits` free; its timeouts and `stats()` times run on
   * `scheduler`, which the spec moves on.
   */
  create(permits: number, scheduler: SchedulerLike): Pool;
  /**
   * For a backend that answers in real time (a server): resolves once every answer to what was
   * asked so far has reached the primitives (see `ConformanceAdapter.settled`). `Clock.advance`
   * waits for it wherever it lets Promise callbacks run.
   */
  readonly settled?: () => Promise<void>;
  /** How many requests the specs of many requests make (default 10^5). */
  readonly manyRequests?: number;
}

/**
 * The pool of a semaphore. `realTime`: the semaphore answers later in real time and has no
 * synchronous `tryAcquire` (`RedisSemaphore`): `take` and `isFree` ask `acquire({ blocking: false })`.
 */
export function semaphorePool(semaphore: BackendSemaphore, realTime = false): Pool {
  const tryTake = (permits: number): boolean | Promise<boolean> =>
    realTime
      ? firstValueFrom(semaphore.acquire({ blocking: false, permits }))
      : semaphore.tryAcquire(permits);
  return {
    lease: (options) => semaphore.lease(options),
    run: (task, options) => semaphore.run(task, options),
    leaseLoosely: (options) => semaphore.lease(options as LeaseOptions),
    runLoosely: (task, options) => semaphore.run(task as (lease: Lease) => unknown, options as LeaseOptions),
    get value() {
      return semaphore.value;
    },
    get waiting() {
      return semaphore.waiting;
    },
    stats: () => semaphore.stats(),
    take: (permits = 1) => tryTake(permits),
    isFree: () => {
      const giveBack = (taken: boolean) => {
        if (taken) semaphore.release();
        return taken;
      };
      const taken = tryTake(1);
      return typeof taken === 'boolean' ? giveBack(taken) : taken.then(giveBack);
    },
    giveBack: (permits = 1) => {
      semaphore.release(permits);
    },
    gate: (source, options = {}) => source.pipe(withPermit(semaphore, options)),
  };
}

/** Virtual time for one spec, with Promise callbacks run between frames. */
export class Clock {
  readonly scheduler = new VirtualTimeScheduler();

  /** @param settled The subject's `settled`, for a backend that answers in real time. */
  constructor(private readonly settled?: () => Promise<void>) {}

  /**
   * Runs pending Promise callbacks, then moves virtual time forward `frames` frames: to each frame in
   * which something is due, in order, running it and then the Promise callbacks that follow from it
   * (which may schedule more), and on to the last frame. With a backend that answers in real time,
   * its answers come wherever Promise callbacks run.
   */
  async advance(frames = 0): Promise<void> {
    const { scheduler } = this;
    const target = scheduler.frame + frames;
    await this.turn();
    for (;;) {
      const due = scheduler.actions[0]?.delay;
      if (due === undefined || due > target) break;
      advanceScheduler(scheduler, due - scheduler.frame);
      await this.turn();
    }
    advanceScheduler(scheduler, target - scheduler.frame);
  }

  private async turn(): Promise<void> {
    await nextTask();
    if (this.settled) await this.settled();
  }
}

/**
 * A virtual clock for the 10^5-request specs: work is kept in one bucket per frame, so scheduling
 * is O(1). (VirtualTimeScheduler sorts all its actions on every schedule, and a remote backend
 * schedules an answer per request: 10^5 queued requests would take minutes.) Only what the
 * primitives use: `now()` and `schedule(work, delay)`, cancellable.
 */
class FrameScheduler implements SchedulerLike {
  frame = 0;
  private readonly buckets = new Map<number, Array<{ work: () => void; cancelled: boolean }>>();

  now(): number {
    return this.frame;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const at = this.frame + Math.max(0, delay);
    const entry = {
      work: () => work.call(undefined as unknown as SchedulerAction<T>, state),
      cancelled: false,
    };
    let bucket = this.buckets.get(at);
    if (bucket === undefined) this.buckets.set(at, (bucket = []));
    bucket.push(entry);
    return new Subscription(() => {
      entry.cancelled = true;
    });
  }

  /** The next frame at which something is due, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const frame of this.buckets.keys()) if (next === undefined || frame < next) next = frame;
    return next;
  }

  /** Moves to `frame` and runs what is due then, in the order it was scheduled (also work added meanwhile). */
  runAt(frame: number): void {
    this.frame = frame;
    const bucket = this.buckets.get(frame);
    if (bucket === undefined) return;
    for (let i = 0; i < bucket.length; i++) if (!bucket[i].cancelled) bucket[i].work();
    this.buckets.delete(frame);
  }
}

export interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  reason?: unknown;
}

/** Follows a Promise's state (its handlers are attached at once, so it is never unhandled). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { state: 'pending' };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (reason: unknown) => {
      tracked.state = 'rejected';
      tracked.reason = reason;
    },
  );
  return tracked;
}

/** The lease a tracked `lease()` resolved with (failing the spec when it did not resolve). */
export function leaseOf(tracked: Tracked<Lease>): Lease {
  expect(tracked.state).withContext('lease() resolved').toBe('resolved');
  return tracked.value!;
}

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A gated source that logs its label when it runs (it completes at once, releasing its permit). */
export function logged(log: string[], label: string): Observable<never> {
  return defer(() => {
    log.push(label);
    return EMPTY;
  });
}

/** The counts of a stats snapshot, without `name`, `value` and `waiting`. */
export function counts(stats: PermitStats) {
  const { granted, timedOut, rejected, withdrawn, peakWaiting, waitMs } = stats;
  return { granted, timedOut, rejected, withdrawn, peakWaiting, waitMs };
}

export const N = 100_000;

export function describeLeaseConformance(subject: LeaseSubject): void {
  const many = subject.manyRequests ?? N;
  describe(subject.title, () => {
    const L = subject.latency;
    let clock: Clock;
    let pool: Pool;

    beforeEach(() => {
      clock = new Clock(subject.settled);
      pool = subject.create(1, clock.scheduler);
    });

    describe('lease()', () => {
      it('joins the queue inside the call and resolves with a held lease', async () => {
        const leased = track(pool.lease());
        expect(await pool.take())
          .withContext('the permit is taken inside the call')
          .toBe(false);
        await clock.advance(L);
        const lease = leaseOf(leased);
        expect([lease.permits, lease.token, lease.released]).toEqual([1, 1, false]);
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(counts(pool.stats())).toEqual({
          granted: 1,
          timedOut: 0,
          rejected: 1, // the tryAcquire above
          withdrawn: 0,
          peakWaiting: 0,
          waitMs: { count: 1, total: 0, max: 0 },
        });
        lease.release();
        expect(lease.released).toBe(true);
        await clock.advance(L);
        expect(pool.value).toBe(1);
      });

      it('hands leases a signal of their own that nothing here aborts (released is not lost)', async () => {
        const leased = track(pool.lease());
        await clock.advance(L);
        const lease = leaseOf(leased);
        const { signal } = lease;
        expect(signal).toBeInstanceOf(AbortSignal);
        expect(lease.signal).toBe(signal);
        expect(signal.aborted).toBe(false);
        lease.release();
        const queued = track(pool.lease());
        await clock.advance(L);
        const next = leaseOf(queued);
        expect(next.signal).not.toBe(signal);
        next.release();
        await clock.advance(L);
        expect([signal.aborted, next.signal.aborted]).toEqual([false, false]);
      });

      it('waits in the queue while the permit is held and resolves when it is given back', async () => {
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease());
        await clock.advance(L + 20);
        expect(leased.state).toBe('pending');
        expect([pool.value, pool.waiting]).toEqual([0, 1]);
        pool.giveBack();
        await clock.advance(L);
        const lease = leaseOf(leased);
        expect([lease.permits, lease.released]).toEqual([1, false]);
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(counts(pool.stats())).toEqual({
          granted: 2,
          timedOut: 0,
          rejected: 0,
          withdrawn: 0,
          peakWaiting: 1,
          waitMs: { count: 2, total: L + 20, max: L + 20 },
        });
        lease.release();
        await clock.advance(L);
        expect(pool.value).toBe(1);
      });

      it('draws a fencing token greater than every earlier grant, streams and tryAcquire included', async () => {
        expect(await pool.take()).toBe(true); // token 1
        const first = track(pool.lease());
        pool.giveBack();
        await clock.advance(L);
        const a = leaseOf(first); // token 2
        a.release();
        const log: string[] = [];
        pool.gate(logged(log, 'stream')).subscribe(); // token 3
        await clock.advance(L);
        expect(log).toEqual(['stream']);
        const second = track(pool.lease());
        await clock.advance(L);
        const b = leaseOf(second); // token 4
        expect([a.token, b.token]).toEqual([2, 4]);
        b.release();
      });

      if (subject.weighted) {
        it('takes options.permits at once, head-of-line', async () => {
          pool = subject.create(3, clock.scheduler);
          expect(await pool.take(2)).toBe(true);
          const leased = track(pool.lease({ permits: 2 }));
          await clock.advance(L);
          expect(leased.state).toBe('pending');
          expect([pool.value, pool.waiting]).toEqual([1, 1]);
          pool.giveBack(1);
          await clock.advance(L);
          const lease = leaseOf(leased);
          expect(lease.permits).toBe(2);
          expect([pool.value, pool.waiting]).toEqual([0, 0]);
          lease.release();
          pool.giveBack(1);
          await clock.advance(L);
          expect(pool.value).toBe(3);
        });
      }
    });

    describe('the same queue as the streams', () => {
      it('serves a stream queued before a lease() first, and one queued after it later', async () => {
        const log: string[] = [];
        expect(await pool.take()).toBe(true);
        pool.gate(logged(log, 'A')).subscribe();
        const first = track(pool.lease());
        void pool.lease().then((lease) => {
          log.push('second lease');
          lease.release();
        });
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(L);
        expect(pool.waiting).toBe(4);
        pool.giveBack();
        // A runs and gives its permit back; it goes to the first lease, which holds it.
        await clock.advance(2 * L);
        expect(log).toEqual(['A']);
        const lease = leaseOf(first);
        expect([pool.value, pool.waiting]).toEqual([0, 2]);
        lease.release();
        await clock.advance(3 * L);
        expect(log).toEqual(['A', 'second lease', 'B']);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('orders lease() among the streams by priority, FIFO within one', async () => {
        const log: string[] = [];
        expect(await pool.take()).toBe(true);
        pool.gate(logged(log, 'A0')).subscribe();
        const leased = track(pool.lease({ priority: 1 }));
        pool.gate(logged(log, 'B2'), { priority: 2 }).subscribe();
        pool.gate(logged(log, 'C1'), { priority: 1 }).subscribe();
        pool.lease({ priority: 1 }).then(
          (lease) => {
            log.push('L1 second');
            lease.release();
          },
          () => log.push('rejected'),
        );
        await clock.advance(L);
        expect(pool.waiting).toBe(5);
        pool.giveBack();
        // B2 first; its permit goes to the first lease of priority 1, which holds it.
        await clock.advance(2 * L);
        expect(log).toEqual(['B2']);
        const lease = leaseOf(leased);
        lease.release();
        await clock.advance(6 * L);
        expect(log).toEqual(['B2', 'C1', 'L1 second', 'A0']);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('run() waits its turn among the streams and holds the permit until its task settles', async () => {
        const log: string[] = [];
        const task = deferred<string>();
        expect(await pool.take()).toBe(true);
        pool.gate(logged(log, 'A')).subscribe();
        const ran = track(
          pool.run(() => {
            log.push('task');
            return task.promise;
          }),
        );
        pool.gate(logged(log, 'B')).subscribe();
        pool.giveBack();
        await clock.advance(2 * L + 50);
        expect(log).toEqual(['A', 'task']);
        expect([pool.value, pool.waiting]).toEqual([0, 1]);
        task.resolve('done');
        await clock.advance(L);
        expect(ran).toEqual({ state: 'resolved', value: 'done' });
        expect(log).toEqual(['A', 'task', 'B']);
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });
    });

    describe('timeout', () => {
      it('rejects with PermitTimeoutError at the timeout; the request consumes nothing', async () => {
        const log: string[] = [];
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ timeout: 10 }));
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(9);
        expect(leased.state).toBe('pending');
        await clock.advance(1);
        expect(leased.state).toBe('rejected');
        expect(leased.reason).toEqual(permitTimeout(10, 1, subject.label));
        expect((leased.reason as Error).message).toBe(
          `${subject.label}: no permit within 10 ms (1 permit requested)`,
        );
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([0, 1]);
        expect(counts(pool.stats())).toEqual({
          granted: 1,
          timedOut: 1,
          rejected: 0,
          withdrawn: 0,
          peakWaiting: 2,
          waitMs: { count: 1, total: 0, max: 0 },
        });
        pool.giveBack();
        await clock.advance(2 * L);
        expect(log).toEqual(['B']);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('runs the timeout on options.scheduler when given', async () => {
        const other = new VirtualTimeScheduler();
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ timeout: 10, scheduler: other }));
        await clock.advance(L + 50);
        expect(leased.state).toBe('pending');
        advanceScheduler(other, 10);
        await clock.advance(L);
        expect(leased.reason).toEqual(permitTimeout(10, 1, subject.label));
        expect(pool.waiting).toBe(0);
        pool.giveBack();
      });

      it('timeout <= 0: granted when the permit is free and nobody is queued', async () => {
        const zero = track(pool.lease({ timeout: 0 }));
        await clock.advance(L);
        leaseOf(zero).release();
        const negative = track(pool.lease({ timeout: -1 }));
        await clock.advance(L);
        leaseOf(negative).release();
        await clock.advance(L);
        expect(pool.value).toBe(1);
        expect(counts(pool.stats()).rejected).toBe(0);
      });

      it('timeout <= 0: rejected at once when the permit is held, and never queued', async () => {
        expect(await pool.take()).toBe(true);
        const zero = track(pool.lease({ timeout: 0 }));
        const negative = track(pool.lease({ timeout: -5 }));
        await clock.advance(L);
        expect(zero.reason).toEqual(permitTimeout(0, 1, subject.label));
        expect(negative.reason).toEqual(permitTimeout(-5, 1, subject.label));
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(counts(pool.stats())).toEqual({
          granted: 1,
          timedOut: 0,
          rejected: 2,
          withdrawn: 0,
          peakWaiting: 0,
          waitMs: { count: 1, total: 0, max: 0 },
        });
        pool.giveBack();
      });

      if (subject.synchronousGrant) {
        it('timeout <= 0: decided in the call, without waiting for time to pass', async () => {
          const granted = track(pool.lease({ timeout: 0 }));
          const refused = track(pool.lease({ timeout: 0 }));
          await nextTask();
          expect(refused.reason).toEqual(permitTimeout(0, 1, subject.label));
          leaseOf(granted).release();
        });
      }

      if (subject.weighted) {
        it('timeout <= 0 with the permits free but a request of equal priority queued: rejected', async () => {
          pool = subject.create(2, clock.scheduler);
          expect(await pool.take(2)).toBe(true);
          const head = track(pool.lease({ permits: 2 }));
          pool.giveBack(1); // 1 free; the head needs 2
          const equal = track(pool.lease({ timeout: 0 }));
          const higher = track(pool.lease({ timeout: 0, priority: 1 }));
          await clock.advance(L);
          expect(equal.reason).toEqual(permitTimeout(0, 1, subject.label));
          const lease = leaseOf(higher);
          expect(head.state).toBe('pending');
          expect([pool.value, pool.waiting]).toEqual([0, 1]);
          lease.release();
          pool.giveBack(1);
          await clock.advance(L);
          leaseOf(head).release();
          await clock.advance(L);
          expect(pool.value).toBe(2);
        });
      }
    });

    describe('AbortSignal', () => {
      it('an abort while queued rejects with signal.reason and withdraws the request', async () => {
        const log: string[] = [];
        const controller = new AbortController();
        const reason = new Error('user left');
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ signal: controller.signal }));
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(L + 10);
        expect(pool.waiting).toBe(2);
        controller.abort(reason);
        await nextTask(); // no time passes: the withdrawal is the caller's, synchronous
        expect(leased.state).toBe('rejected');
        expect(leased.reason).toBe(reason);
        await clock.advance(L);
        expect(pool.waiting).toBe(1);
        expect(counts(pool.stats())).toEqual({
          granted: 1,
          timedOut: 0,
          rejected: 0,
          withdrawn: 1,
          peakWaiting: 2,
          waitMs: { count: 1, total: 0, max: 0 },
        });
        pool.giveBack(); // to B, the next waiter
        await clock.advance(2 * L);
        expect(log).toEqual(['B']);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('an abort without a reason rejects with the signal’s AbortError', async () => {
        const controller = new AbortController();
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ signal: controller.signal }));
        controller.abort();
        await nextTask();
        expect(leased.reason).toBe(controller.signal.reason);
        expect((leased.reason as Error).name).toBe('AbortError');
        pool.giveBack();
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('an already-aborted signal rejects at once and queues nothing, free permits or not', async () => {
        const reason = new Error('too late');
        const signal = AbortSignal.abort(reason);
        const free = track(pool.lease({ signal }));
        const task = jasmine.createSpy('task');
        const ran = track(pool.run(task, { signal }));
        await nextTask();
        expect([free.reason, ran.reason]).toEqual([reason, reason]);
        expect(task).not.toHaveBeenCalled();
        expect(await pool.take()).toBe(true);
        const held = track(pool.lease({ signal }));
        await nextTask();
        expect(held.reason).toBe(reason);
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(counts(pool.stats())).toEqual({
          granted: 1,
          timedOut: 0,
          rejected: 0,
          withdrawn: 0,
          peakWaiting: 0,
          waitMs: { count: 1, total: 0, max: 0 },
        });
        pool.giveBack();
        const next = track(pool.lease());
        await clock.advance(L);
        expect(leaseOf(next).token).withContext('no token drawn for the aborted calls').toBe(2);
        leaseOf(next).release();
      });

      it('an abort after the grant does nothing: the lease stays held', async () => {
        const controller = new AbortController();
        const leased = track(pool.lease({ signal: controller.signal }));
        await clock.advance(L);
        const lease = leaseOf(leased);
        controller.abort(new Error('after'));
        await clock.advance(L + 10);
        expect(lease.released).toBe(false);
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(counts(pool.stats()).withdrawn).toBe(0);
        lease.release();
        await clock.advance(L);
        expect(pool.value).toBe(1);
      });

      it('stops listening to the signal once the request is granted, timed out or refused', async () => {
        const signals = [new AbortController(), new AbortController(), new AbortController()].map(
          (controller) => controller.signal,
        );
        const adds = signals.map((signal) => spyOn(signal, 'addEventListener').and.callThrough());
        const removes = signals.map((signal) => spyOn(signal, 'removeEventListener').and.callThrough());
        const granted = track(pool.lease({ signal: signals[0] }));
        await clock.advance(L);
        const timedOut = track(pool.lease({ signal: signals[1], timeout: 10 }));
        const refused = track(pool.lease({ signal: signals[2], timeout: 0 }));
        await clock.advance(10);
        expect([timedOut.state, refused.state]).toEqual(['rejected', 'rejected']);
        // A request granted inside the call (free permits, in-process) need not listen at all; one
        // that waited listened once, and no longer does.
        const mustListen = [!subject.synchronousGrant, true, true];
        for (let i = 0; i < 3; i++) {
          const listened = adds[i].calls.count();
          if (mustListen[i]) expect(listened).withContext(`signal ${i} listened to`).toBe(1);
          else expect(listened).withContext(`signal ${i} listened to`).toBeLessThanOrEqual(1);
          expect(removes[i].calls.count()).withContext(`signal ${i} let go`).toBe(listened);
          if (listened === 1) {
            const listener = adds[i].calls.argsFor(0)[1];
            expect(removes[i]).withContext(`signal ${i}`).toHaveBeenCalledOnceWith('abort', listener);
          }
        }
        leaseOf(granted).release();
      });

      it('requests on one signal share one abort listener, removed once the last is answered', async () => {
        const { signal } = new AbortController();
        const add = spyOn(signal, 'addEventListener').and.callThrough();
        const remove = spyOn(signal, 'removeEventListener').and.callThrough();
        expect(await pool.take()).toBe(true);
        const leased = [
          track(pool.lease({ signal })),
          track(pool.lease({ signal })),
          track(pool.lease({ signal })),
        ];
        await clock.advance(L);
        expect(add).toHaveBeenCalledTimes(1);
        pool.giveBack();
        for (const [i, one] of leased.entries()) {
          await clock.advance(L);
          expect(remove.calls.count())
            .withContext(`after grant ${i}`)
            .toBe(i === 2 ? 1 : 0);
          leaseOf(one).release();
        }
        expect(remove).toHaveBeenCalledOnceWith('abort', add.calls.argsFor(0)[1]);
      });

      it('cancels the request’s timeout timer when it is granted or aborted', async () => {
        const timers = new VirtualTimeScheduler();
        const live = () => timers.actions.filter((action) => !action.closed).length;
        const controller = new AbortController();
        expect(await pool.take()).toBe(true);
        const granted = track(pool.lease({ timeout: 100, scheduler: timers }));
        const aborted = track(pool.lease({ timeout: 100, scheduler: timers, signal: controller.signal }));
        await clock.advance(L);
        expect(live()).toBe(2);
        controller.abort();
        expect(live()).toBe(1);
        pool.giveBack();
        await clock.advance(L);
        expect(live()).toBe(0);
        expect(aborted.state).toBe('rejected');
        leaseOf(granted).release();
      });

      it('a grant and an abort in the same turn, grant first: one owner of the permit, never two', async () => {
        const log: string[] = [];
        const controller = new AbortController();
        const reason = new Error('same turn');
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ signal: controller.signal }));
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(L);
        pool.giveBack(); // the permit goes to the lease...
        controller.abort(reason); // ...and the abort comes in the same turn
        await clock.advance(2 * L);
        if (subject.synchronousGrant) {
          // In process the grant came first: the lease holds the permit, the abort does nothing.
          const lease = leaseOf(leased);
          expect(lease.released).toBe(false);
          expect(log).toEqual([]);
          expect([pool.value, pool.waiting]).toEqual([0, 1]);
          expect(counts(pool.stats()).withdrawn).toBe(0);
          lease.release();
          await clock.advance(2 * L);
        } else {
          // Remote, the client had not heard of the grant: the abort came first, and the grant on
          // its way was given back, to B.
          expect(leased.reason).toBe(reason);
        }
        expect(log).toEqual(['B']);
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
        expect(await pool.take()).toBe(true);
        expect(await pool.isFree()).toBe(false);
        pool.giveBack();
      });

      it('a grant and an abort in the same turn, abort first: the permit goes on, once', async () => {
        const log: string[] = [];
        const controller = new AbortController();
        const reason = new Error('same turn');
        expect(await pool.take()).toBe(true);
        const leased = track(pool.lease({ signal: controller.signal }));
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(L);
        controller.abort(reason);
        pool.giveBack();
        await clock.advance(2 * L);
        expect(leased.reason).toBe(reason);
        expect(log).toEqual(['B']);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
        expect(counts(pool.stats()).withdrawn).toBe(1);
        expect(await pool.take()).toBe(true);
        expect(await pool.isFree()).toBe(false);
        pool.giveBack();
      });

      if (subject.weighted) {
        it('an abort from a grant told first in the same hand-off withdraws the lease not yet told', async () => {
          pool = subject.create(2, clock.scheduler);
          const controller = new AbortController();
          const reason = new Error('from A');
          const log: string[] = [];
          expect(await pool.take(2)).toBe(true);
          pool
            .gate(
              defer(() => {
                log.push('A');
                controller.abort(reason); // the lease behind A is assigned but not yet told
                return of('a');
              }),
            )
            .subscribe();
          const leased = track(pool.lease({ signal: controller.signal }));
          await clock.advance(L);
          pool.giveBack(2); // one permit to A, one to the lease, in one hand-off
          await clock.advance(2 * L);
          expect(log).toEqual(['A']);
          expect(leased.reason).toBe(reason);
          expect([pool.value, pool.waiting]).toEqual([2, 0]);
          // The lease was never told of its grant: withdrawn, not granted (remote too: the grant on
          // its way was given back).
          const { granted, withdrawn } = pool.stats();
          expect([granted, withdrawn]).toEqual([2, 1]);
          expect(await pool.take(2)).toBe(true);
          expect(await pool.isFree()).toBe(false);
          pool.giveBack(2);
        });
      }
    });

    describe('run()', () => {
      it('calls the task with a held lease and releases it once the task’s promise resolves', async () => {
        const task = deferred<number>();
        const seen: Lease[] = [];
        const run = pool.run((lease) => {
          seen.push(lease);
          return task.promise;
        });
        const ran = track(run);
        const releasedWhenSettled: boolean[] = [];
        void run.then(() => releasedWhenSettled.push(seen[0].released));
        const next = jasmine.createSpy('next task');
        const queued = track(pool.run(next));
        await clock.advance(L + 100);
        expect(seen.length).toBe(1);
        expect([seen[0].permits, seen[0].released]).toEqual([1, false]);
        expect([ran.state, queued.state]).toEqual(['pending', 'pending']);
        expect(next).not.toHaveBeenCalled();
        expect([pool.value, pool.waiting]).toEqual([0, 1]);
        task.resolve(42);
        await nextTask();
        expect(ran).toEqual({ state: 'resolved', value: 42 });
        expect(releasedWhenSettled).withContext('released before run() settled').toEqual([true]);
        await clock.advance(L);
        expect(next).toHaveBeenCalledTimes(1);
        expect(queued.state).toBe('resolved');
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('rejects as the task’s promise rejected, after releasing', async () => {
        const error = new Error('task failed');
        const seen: Lease[] = [];
        const ran = track(
          pool.run((lease) => {
            seen.push(lease);
            return Promise.reject(error);
          }),
        );
        await clock.advance(L);
        expect(ran.reason).toBe(error);
        expect(seen[0].released).toBe(true);
        await clock.advance(L);
        expect(pool.value).toBe(1);
      });

      it('a task that throws synchronously: still a rejected Promise, the lease released', async () => {
        const error = new Error('thrown');
        const seen: Lease[] = [];
        let result: unknown;
        expect(() => {
          result = pool.run((lease) => {
            seen.push(lease);
            throw error;
          });
        }).not.toThrow();
        expect(result).toBeInstanceOf(Promise);
        const ran = track(result as Promise<unknown>);
        await clock.advance(L);
        expect(ran.reason).toBe(error);
        expect(seen.length).toBe(1);
        expect(seen[0].released).toBe(true);
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('settles as a task that returns a plain value or a thenable', async () => {
        const plain = track(pool.run(() => 7));
        const thenable = track(
          pool.run(() => ({ then: (resolve: (value: number) => void) => resolve(8) }) as PromiseLike<number>),
        );
        await clock.advance(2 * L);
        expect(plain).toEqual({ state: 'resolved', value: 7 });
        expect(thenable).toEqual({ state: 'resolved', value: 8 });
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('a lease the task released early is not released again when the task settles', async () => {
        const log: string[] = [];
        const task = deferred<void>();
        const ran = track(
          pool.run(async (lease) => {
            lease.release();
            await task.promise;
            return 'done';
          }),
        );
        pool.gate(logged(log, 'B')).subscribe();
        await clock.advance(3 * L);
        expect(log).withContext('the permit went on at the early release').toEqual(['B']);
        task.resolve();
        await clock.advance(L);
        expect(ran).toEqual({ state: 'resolved', value: 'done' });
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
        expect(await pool.take()).toBe(true);
        expect(await pool.isFree()).toBe(false);
        pool.giveBack();
      });

      it('a task that never settles holds the permit until it is aborted by its own signal', async () => {
        const controller = new AbortController();
        const reason = new Error('cancelled');
        const { signal } = controller;
        const ran = track(
          pool.run(
            () =>
              new Promise<never>((_, reject) => {
                signal.addEventListener('abort', () => reject(signal.reason));
              }),
            { signal },
          ),
        );
        const behind = track(pool.lease());
        await clock.advance(L + 1000);
        expect([ran.state, behind.state]).toEqual(['pending', 'pending']);
        expect([pool.value, pool.waiting]).toEqual([0, 1]);
        controller.abort(reason);
        await clock.advance(L);
        expect(ran.reason).toBe(reason);
        leaseOf(behind).release();
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });

      it('waits in the queue and rejects at the timeout without calling the task', async () => {
        const task = jasmine.createSpy('task');
        expect(await pool.take()).toBe(true);
        const ran = track(pool.run(task, { timeout: 10 }));
        await clock.advance(10);
        expect(ran.reason).toEqual(permitTimeout(10, 1, subject.label));
        expect(task).not.toHaveBeenCalled();
        pool.giveBack();
        await clock.advance(L);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
      });
    });

    describe('bad arguments throw from the call, not as a rejection, and change nothing', () => {
      const l = subject.label;
      const badOptions: ReadonlyArray<readonly [unknown, typeof TypeError | typeof RangeError, string]> = [
        [5, TypeError, `options must be an object, got 5`],
        [[], TypeError, `options must be an object, got an array`],
        [
          { foo: 1 },
          TypeError,
          subject.weighted
            ? `unknown option "foo"; the options are permits, timeout, priority, signal, scheduler`
            : `unknown option "foo"; the options are timeout, priority, signal, scheduler`,
        ],
        [{ signal: {} }, TypeError, `options.signal must be an AbortSignal, got an object`],
        [{ signal: null }, TypeError, `options.signal must be an AbortSignal, got null`],
        [{ signal: 'abort' }, TypeError, `options.signal must be an AbortSignal, got "abort"`],
        [{ priority: 1.5 }, RangeError, `options.priority must be a safe integer, got 1.5`],
        [{ priority: NaN }, RangeError, `options.priority must be a safe integer, got NaN`],
        [{ priority: 2 ** 53 }, RangeError, `options.priority must be a safe integer, got 9007199254740992`],
        [{ priority: '1' }, TypeError, `options.priority must be a number, got "1"`],
        [{ timeout: NaN }, RangeError, `options.timeout must not be NaN`],
        [{ timeout: '10' }, TypeError, `options.timeout must be a number of milliseconds or null, got "10"`],
        [{ scheduler: {} }, TypeError, `options.scheduler must be an RxJS scheduler, got an object`],
        ...(subject.weighted
          ? ([
              [{ permits: 0 }, RangeError, `options.permits must be a positive integer, got 0`],
              [{ permits: 1.5 }, RangeError, `options.permits must be a positive integer, got 1.5`],
              [{ permits: '2' }, TypeError, `options.permits must be a number, got "2"`],
            ] as const)
          : ([
              [
                { permits: 1 },
                TypeError,
                `unknown option "permits"; the options are timeout, priority, signal, scheduler`,
              ],
            ] as const)),
      ];

      for (const [options, error, message] of badOptions) {
        it(`options ${show(options)}: ${error.name}`, async () => {
          expect(await pool.take()).toBe(true);
          const task = jasmine.createSpy('task');
          expect(() => pool.leaseLoosely(options)).toThrowError(error, `${l}.lease: ${message}`);
          expect(() => pool.runLoosely(task, options)).toThrowError(error, `${l}.run: ${message}`);
          await clock.advance(L + 10);
          expect(task).not.toHaveBeenCalled();
          expect([pool.value, pool.waiting]).toEqual([0, 0]);
          expect(counts(pool.stats())).toEqual({
            granted: 1,
            timedOut: 0,
            rejected: 0,
            withdrawn: 0,
            peakWaiting: 0,
            waitMs: { count: 1, total: 0, max: 0 },
          });
          pool.giveBack();
        });
      }

      for (const [label, task] of [
        ['a string', 'task'],
        ['undefined', undefined],
        ['null', null],
        ['an object', {}],
        ['a Promise', Promise.resolve(1)],
      ] as const) {
        it(`run(task) with ${label} as the task: TypeError`, () => {
          const described = label === 'a string' ? '"task"' : label === 'a Promise' ? 'an object' : label;
          expect(() => pool.runLoosely(task)).toThrowError(
            TypeError,
            `${l}.run: task must be a function, got ${described}`,
          );
          expect([pool.value, pool.waiting]).toEqual([1, 0]);
        });
      }

      if (subject.label === 'BoundedSemaphore') {
        it('options.permits above the bound: RangeError', () => {
          expect(() => pool.lease({ permits: 2 })).toThrowError(
            RangeError,
            'BoundedSemaphore.lease: options.permits is 2, more than the bound of 1: it could never be granted',
          );
        });
      }
    });

    describe(`${many} requests`, () => {
      let frames: FrameScheduler;

      /** Runs the Promise callbacks, then each frame with work due up to `last`, with a few turns after each. */
      async function runFrames(last: number): Promise<void> {
        if (subject.settled) return subject.settled();
        await nextTask();
        for (let due = frames.nextDue(); due !== undefined && due <= last; due = frames.nextDue()) {
          frames.runAt(due);
          for (let turn = 0; turn < 4; turn++) await Promise.resolve();
        }
        frames.frame = Math.max(frames.frame, last);
        await nextTask();
      }

      beforeEach(() => {
        frames = new FrameScheduler();
        pool = subject.create(1, frames);
      });

      it('queued behind a held permit, are granted one at a time, in FIFO order, and none is left', async () => {
        expect(await pool.take()).toBe(true);
        const order: number[] = [];
        let previous: Lease | null = null;
        let overlapping = 0;
        for (let i = 0; i < many; i++) {
          void pool.lease().then((lease) => {
            order.push(i);
            if (previous !== null && !previous.released) overlapping++;
            previous = lease;
            lease.release();
          });
        }
        await runFrames(L);
        expect(pool.waiting).toBe(many);
        pool.giveBack();
        // Each grant is heard L frames after the release before it.
        await runFrames(frames.frame + (many + 2) * L);
        expect(order.length).toBe(many);
        expect(order.findIndex((value, index) => value !== index))
          .withContext('first out of order')
          .toBe(-1);
        expect(overlapping).withContext('grants while the previous lease was held').toBe(0);
        expect([pool.value, pool.waiting]).toEqual([1, 0]);
        const { granted, peakWaiting, withdrawn, timedOut, waitMs } = pool.stats();
        expect([granted, peakWaiting, withdrawn, timedOut, waitMs.count]).toEqual([
          many + 1,
          many,
          0,
          0,
          many + 1,
        ]);
      });

      it('queued, are all withdrawn by one AbortController (a clearQueue)', async () => {
        const controller = new AbortController();
        const reason = new Error('clear');
        expect(await pool.take()).toBe(true);
        let rejected = 0;
        let granted = 0;
        for (let i = 0; i < many; i++) {
          pool.lease({ signal: controller.signal }).then(
            () => granted++,
            (error: unknown) => {
              if (error === reason) rejected++;
            },
          );
        }
        await runFrames(L);
        expect(pool.waiting).toBe(many);
        controller.abort(reason);
        await runFrames(frames.frame + L);
        expect([rejected, granted]).toEqual([many, 0]);
        expect([pool.value, pool.waiting]).toEqual([0, 0]);
        expect(pool.stats().withdrawn).toBe(many);
        pool.giveBack();
        await runFrames(frames.frame + L);
        expect(pool.value).toBe(1);
      });
    });
  });
}

import { Observable, VirtualTimeScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { BoundedSemaphore, DummySemaphore, RLock, Semaphore } from '../../src/index.js';
import { captureUnhandledErrors, createTestScheduler, record } from '../helpers/index.js';

/**
 * The behavioural contract shared by every primitive that hands out permits (SPEC §2, rules 2-12
 * and 17), as one jasmine suite parameterised by a factory, in the style of async-mutex's shared
 * suites, run at the end of this file against `Semaphore`, `BoundedSemaphore` and (the semaphore
 * view of) an `RLock`; `describeNeverBlocksConformance` is the variant for `DummySemaphore`.
 *
 * ## The adapter
 *
 * `factory(permits)` returns a fresh primitive with `permits` free, wrapped in a
 * {@link ConformanceAdapter}. The suite never calls it with more than `capacity` permits, and always
 * with at least 1 (a locked primitive is made by letting a caller take every permit).
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
 * these traits.
 */
interface ConformanceCaller {
  /** The primitive's `acquire`, for this caller. `options.permits` is passed only when `weighted`. */
  acquire(options?: ConformanceAcquireOptions): Observable<boolean>;
  /** The primitive's `tryAcquire`, for this caller. `permits` is passed only when `weighted`. */
  tryAcquire(permits?: number): boolean;
  /** The primitive's `release`, for this caller. `permits` is passed only when `weighted`. */
  release(permits?: number): void;
}

interface ConformanceAcquireOptions {
  blocking?: boolean;
  timeout?: number | null;
  permits?: number;
  scheduler?: SchedulerLike;
}

interface ConformanceAdapter extends ConformanceCaller {
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
  wait?(options?: { timeout?: number | null; scheduler?: SchedulerLike }): Observable<number>;
  rawlink?(callback: (primitive: unknown) => void): void;
  unlink?(callback: (primitive: unknown) => void): void;
}

type ConformanceFactory = (permits: number) => ConformanceAdapter;

/**
 * The adapter for a `Semaphore`-like primitive (Semaphore, BoundedSemaphore, and DummySemaphore for
 * {@link describeNeverBlocksConformance}): no ownership.
 */
function adaptSemaphore(semaphore: Semaphore | DummySemaphore): ConformanceAdapter {
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

function adaptRLock(permits: number): ConformanceAdapter {
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

// ---------------------------------------------------------------------------------------------

function describeSemaphoreConformance(name: string, factory: ConformanceFactory): void {
  const traits = factory(1);
  const fits = (permits: number) => traits.capacity === 'unbounded' || permits <= traits.capacity;
  const weighted = traits.weighted && fits(3);
  const hasWait = typeof traits.wait === 'function';
  const hasRawlink = typeof traits.rawlink === 'function' && typeof traits.unlink === 'function';

  /** A fresh primitive of 1 permit, taken by `holder`. */
  function heldByOne(): { primitive: ConformanceAdapter; holder: ConformanceCaller } {
    const primitive = factory(1);
    const holder = primitive.caller();
    expect(holder.tryAcquire()).toBe(true);
    return { primitive, holder };
  }

  /**
   * Queues one `acquire()` per new caller; each logs its index when granted, then runs `onGrant`.
   */
  function enqueue(
    primitive: ConformanceAdapter,
    count: number,
    log: unknown[],
    onGrant: (index: number, caller: ConformanceCaller) => void = () => {},
    options?: ConformanceAcquireOptions,
  ): { callers: ConformanceCaller[]; subscriptions: Subscription[] } {
    const callers: ConformanceCaller[] = [];
    const subscriptions: Subscription[] = [];
    for (let index = 0; index < count; index++) {
      const caller = primitive.caller();
      callers.push(caller);
      subscriptions.push(
        caller.acquire(options).subscribe((granted) => {
          log.push(granted ? index : `${index}:false`);
          if (granted) onGrant(index, caller);
        }),
      );
    }
    return { callers, subscriptions };
  }

  describe(`${name} (semaphore conformance)`, () => {
    describe('initial state', () => {
      it('starts with the permits it was given, unlocked, nobody waiting', () => {
        const primitive = factory(1);
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
      });

      if (fits(3)) {
        it('starts with 3 permits when given 3', () => {
          const primitive = factory(3);
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([3, false, 0]);
        });
      }

      it('is locked, with value 0, once every permit is taken', () => {
        const { primitive } = heldByOne();
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
      });
    });

    describe('acquire()', () => {
      it('emits true synchronously when a permit is free, then completes', () => {
        const primitive = factory(1);
        const { events } = record(primitive.caller().acquire());
        expect(events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      it('is cold: nothing is taken until it is subscribed', () => {
        const primitive = factory(1);
        const request = primitive.caller().acquire();
        expect(primitive.value()).toBe(1);
        request.subscribe();
        expect(primitive.value()).toBe(0);
      });

      if (fits(2)) {
        it('makes one request per subscription', () => {
          const primitive = factory(2);
          const request = primitive.acquire();
          const first = record(request);
          const second = record(request);
          expect([first.events, second.events]).toEqual([
            [true, 'complete'],
            [true, 'complete'],
          ]);
          expect(primitive.value()).toBe(0);
        });
      }

      it('queues when no permit is free: emits nothing until a release, then true and completes', () => {
        const { primitive, holder } = heldByOne();
        const { events } = record(primitive.caller().acquire());
        expect(events).toEqual([]);
        expect(primitive.waiting()).toBe(1);
        holder.release();
        expect(events).toEqual([true, 'complete']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('does not release when unsubscribed after true', () => {
        const primitive = factory(1);
        const caller = primitive.caller();
        caller.acquire().subscribe().unsubscribe();
        expect(primitive.value()).toBe(0);
        expect(primitive.caller().tryAcquire()).toBe(false);
        caller.release();
        expect(primitive.value()).toBe(1);
      });

      it('grants synchronously inside a running grant when the permit is free and nobody is queued', () => {
        const { primitive, holder } = heldByOne();
        const log: string[] = [];
        const first = primitive.caller();
        first.acquire().subscribe(() => {
          log.push('first granted');
          first.release();
          primitive
            .caller()
            .acquire()
            .subscribe(() => log.push('newcomer granted'));
          log.push('newcomer subscribed');
        });
        holder.release();
        expect(log).toEqual(['first granted', 'newcomer granted', 'newcomer subscribed']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      if (traits.reentrantForSameCaller) {
        it('re-enters when the caller that holds it acquires again, and needs as many releases', () => {
          const primitive = factory(1);
          const caller = primitive.caller();
          expect(caller.tryAcquire()).toBe(true);
          const { events } = record(caller.acquire());
          expect(events).toEqual([true, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          caller.release();
          expect(primitive.value()).toBe(0);
          caller.release();
          expect(primitive.value()).toBe(1);
        });
      } else {
        it('queues a second acquire by the same caller like any other (no ownership)', () => {
          const primitive = factory(1);
          expect(primitive.tryAcquire()).toBe(true);
          const { events } = record(primitive.acquire());
          expect(events).toEqual([]);
          expect(primitive.waiting()).toBe(1);
          primitive.release();
          expect(events).toEqual([true, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      }
    });

    describe('FIFO order', () => {
      it('wakes queued requests in the order they were made, one per release', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        const { callers } = enqueue(primitive, 4, log);
        expect(primitive.waiting()).toBe(4);
        holder.release();
        expect(log).toEqual([0]);
        callers[0].release();
        expect(log).toEqual([0, 1]);
        callers[1].release();
        callers[2].release();
        expect(log).toEqual([0, 1, 2, 3]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        callers[3].release();
        expect(primitive.value()).toBe(1);
      });

      it('runs a whole chain of grantees that release from their grant, in order, within one release', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        enqueue(primitive, 5, log, (_index, caller) => caller.release());
        holder.release();
        expect(log).toEqual([0, 1, 2, 3, 4]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      it('puts a newcomer that acquires inside a grant behind the requests already queued', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        const { callers } = enqueue(primitive, 2, log, (index, caller) => {
          if (index === 0) {
            caller.release();
            primitive
              .caller()
              .acquire()
              .subscribe(() => log.push('newcomer'));
          }
        });
        holder.release();
        expect(log).toEqual([0, 1]);
        expect(primitive.waiting()).toBe(1);
        callers[1].release();
        expect(log).toEqual([0, 1, 'newcomer']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      if (weighted) {
        it('hands several released permits to the queue in order, stopping at the first that does not fit', () => {
          const primitive = factory(3);
          expect(primitive.tryAcquire(3)).toBe(true);
          const log: unknown[] = [];
          primitive.acquire().subscribe(() => log.push('a(1)'));
          primitive.acquire().subscribe(() => log.push('b(1)'));
          primitive.acquire({ permits: 2 }).subscribe(() => log.push('c(2)'));
          primitive.acquire().subscribe(() => log.push('d(1)'));
          primitive.release(3);
          expect(log).toEqual(['a(1)', 'b(1)']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(1);
          expect(log).toEqual(['a(1)', 'b(1)', 'c(2)']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(1);
          expect(log).toEqual(['a(1)', 'b(1)', 'c(2)', 'd(1)']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      }
    });

    describe('no barging', () => {
      it('leaves nothing for tryAcquire when a release goes to a queued request', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        enqueue(primitive, 1, log);
        holder.release();
        expect(primitive.caller().tryAcquire()).toBe(false);
        expect(log).toEqual([0]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('does not let tryAcquire take a permit while a request is queued', () => {
        const { primitive } = heldByOne();
        enqueue(primitive, 1, []);
        expect(primitive.caller().tryAcquire()).toBe(false);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
      });

      if (weighted) {
        it('does not let tryAcquire, a non-blocking or a new acquire overtake a blocked weighted head', () => {
          const primitive = factory(2);
          expect(primitive.tryAcquire(2)).toBe(true);
          const log: unknown[] = [];
          primitive.acquire({ permits: 2 }).subscribe(() => log.push('heavy'));
          primitive.release(1);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 1]);
          expect(primitive.tryAcquire(1)).toBe(false);
          expect(record(primitive.acquire({ blocking: false })).events).toEqual([false, 'complete']);
          expect(record(primitive.acquire({ timeout: 0 })).events).toEqual([false, 'complete']);
          primitive.acquire().subscribe(() => log.push('light'));
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(1);
          expect(log).toEqual(['heavy']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(2);
          expect(log).toEqual(['heavy', 'light']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      }
    });

    describe('direct hand-off', () => {
      it('never shows a permit handed to a waiter as free: not in value, not to the permit observable', () => {
        const { primitive, holder } = heldByOne();
        const seen = record(primitive.primitive);
        const valueInGrant: number[] = [];
        primitive
          .caller()
          .acquire()
          .subscribe(() => valueInGrant.push(primitive.value()));
        holder.release();
        expect(valueInGrant).toEqual([0]);
        expect(seen.events).toEqual([0]);
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
      });

      if (hasWait || hasRawlink) {
        it('never shows a permit handed to a waiter to wait() or rawlink callbacks', () => {
          const { primitive, holder } = heldByOne();
          const log: unknown[] = [];
          const taker = primitive.caller();
          taker.acquire().subscribe(() => log.push('granted'));
          if (hasWait) primitive.wait!().subscribe((value) => log.push(`wait ${value}`));
          if (hasRawlink) primitive.rawlink!(() => log.push(`rawlink ${primitive.value()}`));
          holder.release();
          expect(log).toEqual(['granted']);
          taker.release();
          expect(log).toEqual([
            'granted',
            ...(hasWait ? ['wait 1'] : []),
            ...(hasRawlink ? ['rawlink 1'] : []),
          ]);
        });
      }

      if (weighted) {
        it('shows only the remainder of a release partly handed off', () => {
          const primitive = factory(3);
          expect(primitive.tryAcquire(3)).toBe(true);
          const seen = record(primitive.primitive);
          const granted = record(primitive.acquire({ permits: 2 }));
          primitive.release(3);
          expect(granted.events).toEqual([true, 'complete']);
          expect(seen.events).toEqual([0, 1]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      }
    });

    describe('the permit observable', () => {
      it('emits the current value synchronously on subscribe and does not complete', () => {
        const primitive = factory(1);
        expect(record(primitive.primitive).events).toEqual([1]);
        const { holder, primitive: held } = heldByOne();
        expect(record(held.primitive).events).toEqual([0]);
        holder.release();
      });

      it('emits every settled change in order and never completes', () => {
        const primitive = factory(1);
        const seen = record(primitive.primitive);
        const first = primitive.caller();
        const second = primitive.caller();
        first.tryAcquire();
        first.release();
        first.acquire().subscribe();
        second.acquire().subscribe();
        first.release(); // handed to `second` whole: nothing to emit
        second.release();
        expect(seen.events).toEqual([1, 0, 1, 0, 1]);
        expect(seen.subscription.closed).toBe(false);
      });

      if (weighted) {
        it('emits weighted changes as settled values', () => {
          const primitive = factory(3);
          const seen = record(primitive.primitive);
          primitive.tryAcquire(2);
          primitive.release(1);
          primitive.acquire({ permits: 2 }).subscribe();
          primitive.release(2);
          primitive.release(1);
          expect(seen.events).toEqual([3, 1, 2, 0, 2, 3]);
        });
      }

      it('stops emitting to a subscriber that unsubscribed', () => {
        const primitive = factory(1);
        const seen = record(primitive.primitive);
        primitive.tryAcquire();
        seen.subscription.unsubscribe();
        primitive.release();
        expect(seen.events).toEqual([1, 0]);
      });

      it('leaves every subscriber on the true value when one takes a permit from its next handler', () => {
        const primitive = factory(1);
        const holder = primitive.caller();
        holder.tryAcquire();
        const taker = primitive.caller();
        const seen: number[][] = [[], [], []];
        let took = false;
        primitive.primitive.subscribe((value) => {
          seen[0].push(value);
          if (value === 1 && !took) {
            took = true;
            expect(taker.tryAcquire()).toBe(true);
          }
        });
        primitive.primitive.subscribe((value) => seen[1].push(value));
        primitive.primitive.subscribe((value) => seen[2].push(value));
        holder.release();
        expect(seen).toEqual([
          [0, 1, 0],
          [0, 1, 0],
          [0, 1, 0],
        ]);
        expect(primitive.value()).toBe(0);
      });

      it('gives a subscriber that joins during a broadcast the current value, then only later changes', () => {
        const primitive = factory(1);
        const holder = primitive.caller();
        const first: number[] = [];
        const late: number[] = [];
        let joined = false;
        primitive.primitive.subscribe((value) => {
          first.push(value);
          if (value === 0 && !joined) {
            joined = true;
            holder.release(); // settles 1
            holder.tryAcquire(); // settles 0
            primitive.primitive.subscribe((lateValue) => late.push(lateValue));
          }
        });
        holder.tryAcquire();
        expect(late).toEqual([0]);
        expect(first).toEqual([1, 0, 1, 0]);
        holder.release();
        expect(late).toEqual([0, 1]);
        expect(first).toEqual([1, 0, 1, 0, 1]);
      });

      it('leaves every subscriber on the true value when one releases from its next handler', () => {
        const primitive = factory(1);
        const holder = primitive.caller();
        const seen: number[][] = [[], [], []];
        let released = false;
        primitive.primitive.subscribe((value) => {
          seen[0].push(value);
          if (value === 0 && !released) {
            released = true;
            holder.release();
          }
        });
        primitive.primitive.subscribe((value) => seen[1].push(value));
        primitive.primitive.subscribe((value) => seen[2].push(value));
        holder.tryAcquire();
        expect(seen).toEqual([
          [1, 0, 1],
          [1, 0, 1],
          [1, 0, 1],
        ]);
        expect(primitive.value()).toBe(1);
      });
    });

    describe('non-blocking and zero timeouts', () => {
      it('acquire({ blocking: false }) emits true synchronously when a permit is free', () => {
        const primitive = factory(1);
        expect(record(primitive.caller().acquire({ blocking: false })).events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      it('acquire({ blocking: false }) emits false and completes when no permit is free, queueing nothing', () => {
        const { primitive } = heldByOne();
        expect(record(primitive.caller().acquire({ blocking: false })).events).toEqual([false, 'complete']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('acquire({ blocking: false }) ignores a timeout', () => {
        const { primitive } = heldByOne();
        const { events } = record(primitive.caller().acquire({ blocking: false, timeout: 1000 }));
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(0);
      });

      it('acquire({ blocking: false }) fails while a request is queued', () => {
        const { primitive } = heldByOne();
        enqueue(primitive, 1, []);
        expect(record(primitive.caller().acquire({ blocking: false })).events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(1);
      });

      for (const timeout of [0, -1, -Infinity]) {
        it(`acquire({ timeout: ${timeout} }) does not wait: false at once when no permit is free`, () => {
          const { primitive } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout }));
          expect(events).toEqual([false, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });

        it(`acquire({ timeout: ${timeout} }) emits true synchronously when a permit is free`, () => {
          const primitive = factory(1);
          expect(record(primitive.caller().acquire({ timeout })).events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }

      it('acquire({ timeout: null }) waits for ever', () => {
        createTestScheduler().run(({ flush }) => {
          const { primitive, holder } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: null }));
          flush();
          expect(events).toEqual([]);
          holder.release();
          expect(events).toEqual([true, 'complete']);
        });
      });
    });

    describe('timeouts', () => {
      it('a timed acquire emits false at its deadline, completes, and leaves the queue', () => {
        createTestScheduler().run(({ expectObservable, flush }) => {
          const { primitive } = heldByOne();
          expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
          flush();
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      });

      it('a timed acquire granted before its deadline emits true in the frame of the release, and never false', () => {
        createTestScheduler().run(({ cold, expectObservable }) => {
          const { primitive, holder } = heldByOne();
          cold('---r').subscribe(() => holder.release());
          expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('---(t|)', { t: true });
        });
      });

      it('a timed-out request consumes nothing: a later release stays free', () => {
        createTestScheduler().run(({ cold, flush }) => {
          const { primitive, holder } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: 5 }));
          cold('--------r').subscribe(() => holder.release());
          flush();
          expect(events).toEqual([false, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      });

      it('a timed-out request lets the one behind it move up', () => {
        createTestScheduler().run(({ cold, flush, expectObservable }) => {
          const { primitive, holder } = heldByOne();
          expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
          expectObservable(primitive.caller().acquire()).toBe('7ms (t|)', { t: true });
          cold('-------r').subscribe(() => holder.release());
          flush();
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      });

      it('cancels the timer of a timed acquire when it is granted', () => {
        const { primitive, holder } = heldByOne();
        const scheduler = new VirtualTimeScheduler();
        const { events } = record(primitive.caller().acquire({ timeout: 50, scheduler }));
        expect(scheduler.actions.length).toBe(1);
        holder.release();
        expect(events).toEqual([true, 'complete']);
        expect(scheduler.actions.length).toBe(0);
      });

      it('runs the timeout on the scheduler given in the options', () => {
        const { primitive } = heldByOne();
        const scheduler = new VirtualTimeScheduler();
        const { events } = record(primitive.caller().acquire({ timeout: 50, scheduler }));
        expect(events).toEqual([]);
        expect(primitive.waiting()).toBe(1);
        scheduler.flush();
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(0);
      });

      if (weighted) {
        it('a weighted head that times out lets the smaller requests behind it go in that frame', () => {
          createTestScheduler().run(({ cold, expectObservable, flush }) => {
            const primitive = factory(3);
            primitive.tryAcquire(3);
            expectObservable(primitive.acquire({ permits: 3, timeout: 5 })).toBe('5ms (f|)', { f: false });
            expectObservable(primitive.acquire()).toBe('5ms (t|)', { t: true });
            cold('-r').subscribe(() => primitive.release(1));
            flush();
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          });
        });
      }
    });

    describe('withdrawal', () => {
      it('unsubscribing a queued acquire withdraws it: waiting drops, it is never granted, it consumes nothing', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        const { callers, subscriptions } = enqueue(primitive, 3, log);
        subscriptions[1].unsubscribe();
        expect(primitive.waiting()).toBe(2);
        holder.release();
        expect(log).toEqual([0]);
        callers[0].release();
        expect(log).toEqual([0, 2]);
        callers[2].release();
        expect(log).toEqual([0, 2]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      it('leaves the permit free when the only waiter withdrew before the release', () => {
        const { primitive, holder } = heldByOne();
        const seen = record(primitive.primitive);
        const log: unknown[] = [];
        const { subscriptions } = enqueue(primitive, 1, log);
        subscriptions[0].unsubscribe();
        holder.release();
        expect(log).toEqual([]);
        expect(seen.events).toEqual([0, 1]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      it('a request withdrawn after its permit was handed over, before it was told, gives the permit on', () => {
        const { primitive, holder } = heldByOne();
        const log: unknown[] = [];
        const queued = enqueue(primitive, 3, log, (index, caller) => {
          if (index === 0) {
            caller.release(); // hands the permit to request 1, whose grant runs after this one
            queued.subscriptions[1].unsubscribe();
          }
        });
        holder.release();
        expect(log).toEqual([0, 2]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        queued.callers[2].release();
        expect(primitive.value()).toBe(1);
      });

      it('withdrawing a request twice changes nothing more', () => {
        const { primitive } = heldByOne();
        const { subscriptions } = enqueue(primitive, 2, []);
        subscriptions[0].unsubscribe();
        subscriptions[0].unsubscribe();
        expect(primitive.waiting()).toBe(1);
      });

      if (weighted) {
        it('withdrawing a blocked weighted head lets the requests behind it go at once', () => {
          const primitive = factory(3);
          primitive.tryAcquire(3);
          const seen = record(primitive.primitive);
          const log: unknown[] = [];
          const heavy = primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light 1'));
          primitive.acquire().subscribe(() => log.push('light 2'));
          primitive.release(2);
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 3]);
          heavy.unsubscribe();
          expect(log).toEqual(['light 1', 'light 2']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          expect(seen.events).toEqual([0, 2, 0]);
        });

        it('a smaller later request waits behind a blocked heavier head', () => {
          const primitive = factory(3);
          primitive.tryAcquire(3);
          const log: unknown[] = [];
          primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light'));
          primitive.release(1);
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(2);
          expect(log).toEqual(['heavy']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(3);
          expect(log).toEqual(['heavy', 'light']);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 0]);
        });

        it('a weighted request is granted all its permits at once, or none', () => {
          const primitive = factory(3);
          primitive.tryAcquire(2);
          const { events } = record(primitive.acquire({ permits: 2 }));
          expect(events).toEqual([]);
          expect(primitive.value()).toBe(1);
          primitive.release(1);
          expect(events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }
    });

    describe('release inside a grant', () => {
      it('returns before the next grant runs, and all grants run before the outer release returns', () => {
        const { primitive, holder } = heldByOne();
        const log: string[] = [];
        for (const label of ['a', 'b', 'c']) {
          const caller = primitive.caller();
          caller.acquire().subscribe(() => {
            log.push(`${label} granted`);
            caller.release();
            log.push(`${label} release returned`);
          });
        }
        holder.release();
        log.push('outer release returned');
        expect(log).toEqual([
          'a granted',
          'a release returned',
          'b granted',
          'b release returned',
          'c granted',
          'c release returned',
          'outer release returned',
        ]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });
    });

    if (hasWait) {
      describe('wait()', () => {
        it('emits the value synchronously when ready, completes, and takes no permit', () => {
          const primitive = factory(1);
          expect(record(primitive.wait!()).events).toEqual([1, 'complete']);
          expect(primitive.value()).toBe(1);
        });

        it('while locked, emits nothing until a permit is free, then the value, and completes', () => {
          const { primitive, holder } = heldByOne();
          const { events } = record(primitive.wait!());
          expect(events).toEqual([]);
          holder.release();
          expect(events).toEqual([1, 'complete']);
          expect(primitive.value()).toBe(1);
        });

        it('lets queued requests come first', () => {
          const { primitive, holder } = heldByOne();
          const log: unknown[] = [];
          const { callers } = enqueue(primitive, 2, log);
          primitive.wait!().subscribe((value) => log.push(`wait ${value}`));
          holder.release();
          callers[0].release();
          expect(log).toEqual([0, 1]);
          callers[1].release();
          expect(log).toEqual([0, 1, 'wait 1']);
        });

        it('wakes several waits with one release', () => {
          const { primitive, holder } = heldByOne();
          const waits = [record(primitive.wait!()), record(primitive.wait!()), record(primitive.wait!())];
          holder.release();
          expect(waits.map((wait) => wait.events)).toEqual([
            [1, 'complete'],
            [1, 'complete'],
            [1, 'complete'],
          ]);
          expect(primitive.value()).toBe(1);
        });

        it('does not emit to a wait unsubscribed before the release', () => {
          const { primitive, holder } = heldByOne();
          const wait = record(primitive.wait!());
          wait.subscription.unsubscribe();
          holder.release();
          expect(wait.events).toEqual([]);
        });

        it('emits the value as it is (0) at its timeout, then completes', () => {
          createTestScheduler().run(({ expectObservable }) => {
            const { primitive } = heldByOne();
            expectObservable(primitive.wait!({ timeout: 5 })).toBe('5ms (z|)', { z: 0 });
          });
        });

        it('with a timeout, emits in the frame the primitive becomes ready, and not again', () => {
          createTestScheduler().run(({ cold, expectObservable }) => {
            const { primitive, holder } = heldByOne();
            cold('--r').subscribe(() => holder.release());
            expectObservable(primitive.wait!({ timeout: 5 })).toBe('--(v|)', { v: 1 });
          });
        });

        for (const timeout of [0, -1]) {
          it(`with timeout ${timeout}, emits the value at once even when it is 0`, () => {
            const { primitive } = heldByOne();
            expect(record(primitive.wait!({ timeout })).events).toEqual([0, 'complete']);
          });
        }

        it('runs its timeout on the scheduler given in the options', () => {
          const { primitive } = heldByOne();
          const scheduler = new VirtualTimeScheduler();
          const { events } = record(primitive.wait!({ timeout: 50, scheduler }));
          expect(events).toEqual([]);
          scheduler.flush();
          expect(events).toEqual([0, 'complete']);
        });
      });
    }

    if (hasRawlink) {
      describe('rawlink() and unlink()', () => {
        it('calls the callback synchronously with the primitive when ready now, taking no permit', () => {
          const primitive = factory(1);
          const calls: unknown[] = [];
          primitive.rawlink!((linked) => calls.push(linked));
          expect(calls).toEqual([primitive.primitive]);
          expect(primitive.value()).toBe(1);
        });

        it('while locked, calls the callback once, with the primitive, the next time it is ready', () => {
          const { primitive, holder } = heldByOne();
          const calls: unknown[] = [];
          const valueInCallback: number[] = [];
          primitive.rawlink!((linked) => {
            calls.push(linked);
            valueInCallback.push(primitive.value());
          });
          expect(calls).toEqual([]);
          holder.release();
          expect(calls).toEqual([primitive.primitive]);
          expect(valueInCallback).toEqual([1]);
          holder.tryAcquire();
          holder.release();
          expect(calls.length).toBe(1);
          expect(primitive.value()).toBe(1);
        });

        it('unlinks the callback before calling it, so it can link itself again from inside', () => {
          const { primitive, holder } = heldByOne();
          let calls = 0;
          const callback = () => {
            calls++;
            if (calls === 1) {
              expect(holder.tryAcquire()).toBe(true);
              primitive.rawlink!(callback);
            }
          };
          primitive.rawlink!(callback);
          holder.release();
          expect(calls).toBe(1);
          expect(primitive.value()).toBe(0);
          holder.release();
          expect(calls).toBe(2);
        });

        it('unlink cancels a pending callback', () => {
          const { primitive, holder } = heldByOne();
          const calls: string[] = [];
          const cancelled = () => calls.push('cancelled');
          primitive.rawlink!(cancelled);
          primitive.rawlink!(() => calls.push('kept'));
          primitive.unlink!(cancelled);
          holder.release();
          expect(calls).toEqual(['kept']);
        });

        it('unlink of a callback that is not linked does nothing', () => {
          const { primitive, holder } = heldByOne();
          const calls: string[] = [];
          primitive.rawlink!(() => calls.push('linked'));
          primitive.unlink!(() => calls.push('never linked'));
          holder.release();
          expect(calls).toEqual(['linked']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });

        it('lets queued requests come first', () => {
          const { primitive, holder } = heldByOne();
          const log: unknown[] = [];
          const { callers } = enqueue(primitive, 1, log);
          primitive.rawlink!(() => log.push('rawlink'));
          holder.release();
          expect(log).toEqual([0]);
          callers[0].release();
          expect(log).toEqual([0, 'rawlink']);
        });
      });
    }

    describe('faults stay local', () => {
      it('an acquire observer that throws on true keeps its permit; counts and the queue stay right', async () => {
        const { primitive, holder } = heldByOne();
        const boom = new Error('observer failed');
        const log: unknown[] = [];
        const thrower = primitive.caller();
        const errors = await captureUnhandledErrors(() => {
          thrower.acquire().subscribe(() => {
            log.push('thrower');
            throw boom;
          });
          enqueue(primitive, 1, log);
          holder.release();
        });
        expect(errors).toEqual([boom]);
        expect(log).toEqual(['thrower']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
        thrower.release();
        expect(log).toEqual(['thrower', 0]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('a permit-observable subscriber that throws does not stop the others or corrupt counts', async () => {
        const primitive = factory(1);
        const boom = new Error('subscriber failed');
        const seen: number[] = [];
        const caller = primitive.caller();
        const errors = await captureUnhandledErrors(() => {
          primitive.primitive.subscribe((value) => {
            if (value === 0) throw boom;
          });
          primitive.primitive.subscribe((value) => seen.push(value));
          caller.tryAcquire();
          caller.release();
        });
        expect(errors).toEqual([boom]);
        expect(seen).toEqual([1, 0, 1]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      if (hasRawlink) {
        it('a rawlink callback that throws is reported; the other callbacks still run and counts stay right', async () => {
          const { primitive, holder } = heldByOne();
          const boom = new Error('callback failed');
          const calls: string[] = [];
          const errors = await captureUnhandledErrors(() => {
            primitive.rawlink!(() => {
              calls.push('thrower');
              throw boom;
            });
            primitive.rawlink!(() => calls.push('other'));
            holder.release();
          });
          expect(errors).toEqual([boom]);
          expect(calls).toEqual(['thrower', 'other']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
          expect(holder.tryAcquire()).toBe(true);
          expect(primitive.value()).toBe(0);
        });
      }

      if (hasWait) {
        it('a wait observer that throws is reported; the other waits still complete', async () => {
          const { primitive, holder } = heldByOne();
          const boom = new Error('wait observer failed');
          let other: unknown[] = [];
          const errors = await captureUnhandledErrors(() => {
            primitive.wait!().subscribe(() => {
              throw boom;
            });
            other = record(primitive.wait!()).events;
            holder.release();
          });
          expect(errors).toEqual([boom]);
          expect(other).toEqual([1, 'complete']);
          expect(primitive.value()).toBe(1);
        });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * The contract of a primitive that never blocks (`DummySemaphore`, SPEC rule 14), with the same
 * adapter. `factory` is called with 1; such a primitive ignores its count anyway.
 */
function describeNeverBlocksConformance(name: string, factory: ConformanceFactory): void {
  const traits = factory(1);

  describe(`${name} (never-blocks conformance)`, () => {
    it('has Infinity permits, nobody waiting, and is never locked', () => {
      const primitive = factory(1);
      expect([primitive.value(), primitive.waiting(), primitive.locked()]).toEqual([Infinity, 0, false]);
    });

    it('grants every acquire synchronously without any release, however many are outstanding', () => {
      const primitive = factory(1);
      const results = Array.from({ length: 1000 }, () => record(primitive.caller().acquire()).events);
      const grantedAtOnce = results.filter(
        (events) => events.length === 2 && events[0] === true && events[1] === 'complete',
      );
      expect(grantedAtOnce.length).toBe(1000);
      expect([primitive.value(), primitive.waiting(), primitive.locked()]).toEqual([Infinity, 0, false]);
    });

    it('tryAcquire always succeeds', () => {
      const primitive = factory(1);
      expect([primitive.tryAcquire(), primitive.tryAcquire(), primitive.tryAcquire()]).toEqual([
        true,
        true,
        true,
      ]);
      expect(primitive.value()).toBe(Infinity);
    });

    if (traits.weighted) {
      it('grants a weighted request of any size synchronously', () => {
        const primitive = factory(1);
        expect(record(primitive.acquire({ permits: 1_000_000 })).events).toEqual([true, 'complete']);
        expect(primitive.tryAcquire(Number.MAX_SAFE_INTEGER)).toBe(true);
        expect(primitive.value()).toBe(Infinity);
      });
    }

    it('non-blocking, zero-timeout and timed acquires all emit true synchronously, leaving no timer behind', () => {
      const primitive = factory(1);
      const scheduler = new VirtualTimeScheduler();
      expect(record(primitive.acquire({ blocking: false })).events).toEqual([true, 'complete']);
      expect(record(primitive.acquire({ timeout: 0 })).events).toEqual([true, 'complete']);
      expect(record(primitive.acquire({ timeout: 50, scheduler })).events).toEqual([true, 'complete']);
      expect(scheduler.actions.length).toBe(0);
    });

    it('release changes nothing', () => {
      const primitive = factory(1);
      const seen = record(primitive.primitive);
      primitive.release();
      primitive.release();
      expect(primitive.value()).toBe(Infinity);
      expect(seen.events).toEqual([Infinity]);
    });

    it('the permit observable emits Infinity on subscribe and never completes', () => {
      const primitive = factory(1);
      const seen = record(primitive.primitive);
      primitive.acquire().subscribe();
      primitive.release();
      expect(seen.events).toEqual([Infinity]);
      expect(seen.subscription.closed).toBe(false);
    });

    if (typeof traits.wait === 'function') {
      it('wait() emits Infinity synchronously and completes, with or without a timeout', () => {
        const primitive = factory(1);
        expect(record(primitive.wait!()).events).toEqual([Infinity, 'complete']);
        expect(
          record(primitive.wait!({ timeout: 50, scheduler: new VirtualTimeScheduler() })).events,
        ).toEqual([Infinity, 'complete']);
      });
    }

    if (typeof traits.rawlink === 'function' && typeof traits.unlink === 'function') {
      it('rawlink and unlink do nothing: the callback is never called', () => {
        const primitive = factory(1);
        const calls: unknown[] = [];
        const callback = (linked: unknown) => calls.push(linked);
        primitive.rawlink!(callback);
        primitive.release();
        primitive.unlink!(callback);
        primitive.unlink!(() => {});
        primitive.acquire().subscribe();
        primitive.release();
        expect(calls).toEqual([]);
        expect(primitive.value()).toBe(Infinity);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Every primitive, through the suite.

describeSemaphoreConformance('Semaphore', (permits) => adaptSemaphore(new Semaphore(permits)));
describeSemaphoreConformance('BoundedSemaphore', (permits) => adaptSemaphore(new BoundedSemaphore(permits)));
describeSemaphoreConformance('RLock', adaptRLock);
describeNeverBlocksConformance('DummySemaphore', () => adaptSemaphore(new DummySemaphore()));

import { VirtualTimeScheduler, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { captureUnhandledErrors, createTestScheduler, record } from '../helpers/index.js';
import {
  advance,
  blockingBackends,
  neverBlockingBackends,
  ruleOf,
  type ConformanceAcquireOptions,
  type ConformanceAdapter,
  type ConformanceBackend,
  type ConformanceCaller,
  type KeptRule,
} from './backends.js';

/**
 * The behavioural contract shared by every primitive that hands out permits (SPEC §2, rules 2-12
 * and 17), as one jasmine suite parameterised by a backend — a factory, and what the backend keeps
 * of §2 (SPEC §7) — in the style of async-mutex's shared suites, run at the end of this file against
 * every backend of `./backends.ts`: `Semaphore`, `BoundedSemaphore`, (the semaphore view of) an
 * `RLock`, and the `SimulatedRemoteSemaphore` of `rxjs-permits/testing`, which answers `latency`
 * frames late on the suite's virtual scheduler; `describeNeverBlocksConformance` is the variant for
 * `DummySemaphore`. The adapter and the traits are described in `./backends.ts`.
 *
 * ## Traits
 *
 * A test of a rule the backend does not keep (`keeps.synchronousGrant` false, ...) is defined but
 * skipped: jasmine reports it pending, with the rule. Every other test runs against every backend,
 * the same test: wherever it needs an answer of the backend (a grant, a refusal, the value) it lets
 * `latency` pass on the suite's virtual scheduler first (`settle()`, which does nothing when the
 * latency is 0, so the in-process primitives are checked exactly as before, in the call), and its
 * marbles and timeouts are shifted by the latency (`+ latency`, 0 in-process). Timeouts fire at
 * their own frame on every backend: only answers are late.
 *
 * ## The suite's scheduler
 *
 * Each spec gets a fresh `TestScheduler`, `clock`: specs in virtual time run in `clock.run(...)`,
 * and the factory gets `clock`, so a backend with latency delivers its answers on it (in `run()`
 * and out of it alike). The in-process primitives ignore it; their timeouts run on the default
 * `asyncScheduler`, which `run()` virtualises, or on the scheduler a test passes.
 */
function describeSemaphoreConformance({ name, factory, keeps }: ConformanceBackend): void {
  const traits = factory(1, new VirtualTimeScheduler());
  const fits = (permits: number) => traits.capacity === 'unbounded' || permits <= traits.capacity;
  const weighted = traits.weighted && fits(3);
  const hasWait = typeof traits.wait === 'function';
  const hasRawlink = typeof traits.rawlink === 'function' && typeof traits.unlink === 'function';
  const { latency } = keeps;

  // How the titles say when an answer comes: in the call in-process, `latency` later otherwise.
  const promptly = latency === 0 ? 'synchronously' : `${latency} ms later`;
  const atOnce = latency === 0 ? 'at once' : `${latency} ms later`;
  const inFrameOf = (event: string) =>
    latency === 0 ? `in the frame of ${event}` : `${latency} frames after ${event}`;

  /** The suite's virtual-time scheduler of the running spec (a fresh one for each, see below). */
  let clock: TestScheduler;

  /** A fresh primitive with `permits` free, answering on the suite's scheduler. */
  const make = (permits: number) => factory(permits, clock);

  /** Lets `hops` answers of the backend arrive, one after the other; nothing to wait for in-process. */
  function settle(hops = 1): void {
    if (latency > 0) advance(clock, hops * latency);
  }

  /** `it`, or, when the backend does not keep `rule`, the same spec skipped with the reason. */
  function itKeeping(rule: KeptRule, title: string, body: () => void | Promise<void>): void {
    if (keeps[rule]) it(title, body);
    else it(title, () => pending(`${name} does not keep ${ruleOf[rule]}`));
  }

  /** `n` marble frames. */
  const frames = (n: number) => '-'.repeat(n);

  /** A fresh primitive of 1 permit, taken by `holder` (the view of it may be `latency` old). */
  function heldByOne(): { primitive: ConformanceAdapter; holder: ConformanceCaller } {
    const primitive = make(1);
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
    beforeEach(() => {
      clock = createTestScheduler();
    });

    describe('initial state', () => {
      it('starts with the permits it was given, unlocked, nobody waiting', () => {
        const primitive = make(1);
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
      });

      if (fits(3)) {
        it('starts with 3 permits when given 3', () => {
          const primitive = make(3);
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([3, false, 0]);
        });
      }

      it('is locked, with value 0, once every permit is taken', () => {
        const { primitive } = heldByOne();
        settle();
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
      });
    });

    describe('acquire()', () => {
      it(`emits true ${promptly} when a permit is free, then completes`, () => {
        const primitive = make(1);
        const { events } = record(primitive.caller().acquire());
        settle();
        expect(events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      it('is cold: nothing is taken until it is subscribed', () => {
        const primitive = make(1);
        const request = primitive.caller().acquire();
        expect(primitive.value()).toBe(1);
        request.subscribe();
        settle();
        expect(primitive.value()).toBe(0);
      });

      if (fits(2)) {
        it('makes one request per subscription', () => {
          const primitive = make(2);
          const request = primitive.acquire();
          const first = record(request);
          const second = record(request);
          settle();
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
        settle();
        expect(events).toEqual([]);
        expect(primitive.waiting()).toBe(1);
        holder.release();
        settle();
        expect(events).toEqual([true, 'complete']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('does not release when unsubscribed after true', () => {
        const primitive = make(1);
        const caller = primitive.caller();
        const granted = caller.acquire().subscribe();
        settle();
        granted.unsubscribe();
        expect(primitive.value()).toBe(0);
        expect(primitive.caller().tryAcquire()).toBe(false);
        caller.release();
        settle();
        expect(primitive.value()).toBe(1);
      });

      itKeeping(
        'synchronousGrant',
        'grants synchronously inside a running grant when the permit is free and nobody is queued',
        () => {
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
        },
      );

      if (traits.reentrantForSameCaller) {
        it('re-enters when the caller that holds it acquires again, and needs as many releases', () => {
          const primitive = make(1);
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
          const primitive = make(1);
          expect(primitive.tryAcquire()).toBe(true);
          const { events } = record(primitive.acquire());
          settle();
          expect(events).toEqual([]);
          expect(primitive.waiting()).toBe(1);
          primitive.release();
          settle();
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
        settle();
        expect(primitive.waiting()).toBe(4);
        holder.release();
        settle();
        expect(log).toEqual([0]);
        callers[0].release();
        settle();
        expect(log).toEqual([0, 1]);
        callers[1].release();
        callers[2].release();
        settle();
        expect(log).toEqual([0, 1, 2, 3]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        callers[3].release();
        settle();
        expect(primitive.value()).toBe(1);
      });

      it(
        'runs a whole chain of grantees that release from their grant, in order, ' +
          (latency === 0 ? 'within one release' : `one every ${latency} ms`),
        () => {
          const { primitive, holder } = heldByOne();
          const log: unknown[] = [];
          enqueue(primitive, 5, log, (_index, caller) => caller.release());
          holder.release();
          settle(5);
          expect(log).toEqual([0, 1, 2, 3, 4]);
          settle(); // the last release's value
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        },
      );

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
        settle(2);
        expect(log).toEqual([0, 1]);
        expect(primitive.waiting()).toBe(1);
        callers[1].release();
        settle();
        expect(log).toEqual([0, 1, 'newcomer']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      if (weighted) {
        it('hands several released permits to the queue in order, stopping at the first that does not fit', () => {
          const primitive = make(3);
          expect(primitive.tryAcquire(3)).toBe(true);
          const log: unknown[] = [];
          primitive.acquire().subscribe(() => log.push('a(1)'));
          primitive.acquire().subscribe(() => log.push('b(1)'));
          primitive.acquire({ permits: 2 }).subscribe(() => log.push('c(2)'));
          primitive.acquire().subscribe(() => log.push('d(1)'));
          primitive.release(3);
          settle();
          expect(log).toEqual(['a(1)', 'b(1)']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(1);
          settle();
          expect(log).toEqual(['a(1)', 'b(1)', 'c(2)']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(1);
          settle();
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
        settle();
        expect(log).toEqual([0]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('does not let tryAcquire take a permit while a request is queued', () => {
        const { primitive } = heldByOne();
        enqueue(primitive, 1, []);
        expect(primitive.caller().tryAcquire()).toBe(false);
        settle();
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
      });

      if (weighted) {
        it('does not let tryAcquire, a non-blocking or a new acquire overtake a blocked weighted head', () => {
          const primitive = make(2);
          expect(primitive.tryAcquire(2)).toBe(true);
          const log: unknown[] = [];
          primitive.acquire({ permits: 2 }).subscribe(() => log.push('heavy'));
          primitive.release(1);
          settle();
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 1]);
          expect(primitive.tryAcquire(1)).toBe(false);
          const nonBlocking = record(primitive.acquire({ blocking: false }));
          const zeroTimeout = record(primitive.acquire({ timeout: 0 }));
          settle();
          expect(nonBlocking.events).toEqual([false, 'complete']);
          expect(zeroTimeout.events).toEqual([false, 'complete']);
          primitive.acquire().subscribe(() => log.push('light'));
          settle();
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(1);
          settle();
          expect(log).toEqual(['heavy']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(2);
          settle();
          expect(log).toEqual(['heavy', 'light']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      }
    });

    describe('direct hand-off', () => {
      itKeeping(
        'synchronousHandOff',
        'never shows a permit handed to a waiter as free: not in value, not to the permit observable',
        () => {
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
        },
      );

      if (hasWait || hasRawlink) {
        itKeeping(
          'synchronousHandOff',
          'never shows a permit handed to a waiter to wait() or rawlink callbacks',
          () => {
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
          },
        );
      }

      if (weighted) {
        itKeeping('synchronousHandOff', 'shows only the remainder of a release partly handed off', () => {
          const primitive = make(3);
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
        const primitive = make(1);
        expect(record(primitive.primitive).events).toEqual([1]);
        const { holder, primitive: held } = heldByOne();
        settle();
        expect(record(held.primitive).events).toEqual([0]);
        holder.release();
      });

      itKeeping('everySettledValue', 'emits every settled change in order and never completes', () => {
        const primitive = make(1);
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
        itKeeping('everySettledValue', 'emits weighted changes as settled values', () => {
          const primitive = make(3);
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
        const primitive = make(1);
        const seen = record(primitive.primitive);
        primitive.tryAcquire();
        settle();
        seen.subscription.unsubscribe();
        primitive.release();
        settle();
        expect(seen.events).toEqual([1, 0]);
      });

      itKeeping(
        'everySettledValue',
        'leaves every subscriber on the true value when one takes a permit from its next handler',
        () => {
          const primitive = make(1);
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
        },
      );

      itKeeping(
        'everySettledValue',
        'gives a subscriber that joins during a broadcast the current value, then only later changes',
        () => {
          const primitive = make(1);
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
        },
      );

      itKeeping(
        'everySettledValue',
        'leaves every subscriber on the true value when one releases from its next handler',
        () => {
          const primitive = make(1);
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
        },
      );
    });

    describe('non-blocking and zero timeouts', () => {
      it(`acquire({ blocking: false }) emits true ${promptly} when a permit is free`, () => {
        const primitive = make(1);
        const { events } = record(primitive.caller().acquire({ blocking: false }));
        settle();
        expect(events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      it('acquire({ blocking: false }) emits false and completes when no permit is free, queueing nothing', () => {
        const { primitive } = heldByOne();
        const { events } = record(primitive.caller().acquire({ blocking: false }));
        settle();
        expect(events).toEqual([false, 'complete']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('acquire({ blocking: false }) ignores a timeout', () => {
        const { primitive } = heldByOne();
        const { events } = record(primitive.caller().acquire({ blocking: false, timeout: 1000 }));
        settle();
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(0);
      });

      it('acquire({ blocking: false }) fails while a request is queued', () => {
        const { primitive } = heldByOne();
        enqueue(primitive, 1, []);
        const { events } = record(primitive.caller().acquire({ blocking: false }));
        settle();
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(1);
      });

      for (const timeout of [0, -1, -Infinity]) {
        it(`acquire({ timeout: ${timeout} }) does not wait: false ${atOnce} when no permit is free`, () => {
          const { primitive } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout }));
          settle();
          expect(events).toEqual([false, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });

        it(`acquire({ timeout: ${timeout} }) emits true ${promptly} when a permit is free`, () => {
          const primitive = make(1);
          const { events } = record(primitive.caller().acquire({ timeout }));
          settle();
          expect(events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }

      it('acquire({ timeout: null }) waits for ever', () => {
        clock.run(({ flush }) => {
          const { primitive, holder } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: null }));
          flush();
          expect(events).toEqual([]);
          holder.release();
          settle();
          expect(events).toEqual([true, 'complete']);
        });
      });
    });

    describe('timeouts', () => {
      it('a timed acquire emits false at its deadline, completes, and leaves the queue', () => {
        clock.run(({ expectObservable, flush }) => {
          const { primitive } = heldByOne();
          expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
          flush();
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      });

      it(`a timed acquire granted before its deadline emits true ${inFrameOf('the release')}, and never false`, () => {
        clock.run(({ cold, expectObservable }) => {
          const { primitive, holder } = heldByOne();
          cold('---r').subscribe(() => holder.release());
          expectObservable(primitive.caller().acquire({ timeout: 5 + latency })).toBe(
            frames(3 + latency) + '(t|)',
            { t: true },
          );
        });
      });

      it('a timed-out request consumes nothing: a later release stays free', () => {
        clock.run(({ cold, flush }) => {
          const { primitive, holder } = heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: 5 }));
          cold('--------r').subscribe(() => holder.release());
          flush();
          expect(events).toEqual([false, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      });

      it('a timed-out request lets the one behind it move up', () => {
        clock.run(({ cold, flush, expectObservable }) => {
          const { primitive, holder } = heldByOne();
          expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
          expectObservable(primitive.caller().acquire()).toBe(`${7 + latency}ms (t|)`, { t: true });
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
        settle();
        expect(events).toEqual([true, 'complete']);
        expect(scheduler.actions.length).toBe(0);
      });

      it('runs the timeout on the scheduler given in the options', () => {
        const { primitive } = heldByOne();
        const scheduler = new VirtualTimeScheduler();
        const { events } = record(primitive.caller().acquire({ timeout: 50, scheduler }));
        settle();
        expect(events).toEqual([]);
        expect(primitive.waiting()).toBe(1);
        scheduler.flush();
        expect(events).toEqual([false, 'complete']);
        settle();
        expect(primitive.waiting()).toBe(0);
      });

      if (weighted) {
        it(`a weighted head that times out lets the smaller requests behind it go ${latency === 0 ? 'in that frame' : `${latency} frames after it`}`, () => {
          clock.run(({ cold, expectObservable, flush }) => {
            const primitive = make(3);
            primitive.tryAcquire(3);
            expectObservable(primitive.acquire({ permits: 3, timeout: 5 })).toBe('5ms (f|)', { f: false });
            expectObservable(primitive.acquire()).toBe(`${5 + latency}ms (t|)`, { t: true });
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
        settle();
        expect(primitive.waiting()).toBe(2);
        holder.release();
        settle();
        expect(log).toEqual([0]);
        callers[0].release();
        settle();
        expect(log).toEqual([0, 2]);
        callers[2].release();
        settle();
        expect(log).toEqual([0, 2]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      it('leaves the permit free when the only waiter withdrew before the release', () => {
        const { primitive, holder } = heldByOne();
        settle();
        const seen = record(primitive.primitive);
        const log: unknown[] = [];
        const { subscriptions } = enqueue(primitive, 1, log);
        subscriptions[0].unsubscribe();
        holder.release();
        settle();
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
        settle(2);
        expect(log).toEqual([0, 2]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        queued.callers[2].release();
        settle();
        expect(primitive.value()).toBe(1);
      });

      it('withdrawing a request twice changes nothing more', () => {
        const { primitive } = heldByOne();
        const { subscriptions } = enqueue(primitive, 2, []);
        subscriptions[0].unsubscribe();
        subscriptions[0].unsubscribe();
        settle();
        expect(primitive.waiting()).toBe(1);
      });

      if (weighted) {
        it(`withdrawing a blocked weighted head lets the requests behind it go ${atOnce}`, () => {
          const primitive = make(3);
          primitive.tryAcquire(3);
          settle();
          const seen = record(primitive.primitive);
          const log: unknown[] = [];
          const heavy = primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light 1'));
          primitive.acquire().subscribe(() => log.push('light 2'));
          primitive.release(2);
          settle();
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 3]);
          heavy.unsubscribe();
          settle();
          expect(log).toEqual(['light 1', 'light 2']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          expect(seen.events).toEqual([0, 2, 0]);
        });

        it('a smaller later request waits behind a blocked heavier head', () => {
          const primitive = make(3);
          primitive.tryAcquire(3);
          const log: unknown[] = [];
          primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light'));
          primitive.release(1);
          settle();
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(2);
          settle();
          expect(log).toEqual(['heavy']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(3);
          settle();
          expect(log).toEqual(['heavy', 'light']);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 0]);
        });

        it('a weighted request is granted all its permits at once, or none', () => {
          const primitive = make(3);
          primitive.tryAcquire(2);
          const { events } = record(primitive.acquire({ permits: 2 }));
          settle();
          expect(events).toEqual([]);
          expect(primitive.value()).toBe(1);
          primitive.release(1);
          settle();
          expect(events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }
    });

    describe('release inside a grant', () => {
      itKeeping(
        'synchronousHandOff',
        'returns before the next grant runs, and all grants run before the outer release returns',
        () => {
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
        },
      );

      if (!keeps.synchronousHandOff) {
        it(`returns before the next grant runs, each grant coming ${latency} ms after the release that made it`, () => {
          const { primitive, holder } = heldByOne();
          const log: string[] = [];
          for (const label of ['a', 'b', 'c']) {
            const caller = primitive.caller();
            caller.acquire().subscribe(() => {
              log.push(`${label} granted at ${clock.now()}`);
              caller.release();
              log.push(`${label} release returned`);
            });
          }
          holder.release();
          log.push('outer release returned');
          settle(3);
          expect(log).toEqual([
            'outer release returned',
            `a granted at ${latency}`,
            'a release returned',
            `b granted at ${2 * latency}`,
            'b release returned',
            `c granted at ${3 * latency}`,
            'c release returned',
          ]);
          settle();
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });
      }
    });

    if (latency > 0) {
      describe(`answers ${latency} ms after the backend decided`, () => {
        it('grants a free permit exactly `latency` after the request, not before', () => {
          const primitive = make(1);
          const { events } = record(primitive.caller().acquire());
          expect(events).toEqual([]);
          advance(clock, latency - 1);
          expect(events).toEqual([]);
          advance(clock, 1);
          expect(events).toEqual([true, 'complete']);
        });

        it('takes the permit on the backend in the call: tryAcquire finds none, while value still shows it', () => {
          const primitive = make(1);
          primitive.caller().acquire().subscribe();
          expect(primitive.caller().tryAcquire()).toBe(false);
          expect([primitive.value(), primitive.locked()]).toEqual([1, false]);
          settle();
          expect([primitive.value(), primitive.locked()]).toEqual([0, true]);
        });

        it('hands a release to the queued request in the call; the waiter hears of it `latency` later', () => {
          const { primitive, holder } = heldByOne();
          const log: unknown[] = [];
          enqueue(primitive, 1, log);
          settle();
          holder.release();
          expect(primitive.caller().tryAcquire()).toBe(false);
          advance(clock, latency - 1);
          expect(log).toEqual([]);
          advance(clock, 1);
          expect(log).toEqual([0]);
        });

        it('grants a newcomer that acquires inside a grant, the permit free, after its subscribe returned', () => {
          const { primitive, holder } = heldByOne();
          const log: string[] = [];
          const first = primitive.caller();
          first.acquire().subscribe(() => {
            log.push('first granted');
            first.release();
            primitive
              .caller()
              .acquire()
              .subscribe(() => log.push(`newcomer granted at ${clock.now()}`));
            log.push('newcomer subscribed');
          });
          holder.release();
          settle();
          expect(log).toEqual(['first granted', 'newcomer subscribed']);
          settle();
          expect(log).toEqual(['first granted', 'newcomer subscribed', `newcomer granted at ${2 * latency}`]);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });

        it('shows value, locked(), waiting and the permit observable `latency` after each change', () => {
          const primitive = make(1);
          const seen = record(primitive.primitive);
          const holder = primitive.caller();
          holder.tryAcquire();
          primitive.caller().acquire().subscribe();
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
          advance(clock, latency - 1);
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
          expect(seen.events).toEqual([1]);
          advance(clock, 1);
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 1]);
          expect(seen.events).toEqual([1, 0]);
          holder.release(); // handed to the queued request whole: the value stays 0
          settle();
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
          expect(seen.events).toEqual([1, 0]);
        });
      });
    }

    if (hasWait) {
      describe('wait()', () => {
        itKeeping(
          'readyWakeUps',
          'emits the value synchronously when ready, completes, and takes no permit',
          () => {
            const primitive = make(1);
            expect(record(primitive.wait!()).events).toEqual([1, 'complete']);
            expect(primitive.value()).toBe(1);
          },
        );

        itKeeping(
          'readyWakeUps',
          'while locked, emits nothing until a permit is free, then the value, and completes',
          () => {
            const { primitive, holder } = heldByOne();
            const { events } = record(primitive.wait!());
            expect(events).toEqual([]);
            holder.release();
            expect(events).toEqual([1, 'complete']);
            expect(primitive.value()).toBe(1);
          },
        );

        itKeeping('readyWakeUps', 'lets queued requests come first', () => {
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

        itKeeping('readyWakeUps', 'wakes several waits with one release', () => {
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

        itKeeping('readyWakeUps', 'does not emit to a wait unsubscribed before the release', () => {
          const { primitive, holder } = heldByOne();
          const wait = record(primitive.wait!());
          wait.subscription.unsubscribe();
          holder.release();
          expect(wait.events).toEqual([]);
        });

        itKeeping('readyWakeUps', 'emits the value as it is (0) at its timeout, then completes', () => {
          clock.run(({ expectObservable }) => {
            const { primitive } = heldByOne();
            expectObservable(primitive.wait!({ timeout: 5 })).toBe('5ms (z|)', { z: 0 });
          });
        });

        itKeeping(
          'readyWakeUps',
          'with a timeout, emits in the frame the primitive becomes ready, and not again',
          () => {
            clock.run(({ cold, expectObservable }) => {
              const { primitive, holder } = heldByOne();
              cold('--r').subscribe(() => holder.release());
              expectObservable(primitive.wait!({ timeout: 5 })).toBe('--(v|)', { v: 1 });
            });
          },
        );

        for (const timeout of [0, -1]) {
          itKeeping(
            'readyWakeUps',
            `with timeout ${timeout}, emits the value at once even when it is 0`,
            () => {
              const { primitive } = heldByOne();
              expect(record(primitive.wait!({ timeout })).events).toEqual([0, 'complete']);
            },
          );
        }

        itKeeping('readyWakeUps', 'runs its timeout on the scheduler given in the options', () => {
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
        itKeeping(
          'readyWakeUps',
          'calls the callback synchronously with the primitive when ready now, taking no permit',
          () => {
            const primitive = make(1);
            const calls: unknown[] = [];
            primitive.rawlink!((linked) => calls.push(linked));
            expect(calls).toEqual([primitive.primitive]);
            expect(primitive.value()).toBe(1);
          },
        );

        itKeeping(
          'readyWakeUps',
          'while locked, calls the callback once, with the primitive, the next time it is ready',
          () => {
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
          },
        );

        itKeeping(
          'readyWakeUps',
          'unlinks the callback before calling it, so it can link itself again from inside',
          () => {
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
          },
        );

        itKeeping('readyWakeUps', 'unlink cancels a pending callback', () => {
          const { primitive, holder } = heldByOne();
          const calls: string[] = [];
          const cancelled = () => calls.push('cancelled');
          primitive.rawlink!(cancelled);
          primitive.rawlink!(() => calls.push('kept'));
          primitive.unlink!(cancelled);
          holder.release();
          expect(calls).toEqual(['kept']);
        });

        itKeeping('readyWakeUps', 'unlink of a callback that is not linked does nothing', () => {
          const { primitive, holder } = heldByOne();
          const calls: string[] = [];
          primitive.rawlink!(() => calls.push('linked'));
          primitive.unlink!(() => calls.push('never linked'));
          holder.release();
          expect(calls).toEqual(['linked']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });

        itKeeping('readyWakeUps', 'lets queued requests come first', () => {
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
          settle();
        });
        expect(errors).toEqual([boom]);
        expect(log).toEqual(['thrower']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
        thrower.release();
        settle();
        expect(log).toEqual(['thrower', 0]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      it('a permit-observable subscriber that throws does not stop the others or corrupt counts', async () => {
        const primitive = make(1);
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
          settle();
        });
        expect(errors).toEqual([boom]);
        expect(seen).toEqual([1, 0, 1]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      if (hasRawlink) {
        itKeeping(
          'readyWakeUps',
          'a rawlink callback that throws is reported; the other callbacks still run and counts stay right',
          async () => {
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
          },
        );
      }

      if (hasWait) {
        itKeeping(
          'readyWakeUps',
          'a wait observer that throws is reported; the other waits still complete',
          async () => {
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
          },
        );
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * The contract of a primitive that never blocks (`DummySemaphore`, SPEC rule 14), with the same
 * adapter and traits. `factory` is called with 1; such a primitive ignores its count anyway.
 */
function describeNeverBlocksConformance({ name, factory, keeps }: ConformanceBackend): void {
  const traits = factory(1, new VirtualTimeScheduler());

  let clock: TestScheduler;
  const make = () => factory(1, clock);

  function itKeeping(rule: KeptRule, title: string, body: () => void): void {
    if (keeps[rule]) it(title, body);
    else it(title, () => pending(`${name} does not keep ${ruleOf[rule]}`));
  }

  describe(`${name} (never-blocks conformance)`, () => {
    beforeEach(() => {
      clock = createTestScheduler();
    });

    it('has Infinity permits, nobody waiting, and is never locked', () => {
      const primitive = make();
      expect([primitive.value(), primitive.waiting(), primitive.locked()]).toEqual([Infinity, 0, false]);
    });

    itKeeping(
      'synchronousGrant',
      'grants every acquire synchronously without any release, however many are outstanding',
      () => {
        const primitive = make();
        const results = Array.from({ length: 1000 }, () => record(primitive.caller().acquire()).events);
        const grantedAtOnce = results.filter(
          (events) => events.length === 2 && events[0] === true && events[1] === 'complete',
        );
        expect(grantedAtOnce.length).toBe(1000);
        expect([primitive.value(), primitive.waiting(), primitive.locked()]).toEqual([Infinity, 0, false]);
      },
    );

    it('tryAcquire always succeeds', () => {
      const primitive = make();
      expect([primitive.tryAcquire(), primitive.tryAcquire(), primitive.tryAcquire()]).toEqual([
        true,
        true,
        true,
      ]);
      expect(primitive.value()).toBe(Infinity);
    });

    if (traits.weighted) {
      itKeeping('synchronousGrant', 'grants a weighted request of any size synchronously', () => {
        const primitive = make();
        expect(record(primitive.acquire({ permits: 1_000_000 })).events).toEqual([true, 'complete']);
        expect(primitive.tryAcquire(Number.MAX_SAFE_INTEGER)).toBe(true);
        expect(primitive.value()).toBe(Infinity);
      });
    }

    itKeeping(
      'synchronousGrant',
      'non-blocking, zero-timeout and timed acquires all emit true synchronously, leaving no timer behind',
      () => {
        const primitive = make();
        const scheduler = new VirtualTimeScheduler();
        expect(record(primitive.acquire({ blocking: false })).events).toEqual([true, 'complete']);
        expect(record(primitive.acquire({ timeout: 0 })).events).toEqual([true, 'complete']);
        expect(record(primitive.acquire({ timeout: 50, scheduler })).events).toEqual([true, 'complete']);
        expect(scheduler.actions.length).toBe(0);
      },
    );

    it('release changes nothing', () => {
      const primitive = make();
      const seen = record(primitive.primitive);
      primitive.release();
      primitive.release();
      expect(primitive.value()).toBe(Infinity);
      expect(seen.events).toEqual([Infinity]);
    });

    it('the permit observable emits Infinity on subscribe and never completes', () => {
      const primitive = make();
      const seen = record(primitive.primitive);
      primitive.acquire().subscribe();
      primitive.release();
      expect(seen.events).toEqual([Infinity]);
      expect(seen.subscription.closed).toBe(false);
    });

    if (typeof traits.wait === 'function') {
      itKeeping(
        'readyWakeUps',
        'wait() emits Infinity synchronously and completes, with or without a timeout',
        () => {
          const primitive = make();
          expect(record(primitive.wait!()).events).toEqual([Infinity, 'complete']);
          expect(
            record(primitive.wait!({ timeout: 50, scheduler: new VirtualTimeScheduler() })).events,
          ).toEqual([Infinity, 'complete']);
        },
      );
    }

    if (typeof traits.rawlink === 'function' && typeof traits.unlink === 'function') {
      itKeeping('readyWakeUps', 'rawlink and unlink do nothing: the callback is never called', () => {
        const primitive = make();
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
// Every backend, through the suite.

for (const backend of blockingBackends) describeSemaphoreConformance(backend);
for (const backend of neverBlockingBackends) describeNeverBlocksConformance(backend);

import {
  NEVER,
  Subject,
  VirtualTimeScheduler,
  firstValueFrom,
  of,
  throwError,
  type Observable,
  type Subscription,
} from 'rxjs';
import { mergeMapWithPermit, withPermit, type PermitPool } from '../../src/index.js';
import type { TestScheduler } from 'rxjs/testing';
import { captureUnhandledErrors, createTestScheduler, record } from '../helpers/index.js';
import {
  advance,
  ruleOf,
  type ConformanceAcquireOptions,
  type ConformanceAdapter,
  type ConformanceBackend,
  type ConformanceCaller,
  type KeptRule,
} from './backends.js';

/**
 * The behavioural contract shared by every primitive that hands out permits (SPEC §2, rules 2-12,
 * 17, and 8 and 18 through the operators for a `PermitPool`), as one jasmine suite parameterised by a backend — a factory, and what the backend keeps
 * of §2 (SPEC §7) — in the style of async-mutex's shared suites. `./semaphore-conformance.spec.ts`
 * runs it against every backend of `./backends.ts`: `Semaphore`, `BoundedSemaphore`, (the semaphore
 * view of) an `RLock`, `SharedSemaphore` in one thread, and the `SimulatedRemoteSemaphore` of
 * `rxjs-permits/testing`, which answers `latency` frames late on the suite's virtual scheduler;
 * `spec/redis/redis-conformance.node.spec.ts` runs it against `RedisSemaphore` on the test run's
 * redis-server, in real time. `describeNeverBlocksConformance` is the variant for
 * `DummySemaphore`. The adapter and the traits are described in `./backends.ts`.
 *
 * ## Traits
 *
 * A test of a rule the backend does not keep (`keeps.synchronousGrant` false, ...) is defined but
 * skipped: jasmine reports it pending, with the rule. Every other test runs against every backend,
 * the same test: wherever it needs an answer of the backend (a grant, a refusal, the value) it
 * lets it come first (`yield* settle()`, which does nothing in-process, so the in-process
 * primitives are checked exactly as before, in the call), and its marbles and timeouts are shifted
 * by the latency (`+ latency`, 0 in-process). Timeouts fire at their own frame on every backend:
 * only answers are late.
 *
 * ## Virtual and real time
 *
 * A spec body is a generator: it yields a Promise wherever it must wait for a backend that answers
 * in real time (`keeps.realTime`): `settle()` then waits for the adapters' `settled()`, and
 * `take()` (the suite's `tryAcquire`) asks `acquire({ blocking: false })` and waits for its
 * answer. Any other backend yields nothing: the body runs to its end inside the call, in virtual
 * time, as a plain function would. The few specs written with marbles in virtual time have a
 * real-time twin (`twin(title, virtual, real)`), which checks the same rule by waiting for the
 * answers; its timeouts run on the suite's scheduler, given in the request's options, moved on by
 * the spec. A real-time backend does not keep rules 3, 5 and 10-12 (SPEC §7): their specs are
 * pending, as for the simulated remote backend.
 *
 * ## The suite's scheduler
 *
 * Each spec gets a fresh `TestScheduler`, `clock`: specs in virtual time run in `clock.run(...)`,
 * and the factory gets `clock`, so a backend with latency delivers its answers on it (in `run()`
 * and out of it alike). The in-process primitives ignore it; their timeouts run on the default
 * `asyncScheduler`, which `run()` virtualises, or on the scheduler a test passes.
 */
export function describeSemaphoreConformance(backend: ConformanceBackend): void {
  const { name, factory, keeps } = backend;
  const traits = backend.traits ?? factory(1, new VirtualTimeScheduler());
  const fits = (permits: number) => traits.capacity === 'unbounded' || permits <= traits.capacity;
  const weighted = traits.weighted && fits(3);
  const hasWait = typeof traits.wait === 'function';
  const hasRawlink = typeof traits.rawlink === 'function' && typeof traits.unlink === 'function';
  const { latency, realTime } = keeps;

  // How the titles say when an answer comes: in the call in-process, `latency` later otherwise.
  const promptly = realTime ? 'once answered' : latency === 0 ? 'synchronously' : `${latency} ms later`;
  const atOnce = realTime ? 'once answered' : latency === 0 ? 'at once' : `${latency} ms later`;
  const inFrameOf = (event: string) =>
    realTime
      ? `once ${event} is answered`
      : latency === 0
        ? `in the frame of ${event}`
        : `${latency} frames after ${event}`;

  /** The suite's virtual-time scheduler of the running spec (a fresh one for each, see below). */
  let clock: TestScheduler;
  /** The primitives the running spec made: `settle()` waits for all of them. */
  let made: ConformanceAdapter[] = [];

  /** A fresh primitive with `permits` free, answering on the suite's scheduler. */
  const make = (permits: number) => {
    const primitive = factory(permits, clock);
    made.push(primitive);
    return primitive;
  };

  /**
   * Lets `hops` answers of the backend arrive, one after the other; nothing to wait for in-process;
   * in real time, everything asked so far is answered.
   */
  function* settle(hops = 1): Steps {
    if (realTime) yield Promise.all(made.map((primitive) => primitive.settled!()));
    else if (latency > 0) advance(clock, hops * latency);
  }

  /**
   * `caller.tryAcquire(permits)`; in real time, `acquire({ blocking: false })`, answered by the
   * backend in order of arrival after what was asked before.
   */
  function* take(caller: ConformanceCaller, permits?: number): Steps<boolean> {
    if (!realTime) return permits === undefined ? caller.tryAcquire() : caller.tryAcquire(permits);
    const options = permits === undefined ? { blocking: false } : { blocking: false, permits };
    return (yield firstValueFrom(caller.acquire(options))) as boolean;
  }

  /** `it`, with a body that may be a generator of steps (see "Virtual and real time" above). */
  function spec(title: string, body: Body): void {
    it(title, () => drive(body()));
  }

  /** `it`, or, when the backend does not keep `rule`, the same spec skipped with the reason. */
  function itKeeping(rule: KeptRule, title: string, body: Body): void {
    if (keeps[rule]) spec(title, body);
    else it(title, () => pending(`${name} does not keep ${ruleOf[rule]}`));
  }

  /** A spec written in virtual time (marbles), with its real-time twin for a real-time backend. */
  function twin(title: string, virtual: Body, real: Body): void {
    spec(title, realTime ? real : virtual);
  }

  /** Captures what is reported out of band while `body` runs (see `captureUnhandledErrors`). */
  function* capturing(body: () => Steps): Steps<unknown[]> {
    return (yield captureUnhandledErrors(() => drive(body()))) as unknown[];
  }

  /** When a grant came, for a log: the frame in virtual time (`frame`, or now), nothing in real time. */
  const at = (frame = clock.now()) => (realTime ? '' : ` at ${frame}`);

  /** `n` marble frames. */
  const frames = (n: number) => '-'.repeat(n);

  /** A fresh primitive of 1 permit, taken by `holder` (the view of it may be `latency` old). */
  function* heldByOne(): Steps<{ primitive: ConformanceAdapter; holder: ConformanceCaller }> {
    const primitive = make(1);
    const holder = primitive.caller();
    expect(yield* take(holder)).toBe(true);
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
      made = [];
    });

    describe('initial state', () => {
      spec('starts with the permits it was given, unlocked, nobody waiting', () => {
        const primitive = make(1);
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
      });

      if (fits(3)) {
        spec('starts with 3 permits when given 3', () => {
          const primitive = make(3);
          expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([3, false, 0]);
        });
      }

      spec('is locked, with value 0, once every permit is taken', function* () {
        const { primitive } = yield* heldByOne();
        yield* settle();
        expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
      });
    });

    describe('acquire()', () => {
      spec(`emits true ${promptly} when a permit is free, then completes`, function* () {
        const primitive = make(1);
        const { events } = record(primitive.caller().acquire());
        yield* settle();
        expect(events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      spec('is cold: nothing is taken until it is subscribed', function* () {
        const primitive = make(1);
        const request = primitive.caller().acquire();
        expect(primitive.value()).toBe(1);
        request.subscribe();
        yield* settle();
        expect(primitive.value()).toBe(0);
      });

      if (fits(2)) {
        spec('makes one request per subscription', function* () {
          const primitive = make(2);
          const request = primitive.acquire();
          const first = record(request);
          const second = record(request);
          yield* settle();
          expect([first.events, second.events]).toEqual([
            [true, 'complete'],
            [true, 'complete'],
          ]);
          expect(primitive.value()).toBe(0);
        });
      }

      spec(
        'queues when no permit is free: emits nothing until a release, then true and completes',
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire());
          yield* settle();
          expect(events).toEqual([]);
          expect(primitive.waiting()).toBe(1);
          holder.release();
          yield* settle();
          expect(events).toEqual([true, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        },
      );

      spec('does not release when unsubscribed after true', function* () {
        const primitive = make(1);
        const caller = primitive.caller();
        const granted = caller.acquire().subscribe();
        yield* settle();
        granted.unsubscribe();
        expect(primitive.value()).toBe(0);
        expect(yield* take(primitive.caller())).toBe(false);
        caller.release();
        yield* settle();
        expect(primitive.value()).toBe(1);
      });

      itKeeping(
        'synchronousGrant',
        'grants synchronously inside a running grant when the permit is free and nobody is queued',
        function* () {
          const { primitive, holder } = yield* heldByOne();
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
        spec(
          're-enters when the caller that holds it acquires again, and needs as many releases',
          function* () {
            const primitive = make(1);
            const caller = primitive.caller();
            expect(yield* take(caller)).toBe(true);
            const { events } = record(caller.acquire());
            expect(events).toEqual([true, 'complete']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
            caller.release();
            expect(primitive.value()).toBe(0);
            caller.release();
            expect(primitive.value()).toBe(1);
          },
        );
      } else {
        spec('queues a second acquire by the same caller like any other (no ownership)', function* () {
          const primitive = make(1);
          expect(yield* take(primitive)).toBe(true);
          const { events } = record(primitive.acquire());
          yield* settle();
          expect(events).toEqual([]);
          expect(primitive.waiting()).toBe(1);
          primitive.release();
          yield* settle();
          expect(events).toEqual([true, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        });
      }
    });

    describe('FIFO order', () => {
      spec('wakes queued requests in the order they were made, one per release', function* () {
        const { primitive, holder } = yield* heldByOne();
        const log: unknown[] = [];
        const { callers } = enqueue(primitive, 4, log);
        yield* settle();
        expect(primitive.waiting()).toBe(4);
        holder.release();
        yield* settle();
        expect(log).toEqual([0]);
        callers[0].release();
        yield* settle();
        expect(log).toEqual([0, 1]);
        callers[1].release();
        // In real time a grantee can give back only what it was told it holds.
        if (realTime) yield* settle();
        callers[2].release();
        yield* settle();
        expect(log).toEqual([0, 1, 2, 3]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        callers[3].release();
        yield* settle();
        expect(primitive.value()).toBe(1);
      });

      spec(
        'runs a whole chain of grantees that release from their grant, in order, ' +
          (latency === 0 ? 'within one release' : `one every ${latency} ms`),
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const log: unknown[] = [];
          enqueue(primitive, 5, log, (_index, caller) => caller.release());
          holder.release();
          yield* settle(5);
          expect(log).toEqual([0, 1, 2, 3, 4]);
          yield* settle(); // the last release's value
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        },
      );

      spec('puts a newcomer that acquires inside a grant behind the requests already queued', function* () {
        const { primitive, holder } = yield* heldByOne();
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
        yield* settle(2);
        expect(log).toEqual([0, 1]);
        expect(primitive.waiting()).toBe(1);
        callers[1].release();
        yield* settle();
        expect(log).toEqual([0, 1, 'newcomer']);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      if (weighted) {
        spec(
          'hands several released permits to the queue in order, stopping at the first that does not fit',
          function* () {
            const primitive = make(3);
            expect(yield* take(primitive, 3)).toBe(true);
            const log: unknown[] = [];
            primitive.acquire().subscribe(() => log.push('a(1)'));
            primitive.acquire().subscribe(() => log.push('b(1)'));
            primitive.acquire({ permits: 2 }).subscribe(() => log.push('c(2)'));
            primitive.acquire().subscribe(() => log.push('d(1)'));
            primitive.release(3);
            yield* settle();
            expect(log).toEqual(['a(1)', 'b(1)']);
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
            primitive.release(1);
            yield* settle();
            expect(log).toEqual(['a(1)', 'b(1)', 'c(2)']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
            primitive.release(1);
            yield* settle();
            expect(log).toEqual(['a(1)', 'b(1)', 'c(2)', 'd(1)']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          },
        );
      }
    });

    describe('no barging', () => {
      spec('leaves nothing for tryAcquire when a release goes to a queued request', function* () {
        const { primitive, holder } = yield* heldByOne();
        const log: unknown[] = [];
        enqueue(primitive, 1, log);
        holder.release();
        expect(yield* take(primitive.caller())).toBe(false);
        yield* settle();
        expect(log).toEqual([0]);
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
      });

      spec('does not let tryAcquire take a permit while a request is queued', function* () {
        const { primitive } = yield* heldByOne();
        enqueue(primitive, 1, []);
        expect(yield* take(primitive.caller())).toBe(false);
        yield* settle();
        expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
      });

      if (weighted) {
        spec(
          'does not let tryAcquire, a non-blocking or a new acquire overtake a blocked weighted head',
          function* () {
            const primitive = make(2);
            expect(yield* take(primitive, 2)).toBe(true);
            const log: unknown[] = [];
            primitive.acquire({ permits: 2 }).subscribe(() => log.push('heavy'));
            primitive.release(1);
            yield* settle();
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 1]);
            expect(yield* take(primitive, 1)).toBe(false);
            const nonBlocking = record(primitive.acquire({ blocking: false }));
            const zeroTimeout = record(primitive.acquire({ timeout: 0 }));
            yield* settle();
            expect(nonBlocking.events).toEqual([false, 'complete']);
            expect(zeroTimeout.events).toEqual([false, 'complete']);
            primitive.acquire().subscribe(() => log.push('light'));
            yield* settle();
            expect(log).toEqual([]);
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
            primitive.release(1);
            yield* settle();
            expect(log).toEqual(['heavy']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
            primitive.release(2);
            yield* settle();
            expect(log).toEqual(['heavy', 'light']);
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
          },
        );
      }
    });

    describe('direct hand-off', () => {
      itKeeping(
        'synchronousHandOff',
        'never shows a permit handed to a waiter as free: not in value, not to the permit observable',
        function* () {
          const { primitive, holder } = yield* heldByOne();
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
          function* () {
            const { primitive, holder } = yield* heldByOne();
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
        itKeeping(
          'synchronousHandOff',
          'shows only the remainder of a release partly handed off',
          function* () {
            const primitive = make(3);
            expect(yield* take(primitive, 3)).toBe(true);
            const seen = record(primitive.primitive);
            const granted = record(primitive.acquire({ permits: 2 }));
            primitive.release(3);
            expect(granted.events).toEqual([true, 'complete']);
            expect(seen.events).toEqual([0, 1]);
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
          },
        );
      }
    });

    describe('the permit observable', () => {
      spec('emits the current value synchronously on subscribe and does not complete', function* () {
        const primitive = make(1);
        expect(record(primitive.primitive).events).toEqual([1]);
        const { holder, primitive: held } = yield* heldByOne();
        yield* settle();
        expect(record(held.primitive).events).toEqual([0]);
        holder.release();
      });

      itKeeping('everySettledValue', 'emits every settled change in order and never completes', function* () {
        const primitive = make(1);
        const seen = record(primitive.primitive);
        const first = primitive.caller();
        const second = primitive.caller();
        yield* take(first);
        first.release();
        first.acquire().subscribe();
        second.acquire().subscribe();
        first.release(); // handed to `second` whole: nothing to emit
        second.release();
        expect(seen.events).toEqual([1, 0, 1, 0, 1]);
        expect(seen.subscription.closed).toBe(false);
      });

      if (weighted) {
        itKeeping('everySettledValue', 'emits weighted changes as settled values', function* () {
          const primitive = make(3);
          const seen = record(primitive.primitive);
          yield* take(primitive, 2);
          primitive.release(1);
          primitive.acquire({ permits: 2 }).subscribe();
          primitive.release(2);
          primitive.release(1);
          expect(seen.events).toEqual([3, 1, 2, 0, 2, 3]);
        });
      }

      spec('stops emitting to a subscriber that unsubscribed', function* () {
        const primitive = make(1);
        const seen = record(primitive.primitive);
        yield* take(primitive);
        yield* settle();
        seen.subscription.unsubscribe();
        primitive.release();
        yield* settle();
        expect(seen.events).toEqual([1, 0]);
      });

      itKeeping(
        'everySettledValue',
        'leaves every subscriber on the true value when one takes a permit from its next handler',
        function* () {
          const primitive = make(1);
          const holder = primitive.caller();
          yield* take(holder);
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
        function* () {
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
          yield* take(holder);
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
        function* () {
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
          yield* take(holder);
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
      spec(`acquire({ blocking: false }) emits true ${promptly} when a permit is free`, function* () {
        const primitive = make(1);
        const { events } = record(primitive.caller().acquire({ blocking: false }));
        yield* settle();
        expect(events).toEqual([true, 'complete']);
        expect(primitive.value()).toBe(0);
      });

      spec(
        'acquire({ blocking: false }) emits false and completes when no permit is free, queueing nothing',
        function* () {
          const { primitive } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire({ blocking: false }));
          yield* settle();
          expect(events).toEqual([false, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        },
      );

      spec('acquire({ blocking: false }) ignores a timeout', function* () {
        const { primitive } = yield* heldByOne();
        const { events } = record(primitive.caller().acquire({ blocking: false, timeout: 1000 }));
        yield* settle();
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(0);
      });

      spec('acquire({ blocking: false }) fails while a request is queued', function* () {
        const { primitive } = yield* heldByOne();
        enqueue(primitive, 1, []);
        const { events } = record(primitive.caller().acquire({ blocking: false }));
        yield* settle();
        expect(events).toEqual([false, 'complete']);
        expect(primitive.waiting()).toBe(1);
      });

      for (const timeout of [0, -1, -Infinity]) {
        spec(
          `acquire({ timeout: ${timeout} }) does not wait: false ${atOnce} when no permit is free`,
          function* () {
            const { primitive } = yield* heldByOne();
            const { events } = record(primitive.caller().acquire({ timeout }));
            yield* settle();
            expect(events).toEqual([false, 'complete']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          },
        );

        spec(`acquire({ timeout: ${timeout} }) emits true ${promptly} when a permit is free`, function* () {
          const primitive = make(1);
          const { events } = record(primitive.caller().acquire({ timeout }));
          yield* settle();
          expect(events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }

      twin(
        'acquire({ timeout: null }) waits for ever',
        () => {
          clock.run(({ flush }) => {
            const { primitive, holder } = now(heldByOne());
            const { events } = record(primitive.caller().acquire({ timeout: null }));
            flush();
            expect(events).toEqual([]);
            holder.release();
            now(settle());
            expect(events).toEqual([true, 'complete']);
          });
        },
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: null }));
          yield* settle();
          expect(events).toEqual([]);
          expect(primitive.waiting()).toBe(1);
          holder.release();
          yield* settle();
          expect(events).toEqual([true, 'complete']);
        },
      );
    });

    describe('timeouts', () => {
      // The real-time twins time out on the suite's scheduler, given in the options and moved on
      // by the spec once the backend has answered: the deadline falls exactly where the spec says.
      twin(
        'a timed acquire emits false at its deadline, completes, and leaves the queue',
        () => {
          clock.run(({ expectObservable, flush }) => {
            const { primitive } = now(heldByOne());
            expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
            flush();
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          });
        },
        function* () {
          const { primitive } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: 5, scheduler: clock }));
          yield* settle();
          expect([events, primitive.waiting()]).toEqual([[], 1]);
          advance(clock, 4);
          expect(events).toEqual([]);
          advance(clock, 1);
          expect(events).toEqual([false, 'complete']);
          yield* settle();
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        },
      );

      twin(
        `a timed acquire granted before its deadline emits true ${inFrameOf('the release')}, and never false`,
        () => {
          clock.run(({ cold, expectObservable }) => {
            const { primitive, holder } = now(heldByOne());
            cold('---r').subscribe(() => holder.release());
            expectObservable(primitive.caller().acquire({ timeout: 5 + latency })).toBe(
              frames(3 + latency) + '(t|)',
              { t: true },
            );
          });
        },
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: 5, scheduler: clock }));
          yield* settle();
          advance(clock, 3);
          holder.release();
          yield* settle();
          expect(events).toEqual([true, 'complete']);
          expect(clock.actions.length).withContext('the timeout was cancelled').toBe(0);
          advance(clock, 5);
          expect(events).toEqual([true, 'complete']);
        },
      );

      twin(
        'a timed-out request consumes nothing: a later release stays free',
        () => {
          clock.run(({ cold, flush }) => {
            const { primitive, holder } = now(heldByOne());
            const { events } = record(primitive.caller().acquire({ timeout: 5 }));
            cold('--------r').subscribe(() => holder.release());
            flush();
            expect(events).toEqual([false, 'complete']);
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
          });
        },
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const { events } = record(primitive.caller().acquire({ timeout: 5, scheduler: clock }));
          yield* settle();
          advance(clock, 5);
          expect(events).toEqual([false, 'complete']);
          holder.release();
          yield* settle();
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        },
      );

      twin(
        'a timed-out request lets the one behind it move up',
        () => {
          clock.run(({ cold, flush, expectObservable }) => {
            const { primitive, holder } = now(heldByOne());
            expectObservable(primitive.caller().acquire({ timeout: 5 })).toBe('5ms (f|)', { f: false });
            expectObservable(primitive.caller().acquire()).toBe(`${7 + latency}ms (t|)`, { t: true });
            cold('-------r').subscribe(() => holder.release());
            flush();
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          });
        },
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const first = record(primitive.caller().acquire({ timeout: 5, scheduler: clock }));
          const second = record(primitive.caller().acquire());
          yield* settle();
          expect(primitive.waiting()).toBe(2);
          advance(clock, 5);
          expect(first.events).toEqual([false, 'complete']);
          yield* settle();
          expect([second.events, primitive.waiting()]).toEqual([[], 1]);
          holder.release();
          yield* settle();
          expect(second.events).toEqual([true, 'complete']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        },
      );

      spec('cancels the timer of a timed acquire when it is granted', function* () {
        const { primitive, holder } = yield* heldByOne();
        const scheduler = new VirtualTimeScheduler();
        const { events } = record(primitive.caller().acquire({ timeout: 50, scheduler }));
        expect(scheduler.actions.length).toBe(1);
        holder.release();
        yield* settle();
        expect(events).toEqual([true, 'complete']);
        expect(scheduler.actions.length).toBe(0);
      });

      spec('runs the timeout on the scheduler given in the options', function* () {
        const { primitive } = yield* heldByOne();
        const scheduler = new VirtualTimeScheduler();
        const { events } = record(primitive.caller().acquire({ timeout: 50, scheduler }));
        yield* settle();
        expect(events).toEqual([]);
        expect(primitive.waiting()).toBe(1);
        scheduler.flush();
        expect(events).toEqual([false, 'complete']);
        yield* settle();
        expect(primitive.waiting()).toBe(0);
      });

      if (weighted) {
        twin(
          `a weighted head that times out lets the smaller requests behind it go ${realTime ? 'once answered' : latency === 0 ? 'in that frame' : `${latency} frames after it`}`,
          () => {
            clock.run(({ cold, expectObservable, flush }) => {
              const primitive = make(3);
              expect(primitive.tryAcquire(3)).toBe(true);
              expectObservable(primitive.acquire({ permits: 3, timeout: 5 })).toBe('5ms (f|)', { f: false });
              expectObservable(primitive.acquire()).toBe(`${5 + latency}ms (t|)`, { t: true });
              cold('-r').subscribe(() => primitive.release(1));
              flush();
              expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
            });
          },
          function* () {
            const primitive = make(3);
            expect(yield* take(primitive, 3)).toBe(true);
            const heavy = record(primitive.acquire({ permits: 3, timeout: 5, scheduler: clock }));
            const light = record(primitive.acquire());
            primitive.release(1);
            yield* settle();
            expect([light.events, primitive.value(), primitive.waiting()]).toEqual([[], 1, 2]);
            advance(clock, 5);
            expect(heavy.events).toEqual([false, 'complete']);
            yield* settle();
            expect(light.events).toEqual([true, 'complete']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          },
        );
      }
    });

    describe('withdrawal', () => {
      spec(
        'unsubscribing a queued acquire withdraws it: waiting drops, it is never granted, it consumes nothing',
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const log: unknown[] = [];
          const { callers, subscriptions } = enqueue(primitive, 3, log);
          subscriptions[1].unsubscribe();
          yield* settle();
          expect(primitive.waiting()).toBe(2);
          holder.release();
          yield* settle();
          expect(log).toEqual([0]);
          callers[0].release();
          yield* settle();
          expect(log).toEqual([0, 2]);
          callers[2].release();
          yield* settle();
          expect(log).toEqual([0, 2]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        },
      );

      spec('leaves the permit free when the only waiter withdrew before the release', function* () {
        const { primitive, holder } = yield* heldByOne();
        yield* settle();
        const seen = record(primitive.primitive);
        const log: unknown[] = [];
        const { subscriptions } = enqueue(primitive, 1, log);
        subscriptions[0].unsubscribe();
        holder.release();
        yield* settle();
        expect(log).toEqual([]);
        expect(seen.events).toEqual([0, 1]);
        expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
      });

      spec(
        'a request withdrawn after its permit was handed over, before it was told, gives the permit on',
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const log: unknown[] = [];
          const queued = enqueue(primitive, 3, log, (index, caller) => {
            if (index === 0) {
              caller.release(); // hands the permit to request 1, whose grant runs after this one
              queued.subscriptions[1].unsubscribe();
            }
          });
          holder.release();
          yield* settle(2);
          expect(log).toEqual([0, 2]);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          queued.callers[2].release();
          yield* settle();
          expect(primitive.value()).toBe(1);
        },
      );

      spec('withdrawing a request twice changes nothing more', function* () {
        const { primitive } = yield* heldByOne();
        const { subscriptions } = enqueue(primitive, 2, []);
        subscriptions[0].unsubscribe();
        subscriptions[0].unsubscribe();
        yield* settle();
        expect(primitive.waiting()).toBe(1);
      });

      if (weighted) {
        spec(`withdrawing a blocked weighted head lets the requests behind it go ${atOnce}`, function* () {
          const primitive = make(3);
          yield* take(primitive, 3);
          yield* settle();
          const seen = record(primitive.primitive);
          const log: unknown[] = [];
          const heavy = primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light 1'));
          primitive.acquire().subscribe(() => log.push('light 2'));
          primitive.release(2);
          yield* settle();
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 3]);
          heavy.unsubscribe();
          yield* settle();
          expect(log).toEqual(['light 1', 'light 2']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          expect(seen.events).toEqual([0, 2, 0]);
        });

        spec('a smaller later request waits behind a blocked heavier head', function* () {
          const primitive = make(3);
          yield* take(primitive, 3);
          const log: unknown[] = [];
          primitive.acquire({ permits: 3 }).subscribe(() => log.push('heavy'));
          primitive.acquire().subscribe(() => log.push('light'));
          primitive.release(1);
          yield* settle();
          expect(log).toEqual([]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 2]);
          primitive.release(2);
          yield* settle();
          expect(log).toEqual(['heavy']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          primitive.release(3);
          yield* settle();
          expect(log).toEqual(['heavy', 'light']);
          expect([primitive.value(), primitive.waiting()]).toEqual([2, 0]);
        });

        spec('a weighted request is granted all its permits at once, or none', function* () {
          const primitive = make(3);
          yield* take(primitive, 2);
          const { events } = record(primitive.acquire({ permits: 2 }));
          yield* settle();
          expect(events).toEqual([]);
          expect(primitive.value()).toBe(1);
          primitive.release(1);
          yield* settle();
          expect(events).toEqual([true, 'complete']);
          expect(primitive.value()).toBe(0);
        });
      }
    });

    describe('release inside a grant', () => {
      itKeeping(
        'synchronousHandOff',
        'returns before the next grant runs, and all grants run before the outer release returns',
        function* () {
          const { primitive, holder } = yield* heldByOne();
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
        spec(
          `returns before the next grant runs, each grant coming ${realTime ? 'once the release that made it is answered' : `${latency} ms after the release that made it`}`,
          function* () {
            const { primitive, holder } = yield* heldByOne();
            const log: string[] = [];
            for (const label of ['a', 'b', 'c']) {
              const caller = primitive.caller();
              caller.acquire().subscribe(() => {
                log.push(`${label} granted${at()}`);
                caller.release();
                log.push(`${label} release returned`);
              });
            }
            holder.release();
            log.push('outer release returned');
            yield* settle(3);
            expect(log).toEqual([
              'outer release returned',
              `a granted${at(latency)}`,
              'a release returned',
              `b granted${at(2 * latency)}`,
              'b release returned',
              `c granted${at(3 * latency)}`,
              'c release returned',
            ]);
            yield* settle();
            expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
          },
        );
      }
    });

    if (latency > 0 || realTime) {
      describe(
        realTime ? 'answers after the backend decided' : `answers ${latency} ms after the backend decided`,
        () => {
          twin(
            'grants a free permit exactly `latency` after the request, not before',
            () => {
              const primitive = make(1);
              const { events } = record(primitive.caller().acquire());
              expect(events).toEqual([]);
              advance(clock, latency - 1);
              expect(events).toEqual([]);
              advance(clock, 1);
              expect(events).toEqual([true, 'complete']);
            },
            function* () {
              const primitive = make(1);
              const { events } = record(primitive.caller().acquire());
              expect(events).toEqual([]);
              yield* settle();
              expect(events).toEqual([true, 'complete']);
            },
          );

          spec(
            'takes the permit on the backend in the call: tryAcquire finds none, while value still shows it',
            function* () {
              const primitive = make(1);
              primitive.caller().acquire().subscribe();
              expect([primitive.value(), primitive.locked()]).toEqual([1, false]);
              expect(yield* take(primitive.caller())).toBe(false);
              if (!realTime) expect([primitive.value(), primitive.locked()]).toEqual([1, false]);
              yield* settle();
              expect([primitive.value(), primitive.locked()]).toEqual([0, true]);
            },
          );

          spec(
            'hands a release to the queued request in the call; the waiter hears of it `latency` later',
            function* () {
              const { primitive, holder } = yield* heldByOne();
              const log: unknown[] = [];
              enqueue(primitive, 1, log);
              yield* settle();
              holder.release();
              expect(log).toEqual([]);
              expect(yield* take(primitive.caller())).toBe(false);
              if (realTime) {
                yield* settle();
              } else {
                advance(clock, latency - 1);
                expect(log).toEqual([]);
                advance(clock, 1);
              }
              expect(log).toEqual([0]);
            },
          );

          spec(
            'grants a newcomer that acquires inside a grant, the permit free, after its subscribe returned',
            function* () {
              const { primitive, holder } = yield* heldByOne();
              const log: string[] = [];
              const first = primitive.caller();
              first.acquire().subscribe(() => {
                log.push('first granted');
                first.release();
                primitive
                  .caller()
                  .acquire()
                  .subscribe(() => log.push(`newcomer granted${at()}`));
                log.push('newcomer subscribed');
              });
              holder.release();
              yield* settle();
              if (!realTime) {
                expect(log).toEqual(['first granted', 'newcomer subscribed']);
                yield* settle();
              }
              expect(log).toEqual([
                'first granted',
                'newcomer subscribed',
                `newcomer granted${at(2 * latency)}`,
              ]);
              expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
            },
          );

          twin(
            'shows value, locked(), waiting and the permit observable `latency` after each change',
            function* () {
              const primitive = make(1);
              const seen = record(primitive.primitive);
              const holder = primitive.caller();
              yield* take(holder);
              primitive.caller().acquire().subscribe();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
              advance(clock, latency - 1);
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
              expect(seen.events).toEqual([1]);
              advance(clock, 1);
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 1]);
              expect(seen.events).toEqual([1, 0]);
              holder.release(); // handed to the queued request whole: the value stays 0
              yield* settle();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
              expect(seen.events).toEqual([1, 0]);
            },
            function* () {
              const primitive = make(1);
              const seen = record(primitive.primitive);
              const holder = primitive.caller();
              primitive.caller().acquire({ blocking: false }).subscribe();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([1, false, 0]);
              expect(seen.events).toEqual([1]);
              yield* settle();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
              expect(seen.events).toEqual([1, 0]);
              primitive.caller().acquire().subscribe();
              expect(primitive.waiting()).toBe(0);
              yield* settle();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 1]);
              holder.release(); // handed to the queued request whole: the value stays 0
              yield* settle();
              expect([primitive.value(), primitive.locked(), primitive.waiting()]).toEqual([0, true, 0]);
              expect(seen.events).toEqual([1, 0]);
            },
          );
        },
      );
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
          function* () {
            const { primitive, holder } = yield* heldByOne();
            const { events } = record(primitive.wait!());
            expect(events).toEqual([]);
            holder.release();
            expect(events).toEqual([1, 'complete']);
            expect(primitive.value()).toBe(1);
          },
        );

        itKeeping('readyWakeUps', 'lets queued requests come first', function* () {
          const { primitive, holder } = yield* heldByOne();
          const log: unknown[] = [];
          const { callers } = enqueue(primitive, 2, log);
          primitive.wait!().subscribe((value) => log.push(`wait ${value}`));
          holder.release();
          callers[0].release();
          expect(log).toEqual([0, 1]);
          callers[1].release();
          expect(log).toEqual([0, 1, 'wait 1']);
        });

        itKeeping('readyWakeUps', 'wakes several waits with one release', function* () {
          const { primitive, holder } = yield* heldByOne();
          const waits = [record(primitive.wait!()), record(primitive.wait!()), record(primitive.wait!())];
          holder.release();
          expect(waits.map((wait) => wait.events)).toEqual([
            [1, 'complete'],
            [1, 'complete'],
            [1, 'complete'],
          ]);
          expect(primitive.value()).toBe(1);
        });

        itKeeping('readyWakeUps', 'does not emit to a wait unsubscribed before the release', function* () {
          const { primitive, holder } = yield* heldByOne();
          const wait = record(primitive.wait!());
          wait.subscription.unsubscribe();
          holder.release();
          expect(wait.events).toEqual([]);
        });

        itKeeping('readyWakeUps', 'emits the value as it is (0) at its timeout, then completes', () => {
          clock.run(({ expectObservable }) => {
            const { primitive } = now(heldByOne());
            expectObservable(primitive.wait!({ timeout: 5 })).toBe('5ms (z|)', { z: 0 });
          });
        });

        itKeeping(
          'readyWakeUps',
          'with a timeout, emits in the frame the primitive becomes ready, and not again',
          () => {
            clock.run(({ cold, expectObservable }) => {
              const { primitive, holder } = now(heldByOne());
              cold('--r').subscribe(() => holder.release());
              expectObservable(primitive.wait!({ timeout: 5 })).toBe('--(v|)', { v: 1 });
            });
          },
        );

        for (const timeout of [0, -1]) {
          itKeeping(
            'readyWakeUps',
            `with timeout ${timeout}, emits the value at once even when it is 0`,
            function* () {
              const { primitive } = yield* heldByOne();
              expect(record(primitive.wait!({ timeout })).events).toEqual([0, 'complete']);
            },
          );
        }

        itKeeping('readyWakeUps', 'runs its timeout on the scheduler given in the options', function* () {
          const { primitive } = yield* heldByOne();
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
          function* () {
            const { primitive, holder } = yield* heldByOne();
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
            yield* take(holder);
            holder.release();
            expect(calls.length).toBe(1);
            expect(primitive.value()).toBe(1);
          },
        );

        itKeeping(
          'readyWakeUps',
          'unlinks the callback before calling it, so it can link itself again from inside',
          function* () {
            const { primitive, holder } = yield* heldByOne();
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

        itKeeping('readyWakeUps', 'unlink cancels a pending callback', function* () {
          const { primitive, holder } = yield* heldByOne();
          const calls: string[] = [];
          const cancelled = () => calls.push('cancelled');
          primitive.rawlink!(cancelled);
          primitive.rawlink!(() => calls.push('kept'));
          primitive.unlink!(cancelled);
          holder.release();
          expect(calls).toEqual(['kept']);
        });

        itKeeping('readyWakeUps', 'unlink of a callback that is not linked does nothing', function* () {
          const { primitive, holder } = yield* heldByOne();
          const calls: string[] = [];
          primitive.rawlink!(() => calls.push('linked'));
          primitive.unlink!(() => calls.push('never linked'));
          holder.release();
          expect(calls).toEqual(['linked']);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        });

        itKeeping('readyWakeUps', 'lets queued requests come first', function* () {
          const { primitive, holder } = yield* heldByOne();
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

    describe('operators (rules 8 and 18)', () => {
      /** The primitive as the operators take it; an RLock is gated by `reentrant` instead. */
      function poolOf(primitive: ConformanceAdapter): PermitPool {
        if (primitive.pool === undefined) pending(`${name} is not a PermitPool: reentrant() gates it`);
        return primitive.pool!;
      }

      for (const [end, source] of [
        ['complete', of('a')],
        ['error', throwError(() => new Error('source failed'))],
      ] as const) {
        spec(
          `withPermit gives the permit back before it forwards ${end}: a request made then is granted`,
          function* () {
            const primitive = make(1);
            const gated = (source as Observable<string>).pipe(withPermit(poolOf(primitive)));
            let answer: unknown[] = [];
            const forwarded = () => (answer = record(primitive.caller().acquire({ blocking: false })).events);
            gated.subscribe({ complete: forwarded, error: forwarded });
            yield* settle(2);
            expect(answer).toEqual([true, 'complete']);
            expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          },
        );
      }

      spec('withPermit gives the permit back when its subscriber unsubscribes', function* () {
        const primitive = make(1);
        const running = NEVER.pipe(withPermit(poolOf(primitive))).subscribe();
        const log: unknown[] = [];
        enqueue(primitive, 1, log);
        yield* settle();
        expect([log, primitive.waiting()]).toEqual([[], 1]);
        running.unsubscribe();
        yield* settle();
        expect(log).toEqual([0]);
      });

      spec(
        'mergeMapWithPermit queues one request per value in the FIFO shared with every other request',
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const log: unknown[] = [];
          const inners = [new Subject<never>(), new Subject<never>(), new Subject<never>()];
          of(0, 1, 2)
            .pipe(
              mergeMapWithPermit(poolOf(primitive), (value) => {
                log.push(`inner ${value}`);
                return inners[value];
              }),
            )
            .subscribe({ complete: () => log.push('complete') });
          const { callers } = enqueue(primitive, 1, log); // behind the three values
          yield* settle();
          expect([log, primitive.waiting()]).toEqual([[], 4]);
          holder.release();
          yield* settle();
          expect(log).toEqual(['inner 0']);
          inners[0].complete();
          yield* settle();
          expect(log).toEqual(['inner 0', 'inner 1']);
          inners[1].complete();
          yield* settle();
          expect(log).toEqual(['inner 0', 'inner 1', 'inner 2']);
          inners[2].complete(); // its permit goes to the request queued behind the values
          yield* settle();
          expect([...log].sort()).toEqual([0, 'complete', 'inner 0', 'inner 1', 'inner 2']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
          callers[0].release();
          yield* settle();
          expect(primitive.value()).toBe(1);
        },
      );

      spec('mergeMapWithPermit withdraws every queued value when unsubscribed', function* () {
        const { primitive, holder } = yield* heldByOne();
        const log: unknown[] = [];
        const merged = of(0, 1, 2)
          .pipe(mergeMapWithPermit(poolOf(primitive), (value) => (log.push(`inner ${value}`), NEVER)))
          .subscribe();
        enqueue(primitive, 1, log);
        yield* settle();
        expect(primitive.waiting()).toBe(4);
        merged.unsubscribe();
        yield* settle();
        expect(primitive.waiting()).toBe(1);
        holder.release();
        yield* settle();
        expect(log).toEqual([0]);
      });
    });

    describe('faults stay local', () => {
      spec(
        'an acquire observer that throws on true keeps its permit; counts and the queue stay right',
        function* () {
          const { primitive, holder } = yield* heldByOne();
          const boom = new Error('observer failed');
          const log: unknown[] = [];
          const thrower = primitive.caller();
          const errors = yield* capturing(function* () {
            thrower.acquire().subscribe(() => {
              log.push('thrower');
              throw boom;
            });
            enqueue(primitive, 1, log);
            holder.release();
            yield* settle();
          });
          expect(errors).toEqual([boom]);
          expect(log).toEqual(['thrower']);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 1]);
          thrower.release();
          yield* settle();
          expect(log).toEqual(['thrower', 0]);
          expect([primitive.value(), primitive.waiting()]).toEqual([0, 0]);
        },
      );

      spec(
        'a permit-observable subscriber that throws does not stop the others or corrupt counts',
        function* () {
          const primitive = make(1);
          const boom = new Error('subscriber failed');
          const seen: number[] = [];
          const caller = primitive.caller();
          const errors = yield* capturing(function* () {
            primitive.primitive.subscribe((value) => {
              if (value === 0) throw boom;
            });
            primitive.primitive.subscribe((value) => seen.push(value));
            expect(yield* take(caller)).toBe(true);
            caller.release();
            yield* settle();
          });
          expect(errors).toEqual([boom]);
          expect(seen).toEqual([1, 0, 1]);
          expect([primitive.value(), primitive.waiting()]).toEqual([1, 0]);
        },
      );

      if (hasRawlink) {
        itKeeping(
          'readyWakeUps',
          'a rawlink callback that throws is reported; the other callbacks still run and counts stay right',
          async () => {
            const { primitive, holder } = now(heldByOne());
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
            const { primitive, holder } = now(heldByOne());
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
export function describeNeverBlocksConformance({ name, factory, keeps }: ConformanceBackend): void {
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

/** What a spec body yields: a Promise to wait for (real time only); `yield*` returns `T`. */
type Steps<T = void> = Generator<Promise<unknown>, T, unknown>;

/** A spec body: a plain function, or a generator of steps. */
type Body = () => void | Promise<void> | Steps;

/** Runs steps that wait for nothing (virtual time) to their end, in the call; returns their result. */
function now<T>(steps: Steps<T>): T {
  const step = steps.next();
  if (!step.done) throw new Error('a step waited in a spec that runs in virtual time');
  return step.value;
}

function isSteps(value: unknown): value is Steps {
  return typeof (value as Steps | undefined)?.next === 'function';
}

/**
 * Runs a spec body: a generator that yields nothing runs to its end in the call (virtual time);
 * from its first yielded Promise on, each Promise is awaited and its value handed back.
 */
function drive(result: void | Promise<void> | Steps): void | Promise<void> {
  if (!isSteps(result)) return result;
  const steps = result;
  const first = steps.next();
  if (first.done) return;
  return (async () => {
    let step: IteratorResult<Promise<unknown>, void> = first;
    while (!step.done) {
      let answer: unknown;
      try {
        answer = await step.value;
      } catch (error) {
        step = steps.throw(error);
        continue;
      }
      step = steps.next(answer);
    }
  })();
}

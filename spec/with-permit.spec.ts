import {
  EMPTY,
  NEVER,
  Observable,
  Subject,
  VirtualTimeScheduler,
  defer,
  from,
  mergeMap,
  of,
  range,
  retry,
  take,
  throwError,
  type ObservableInput,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitTimeoutError,
  RLock,
  Semaphore,
  withPermit,
  type PermitOptions,
  type PermitPool,
} from '../src/index.js';
import {
  Fault,
  advanceScheduler,
  bystanders,
  carries,
  collect,
  createTestScheduler,
  heldByTest,
  nextTask,
  orderChecker,
  quietly,
  reportedDuring,
  semaphoreKinds,
  throwingScheduler,
  throwingTeardown,
  unhandledErrorsOfEachSpec,
} from './helpers/index.js';
import { CLEAN, LeakWorkload } from './model/leak-workload.js';

// withPermit: API, bad input, a request a plain Semaphore can never grant, the permit lifetime,
// faults that stay local, 10^6 streams and no leaks (SPEC §1, rules 4, 5, 6, 8, 17). Frame-exact
// timing is marble-tests/with-permit.marble.spec.ts.

describe('withPermit', () => {
  describe('API', () => {
    it('returns an operator function without touching the semaphore', () => {
      const semaphore = new Semaphore(1);
      const operator = withPermit(semaphore);
      expect(typeof operator).toBe('function');
      const gated = of(1).pipe(operator);
      expect(gated instanceof Observable).toBe(true);
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('is cold: each subscription is one request, granted at its own subscribe', () => {
      const semaphore = new Semaphore(1);
      let subscriptions = 0;
      const source = new Observable<number>(() => {
        subscriptions++;
      });
      const gated = source.pipe(withPermit(semaphore));
      gated.subscribe();
      expect([subscriptions, semaphore.value, semaphore.waiting]).toEqual([1, 0, 0]);
      gated.subscribe();
      expect([subscriptions, semaphore.value, semaphore.waiting]).toEqual([1, 0, 1]);
    });

    it('accepts a BoundedSemaphore and a DummySemaphore', () => {
      const bounded = new BoundedSemaphore(2);
      expect(collect(of('a', 'b').pipe(withPermit(bounded, { permits: 2 }))).log).toEqual({
        values: ['a', 'b'],
        error: undefined,
        completed: true,
      });
      expect(bounded.value).toBe(2);
      expect(collect(of('c').pipe(withPermit(new DummySemaphore()))).log).toEqual({
        values: ['c'],
        error: undefined,
        completed: true,
      });
    });

    it('subscribes the source synchronously, in the subscribe call, when a permit is free', () => {
      const semaphore = new Semaphore(1);
      const { log } = collect(of(1, 2, 3).pipe(withPermit(semaphore)));
      expect(log).toEqual({ values: [1, 2, 3], error: undefined, completed: true });
      expect(semaphore.value).toBe(1);
    });

    it('subscribes synchronously also when subscribed from inside another gated stream', () => {
      const semaphore = new Semaphore(2);
      const order: string[] = [];
      of('outer')
        .pipe(withPermit(semaphore))
        .subscribe(() => {
          order.push('outer start');
          of('inner')
            .pipe(withPermit(semaphore))
            .subscribe((value) => order.push(value));
          order.push('outer end');
        });
      expect(order).toEqual(['outer start', 'inner', 'outer end']);
      expect(semaphore.value).toBe(2);
    });

    it('subscribes synchronously when subscribed from a stream granted by a release, if a permit is still free', () => {
      const semaphore = new Semaphore(3);
      semaphore.tryAcquire(3);
      const order: string[] = [];
      of('A')
        .pipe(withPermit(semaphore))
        .subscribe(() => {
          order.push('A start');
          of('B')
            .pipe(withPermit(semaphore))
            .subscribe((value) => order.push(value));
          order.push('A end');
        });
      expect(semaphore.release(2)).toBe(2);
      expect(order).toEqual(['A start', 'B', 'A end']);
    });

    it('lets a retry after an error take the permit it just gave back', () => {
      const semaphore = new BoundedSemaphore(1);
      let attempts = 0;
      const flaky = new Observable<string>((subscriber) => {
        attempts++;
        expect(semaphore.value).withContext(`value during attempt ${attempts}`).toBe(0);
        if (attempts < 3) subscriber.error(new Error(`attempt ${attempts} failed`));
        else {
          subscriber.next('done');
          subscriber.complete();
        }
      });
      const { log } = collect(flaky.pipe(withPermit(semaphore), retry(2)));
      expect(log).toEqual({ values: ['done'], error: undefined, completed: true });
      expect(attempts).toBe(3);
      expect(semaphore.value).toBe(1);
    });

    it('holds `permits` permits for the life of the stream', () => {
      const semaphore = new Semaphore(5);
      const source = new Subject<number>();
      const subscription = source.pipe(withPermit(semaphore, { permits: 3 })).subscribe();
      expect(semaphore.value).toBe(2);
      subscription.unsubscribe();
      expect(semaphore.value).toBe(5);
    });

    it('waits for an over-release when it asks for more permits than a Semaphore started with', () => {
      const semaphore = new Semaphore(1);
      const { log } = collect(of('x').pipe(withPermit(semaphore, { permits: 2 })));
      expect(semaphore.waiting).toBe(1);
      expect(log.values).toEqual([]);
      semaphore.release();
      expect(log).toEqual({ values: ['x'], error: undefined, completed: true });
      expect(semaphore.value).toBe(2);
    });

    it('waits for ever with timeout null or Infinity: no timer is scheduled', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0);
      const a = collect(of('a').pipe(withPermit(semaphore, { timeout: null, scheduler })));
      const b = collect(of('b').pipe(withPermit(semaphore, { timeout: Infinity, scheduler })));
      expect(scheduler.actions.length).toBe(0);
      scheduler.flush();
      expect(semaphore.waiting).toBe(2);
      semaphore.release(2);
      expect([a.log.values, b.log.values]).toEqual([['a'], ['b']]);
    });
  });

  describe('bad input, thrown synchronously by withPermit itself', () => {
    const notOurs: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['null', null],
      ['a number', 1],
      ['a plain object', {}],
      [
        'a look-alike object',
        { value: 1, waiting: 0, acquire: () => of(true), release: () => 1, tryAcquire: () => true },
      ],
      ['a plain Observable', of(1)],
      ['an object made from Semaphore.prototype', Object.create(Semaphore.prototype)],
    ];
    for (const [label, semaphore] of notOurs) {
      it(`throws a TypeError naming the semaphore for ${label}`, () => {
        expect(() => withPermit(semaphore as Semaphore)).toThrowError(TypeError, /withPermit: semaphore/);
      });
    }

    for (const permits of [0, -1, 1.5, NaN, Infinity]) {
      it(`throws a RangeError naming options.permits for permits ${permits}`, () => {
        expect(() => withPermit(new Semaphore(1), { permits })).toThrowError(
          RangeError,
          /withPermit: options\.permits/,
        );
        expect(() => withPermit(new DummySemaphore(), { permits })).toThrowError(
          RangeError,
          /withPermit: options\.permits/,
        );
      });
    }

    it("throws a RangeError for permits above a BoundedSemaphore's bound", () => {
      expect(() => withPermit(new BoundedSemaphore(2), { permits: 3 })).toThrowError(
        RangeError,
        /withPermit: options\.permits is 3, more than the bound of 2/,
      );
      expect(() => withPermit(new BoundedSemaphore(2), { permits: 2 })).not.toThrow();
    });

    it('throws a RangeError naming options.timeout for a NaN timeout', () => {
      expect(() => withPermit(new Semaphore(1), { timeout: NaN })).toThrowError(
        RangeError,
        /withPermit: options\.timeout must not be NaN/,
      );
    });

    for (const fallback of [1, 'of(1)', {}, null]) {
      it(`throws a TypeError naming options.with when it is ${JSON.stringify(fallback)}`, () => {
        const options = { with: fallback } as unknown as PermitOptions<number>;
        expect(() => withPermit(new Semaphore(1), options)).toThrowError(
          TypeError,
          /withPermit: options\.with/,
        );
      });
    }

    it('throws a TypeError naming options.scheduler when it is not a scheduler', () => {
      const options = { scheduler: {} } as unknown as PermitOptions<number>;
      expect(() => withPermit(new Semaphore(1), options)).toThrowError(
        TypeError,
        /withPermit: options\.scheduler/,
      );
    });

    it('leaves the semaphore untouched when it throws', () => {
      const semaphore = new BoundedSemaphore(1);
      expect(() => withPermit(semaphore, { permits: 0 })).toThrowError(RangeError);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('names what it accepts and what it got when given something else', () => {
      expect(() => withPermit({} as PermitPool)).toThrowError(
        TypeError,
        'withPermit: semaphore must be a PermitPool (a Semaphore, BoundedSemaphore or DummySemaphore), got an object',
      );
    });

    it('points to reentrant when given an RLock', () => {
      expect(() => withPermit(new RLock() as unknown as PermitPool)).toThrowError(
        TypeError,
        `withPermit: semaphore is an RLock, which has owners: gate a stream by it with reentrant(lock)`,
      );
    });

    it('throws a TypeError that names an unknown option key and the known ones', () => {
      const semaphore = new Semaphore(1);
      expect(() => withPermit(semaphore, { timout: 100 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`withPermit: unknown option "`) &&
          error.message.endsWith(`; the options are permits, priority, timeout, scheduler, with`),
      );
    });

    it("throws a TypeError that names maxWaiting, boundedPermit's option, as unknown, and the known ones", () => {
      const semaphore = new Semaphore(1);
      expect(() => withPermit(semaphore, { maxWaiting: 1 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`withPermit: unknown option "`) &&
          error.message.endsWith(`; the options are permits, priority, timeout, scheduler, with`),
      );
    });

    it('throws a TypeError for options that are an array, which is not an options object', () => {
      const semaphore = new Semaphore(1);
      expect(() => withPermit(semaphore, [] as never)).toThrowError(
        TypeError,
        'withPermit: options must be an object, got an array',
      );
    });
  });

  describe('a request that a plain Semaphore can never grant at its current size', () => {
    // permits: 3 on new Semaphore(2) is not an argument error (a Semaphore may be released above its
    // initial value), but it waits, and as the head of the queue it blocks every smaller request.
    it('waits, shows in `waiting`, and blocks smaller requests behind it (strict head-of-line)', () => {
      const semaphore = new Semaphore(2);
      const log: string[] = [];
      of('big')
        .pipe(withPermit(semaphore, { permits: 3 }))
        .subscribe((v) => log.push(v));
      of('small')
        .pipe(withPermit(semaphore))
        .subscribe((v) => log.push(v));
      expect(log).toEqual([]);
      expect(semaphore.waiting).toBe(2);
      expect(semaphore.value).toBe(2);
      expect(semaphore.tryAcquire()).toBeFalse();
      semaphore.release(); // an over-release makes it grantable: then both run, in order
      expect(log).toEqual(['big', 'small']);
      expect([semaphore.value, semaphore.waiting]).toEqual([3, 0]);
    });

    it('with a timeout, fails at its deadline and lets the requests behind it run', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(2, { scheduler });
      const log: string[] = [];
      of('big')
        .pipe(withPermit(semaphore, { permits: 3, timeout: 50 }))
        .subscribe({ next: (v) => log.push(v), error: (e: Error) => log.push(e.name) });
      of('small')
        .pipe(withPermit(semaphore))
        .subscribe((v) => log.push(v));
      scheduler.flush();
      // The withdrawal re-examines the queue at once, so the small request starts first.
      expect(log).toEqual(['small', 'PermitTimeoutError']);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('is a RangeError at once on a BoundedSemaphore', () => {
      expect(() => withPermit(new BoundedSemaphore(2), { permits: 3 })).toThrowError(
        RangeError,
        'withPermit: options.permits is 3, more than the bound of 2: it could never be granted',
      );
    });
  });

  describe('permits given back exactly once', () => {
    it('when the source completes', () => {
      const semaphore = new BoundedSemaphore(1);
      collect(of(1).pipe(withPermit(semaphore)));
      expect(semaphore.value).toBe(1);
    });

    it('when the source errors synchronously', () => {
      const semaphore = new BoundedSemaphore(1);
      const { log } = collect(throwError(() => 'boom').pipe(withPermit(semaphore)));
      expect(log.error).toBe('boom');
      expect(semaphore.value).toBe(1);
    });

    it('when subscribing the source throws', () => {
      const semaphore = new BoundedSemaphore(1);
      const failing = new Observable<number>(() => {
        throw new Error('subscribe failed');
      });
      const { log } = collect(failing.pipe(withPermit(semaphore)));
      expect(log.error).toEqual(new Error('subscribe failed'));
      expect(semaphore.value).toBe(1);
    });

    it('when the subscriber unsubscribes, and not again after a later complete', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const subscription = source.pipe(withPermit(semaphore)).subscribe();
      expect(semaphore.value).toBe(0);
      subscription.unsubscribe();
      expect(semaphore.value).toBe(1);
      source.complete();
      subscription.unsubscribe();
      expect(semaphore.value).toBe(1);
    });

    it('when the source completes, and not again when the subscriber unsubscribes afterwards', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const subscription = source.pipe(withPermit(semaphore)).subscribe();
      source.complete();
      expect(semaphore.value).toBe(1);
      subscription.unsubscribe();
      expect(semaphore.value).toBe(1);
    });

    it('when a misbehaving source errors after completing', () => {
      const semaphore = new Semaphore(1);
      const misbehaving = new Observable<number>((subscriber) => {
        subscriber.complete();
        subscriber.error('late');
        subscriber.complete();
      });
      const { log } = collect(misbehaving.pipe(withPermit(semaphore)));
      expect(log.completed).toBe(true);
      expect(log.error).toBeUndefined();
      expect(semaphore.value).toBe(1);
    });

    it('when a downstream take(1) stops a synchronous endless source', () => {
      const semaphore = new BoundedSemaphore(1);
      let emitted = 0;
      const endless = new Observable<number>((subscriber) => {
        let i = 0;
        while (!subscriber.closed) {
          emitted++;
          subscriber.next(i++);
        }
      });
      const { log } = collect(endless.pipe(withPermit(semaphore), take(1)));
      expect(log).toEqual({ values: [0], error: undefined, completed: true });
      expect(emitted).toBe(1);
      expect(semaphore.value).toBe(1);
    });

    it('when a queued stream is withdrawn: it consumes nothing and never subscribes its source', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      let subscribed = false;
      const source = new Observable<number>(() => {
        subscribed = true;
      });
      const { subscription } = collect(source.pipe(withPermit(semaphore)));
      expect(semaphore.waiting).toBe(1);
      subscription.unsubscribe();
      expect(semaphore.waiting).toBe(0);
      expect(semaphore.release()).toBe(1);
      expect(subscribed).toBe(false);
    });
  });

  describe('withdrawal racing a grant (rule 6)', () => {
    it('consumes nothing when a stream is unsubscribed after its grant was decided but before it ran', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      let bSubscribed = false;
      const b = new Observable<string>(() => {
        bSubscribed = true;
      });
      const handles: { b?: Subscription } = {};
      // A's complete runs inside the grant loop, after A's release already picked B as the next
      // holder: unsubscribing B there must hand the permit on (to C), not lose it.
      of('a')
        .pipe(withPermit(semaphore))
        .subscribe({ complete: () => handles.b!.unsubscribe() });
      handles.b = b.pipe(withPermit(semaphore)).subscribe();
      const c = collect(of('c').pipe(withPermit(semaphore)));
      expect(semaphore.waiting).toBe(3);
      expect(semaphore.release()).toBe(1);
      expect(bSubscribed).toBe(false);
      expect(c.log).toEqual({ values: ['c'], error: undefined, completed: true });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('consumes nothing when a timeout fires after the grant was decided but before it ran', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      let bSubscribed = false;
      const b = new Observable<string>(() => {
        bSubscribed = true;
      });
      of('a')
        .pipe(withPermit(semaphore))
        .subscribe({ complete: () => scheduler.flush() });
      const timedOut = collect(b.pipe(withPermit(semaphore, { timeout: 10, scheduler })));
      expect(semaphore.release()).toBe(1);
      expect(bSubscribed).toBe(false);
      expect(timedOut.log.error instanceof PermitTimeoutError).toBe(true);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });
  });

  describe('faults stay local', () => {
    describe('a throwing observer or fallback', () => {
      const reported = unhandledErrorsOfEachSpec();

      it('gives the permit back when a downstream next handler throws', async () => {
        const semaphore = new Semaphore(1);
        of(1, 2)
          .pipe(withPermit(semaphore))
          .subscribe(() => {
            throw new Error('observer failed');
          });
        expect(semaphore.value).toBe(1);
        await nextTask();
        expect(reported).toEqual([new Error('observer failed'), new Error('observer failed')]);
      });

      it('gives the permit back when a downstream complete handler throws', async () => {
        const semaphore = new Semaphore(1);
        of(1)
          .pipe(withPermit(semaphore))
          .subscribe({
            complete: () => {
              throw new Error('complete failed');
            },
          });
        expect(semaphore.value).toBe(1);
        await nextTask();
        expect(reported).toEqual([new Error('complete failed')]);
      });

      it('errors with what a throwing `with` fallback threw, and consumes nothing', () => {
        const semaphore = new Semaphore(0);
        const { log } = collect(
          of(1).pipe(
            withPermit(semaphore, {
              timeout: 0,
              with: () => {
                throw new Error('fallback failed');
              },
            }),
          ),
        );
        expect(log.error).toEqual(new Error('fallback failed'));
        expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
      });

      it('hands the permit on to the next waiter when a stream granted by a release throws in its observer', async () => {
        const semaphore = new Semaphore(1);
        semaphore.tryAcquire();
        const order: string[] = [];
        of('first')
          .pipe(withPermit(semaphore))
          .subscribe(() => {
            throw new Error('first observer failed');
          });
        of('second')
          .pipe(withPermit(semaphore))
          .subscribe((value) => order.push(value));
        expect(semaphore.release()).toBe(1);
        expect(order).toEqual(['second']);
        expect(semaphore.waiting).toBe(0);
        await nextTask();
        expect(reported).toEqual([new Error('first observer failed')]);
      });
    });

    // Regression: a gated source whose teardown throws (SPEC rules 8, 17). PermitHolder tore the
    // source down first and gave the permit back after: the UnsubscriptionError thrown by the
    // teardown skipped both the release and the forwarding of complete/error. The permit stayed held
    // by a finished stream (value 0 for ever) and the subscriber was never told.
    describe('a gated source whose teardown throws', () => {
      it('on complete: the permit comes back and the subscriber completes', async () => {
        const semaphore = new Semaphore(1);
        const { handle, observable } = throwingTeardown();
        let completed = false;
        await quietly(() => {
          observable.pipe(withPermit(semaphore)).subscribe({ complete: () => (completed = true) });
          try {
            handle.source!.complete();
          } catch {
            // plain RxJS rethrows a failed teardown to the producer as an UnsubscriptionError
          }
        });
        expect(semaphore.value).toBe(1); // was 0: the permit was held by nobody
        expect(completed).toBe(true); // was false
      });

      it('on error: the permit comes back and the error reaches the subscriber', async () => {
        const semaphore = new Semaphore(1);
        const { handle, observable } = throwingTeardown();
        const failure = new Error('source failed');
        let received: unknown = null;
        await quietly(() => {
          observable.pipe(withPermit(semaphore)).subscribe({ error: (error: unknown) => (received = error) });
          try {
            handle.source!.error(failure);
          } catch {
            // as above
          }
        });
        expect(semaphore.value).toBe(1); // was 0
        expect(received).toBe(failure); // was null
      });

      it('on unsubscribe: the permit comes back and the next request is granted', async () => {
        const semaphore = new Semaphore(1);
        const { observable } = throwingTeardown();
        let next = false;
        await quietly(() => {
          const subscription = observable.pipe(withPermit(semaphore)).subscribe();
          semaphore.acquire().subscribe(() => (next = true));
          try {
            subscription.unsubscribe();
          } catch {
            // as above
          }
        });
        expect(next).toBe(true); // was false: the queued request waited for ever
        expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]); // was [0, 1]
      });
    });

    // A timeout scheduler whose `schedule` throws (SPEC rule 17: nothing a user supplies may leave a
    // lost waiter or a permit held by nobody). `acquire()` and the gate queue the request first and
    // return its teardown only after scheduling the timer; when `schedule` throws, RxJS errors the
    // subscriber, but the teardown that would withdraw the request was never registered. The dead
    // request stays queued, and the next release grants it: the permit goes to a closed subscriber.
    describe('a timeout scheduler whose schedule() throws', () => {
      it('withPermit: the subscriber errors, the request is withdrawn, the source never starts', () => {
        const semaphore = new Semaphore(0);
        let received: unknown = null;
        let subscribed = false;
        new Observable<never>(() => {
          subscribed = true;
        })
          .pipe(withPermit(semaphore, { timeout: 10, scheduler: throwingScheduler }))
          .subscribe({ error: (error: unknown) => (received = error) });
        expect(received).toEqual(new Error('cannot schedule'));
        expect(semaphore.waiting).toBe(0); // was 1
        semaphore.release();
        expect(subscribed).toBe(false); // was true: started for nobody
        expect(semaphore.value).toBe(1); // was 0: the permit was held by nobody
      });
    });

    // Fault injection (issue #6): as in spec/semaphore.spec.ts ('faults stay local'), at every point
    // where the user code of a gated stream runs — a `with` fallback, a gated source at subscribe and
    // at teardown, the gated subscriber — on a semaphore of one permit held by the test, with two
    // `bystanders` queued behind the faulty stream.
    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        describe('gated sources and their subscribers (withPermit, boundedPermit)', () => {
          it('a source that throws at subscribe, granted at once: the error reaches its subscriber; the permit is back', () => {
            const fault = new Fault('source');
            const semaphore = create(1);
            let received: unknown;
            defer(() => {
              throw fault;
            })
              .pipe(withPermit(semaphore))
              .subscribe({ error: (error: unknown) => (received = error) });
            expect(received).toBe(fault);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a source that throws at subscribe, granted from the queue in a release loop: the others still run', () => {
            const fault = new Fault('source');
            const semaphore = heldByTest(create);
            let received: unknown;
            defer(() => {
              throw fault;
            })
              .pipe(withPermit(semaphore))
              .subscribe({ error: (error: unknown) => (received = error) });
            const others = bystanders(semaphore);
            expect(semaphore.release()).toBe(1);
            expect(received).toBe(fault);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a source that errors synchronously: the permit is handed on before the error reaches the subscriber', () => {
            const fault = new Fault('source');
            const semaphore = heldByTest(create);
            let atError: number[] = [];
            new Observable<never>((subscriber) => subscriber.error(fault))
              .pipe(withPermit(semaphore))
              .subscribe({ error: () => (atError = [semaphore.value, semaphore.waiting]) });
            const others = bystanders(semaphore);
            semaphore.release();
            expect(atError).toEqual([0, 1]); // already assigned to y (told after this error), z still queued
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          for (const how of ['complete', 'error', 'unsubscribe'] as const) {
            it(`a source whose teardown throws on ${how}: the permit comes back; the subscriber is told; the others run`, async () => {
              const fault = new Fault(`teardown on ${how}`);
              const semaphore = heldByTest(create);
              let source!: Subscriber<string>;
              const seen: string[] = [];
              let thrown: unknown = null;
              let others!: ReturnType<typeof bystanders>;
              let subscription!: Subscription;
              const reported = await reportedDuring(() => {
                subscription = new Observable<string>((subscriber) => {
                  source = subscriber;
                  return () => {
                    throw fault;
                  };
                })
                  .pipe(withPermit(semaphore))
                  .subscribe({
                    error: (error: unknown) => seen.push(`error ${(error as Error).message}`),
                    complete: () => seen.push('complete'),
                  });
                others = bystanders(semaphore);
                semaphore.release();
                expect([semaphore.value, semaphore.waiting]).toEqual([0, 2]);
                try {
                  if (how === 'complete') source.complete();
                  else if (how === 'error') source.error(new Fault('source error'));
                  else subscription.unsubscribe();
                } catch (error) {
                  thrown = error;
                }
              });
              // The fault goes where plain RxJS sends a throwing finalizer: to the caller, or the hook.
              expect(carries(thrown, fault) || reported.some((error) => carries(error, fault))).toBe(true);
              if (how === 'complete') expect(seen).toEqual(['complete']);
              if (how === 'error') expect(seen).toEqual(['error source error']);
              expect(others.log).toEqual(others.served);
              expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
            });
          }

          it('a downstream next that throws: reported; the stream goes on holding its permit until it completes', async () => {
            const fault = new Fault('downstream next');
            const semaphore = heldByTest(create);
            const source = new Subject<number>();
            let completed = false;
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              source.pipe(withPermit(semaphore)).subscribe({
                next: () => {
                  throw fault;
                },
                complete: () => (completed = true),
              });
              others = bystanders(semaphore);
              semaphore.release();
              source.next(1);
              expect([semaphore.value, semaphore.waiting]).toEqual([0, 2]);
              source.complete();
            });
            expect(reported).toEqual([fault]);
            expect(completed).toBe(true);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a downstream complete handler that throws: reported; the permit was back before it ran', async () => {
            const fault = new Fault('downstream complete');
            const semaphore = heldByTest(create);
            let valueSeen = -1;
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              of(1)
                .pipe(withPermit(semaphore))
                .subscribe({
                  complete: () => {
                    valueSeen = semaphore.value;
                    throw fault;
                  },
                });
              others = bystanders(semaphore);
              semaphore.release();
            });
            expect(reported).toEqual([fault]);
            expect(valueSeen).toBe(0); // handed straight to y, which was queued behind
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a gated source that completes synchronously inside a release loop, whose subscriber then throws', async () => {
            const semaphore = heldByTest(create);
            const faults = [0, 1, 2].map((index) => new Fault(`complete ${index}`));
            const order: number[] = [];
            const reported = await reportedDuring(() => {
              faults.forEach((fault, index) =>
                of(index)
                  .pipe(withPermit(semaphore))
                  .subscribe({
                    next: (value) => order.push(value),
                    complete: () => {
                      throw fault;
                    },
                  }),
              );
              const others = bystanders(semaphore);
              semaphore.release();
              expect(others.log).toEqual(others.served);
            });
            expect(order).toEqual([0, 1, 2]);
            expect(reported).toEqual(faults);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a `with` fallback that throws at the timeout: the error reaches the gated subscriber; the queue is intact', () => {
            const fault = new Fault('fallback');
            const scheduler = new VirtualTimeScheduler();
            const semaphore = heldByTest(create, scheduler);
            let received: unknown;
            let subscribed = false;
            new Observable<string>(() => {
              subscribed = true;
            })
              .pipe(
                withPermit(semaphore, {
                  timeout: 3,
                  with: (error) => {
                    expect(error).toBeInstanceOf(PermitTimeoutError);
                    throw fault;
                  },
                }),
              )
              .subscribe({ error: (error: unknown) => (received = error) });
            const others = bystanders(semaphore);
            advanceScheduler(scheduler, 3);
            expect(received).toBe(fault);
            expect([semaphore.value, semaphore.waiting, scheduler.actions.length]).toEqual([0, 2, 0]);
            semaphore.release();
            expect(subscribed).toBe(false);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a `with` fallback that returns no ObservableInput: a TypeError reaches the subscriber', () => {
            const scheduler = new VirtualTimeScheduler();
            const semaphore = heldByTest(create, scheduler);
            let received: unknown;
            of('x')
              .pipe(withPermit(semaphore, { timeout: 1, with: () => 42 as unknown as Observable<string> }))
              .subscribe({ error: (error: unknown) => (received = error) });
            advanceScheduler(scheduler, 1);
            expect(received).toBeInstanceOf(TypeError);
            semaphore.release();
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a fallback stream that errors: the error reaches the subscriber; no permit is involved', () => {
            const fault = new Fault('fallback stream');
            const scheduler = new VirtualTimeScheduler();
            const semaphore = heldByTest(create, scheduler);
            let received: unknown;
            of('x')
              .pipe(
                withPermit(semaphore, {
                  timeout: 1,
                  with: () => throwError((): unknown => fault) as Observable<string>,
                }),
              )
              .subscribe({ error: (error: unknown) => (received = error) });
            advanceScheduler(scheduler, 1);
            expect(received).toBe(fault);
            semaphore.release();
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        });
      });
    }
  });

  describe('PermitTimeoutError', () => {
    it('is an instanceof-able Error with name, primitive, timeout, permits and a message naming them', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new BoundedSemaphore(3);
      semaphore.tryAcquire(3);
      const { log } = collect(of(1).pipe(withPermit(semaphore, { timeout: 250, permits: 2, scheduler })));
      expect(log.error).toBeUndefined();
      scheduler.flush();
      const error = log.error as PermitTimeoutError;
      expect(error instanceof PermitTimeoutError).toBe(true);
      expect(error instanceof Error).toBe(true);
      expect(error.name).toBe('PermitTimeoutError');
      expect([error.primitive, error.timeout, error.permits]).toEqual(['BoundedSemaphore', 250, 2]);
      expect(error.message).toContain('BoundedSemaphore');
      expect(error.message).toContain('250');
      expect(error.message).toContain('2 permits');
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('is handed to the `with` fallback, whose stream replaces the gated one', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0);
      const fallbackErrors: unknown[] = [];
      const { log } = collect(
        of('gated').pipe(
          withPermit(semaphore, {
            timeout: 10,
            scheduler,
            with: (error): ObservableInput<string> => {
              fallbackErrors.push(error);
              return ['fallback', 'values'];
            },
          }),
        ),
      );
      scheduler.flush();
      expect(log).toEqual({ values: ['fallback', 'values'], error: undefined, completed: true });
      expect(fallbackErrors.length).toBe(1);
      expect(fallbackErrors[0] instanceof PermitTimeoutError).toBe(true);
      expect((fallbackErrors[0] as PermitTimeoutError).timeout).toBe(10);
    });

    it('accepts a Promise as the `with` fallback', async () => {
      const semaphore = new Semaphore(0);
      const values = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        of('gated')
          .pipe(withPermit(semaphore, { timeout: 0, with: () => Promise.resolve('from a promise') }))
          .subscribe({ next: (value) => seen.push(value), error: reject, complete: () => resolve(seen) });
      });
      expect(values).toEqual(['from a promise']);
    });
  });

  describe('DummySemaphore', () => {
    it('passes a synchronous stream through untouched, values, errors and all', () => {
      const dummy = new DummySemaphore();
      expect(collect(from([1, 2, 3]).pipe(withPermit(dummy, { timeout: 0 }))).log).toEqual({
        values: [1, 2, 3],
        error: undefined,
        completed: true,
      });
      expect(collect(throwError(() => 'boom').pipe(withPermit(dummy))).log).toEqual({
        values: [],
        error: 'boom',
        completed: false,
      });
      expect(collect(EMPTY.pipe(withPermit(dummy))).log).toEqual({
        values: [],
        error: undefined,
        completed: true,
      });
    });
  });

  // 10^6 gated streams through one semaphore: constant stack depth, FIFO order, every permit back
  // (SPEC rule 4).
  //
  // For comparison (not asserted): RxJS's own `mergeMap(project, 1)` overflows the stack at about 900
  // buffered synchronous inners, because each finished inner subscribes the next buffered one from
  // inside its own completion. (Measured with Node 20: hold the first inner open, buffer N `of(x)`
  // inners behind it, then complete it; past roughly 800 values start to go missing, the RangeError
  // being swallowed and reported out of band.) The gated variants below fold every such nested
  // release into one grant loop instead (rule 4).
  describe('stress', () => {
    const COUNT = 1_000_000;
    const STRESS_TIMEOUT = 120_000;

    it(
      'runs 10^6 synchronous gated inners of a mergeMap through a semaphore of 1 in order, without stack overflow',
      () => {
        const semaphore = new Semaphore(1);
        const { state, observer } = orderChecker();
        range(0, COUNT)
          .pipe(mergeMap((x) => of(x).pipe(withPermit(semaphore))))
          .subscribe(observer);
        expect(state.error).toBeUndefined();
        expect(state.completed).toBe(true);
        expect(state.received).toBe(COUNT);
        expect(state.firstOutOfOrder).toBe(-1);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      },
      STRESS_TIMEOUT,
    );

    it(
      'grants 10^6 separately subscribed withPermit streams queued behind a held permit in FIFO order on one release',
      () => {
        const semaphore = new Semaphore(1);
        expect(semaphore.tryAcquire()).toBe(true);
        const { state, observer } = orderChecker();
        let completed = 0;
        const countingObserver = {
          next: observer.next,
          error: observer.error,
          complete: () => completed++,
        };
        for (let i = 0; i < COUNT; i++) of(i).pipe(withPermit(semaphore)).subscribe(countingObserver);
        expect(state.received).toBe(0);
        expect(semaphore.waiting).toBe(COUNT);
        expect(semaphore.release()).toBe(1);
        expect(state.error).toBeUndefined();
        expect(state.received).toBe(COUNT);
        expect(completed).toBe(COUNT);
        expect(state.firstOutOfOrder).toBe(-1);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      },
      STRESS_TIMEOUT,
    );
  });

  // Leaks (issue #6): after 10^5 gated streams finish — completed, errored, timed out (with and
  // without a fallback), rejected, cut off while waiting or running, on a Semaphore, an RLock and
  // through mergeMapWithPermit — no waiter remains queued, no permit is held, no gated source is still
  // subscribed and no timer remains scheduled: the TestScheduler is idle. The heap side of the same
  // workload is bench/leaks.js (Node, --expose-gc). Runs in Node and in headless Chromium.
  // The workload is mostly withPermit streams, with boundedPermit, mergeMapWithPermit and reentrant
  // ones among them: spec/model/leak-workload.ts.
  describe('nothing leaks', () => {
    const STREAMS = 100_000;
    const BATCH = 1_000;
    const TIMEOUT_MS = 120_000;

    it(
      `${STREAMS} gated streams that finish every way leave no waiter, no held permit, no live source, no timer`,
      () => {
        const scheduler = createTestScheduler();
        scheduler.maxFrames = Infinity; // the frames run on past TestScheduler's default horizon
        const capacity = 4;
        const workload = new LeakWorkload(
          new Semaphore(capacity, { scheduler }),
          capacity,
          new RLock({ scheduler }),
          scheduler,
        );
        const residues: string[] = [];
        for (let started = 0; started < STREAMS; started += BATCH) {
          workload.batch(BATCH);
          const residue = workload.residue();
          if (JSON.stringify(residue) !== JSON.stringify(CLEAN) && residues.length < 5) {
            residues.push(`after ${started + BATCH} streams: ${JSON.stringify(residue)}`);
          }
        }
        expect(residues).toEqual([]);
        expect(workload.residue()).toEqual(CLEAN);
        expect(scheduler.actions.length).toBe(0);
        expect([workload.semaphore.value, workload.semaphore.waiting]).toEqual([capacity, 0]);
        expect([workload.lock.owner, workload.lock.count, workload.lock.waiting]).toEqual([null, 0, 0]);
        const { streams, ...outcomes } = workload.outcomes;
        expect(streams).toBe(STREAMS);
        // Every way of finishing happened, again and again.
        for (const [how, count] of Object.entries(outcomes)) {
          expect(`${how}: ${count >= 10 ? 'many' : count}`).toBe(`${how}: many`);
        }
      },
      TIMEOUT_MS,
    );
  });
  // SPEC §5: withPermit takes `priority` (rule 19); its grants, refusals, timeouts and withdrawals
  // count in the semaphore's stats (rule 21). Frames are in marble-tests/with-permit.marble.spec.ts.
  describe('priority (rule 19)', () => {
    it('a gated stream of higher priority is subscribed first when a permit comes back; FIFO within a priority', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const order: string[] = [];
      const gated = (label: string, options?: PermitOptions<never>) =>
        defer(() => {
          order.push(label);
          return EMPTY;
        }).pipe(withPermit(semaphore, options));
      gated('a').subscribe();
      gated('b', { priority: 1 }).subscribe();
      gated('c', { priority: -1 }).subscribe();
      gated('d', { priority: 1 }).subscribe();
      gated('e').subscribe();
      expect([order, semaphore.waiting]).toEqual([[], 5]);
      semaphore.release();
      expect(order).toEqual(['b', 'd', 'a', 'e', 'c']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('subscribes the source in the subscribe call when its permits are free and only lower priorities wait (rule 5)', () => {
      const semaphore = new Semaphore(2);
      const log: string[] = [];
      NEVER.pipe(withPermit(semaphore, { permits: 3 })).subscribe();
      const { log: urgent } = collect(of('urgent').pipe(withPermit(semaphore, { priority: 1 })));
      const { log: equal } = collect(of('equal').pipe(withPermit(semaphore)));
      log.push(...urgent.values, ...equal.values);
      expect(log).toEqual(['urgent']);
      expect([urgent.completed, equal.completed, semaphore.value, semaphore.waiting]).toEqual([
        true,
        false,
        2,
        2,
      ]);
    });

    it('timeout <= 0: runs at once when free and nobody of equal or higher priority waits, else PermitTimeoutError at once (counted as rejected)', () => {
      const semaphore = new Semaphore(1);
      NEVER.pipe(withPermit(semaphore, { permits: 2, priority: 1 })).subscribe();
      const equal = collect(of(1).pipe(withPermit(semaphore, { timeout: 0, priority: 1 })));
      const higher = collect(of(2).pipe(withPermit(semaphore, { timeout: 0, priority: 2 })));
      expect(equal.log.error).toEqual(jasmine.any(PermitTimeoutError));
      expect(higher.log).toEqual({ values: [2], error: undefined, completed: true });
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ granted: 1, rejected: 1, timedOut: 0, waiting: 1, peakWaiting: 1 }),
      );
    });

    it('the priority is fixed when the operator is made: every subscription of it uses it', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const order: string[] = [];
      const urgent = defer(() => {
        order.push('urgent');
        return EMPTY;
      }).pipe(withPermit(semaphore, { priority: 3 }));
      of('plain')
        .pipe(withPermit(semaphore))
        .subscribe((value) => order.push(value));
      urgent.subscribe();
      urgent.subscribe();
      semaphore.release();
      expect(order).toEqual(['urgent', 'urgent', 'plain']);
    });

    describe('bad input', () => {
      for (const priority of [0.5, -1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
        it(`priority ${priority}: a RangeError naming options.priority, thrown by withPermit itself`, () => {
          const semaphore = new Semaphore(1);
          expect(() => withPermit(semaphore, { priority })).toThrowError(
            RangeError,
            /withPermit: options\.priority must be a safe integer/,
          );
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });
      }
      for (const priority of ['1', true, null, {}, [1], 1n]) {
        it(`priority ${String(priority)} (${typeof priority}): a TypeError naming options.priority`, () => {
          expect(() => withPermit(new Semaphore(1), { priority } as never)).toThrowError(
            TypeError,
            /withPermit: options\.priority must be a number/,
          );
        });
      }

      it('an unknown option key names the options, priority among them', () => {
        expect(() => withPermit(new Semaphore(1), { prio: 1 } as never)).toThrowError(
          TypeError,
          /withPermit: unknown option "prio"; the options are permits, priority, timeout, scheduler, with/,
        );
      });
    });
  });

  describe('stats (rule 21)', () => {
    it('one grant per subscription, at once with a wait of 0; a re-subscription (repeat, retry) is another request', () => {
      const semaphore = new Semaphore(1);
      let attempts = 0;
      const flaky = defer(() => (attempts++ === 0 ? throwError(() => new Fault('first try')) : of('ok')));
      expect(collect(flaky.pipe(withPermit(semaphore), retry(1))).log.values).toEqual(['ok']);
      expect(collect(range(0, 3).pipe(withPermit(semaphore))).log.values).toEqual([0, 1, 2]);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ value: 1, granted: 3, waitMs: { count: 3, total: 0, max: 0 } }),
      );
    });

    it('a stream unsubscribed while queued is withdrawn; one that timed out is timedOut only; both consume nothing', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler });
      const holder = NEVER.pipe(withPermit(semaphore)).subscribe();
      NEVER.pipe(withPermit(semaphore)).subscribe().unsubscribe();
      const timed = collect(NEVER.pipe(withPermit(semaphore, { timeout: 3 })));
      advanceScheduler(scheduler, 3);
      expect(timed.log.error).toEqual(jasmine.any(PermitTimeoutError));
      holder.unsubscribe();
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          value: 1,
          waiting: 0,
          granted: 1,
          withdrawn: 1,
          timedOut: 1,
          rejected: 0,
          peakWaiting: 1,
        }),
      );
    });
  });
});

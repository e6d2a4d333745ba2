import {
  EMPTY,
  Observable,
  Subject,
  VirtualTimeScheduler,
  config,
  from,
  of,
  retry,
  take,
  throwError,
  type ObservableInput,
  type Subscription,
} from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitTimeoutError,
  Semaphore,
  withPermit,
  type PermitOptions,
} from '../src/index.js';
import { collect } from './helpers/collect.js';

// API, bad input and the permit lifetime of withPermit (SPEC §1, rules 5, 8, 17).

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
    let reported: unknown[];
    let previous: typeof config.onUnhandledError;

    beforeEach(() => {
      reported = [];
      previous = config.onUnhandledError;
      config.onUnhandledError = (error) => reported.push(error);
    });

    afterEach(() => {
      config.onUnhandledError = previous;
    });

    /** RxJS reports errors thrown by observers on a later task. */
    const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

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
});

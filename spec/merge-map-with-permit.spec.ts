import {
  Observable,
  Subject,
  VirtualTimeScheduler,
  config,
  from,
  mergeMap,
  of,
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
  mergeMapWithPermit,
  withPermit,
  type PermitOptions,
} from '../src/index.js';
import { collect } from './helpers/collect.js';

// API, bad input and permit bookkeeping of mergeMapWithPermit (SPEC §1, rules 8, 17, 18).

describe('mergeMapWithPermit', () => {
  describe('API', () => {
    it('returns an operator function without touching the semaphore', () => {
      const semaphore = new Semaphore(0);
      const operator = mergeMapWithPermit(semaphore, (x: number) => of(x));
      expect(typeof operator).toBe('function');
      of(1, 2).pipe(operator);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('runs inners synchronously while permits are free', () => {
      const semaphore = new Semaphore(1);
      const { log } = collect(of(1, 2, 3).pipe(mergeMapWithPermit(semaphore, (x) => of(x * 10, x * 10 + 1))));
      expect(log).toEqual({ values: [10, 11, 20, 21, 30, 31], error: undefined, completed: true });
      expect(semaphore.value).toBe(1);
    });

    it('calls project with each value and its index, only once the value is granted', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const calls: Array<[string, number]> = [];
      const { log } = collect(
        of('a', 'b', 'c').pipe(
          mergeMapWithPermit(semaphore, (value, index) => {
            calls.push([value, index]);
            return of(value.toUpperCase());
          }),
        ),
      );
      expect(calls).toEqual([]);
      expect(semaphore.waiting).toBe(3);
      semaphore.release();
      expect(calls).toEqual([
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ]);
      expect(log).toEqual({ values: ['A', 'B', 'C'], error: undefined, completed: true });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('accepts arrays, iterables and promises from project', async () => {
      const semaphore = new Semaphore(1);
      expect(collect(of(1, 2).pipe(mergeMapWithPermit(semaphore, (x) => [x, -x]))).log.values).toEqual([
        1, -1, 2, -2,
      ]);
      expect(collect(of('ab').pipe(mergeMapWithPermit(semaphore, (x) => new Set(x)))).log.values).toEqual([
        'a',
        'b',
      ]);
      const values = await new Promise<number[]>((resolve, reject) => {
        const seen: number[] = [];
        of(1, 2, 3)
          .pipe(
            mergeMapWithPermit(semaphore, (x): ObservableInput<number> => {
              // Only one promise may be pending at a time on a semaphore of 1.
              expect(semaphore.value).toBe(0);
              return Promise.resolve(x * 2);
            }),
          )
          .subscribe({ next: (value) => seen.push(value), error: reject, complete: () => resolve(seen) });
      });
      expect(values).toEqual([2, 4, 6]);
      expect(semaphore.value).toBe(1);
    });

    it('holds `permits` permits per inner', () => {
      const semaphore = new Semaphore(5);
      const inners = [new Subject<number>(), new Subject<number>(), new Subject<number>()];
      const { log } = collect(
        of(0, 1, 2).pipe(mergeMapWithPermit(semaphore, (i) => inners[i]!, { permits: 2 })),
      );
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 1]);
      inners[0]!.next(0);
      inners[0]!.complete();
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      inners[2]!.next(2);
      inners[1]!.next(1);
      inners[1]!.complete();
      inners[2]!.complete();
      expect(log).toEqual({ values: [0, 2, 1], error: undefined, completed: true });
      expect(semaphore.value).toBe(5);
    });

    it('keeps separate subscriptions independent: each has its own queued values', () => {
      const semaphore = new Semaphore(0);
      const merged = of(1, 2).pipe(mergeMapWithPermit(semaphore, (x) => of(x)));
      const first = collect(merged);
      const second = collect(merged);
      expect(semaphore.waiting).toBe(4);
      first.subscription.unsubscribe();
      expect(semaphore.waiting).toBe(2);
      semaphore.release();
      expect(second.log).toEqual({ values: [1, 2], error: undefined, completed: true });
      expect(first.log.values).toEqual([]);
      expect(semaphore.value).toBe(1);
    });

    it('with a DummySemaphore behaves as mergeMap, running every inner at once', () => {
      const dummy = new DummySemaphore();
      const inners = [new Subject<string>(), new Subject<string>()];
      const project = (i: number) => inners[i]!;
      const { log } = collect(of(0, 1).pipe(mergeMapWithPermit(dummy, project)));
      expect(inners.map((inner) => inner.observed)).toEqual([true, true]);
      inners[1]!.next('second');
      inners[0]!.next('first');
      inners.forEach((inner) => inner.complete());
      expect(log).toEqual({ values: ['second', 'first'], error: undefined, completed: true });
      expect(collect(of(1, 2).pipe(mergeMap((x) => [x, x]))).log).toEqual(
        collect(of(1, 2).pipe(mergeMapWithPermit(dummy, (x) => [x, x]))).log,
      );
    });
  });

  describe('bad input, thrown synchronously by mergeMapWithPermit itself', () => {
    for (const [label, project] of [
      ['undefined', undefined],
      ['null', null],
      ['a number', 1],
      ['a string', 'x => x'],
      ['a plain object', {}],
      ['an Observable', of(1)],
    ] as Array<[string, unknown]>) {
      it(`throws a TypeError naming project when it is ${label}`, () => {
        expect(() =>
          mergeMapWithPermit(new Semaphore(1), project as unknown as (x: number) => Observable<number>),
        ).toThrowError(TypeError, /mergeMapWithPermit: project must be a function/);
      });
    }

    for (const [label, semaphore] of [
      ['undefined', undefined],
      ['null', null],
      ['a plain object', {}],
      ['a plain Observable', of(1)],
    ] as Array<[string, unknown]>) {
      it(`throws a TypeError naming the semaphore for ${label}`, () => {
        expect(() => mergeMapWithPermit(semaphore as Semaphore, (x: number) => of(x))).toThrowError(
          TypeError,
          /mergeMapWithPermit: semaphore/,
        );
      });
    }

    for (const permits of [0, -1, 1.5, NaN]) {
      it(`throws a RangeError naming options.permits for permits ${permits}`, () => {
        expect(() => mergeMapWithPermit(new Semaphore(1), (x: number) => of(x), { permits })).toThrowError(
          RangeError,
          /mergeMapWithPermit: options\.permits/,
        );
      });
    }

    it("throws a RangeError for permits above a BoundedSemaphore's bound", () => {
      expect(() =>
        mergeMapWithPermit(new BoundedSemaphore(3), (x: number) => of(x), { permits: 4 }),
      ).toThrowError(RangeError, /mergeMapWithPermit: options\.permits is 4, more than the bound of 3/);
    });

    it('throws a RangeError naming options.timeout for a NaN timeout', () => {
      expect(() => mergeMapWithPermit(new Semaphore(1), (x: number) => of(x), { timeout: NaN })).toThrowError(
        RangeError,
        /mergeMapWithPermit: options\.timeout/,
      );
    });

    it('throws a TypeError naming options.with when it is not a function', () => {
      const options = { with: of(0) } as unknown as PermitOptions<number>;
      expect(() => mergeMapWithPermit(new Semaphore(1), (x: number) => of(x), options)).toThrowError(
        TypeError,
        /mergeMapWithPermit: options\.with/,
      );
    });
  });

  describe('permits given back exactly once', () => {
    it('when every inner completes', () => {
      const semaphore = new BoundedSemaphore(2);
      const { log } = collect(from([1, 2, 3, 4]).pipe(mergeMapWithPermit(semaphore, (x) => of(x))));
      expect(log.completed).toBe(true);
      expect(semaphore.value).toBe(2);
    });

    it('when project throws: the stream errors, queued values are withdrawn and never projected', () => {
      const semaphore = new BoundedSemaphore(1);
      semaphore.tryAcquire();
      const projected: number[] = [];
      const { log } = collect(
        of(1, 2, 3).pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected.push(x);
            throw new Error(`project failed on ${x}`);
          }),
        ),
      );
      expect(semaphore.waiting).toBe(3);
      expect(semaphore.release()).toBe(1);
      expect(log.error).toEqual(new Error('project failed on 1'));
      expect(projected).toEqual([1]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('when project throws on a value granted at once', () => {
      const semaphore = new BoundedSemaphore(1);
      const { log } = collect(
        of(1, 2).pipe(
          mergeMapWithPermit(semaphore, (): Observable<number> => {
            throw new Error('project failed');
          }),
        ),
      );
      expect(log.error).toEqual(new Error('project failed'));
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('when an inner errors synchronously: the queued values are withdrawn', () => {
      const semaphore = new BoundedSemaphore(1);
      const projected: number[] = [];
      const source = new Subject<number>();
      const held = new Subject<number>();
      const { log } = collect(
        source.pipe(
          mergeMapWithPermit(semaphore, (x): Observable<number> => {
            projected.push(x);
            return x === 1 ? held : throwError(() => `inner ${x} failed`);
          }),
        ),
      );
      source.next(1);
      source.next(2);
      source.next(3);
      expect(semaphore.waiting).toBe(2);
      held.complete();
      expect(log.error).toBe('inner 2 failed');
      expect(projected).toEqual([1, 2]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      source.next(4);
      expect(projected).toEqual([1, 2]);
      expect(semaphore.waiting).toBe(0);
    });

    it('when the source errors synchronously after queueing values', () => {
      const semaphore = new BoundedSemaphore(1);
      const projected: number[] = [];
      const failing = new Observable<number>((subscriber) => {
        subscriber.next(1);
        subscriber.next(2);
        subscriber.next(3);
        subscriber.error('source failed');
      });
      const held = new Subject<number>();
      const { log } = collect(
        failing.pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected.push(x);
            return held;
          }),
        ),
      );
      expect(log.error).toBe('source failed');
      expect(held.observed).toBe(false);
      expect(projected).toEqual([1]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('withdraws the queued values before a source error reaches downstream', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const held = new Subject<number>();
      const seenWaiting: number[] = [];
      source.pipe(mergeMapWithPermit(semaphore, () => held)).subscribe({
        error: () => seenWaiting.push(semaphore.waiting),
      });
      source.next(1);
      source.next(2);
      source.next(3);
      expect(semaphore.waiting).toBe(2);
      source.error('source failed');
      expect(seenWaiting).toEqual([0]);
      expect([semaphore.value, semaphore.waiting, held.observed]).toEqual([1, 0, false]);
    });

    it('when unsubscribed: running inners are cut off, queued values withdrawn', () => {
      const semaphore = new BoundedSemaphore(2);
      const inner = new Subject<number>();
      const { subscription } = collect(of(1, 2, 3, 4).pipe(mergeMapWithPermit(semaphore, () => inner)));
      expect([semaphore.value, semaphore.waiting, inner.observers.length]).toEqual([0, 2, 2]);
      subscription.unsubscribe();
      expect([semaphore.value, semaphore.waiting, inner.observed]).toEqual([2, 0, false]);
      subscription.unsubscribe();
      expect(semaphore.value).toBe(2);
    });

    it('when a downstream take stops it: the rest are withdrawn', () => {
      const semaphore = new BoundedSemaphore(1);
      semaphore.tryAcquire();
      const projected: number[] = [];
      const { log } = collect(
        of(1, 2, 3, 4).pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected.push(x);
            return of(x);
          }),
          take(2),
        ),
      );
      semaphore.release();
      expect(log).toEqual({ values: [1, 2], error: undefined, completed: true });
      expect(projected).toEqual([1, 2]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('when a downstream take(1) stops a synchronous endless inner', () => {
      const semaphore = new BoundedSemaphore(1);
      let emitted = 0;
      const endless = new Observable<number>((subscriber) => {
        let i = 0;
        while (!subscriber.closed) {
          emitted++;
          subscriber.next(i++);
        }
      });
      const { log } = collect(
        of(1).pipe(
          mergeMapWithPermit(semaphore, () => endless),
          take(1),
        ),
      );
      expect(log).toEqual({ values: [0], error: undefined, completed: true });
      expect(emitted).toBe(1);
      expect(semaphore.value).toBe(1);
    });

    it('holds the permit while an inner emits and gives the last one back before complete', () => {
      const semaphore = new Semaphore(1);
      const seen: number[] = [];
      of(1, 2)
        .pipe(mergeMapWithPermit(semaphore, (x) => of(x)))
        .subscribe({ next: () => seen.push(semaphore.value), complete: () => seen.push(semaphore.value) });
      expect(seen).toEqual([0, 0, 1]);
      expect(semaphore.value).toBe(1);
    });
  });

  describe('every permit is back before an error is forwarded (as withPermit, rule 8)', () => {
    function runningInnersThenError(trigger: (source: Subject<number>, semaphore: Semaphore) => void) {
      const semaphore = new Semaphore(2);
      const source = new Subject<number>();
      const seenInErrorHandler: number[] = [];
      const torn: number[] = [];
      source
        .pipe(
          mergeMapWithPermit(
            semaphore,
            (x) =>
              new Observable<number>(() => () => {
                torn.push(x);
              }),
            { timeout: 1000, scheduler: new VirtualTimeScheduler() },
          ),
        )
        .subscribe({ error: () => seenInErrorHandler.push(semaphore.value, semaphore.waiting, torn.length) });
      source.next(1);
      source.next(2);
      source.next(3); // queued
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
      trigger(source, semaphore);
      return { semaphore, seenInErrorHandler, torn };
    }

    it('on a source error, running inners are cut off and queued values withdrawn first', () => {
      const { semaphore, seenInErrorHandler, torn } = runningInnersThenError((source) =>
        source.error(new Error('source failed')),
      );
      expect(seenInErrorHandler).toEqual([2, 0, 2]);
      expect(torn).toEqual([1, 2]);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('on an inner error, the other running inners are cut off first', () => {
      const semaphore = new Semaphore(2);
      const inners = [new Subject<number>(), new Subject<number>()];
      const seen: number[] = [];
      of(0, 1, 0)
        .pipe(mergeMapWithPermit(semaphore, (i) => inners[i]))
        .subscribe({ error: () => seen.push(semaphore.value, semaphore.waiting) });
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
      inners[0].error(new Error('inner failed'));
      expect(seen).toEqual([2, 0]);
    });

    it('when project throws, its own permit and the running inners are given back first', () => {
      const semaphore = new Semaphore(2);
      const seen: number[] = [];
      of(1, 2)
        .pipe(
          mergeMapWithPermit(semaphore, (x) => {
            if (x === 2) throw new Error('project failed');
            return new Observable<number>();
          }),
        )
        .subscribe({ error: () => seen.push(semaphore.value, semaphore.waiting) });
      expect(seen).toEqual([2, 0]);
    });
  });

  it('when project throws, no queued value of the stream is projected afterwards', () => {
    const semaphore = new Semaphore(1);
    semaphore.tryAcquire();
    const projected: number[] = [];
    let failed: unknown = null;
    of(1, 2, 3)
      .pipe(
        mergeMapWithPermit(semaphore, (x) => {
          projected.push(x);
          throw new Error(`project failed on ${x}`);
        }),
      )
      .subscribe({ error: (error: Error) => (failed = error.message) });
    expect(semaphore.waiting).toBe(3);
    semaphore.release();
    expect(projected).toEqual([1]);
    expect(failed).toBe('project failed on 1');
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
  });

  describe('re-entrancy', () => {
    it('serves values pushed back into its own source from a downstream handler, in order', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const seen: number[] = [];
      source.pipe(mergeMapWithPermit(semaphore, (x) => of(x))).subscribe((x) => {
        seen.push(x);
        if (x < 5) source.next(x + 1);
        else source.complete();
      });
      source.next(1);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('gives back the permits of values already picked by a release when unsubscribed from a grant', () => {
      const semaphore = new Semaphore(2);
      semaphore.tryAcquire(2);
      const projected: number[] = [];
      let innersOpen = 0;
      const inner = (x: number) =>
        new Observable<number>((subscriber) => {
          innersOpen++;
          subscriber.next(x);
          return () => innersOpen--;
        });
      const subscription: Subscription = of(1, 2, 3)
        .pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected.push(x);
            return inner(x);
          }),
        )
        .subscribe(() => subscription.unsubscribe());
      expect(semaphore.waiting).toBe(3);
      // The release picks 1 and 2 together; 1's first value unsubscribes everything before 2 runs.
      expect(semaphore.release(2)).toBe(2);
      expect(projected).toEqual([1]);
      expect(innersOpen).toBe(0);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });
  });

  describe('timeout', () => {
    it('errors the whole stream with PermitTimeoutError carrying timeout and permits', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(2);
      const inner = new Subject<number>();
      const { log } = collect(
        of(1, 2).pipe(mergeMapWithPermit(semaphore, () => inner, { permits: 2, timeout: 40, scheduler })),
      );
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
      scheduler.flush();
      const error = log.error as PermitTimeoutError;
      expect(error instanceof PermitTimeoutError).toBe(true);
      expect(error.name).toBe('PermitTimeoutError');
      expect([error.primitive, error.timeout, error.permits]).toEqual(['Semaphore', 40, 2]);
      expect([semaphore.value, semaphore.waiting, inner.observed]).toEqual([2, 0, false]);
    });

    it('with `with`, replaces the timed-out inner by the fallback and keeps the rest going', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1);
      const inner = new Subject<string>();
      const errors: unknown[] = [];
      const { log } = collect(
        of('a', 'b').pipe(
          mergeMapWithPermit(semaphore, (x) => (x === 'a' ? inner : of(x)), {
            timeout: 40,
            scheduler,
            with: (error) => {
              errors.push(error);
              return of('fallback');
            },
          }),
        ),
      );
      scheduler.flush();
      expect(log.values).toEqual(['fallback']);
      expect(log.completed).toBe(false);
      expect(errors.length).toBe(1);
      expect(errors[0] instanceof PermitTimeoutError).toBe(true);
      inner.next('a');
      inner.complete();
      expect(log).toEqual({ values: ['fallback', 'a'], error: undefined, completed: true });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('errors with what a throwing `with` threw, cutting off the running inners', () => {
      const semaphore = new Semaphore(1);
      const inner = new Subject<number>();
      const { log } = collect(
        of(1, 2).pipe(
          mergeMapWithPermit(semaphore, () => inner, {
            timeout: 0,
            with: () => {
              throw new Error('fallback failed');
            },
          }),
        ),
      );
      expect(log.error).toEqual(new Error('fallback failed'));
      expect([semaphore.value, semaphore.waiting, inner.observed]).toEqual([1, 0, false]);
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

    it('keeps serving values and gives every permit back when a downstream observer throws', async () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const seen: number[] = [];
      of(1, 2, 3)
        .pipe(mergeMapWithPermit(semaphore, (x) => of(x)))
        .subscribe((x) => {
          seen.push(x);
          if (x === 2) throw new Error('observer failed');
        });
      semaphore.release();
      expect(seen).toEqual([1, 2, 3]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      expect(reported).toEqual([new Error('observer failed')]);
    });
  });

  describe('with other users of the semaphore', () => {
    it('takes turns with withPermit streams in subscription order', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const order: string[] = [];
      const source = new Subject<string>();
      source
        .pipe(mergeMapWithPermit(semaphore, (x) => of(x)))
        .subscribe({ next: (x) => order.push(x), complete: () => order.push('merge complete') });
      source.next('m1');
      of('w1')
        .pipe(withPermit(semaphore))
        .subscribe((x) => order.push(x));
      source.next('m2');
      semaphore.acquire().subscribe(() => {
        order.push('acquire');
        semaphore.release();
      });
      source.next('m3');
      source.complete();
      expect(semaphore.waiting).toBe(5);
      semaphore.release();
      expect(order).toEqual(['m1', 'w1', 'm2', 'acquire', 'm3', 'merge complete']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });
  });
});

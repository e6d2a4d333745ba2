import {
  EMPTY,
  NEVER,
  Observable,
  Subject,
  VirtualTimeScheduler,
  defer,
  from,
  map,
  mergeMap,
  of,
  range,
  take,
  throwError,
  timer,
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
  mergeMapWithPermit,
  withPermit,
  type Lease,
  type PermitOptions,
  type PermitPool,
} from '../src/index.js';
import {
  Fault,
  advanceScheduler,
  bystanders,
  carries,
  collect,
  heldByTest,
  nextTask,
  orderChecker,
  quietly,
  reportedDuring,
  semaphoreKinds,
  throwingTeardown,
  unhandledErrorsOfEachSpec,
} from './helpers/index.js';

// API, bad input, permit bookkeeping, faults that stay local and 10^6 values of mergeMapWithPermit
// (SPEC §1, rules 4, 8, 17, 18). Frame-exact timing is marble-tests/merge-map-with-permit.marble.spec.ts.

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

    it("says, for mergeMap's habit mergeMapWithPermit(sem, fn, 4), that the limit is the semaphore", () => {
      const call = () =>
        mergeMapWithPermit(new Semaphore(2), () => EMPTY, 4 as unknown as Record<string, never>);
      expect(call).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          /mergeMapWithPermit: options must be an object, got 4: the concurrency limit is the semaphore's own/.test(
            error.message,
          ) &&
          error.message.includes('new Semaphore(4)'),
      );
    });

    it('points to reentrant when given an RLock', () => {
      expect(() => mergeMapWithPermit(new RLock() as unknown as PermitPool, () => EMPTY)).toThrowError(
        TypeError,
        /reentrant\(lock\)/,
      );
    });

    it('throws a TypeError that names an unknown option key (concurrent, from mergeMap) and the known ones', () => {
      const semaphore = new Semaphore(1);
      expect(() => mergeMapWithPermit(semaphore, () => EMPTY, { concurrent: 4 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`mergeMapWithPermit: unknown option "`) &&
          error.message.endsWith(`; the options are permits, priority, timeout, scheduler, with`),
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

    // Regression: mergeMapWithPermit unsubscribed while values are queued (SPEC rules 7, 17, 18). Its teardown
    // withdraws the queued values one at a time; withdrawing the head lets the request behind it be
    // granted at once, and that grant's user code runs inside the teardown loop. Here it releases, so
    // the merge's second value — not withdrawn yet — is granted: `project` runs for a subscriber that
    // is gone, its inner is subscribed with a closed destination, and its 2 permits are never given
    // back (value 0 for ever, although nobody holds a permit).
    it('when unsubscribed while a grant inside its teardown frees permits: nothing is stranded', () => {
      const semaphore = new Semaphore(2);
      expect(semaphore.tryAcquire(1)).toBe(true); // a caller holds 1 of the 2 permits
      const source = new Subject<number>();
      const projected: number[] = [];
      const subscription = source
        .pipe(
          mergeMapWithPermit(
            semaphore,
            (value) => {
              projected.push(value);
              return of(value);
            },
            { permits: 2 },
          ),
        )
        .subscribe();
      source.next(1); // queued: needs 2, 1 free
      semaphore.acquire().subscribe(() => {
        semaphore.release(); // the caller's permit, given back from here
        semaphore.release(); // this request's own
      });
      source.next(2); // queued behind it
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 3]);
      subscription.unsubscribe();
      expect(projected).toEqual([]); // was [2]
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]); // was [0, 0]
    });

    // Regression: The same teardown, seen from the permit observable (model-based counterexample, shrunk). The
    // merge's second value, withdrawn in spirit, still blocks the head of the queue while the first
    // withdrawal's grants run: a permit shows as free while `f`, which it fits, waits (rule 3), and
    // `f` is granted only by the second withdrawal. Withdrawing the queued values newest first (so that
    // only the last withdrawal can re-examine the queue) makes the teardown atomic.
    it('when unsubscribed: its queued values are withdrawn at once, no permit shows free meanwhile', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const c = source.pipe(mergeMapWithPermit(semaphore, (value) => of(value), { permits: 2 })).subscribe();
      const values: number[] = [];
      semaphore.subscribe((value) => values.push(value));
      let a = false;
      semaphore.acquire({ permits: 3 }).subscribe(() => (a = true));
      source.next(1); // c's first value, queued behind a
      semaphore.release(3); // a is granted (value 1); c's first value needs 2
      expect(a).toBe(true);
      let b = false;
      of('b1')
        .pipe(withPermit(semaphore))
        .subscribe({ complete: () => (b = true) });
      source.next(2); // c's second value
      let f = false;
      semaphore.acquire().subscribe(() => (f = true));
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 4]);
      values.length = 0;
      c.unsubscribe();
      expect([b, f]).toEqual([true, true]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
      expect(values).toEqual([0]); // was [0, 1, 0]: 1 free while f waited
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

    // Regression: A value pushed into a mergeMapWithPermit that has already failed (SPEC rules 17, 18). An inner
    // error makes the merge withdraw its queued values and cut its inners off before forwarding the
    // error; cutting an inner off releases its permit, whose grant runs user code — here it emits
    // into the merge's source, still subscribed until the error is forwarded. `push` queues a request
    // for the closed merge, which nothing withdraws: granted later, it runs `project` for nobody and
    // its permit is never given back.
    it('ignores values pushed while it fails: no request is left queued for it', () => {
      const semaphore = new Semaphore(1);
      const source = new Subject<number>();
      const inner = new Subject<number>();
      const projected: number[] = [];
      let received: unknown = null;
      source
        .pipe(
          mergeMapWithPermit(semaphore, (value) => {
            projected.push(value);
            return value === 1 ? inner : of(value);
          }),
        )
        .subscribe({ error: (error: unknown) => (received = error) });
      source.next(1); // runs, holding the permit
      semaphore.acquire().subscribe(() => source.next(2)); // queued; emits into the merge when granted
      const failure = new Error('inner failed');
      inner.error(failure);
      expect(received).toBe(failure);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]); // was [0, 1]: value 2 queued for nobody
      semaphore.release(); // the acquirer gives its permit back
      expect(projected).toEqual([1]); // was [1, 2]
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]); // was [0, 0]: the permit held by nobody
    });

    // Regression: mergeMapWithPermit fails on an inner error; cutting that inner off releases its permits, whose
    // grant runs user code that errors the merge's source (model-based counterexample). `fail` is not
    // guarded: the nested `fail` forwards the source's error first, and the error that made the merge
    // fail — the inner's — is dropped. As in plain RxJS, the first error should be the one delivered.
    it('an error raised while it fails does not replace the first one', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(3, { scheduler });
      const source = new Subject<number>();
      const innerFailure = new Error('inner failed');
      let received: unknown = null;
      source
        .pipe(
          mergeMapWithPermit(
            semaphore,
            () =>
              timer(1, scheduler).pipe(
                map(() => {
                  throw innerFailure;
                }),
              ),
            { permits: 3 },
          ),
        )
        .subscribe({ error: (error: unknown) => (received = error) });
      source.next(1); // runs, holding all 3 permits; errors at 1
      semaphore.acquire().subscribe(() => source.error(new Error('source failed'))); // granted by that error
      scheduler.flush();
      expect(received).toBe(innerFailure); // was the source's error
      expect(semaphore.waiting).toBe(0);
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

    // Regression: A mergeMapWithPermit value times out; withdrawing it grants the request behind it, whose user
    // code errors the merge's source (model-based counterexample). The merge fails and its subscriber
    // is gone, but `timeOut` goes on: it subscribes the `with` fallback through a MergeInnerSubscriber
    // whose destination is already closed. RxJS runs that subscriber's finalizer inside the `super()`
    // call, before `merge` is assigned, and `MergeInnerSubscriber.unsubscribe` throws a TypeError out
    // of the timer (with asyncScheduler: an uncaught exception). `timeOut` also removes the value from
    // the merge's queue a second time (`WaiterQueue.remove` of a node no longer in it).
    it('a value timing out while its withdrawal closes the merge throws nothing', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler });
      const source = new Subject<number>();
      const seen: string[] = [];
      source
        .pipe(
          mergeMapWithPermit(semaphore, (value) => of(value), { permits: 2, timeout: 1, with: () => of(-1) }),
        )
        .subscribe({
          next: (value) => seen.push(`next ${value}`),
          error: (error: Error) => seen.push(`error ${error.message}`),
        });
      source.next(1); // needs 2, 1 free: queued; times out at 1
      semaphore.acquire().subscribe(() => {
        source.error(new Error('source failed'));
        semaphore.release();
      });
      expect(() => scheduler.flush()).not.toThrow(); // threw TypeError: Cannot read properties of undefined (reading 'running')
      expect(seen).toEqual(['error source failed']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });
  });

  describe('faults stay local', () => {
    describe('a throwing observer', () => {
      const reported = unhandledErrorsOfEachSpec();

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
        await nextTask();
        expect(reported).toEqual([new Error('observer failed')]);
      });
    });

    // Regression: a gated source whose teardown throws (SPEC rules 8, 17), here an inner. PermitHolder
    // tore the source down first and gave the permit back after: the UnsubscriptionError thrown by
    // the teardown skipped the release, so the next value never got the permit.
    it('an inner whose teardown throws: its permit comes back, the next value runs, the merge completes', async () => {
      const semaphore = new Semaphore(1);
      const { handle, observable } = throwingTeardown();
      const values: string[] = [];
      let completed = false;
      await quietly(() => {
        of(1, 2)
          .pipe(mergeMapWithPermit(semaphore, (value) => (value === 1 ? observable : of('second'))))
          .subscribe({ next: (value) => values.push(value), complete: () => (completed = true) });
        try {
          handle.source!.complete();
        } catch {
          // plain RxJS rethrows a failed teardown to the producer as an UnsubscriptionError
        }
      });
      expect(values).toEqual(['second']); // was []: value 2 never got the permit
      expect(completed).toBe(true); // was false
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]); // was [0, 1]
    });

    // Fault injection (issue #6): as in spec/semaphore.spec.ts ('faults stay local'), at every point
    // where the user code of mergeMapWithPermit runs — `project`, an inner at subscribe and at
    // teardown, a `with` fallback — on a semaphore of one permit held by the test, with two
    // `bystanders` queued behind.
    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        it('a project that throws while another inner runs: the error reaches the subscriber; every permit is back', () => {
          const fault = new Fault('project');
          const semaphore = create(2);
          let received: unknown;
          let innerTornDown = false;
          const source = new Subject<number>();
          source
            .pipe(
              mergeMapWithPermit(semaphore, (value) => {
                if (value === 2) throw fault;
                return new Observable<string>(() => () => (innerTornDown = true));
              }),
            )
            .subscribe({ error: (error: unknown) => (received = error) });
          source.next(1);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          source.next(2);
          expect(received).toBe(fault);
          expect(innerTornDown).toBe(true);
          expect(source.observed).toBe(false);
          expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
        });

        it('a project that throws on a grant from the queue: its permit goes to the next request', () => {
          const fault = new Fault('project');
          const semaphore = heldByTest(create);
          let received: unknown;
          of(1, 2)
            .pipe(
              mergeMapWithPermit(semaphore, (value) => {
                if (value === 1) throw fault;
                return of(`v${value}`);
              }),
            )
            .subscribe({ error: (error: unknown) => (received = error) });
          const others = bystanders(semaphore);
          expect(semaphore.waiting).toBe(4);
          semaphore.release();
          expect(received).toBe(fault);
          expect(others.log).toEqual(others.served);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });

        it('an inner that throws at subscribe: the error reaches the subscriber; the permit is back', () => {
          const fault = new Fault('inner');
          const semaphore = heldByTest(create);
          let received: unknown;
          of(1, 2)
            .pipe(
              mergeMapWithPermit(semaphore, () =>
                defer(() => {
                  throw fault;
                }),
              ),
            )
            .subscribe({ error: (error: unknown) => (received = error) });
          const others = bystanders(semaphore);
          semaphore.release();
          expect(received).toBe(fault);
          expect(others.log).toEqual(others.served);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });

        it('an inner whose teardown throws on complete: its permit comes back; the next value runs; the merge completes', async () => {
          const fault = new Fault('inner teardown');
          const semaphore = create(1);
          const inners: Array<Subscriber<string>> = [];
          let completed = false;
          let thrown: unknown = null;
          const reported = await reportedDuring(() => {
            of(1, 2)
              .pipe(
                mergeMapWithPermit(
                  semaphore,
                  (value) =>
                    new Observable<string>((subscriber) => {
                      inners.push(subscriber);
                      return value === 1
                        ? () => {
                            throw fault;
                          }
                        : undefined;
                    }),
                ),
              )
              .subscribe({ complete: () => (completed = true) });
            try {
              inners[0].complete();
            } catch (error) {
              thrown = error;
            }
            expect(inners.length).toBe(2);
            inners[1]?.complete();
          });
          expect(carries(thrown, fault) || reported.some((error) => carries(error, fault))).toBe(true);
          expect(completed).toBe(true);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });

        it('a `with` fallback that throws at a timeout: the error reaches the subscriber; nothing stays queued', () => {
          const fault = new Fault('fallback');
          const scheduler = new VirtualTimeScheduler();
          const semaphore = heldByTest(create, scheduler);
          let received: unknown;
          of(1, 2)
            .pipe(
              mergeMapWithPermit(semaphore, (value) => of(value), {
                timeout: 2,
                with: () => {
                  throw fault;
                },
              }),
            )
            .subscribe({ error: (error: unknown) => (received = error) });
          const others = bystanders(semaphore);
          advanceScheduler(scheduler, 2);
          expect(received).toBe(fault);
          expect([semaphore.value, semaphore.waiting, scheduler.actions.length]).toEqual([0, 2, 0]);
          semaphore.release();
          expect(others.log).toEqual(others.served);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });
      });
    }
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

  // 10^6 values through one semaphore: constant stack depth, FIFO order, every permit back (SPEC
  // rules 4 and 18); see 'stress' in spec/with-permit.spec.ts for RxJS's own mergeMap(project, 1).
  describe('stress', () => {
    const COUNT = 1_000_000;
    const STRESS_TIMEOUT = 120_000;

    it(
      'drains 10^6 mergeMapWithPermit values queued behind a held permit in FIFO order on one release',
      () => {
        const semaphore = new Semaphore(1);
        expect(semaphore.tryAcquire()).toBe(true);
        const { state, observer } = orderChecker();
        let projected = 0;
        range(0, COUNT)
          .pipe(
            mergeMapWithPermit(semaphore, (x) => {
              projected++;
              return of(x);
            }),
          )
          .subscribe(observer);
        expect(projected).toBe(0);
        expect(state.completed).toBe(false);
        expect(semaphore.waiting).toBe(COUNT);
        expect(semaphore.release()).toBe(1);
        expect(state.error).toBeUndefined();
        expect(state.completed).toBe(true);
        expect(projected).toBe(COUNT);
        expect(state.received).toBe(COUNT);
        expect(state.firstOutOfOrder).toBe(-1);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      },
      STRESS_TIMEOUT,
    );

    it(
      'withdraws 10^6 queued mergeMapWithPermit values at once when unsubscribed',
      () => {
        const semaphore = new Semaphore(1);
        expect(semaphore.tryAcquire()).toBe(true);
        let projected = 0;
        const subscription = range(0, COUNT)
          .pipe(
            mergeMapWithPermit(semaphore, (x) => {
              projected++;
              return of(x);
            }),
          )
          .subscribe();
        expect(semaphore.waiting).toBe(COUNT);
        subscription.unsubscribe();
        expect(semaphore.waiting).toBe(0);
        expect(semaphore.release()).toBe(1);
        expect(projected).toBe(0);
      },
      STRESS_TIMEOUT,
    );
  });
  // SPEC §5: project's third argument is the value's lease — its token, its permits — released when
  // the inner ends (or earlier by user code, and then not again); values queue at the operator's
  // `priority`; stats count each value's request.
  describe('the lease, third argument of project (§5)', () => {
    it('is a held lease of options.permits, one per value, tokens increasing in grant order', () => {
      const semaphore = new Semaphore(4);
      const seen: Array<[number, number, number, number, boolean]> = [];
      const leases: Lease[] = [];
      collect(
        of(10, 20, 30).pipe(
          mergeMapWithPermit(
            semaphore,
            (value, index, lease) => {
              leases.push(lease);
              seen.push([value, index, lease.token, lease.permits, lease.released]);
              return NEVER;
            },
            { permits: 2 },
          ),
        ),
      );
      expect(seen).toEqual([
        [10, 0, 1, 2, false],
        [20, 1, 2, 2, false],
      ]);
      leases[0].release();
      expect(seen[2]).toEqual([30, 2, 3, 2, false]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        it("is released before the inner's completion counts, and the next value is projected with the next token", () => {
          const semaphore = create(1);
          const log: string[] = [];
          const inners = [new Subject<string>(), new Subject<string>()];
          const leases: Lease[] = [];
          collect(
            of(0, 1).pipe(
              mergeMapWithPermit(semaphore, (value, _index, lease) => {
                leases.push(lease);
                log.push(`project ${value}: token ${lease.token}, value ${semaphore.value}`);
                return inners[value];
              }),
            ),
          );
          inners[0].complete();
          expect(leases[0].released).toBe(true);
          inners[1].error(new Fault('inner failed'));
          expect(leases[1].released).toBe(true);
          expect(log).toEqual(['project 0: token 1, value 0', 'project 1: token 2, value 0']);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });

        it("is released when the subscriber unsubscribes, and when another inner's error cuts the inner off", () => {
          const semaphore = create(2);
          const leases: Lease[] = [];
          const failing = new Subject<never>();
          const { subscription } = collect(
            of(0, 1).pipe(
              mergeMapWithPermit(semaphore, (value, _index, lease) => {
                leases.push(lease);
                return value === 0 ? NEVER : failing;
              }),
            ),
          );
          failing.error(new Fault('second failed'));
          expect(leases.map((lease) => lease.released)).toEqual([true, true]);
          expect(semaphore.value).toBe(2);
          const later: Lease[] = [];
          const second = collect(
            of(0).pipe(
              mergeMapWithPermit(semaphore, (_value, _index, lease) => {
                later.push(lease);
                return NEVER;
              }),
            ),
          );
          second.subscription.unsubscribe();
          subscription.unsubscribe();
          expect([later[0].token, later[0].released, semaphore.value]).toEqual([3, true, 2]);
        });

        it("released early by project's inner, ends the hold: the next value starts at once, the inner's end releases nothing more", () => {
          const semaphore = create(1);
          const inner = new Subject<string>();
          const projected: number[] = [];
          const { log } = collect(
            of(0, 1, 2).pipe(
              mergeMapWithPermit(semaphore, (value, _index, lease): Observable<string> => {
                projected.push(value);
                if (value === 0) {
                  lease.release();
                  return inner;
                }
                return NEVER;
              }),
            ),
          );
          expect(projected).toEqual([0, 1]);
          expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
          inner.next('still running');
          inner.complete();
          expect(log.values).toEqual(['still running']);
          expect(projected).toEqual([0, 1]);
          expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
        });
      });
    }

    it('is released when project throws, before the error is forwarded', () => {
      const semaphore = new BoundedSemaphore(1);
      const fault = new Fault('project failed');
      let lease: Lease | null = null;
      const seen: unknown[] = [];
      of(1)
        .pipe(
          mergeMapWithPermit(semaphore, (_value, _index, given) => {
            lease = given;
            throw fault;
          }),
        )
        .subscribe({ error: (error) => seen.push(error, lease!.released, semaphore.value) });
      expect(seen).toEqual([fault, true, 1]);
    });

    it('on a DummySemaphore, comes from its own counter and releasing it does nothing', () => {
      const dummy = new DummySemaphore();
      const tokens: number[] = [];
      collect(
        of('a', 'b', 'c').pipe(
          mergeMapWithPermit(dummy, (value, _index, lease) => {
            tokens.push(lease.token);
            lease.release();
            return of(value);
          }),
        ),
      );
      expect([tokens, dummy.value]).toEqual([[1, 2, 3], Infinity]);
    });
  });

  describe('priority (rule 19)', () => {
    it('every value of the merge queues at its priority: ahead of earlier values of a lower one', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const order: string[] = [];
      const project = (value: string) => {
        order.push(value);
        return of(value);
      };
      collect(of('a1', 'a2').pipe(mergeMapWithPermit(semaphore, project)));
      collect(of('b1', 'b2').pipe(mergeMapWithPermit(semaphore, project, { priority: 1 })));
      collect(of('c1').pipe(mergeMapWithPermit(semaphore, project, { priority: -1 })));
      expect(semaphore.waiting).toBe(5);
      semaphore.release();
      expect(order).toEqual(['b1', 'b2', 'a1', 'a2', 'c1']);
    });

    it("a value is projected in the source's emission when its permits are free and only lower priorities wait", () => {
      const semaphore = new Semaphore(2);
      NEVER.pipe(withPermit(semaphore, { permits: 3, priority: -1 })).subscribe();
      const source = new Subject<number>();
      const projected: number[] = [];
      collect(
        source.pipe(
          mergeMapWithPermit(semaphore, (value) => {
            projected.push(value);
            return NEVER;
          }),
        ),
      );
      source.next(1);
      expect(projected).toEqual([1]);
      source.next(2);
      expect(projected).toEqual([1, 2]);
      source.next(3);
      expect([projected, semaphore.waiting]).toEqual([[1, 2], 2]);
    });

    for (const priority of [0.5, NaN, -Infinity, -(2 ** 53)]) {
      it(`priority ${priority}: a RangeError naming options.priority, thrown by mergeMapWithPermit itself`, () => {
        expect(() => mergeMapWithPermit(new Semaphore(1), of, { priority })).toThrowError(
          RangeError,
          /mergeMapWithPermit: options\.priority must be a safe integer/,
        );
      });
    }

    for (const priority of ['1', null, true]) {
      it(`priority ${String(priority)} (${typeof priority}): a TypeError naming options.priority`, () => {
        expect(() => mergeMapWithPermit(new Semaphore(1), of, { priority } as never)).toThrowError(
          TypeError,
          /mergeMapWithPermit: options\.priority must be a number/,
        );
      });
    }
  });

  describe('stats (rule 21)', () => {
    it('each value is one request: granted at once or after a wait; values withdrawn by unsubscribe count as withdrawn', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler });
      const inner = new Subject<never>();
      const { subscription } = collect(
        of(1, 2, 3, 4).pipe(mergeMapWithPermit(semaphore, (value) => (value === 1 ? inner : of(value)))),
      );
      expect(semaphore.stats()).toEqual(jasmine.objectContaining({ granted: 1, waiting: 3, peakWaiting: 3 }));
      advanceScheduler(scheduler, 6);
      inner.complete();
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          granted: 4,
          waiting: 0,
          withdrawn: 0,
          waitMs: { count: 4, total: 18, max: 6 },
        }),
      );
      collect(of(5, 6).pipe(mergeMapWithPermit(semaphore, () => NEVER))).subscription.unsubscribe();
      subscription.unsubscribe();
      expect(semaphore.stats()).toEqual(jasmine.objectContaining({ granted: 5, withdrawn: 1, value: 1 }));
    });
  });
});

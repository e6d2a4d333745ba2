import { NEVER, Observable, Subject, VirtualTimeScheduler, of, throwError } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  withPermit,
  type BoundedPermitOptions,
  type PermitPool,
} from '../src/index.js';
import { Fault, collect, heldByTest, permitRejected, semaphoreKinds } from './helpers/index.js';

// API, bad input, rejection and the permit lifetime of boundedPermit (SPEC §1, rules 8, 17).

/** A source that records whether it was subscribed, and never terminates. */
function probe() {
  const state = { subscribed: 0 };
  const source = new Observable<string>(() => {
    state.subscribed++;
  });
  return { state, source };
}

describe('boundedPermit', () => {
  describe('API', () => {
    it('returns an operator function without touching the semaphore', () => {
      const semaphore = new Semaphore(0);
      const operator = boundedPermit(semaphore, { maxWaiting: 3 });
      expect(typeof operator).toBe('function');
      of(1).pipe(operator);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('runs the source synchronously when a permit is free', () => {
      const semaphore = new BoundedSemaphore(1);
      const { log } = collect(of('a', 'b').pipe(boundedPermit(semaphore)));
      expect(log).toEqual({ values: ['a', 'b'], error: undefined, completed: true });
      expect(semaphore.value).toBe(1);
    });

    it('rejects synchronously, inside subscribe, when no permit is free (default maxWaiting 0)', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const { state, source } = probe();
      const { log } = collect(source.pipe(boundedPermit(semaphore)));
      expect(log.error instanceof PermitRejectedError).toBe(true);
      expect(state.subscribed).toBe(0);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('queues up to maxWaiting streams and rejects the next one', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const options: BoundedPermitOptions<string> = { maxWaiting: 2 };
      const first = collect(of('first').pipe(boundedPermit(semaphore, options)));
      const second = collect(of('second').pipe(boundedPermit(semaphore, options)));
      const third = collect(of('third').pipe(boundedPermit(semaphore, options)));
      expect(semaphore.waiting).toBe(2);
      expect(third.log.error instanceof PermitRejectedError).toBe(true);
      semaphore.release();
      expect(first.log).toEqual({ values: ['first'], error: undefined, completed: true });
      expect(second.log).toEqual({ values: ['second'], error: undefined, completed: true });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('counts the queued values of a mergeMapWithPermit on the same semaphore', () => {
      const semaphore = new Semaphore(0);
      const merged = collect(of(1, 2).pipe(mergeMapWithPermit(semaphore, (x) => of(x))));
      expect(semaphore.waiting).toBe(2);
      const { log } = collect(of(3).pipe(boundedPermit(semaphore, { maxWaiting: 2 })));
      expect((log.error as PermitRejectedError).waiting).toBe(2);
      merged.subscription.unsubscribe();
      const again = collect(of(3).pipe(boundedPermit(semaphore, { maxWaiting: 2 })));
      expect(again.log.error).toBeUndefined();
      expect(semaphore.waiting).toBe(1);
    });

    it('with maxWaiting Infinity never rejects', () => {
      const semaphore = new Semaphore(0);
      for (let i = 0; i < 100; i++) collect(of(i).pipe(boundedPermit(semaphore, { maxWaiting: Infinity })));
      expect(semaphore.waiting).toBe(100);
    });

    it('hands the rejection to the `with` fallback, which runs without a permit', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const errors: unknown[] = [];
      const { log } = collect(
        of('gated').pipe(
          boundedPermit(semaphore, {
            with: (error) => {
              errors.push(error);
              return of('fallback');
            },
          }),
        ),
      );
      expect(log).toEqual({ values: ['fallback'], error: undefined, completed: true });
      expect(errors.length).toBe(1);
      expect(errors[0] instanceof PermitRejectedError).toBe(true);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('times out a queued stream like withPermit', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0);
      const { log } = collect(
        of(1).pipe(boundedPermit(semaphore, { maxWaiting: 1, timeout: 30, scheduler })),
      );
      expect(semaphore.waiting).toBe(1);
      scheduler.flush();
      expect(log.error instanceof PermitTimeoutError).toBe(true);
      expect((log.error as PermitTimeoutError).timeout).toBe(30);
      expect(semaphore.waiting).toBe(0);
    });

    it('passes streams through untouched on a DummySemaphore, never rejecting', () => {
      const dummy = new DummySemaphore();
      const subjects = [new Subject<number>(), new Subject<number>(), new Subject<number>()];
      const logs = subjects.map((subject) => collect(subject.pipe(boundedPermit(dummy))).log);
      subjects.forEach((subject, i) => {
        subject.next(i);
        subject.complete();
      });
      expect(logs).toEqual([
        { values: [0], error: undefined, completed: true },
        { values: [1], error: undefined, completed: true },
        { values: [2], error: undefined, completed: true },
      ]);
    });
  });

  describe('PermitRejectedError', () => {
    it('is an instanceof-able Error with name, primitive, permits, waiting, maxWaiting and a message naming them', () => {
      const semaphore = new BoundedSemaphore(4);
      semaphore.tryAcquire(3);
      collect(of(0).pipe(withPermit(semaphore, { permits: 2 })));
      collect(of(0).pipe(withPermit(semaphore, { permits: 2 })));
      const { log } = collect(of(1).pipe(boundedPermit(semaphore, { permits: 3, maxWaiting: 2 })));
      const error = log.error as PermitRejectedError;
      expect(error instanceof PermitRejectedError).toBe(true);
      expect(error instanceof Error).toBe(true);
      expect(error.name).toBe('PermitRejectedError');
      expect([error.primitive, error.permits, error.waiting, error.maxWaiting]).toEqual([
        'BoundedSemaphore',
        3,
        2,
        2,
      ]);
      expect(error.message).toContain('BoundedSemaphore');
      expect(error.message).toContain('3 permits');
      expect(error.message).toContain('2 already waiting');
      expect(error.message).toContain('maxWaiting 2');
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 2]);
    });

    it('is not a PermitTimeoutError', () => {
      const semaphore = new Semaphore(0);
      const { log } = collect(of(1).pipe(boundedPermit(semaphore)));
      expect(log.error instanceof PermitRejectedError).toBe(true);
      expect(log.error instanceof PermitTimeoutError).toBe(false);
    });
  });

  describe('bad input, thrown synchronously by boundedPermit itself', () => {
    for (const maxWaiting of [-1, 1.5, NaN, -Infinity]) {
      it(`throws a RangeError naming options.maxWaiting for ${maxWaiting}`, () => {
        expect(() => boundedPermit(new Semaphore(1), { maxWaiting })).toThrowError(
          RangeError,
          /boundedPermit: options\.maxWaiting/,
        );
      });
    }

    for (const permits of [0, -1, 1.5, NaN]) {
      it(`throws a RangeError naming options.permits for permits ${permits}`, () => {
        expect(() => boundedPermit(new Semaphore(1), { permits })).toThrowError(
          RangeError,
          /boundedPermit: options\.permits/,
        );
      });
    }

    it("throws a RangeError for permits above a BoundedSemaphore's bound", () => {
      expect(() => boundedPermit(new BoundedSemaphore(1), { permits: 2 })).toThrowError(
        RangeError,
        /boundedPermit: options\.permits is 2, more than the bound of 1/,
      );
    });

    it('throws a RangeError naming options.timeout for a NaN timeout', () => {
      expect(() => boundedPermit(new Semaphore(1), { timeout: NaN })).toThrowError(
        RangeError,
        /boundedPermit: options\.timeout/,
      );
    });

    for (const [label, semaphore] of [
      ['undefined', undefined],
      ['a plain object', {}],
      ['a plain Observable', of(1)],
    ] as Array<[string, unknown]>) {
      it(`throws a TypeError naming the semaphore for ${label}`, () => {
        expect(() => boundedPermit(semaphore as Semaphore)).toThrowError(
          TypeError,
          /boundedPermit: semaphore/,
        );
      });
    }

    it('throws a TypeError naming options.with when it is not a function', () => {
      const options = { with: 'fallback' } as unknown as BoundedPermitOptions<number>;
      expect(() => boundedPermit(new Semaphore(1), options)).toThrowError(
        TypeError,
        /boundedPermit: options\.with/,
      );
    });

    it('points to reentrant when given an RLock', () => {
      expect(() => boundedPermit(new RLock() as unknown as PermitPool)).toThrowError(
        TypeError,
        `boundedPermit: semaphore is an RLock, which has owners: gate a stream by it with reentrant(lock)`,
      );
    });

    it('throws a TypeError that names an unknown option key and the known ones', () => {
      const semaphore = new Semaphore(1);
      expect(() => boundedPermit(semaphore, { maxWaitng: 1 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`boundedPermit: unknown option "`) &&
          error.message.endsWith(`; the options are permits, priority, timeout, scheduler, with, maxWaiting`),
      );
    });
  });

  describe('permits given back exactly once', () => {
    it('when the source completes, errors synchronously, or is unsubscribed', () => {
      const semaphore = new BoundedSemaphore(1);
      collect(of(1).pipe(boundedPermit(semaphore)));
      expect(semaphore.value).toBe(1);
      const failed = collect(throwError(() => 'boom').pipe(boundedPermit(semaphore)));
      expect(failed.log.error).toBe('boom');
      expect(semaphore.value).toBe(1);
      const { subscription } = collect(new Subject<number>().pipe(boundedPermit(semaphore)));
      expect(semaphore.value).toBe(0);
      subscription.unsubscribe();
      subscription.unsubscribe();
      expect(semaphore.value).toBe(1);
    });

    it('gives the permit back before forwarding complete, so the complete handler can take it', () => {
      const semaphore = new Semaphore(1);
      const seen: boolean[] = [];
      of(1)
        .pipe(boundedPermit(semaphore))
        .subscribe({ complete: () => seen.push(semaphore.tryAcquire()) });
      expect(seen).toEqual([true]);
      expect(semaphore.value).toBe(0);
    });

    it('consumes nothing when a throwing `with` fallback takes over a rejection', () => {
      const semaphore = new Semaphore(0);
      const { log } = collect(
        of(1).pipe(
          boundedPermit(semaphore, {
            with: () => {
              throw new Error('fallback failed');
            },
          }),
        ),
      );
      expect(log.error).toEqual(new Error('fallback failed'));
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('leaves the queue intact when a stream is rejected behind queued ones', () => {
      const semaphore = new Semaphore(0);
      const order: string[] = [];
      of('a')
        .pipe(withPermit(semaphore))
        .subscribe((value) => order.push(value));
      of('rejected')
        .pipe(boundedPermit(semaphore))
        .subscribe({ error: () => order.push('rejected') });
      of('b')
        .pipe(withPermit(semaphore))
        .subscribe((value) => order.push(value));
      expect(semaphore.waiting).toBe(2);
      semaphore.release(2);
      expect(order).toEqual(['rejected', 'a', 'b']);
      expect(semaphore.value).toBe(2);
    });
  });

  // Fault injection (issue #6): as in spec/with-permit.spec.ts, for what boundedPermit adds.
  describe('faults stay local', () => {
    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        it('a `with` fallback that throws on a rejection: the error reaches the subscriber', () => {
          const fault = new Fault('fallback');
          const semaphore = heldByTest(create);
          let received: unknown;
          of('x')
            .pipe(
              boundedPermit(semaphore, {
                with: (error) => {
                  expect(error).toBeInstanceOf(PermitRejectedError);
                  throw fault;
                },
              }),
            )
            .subscribe({ error: (error: unknown) => (received = error) });
          expect(received).toBe(fault);
          expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          semaphore.release();
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });
      });
    }
  });
  // SPEC §5: a full bulkhead is a request that may not wait (maxWaiting 0 to the backend): granted at
  // once when its permits are free and no queued request of equal or higher priority is ahead of it,
  // else rejected at once, and counted as `rejected` in stats.
  describe('priority (rule 19)', () => {
    it('admits at once a stream of higher priority than every queued request while a permit is free', () => {
      const semaphore = new Semaphore(2);
      NEVER.pipe(withPermit(semaphore, { permits: 3 })).subscribe();
      const higher = probe();
      const equal = probe();
      const lower = probe();
      const rejected: unknown[] = [];
      lower.source
        .pipe(boundedPermit(semaphore, { priority: -1 }))
        .subscribe({ error: (e) => rejected.push(e) });
      equal.source.pipe(boundedPermit(semaphore)).subscribe({ error: (e) => rejected.push(e) });
      higher.source
        .pipe(boundedPermit(semaphore, { priority: 1 }))
        .subscribe({ error: (e) => rejected.push(e) });
      expect([higher.state.subscribed, equal.state.subscribed, lower.state.subscribed]).toEqual([1, 0, 0]);
      expect(rejected).toEqual([permitRejected(1, 1, 0), permitRejected(1, 1, 0)]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 1]);
    });

    it('with maxWaiting, a stream of any priority is refused once that many are queued; below it, it queues by priority', () => {
      const semaphore = heldByTest((n) => new Semaphore(n));
      const order: string[] = [];
      of('plain')
        .pipe(withPermit(semaphore))
        .subscribe((value) => order.push(value));
      of('urgent')
        .pipe(boundedPermit(semaphore, { maxWaiting: 2, priority: 5 }))
        .subscribe((value) => order.push(value));
      const refused = collect(of('late').pipe(boundedPermit(semaphore, { maxWaiting: 2, priority: 9 })));
      expect(refused.log.error).toEqual(permitRejected(1, 2, 2));
      semaphore.release();
      expect(order).toEqual(['urgent', 'plain']);
    });

    for (const priority of [0.5, NaN, Infinity, 2 ** 53]) {
      it(`priority ${priority}: a RangeError naming options.priority, thrown by boundedPermit itself`, () => {
        expect(() => boundedPermit(new Semaphore(1), { priority })).toThrowError(
          RangeError,
          /boundedPermit: options\.priority must be a safe integer/,
        );
      });
    }

    for (const priority of ['1', null, {}]) {
      it(`priority ${String(priority)} (${typeof priority}): a TypeError naming options.priority`, () => {
        expect(() => boundedPermit(new Semaphore(1), { priority } as never)).toThrowError(
          TypeError,
          /boundedPermit: options\.priority must be a number/,
        );
      });
    }
  });

  describe('stats (rule 21)', () => {
    it('a stream admitted at once counts as granted with a wait of 0; a full bulkhead as rejected, nothing else', () => {
      const semaphore = new Semaphore(1);
      const admitted = probe();
      admitted.source.pipe(boundedPermit(semaphore)).subscribe();
      collect(of(1).pipe(boundedPermit(semaphore)));
      collect(of(2).pipe(boundedPermit(semaphore, { maxWaiting: 1 })));
      collect(of(3).pipe(boundedPermit(semaphore, { maxWaiting: 1, with: () => of(0) })));
      expect(semaphore.stats()).toEqual({
        name: undefined,
        value: 0,
        waiting: 1,
        granted: 1,
        timedOut: 0,
        rejected: 2,
        withdrawn: 0,
        peakWaiting: 1,
        waitMs: { count: 1, total: 0, max: 0 },
      });
    });
  });
});

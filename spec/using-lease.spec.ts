import { NEVER, Subject, VirtualTimeScheduler, finalize, of, repeat, throwError } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitRejectedError,
  RLock,
  Semaphore,
  usingLease,
  type Lease,
} from '../src/index.js';
import {
  Fault,
  advanceScheduler,
  heldSemaphore,
  permitTimeout,
  record,
  semaphoreKinds,
} from './helpers/index.js';

// usingLease(pool, factory, options): RxJS's `using`, for permits (SPEC §5). The factory runs once
// per subscription, once the lease is held (synchronously when the permits are free); the lease is
// released exactly as withPermit releases (rule 8); a lease released early by user code ends the
// hold, and the operator does not release it again. Frame-exact timing is
// marble-tests/using-lease.marble.spec.ts.

/** What a spec needs to know of a lease at one moment. */
function leaseState(lease: Lease) {
  return { permits: lease.permits, token: lease.token, released: lease.released };
}

/** Matches exactly the PermitRejectedError of a request that can never fit under `bound` (rule 20). */
function neverFits(permits: number, bound: number, primitive: string): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitRejectedError &&
      error.name === 'PermitRejectedError' &&
      error.primitive === primitive &&
      error.permits === permits &&
      error.bound === bound &&
      error.message.includes(primitive) &&
      error.message.includes(`${permits} permits`) &&
      error.message.includes(`bound of ${bound}`),
    jasmineToString: () => `<PermitRejectedError ${primitive} permits=${permits} bound=${bound}>`,
  };
}

describe('usingLease', () => {
  describe('the factory', () => {
    it('is called synchronously, in the subscribe call, with a held lease when the permits are free', () => {
      const semaphore = new Semaphore(2);
      const seen: Array<{ permits: number; token: number; released: boolean; value: number }> = [];
      const stream = usingLease(semaphore, (lease) => {
        seen.push({ ...leaseState(lease), value: semaphore.value });
        return of('a', 'b');
      });
      expect(seen).toEqual([]);
      const { events } = record(stream);
      expect(seen).toEqual([{ permits: 1, token: 1, released: false, value: 1 }]);
      expect(events).toEqual(['a', 'b', 'complete']);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('is called once per subscription, each with a lease of its own', () => {
      const semaphore = new Semaphore(1);
      const leases: Lease[] = [];
      const stream = usingLease(semaphore, (lease) => {
        leases.push(lease);
        return of(lease.token);
      });
      expect(record(stream).events).toEqual([1, 'complete']);
      expect(record(stream).events).toEqual([2, 'complete']);
      expect(record(stream.pipe(repeat(2))).events).toEqual([3, 4, 'complete']);
      expect(leases.length).toBe(4);
      expect(new Set(leases).size).toBe(4);
      expect(leases.map((lease) => lease.released)).toEqual([true, true, true, true]);
    });

    it('is not called while the request waits, and is called in the release that grants it', () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      const calls: number[] = [];
      const { events } = record(
        usingLease(semaphore, (lease) => {
          calls.push(lease.token);
          return NEVER;
        }),
      );
      expect([calls, events, semaphore.waiting]).toEqual([[], [], 1]);
      expect(semaphore.release()).toBe(0);
      // tryAcquire drew token 1; this grant draws 2.
      expect(calls).toEqual([2]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('is never called for a subscription withdrawn while queued, which consumes nothing', () => {
      const semaphore = heldSemaphore((n) => new Semaphore(n), 1);
      let calls = 0;
      const { subscription } = record(
        usingLease(semaphore, () => {
          calls++;
          return of(1);
        }),
      );
      expect(semaphore.waiting).toBe(1);
      subscription.unsubscribe();
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
      expect(semaphore.release()).toBe(1);
      expect(calls).toBe(0);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ granted: 1, withdrawn: 1, timedOut: 0, rejected: 0 }),
      );
    });

    it('may return any ObservableInput: a promise, an array, an iterable', async () => {
      const semaphore = new Semaphore(1);
      expect(record(usingLease(semaphore, () => [1, 2, 3])).events).toEqual([1, 2, 3, 'complete']);
      expect(record(usingLease(semaphore, () => new Set(['x']))).events).toEqual(['x', 'complete']);
      const values: number[] = [];
      let held = -1;
      await new Promise<void>((resolve) =>
        usingLease(semaphore, (lease) => Promise.resolve(lease.token)).subscribe({
          next: (value) => {
            values.push(value);
            held = semaphore.value;
          },
          complete: resolve,
        }),
      );
      expect(values).toEqual([3]);
      expect(held).toBe(0);
      expect(semaphore.value).toBe(1);
    });

    it('receives a lease of options.permits permits, and its stream holds them all', () => {
      const semaphore = new Semaphore(5);
      const seen: unknown[] = [];
      record(
        usingLease(
          semaphore,
          (lease) => {
            seen.push(leaseState(lease), semaphore.value);
            return of(0);
          },
          { permits: 3 },
        ),
      );
      expect(seen).toEqual([{ permits: 3, token: 1, released: false }, 2]);
      expect(semaphore.value).toBe(5);
    });

    it('receives the lease after the leases of every earlier grant (tokens strictly increase)', () => {
      const semaphore = new Semaphore(3);
      const tokens: number[] = [];
      const held = new Subject<void>();
      for (let i = 0; i < 5; i++) {
        usingLease(semaphore, (lease) => {
          tokens.push(lease.token);
          return held;
        }).subscribe();
      }
      expect(tokens).toEqual([1, 2, 3]);
      held.complete();
      expect(tokens).toEqual([1, 2, 3, 4, 5]);
      expect([semaphore.value, semaphore.waiting]).toEqual([3, 0]);
    });
  });

  describe('the lease is released exactly as withPermit releases (rule 8)', () => {
    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        it('before the complete is forwarded', () => {
          const semaphore = create(1);
          let lease: Lease | null = null;
          const atComplete: unknown[] = [];
          usingLease(semaphore, (given) => {
            lease = given;
            return of('x');
          }).subscribe({
            next: () => atComplete.push('next', lease!.released, semaphore.value),
            complete: () => atComplete.push('complete', lease!.released, semaphore.value),
          });
          expect(atComplete).toEqual(['next', false, 0, 'complete', true, 1]);
        });

        it('before the error is forwarded', () => {
          const semaphore = create(1);
          let lease: Lease | null = null;
          const fault = new Fault('inner failed');
          const atError: unknown[] = [];
          usingLease(semaphore, (given) => {
            lease = given;
            return throwError(() => fault);
          }).subscribe({ error: (error) => atError.push(error, lease!.released, semaphore.value) });
          expect(atError).toEqual([fault, true, 1]);
        });

        it('when the subscriber unsubscribes, and only once', () => {
          const semaphore = create(2);
          let lease: Lease | null = null;
          const subscription = usingLease(semaphore, (given) => {
            lease = given;
            return NEVER;
          }).subscribe();
          expect([lease!.released, semaphore.value]).toEqual([false, 1]);
          subscription.unsubscribe();
          expect([lease!.released, semaphore.value]).toEqual([true, 2]);
          subscription.unsubscribe();
          lease!.release();
          expect(semaphore.value).toBe(2);
        });

        it('after the source is torn down, so the next stream never overlaps its teardown', () => {
          const semaphore = create(1);
          const log: string[] = [];
          const source = new Subject<string>();
          usingLease(semaphore, () =>
            source.pipe(finalize(() => log.push(`torn down, value ${semaphore.value}`))),
          ).subscribe({ complete: () => log.push(`complete, value ${semaphore.value}`) });
          usingLease(semaphore, () => {
            log.push(`next factory, value ${semaphore.value}`);
            return NEVER;
          }).subscribe();
          source.complete();
          expect(log).toEqual(['torn down, value 0', 'next factory, value 0', 'complete, value 0']);
        });
      });
    }
  });

  describe('a lease released early by user code', () => {
    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        it('ends the hold at once: the next request is granted in that call', () => {
          const semaphore = create(1);
          const log: string[] = [];
          const source = new Subject<string>();
          let lease: Lease | null = null;
          usingLease(semaphore, (given) => {
            lease = given;
            return source;
          }).subscribe({
            next: (value) => log.push(`first: ${value}`),
            complete: () => log.push('first: complete'),
          });
          usingLease(semaphore, (given) => of(`second holds token ${given.token}`)).subscribe({
            next: (value) => log.push(value),
          });
          expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
          lease!.release();
          expect(lease!.released).toBe(true);
          expect(log).toEqual(['second holds token 2']);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          // The stream goes on without the permit.
          source.next('still running');
          expect(log).toEqual(['second holds token 2', 'first: still running']);
        });

        it('is not released again when the stream completes (no double give-back, no OverReleaseError)', () => {
          const semaphore = create(2);
          const values: number[] = [];
          const source = new Subject<void>();
          usingLease(semaphore, (lease) => {
            lease.release();
            values.push(semaphore.value);
            return source;
          }).subscribe({ complete: () => values.push(semaphore.value) });
          source.complete();
          expect(values).toEqual([2, 2]);
          expect(semaphore.value).toBe(2);
          expect(semaphore.tryAcquire(2)).toBe(true);
          expect(semaphore.tryAcquire()).toBe(false);
        });

        it('is not released again when the stream errors or is unsubscribed', () => {
          const semaphore = create(1);
          const failing = usingLease(semaphore, (lease) => {
            lease.release();
            return throwError(() => new Fault('late failure'));
          });
          expect(record(failing).events).toEqual(['error', jasmine.any(Fault)]);
          expect(semaphore.value).toBe(1);
          const subscription = usingLease(semaphore, (lease) => {
            lease[Symbol.dispose]();
            return NEVER;
          }).subscribe();
          expect(semaphore.value).toBe(1);
          subscription.unsubscribe();
          expect(semaphore.value).toBe(1);
        });

        it('[Symbol.dispose]() is release(): it ends the hold once', () => {
          const semaphore = create(1);
          let lease: Lease | null = null;
          usingLease(semaphore, (given) => {
            lease = given;
            return NEVER;
          }).subscribe();
          expect([lease!.released, semaphore.value]).toEqual([false, 0]);
          lease![Symbol.dispose]();
          expect([lease!.released, semaphore.value]).toEqual([true, 1]);
          lease![Symbol.dispose]();
          lease!.release();
          expect(semaphore.value).toBe(1);
        });
      });
    }

    it('release() is idempotent: later calls do nothing, on a Semaphore that could be over-released', () => {
      const semaphore = new Semaphore(1);
      let lease: Lease | null = null;
      usingLease(semaphore, (given) => {
        lease = given;
        return NEVER;
      }).subscribe();
      lease!.release();
      lease!.release();
      lease!.release();
      expect(semaphore.value).toBe(1);
    });
  });

  describe('a factory that throws', () => {
    for (const [kind, create] of semaphoreKinds) {
      it(`errors the stream with what it threw, after giving the lease back (${kind})`, () => {
        const semaphore = create(1);
        const fault = new Fault('factory failed');
        let lease: Lease | null = null;
        const seen: unknown[] = [];
        usingLease(semaphore, (given) => {
          lease = given;
          throw fault;
        }).subscribe({
          next: () => seen.push('next'),
          error: (error) => seen.push(error, lease!.released, semaphore.value),
          complete: () => seen.push('complete'),
        });
        expect(seen).toEqual([fault, true, 1]);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });
    }

    it('hands its permit on before the error is forwarded; the next grantee is told after (rule 4)', () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      const log: string[] = [];
      usingLease(semaphore, () => {
        throw new Fault('factory failed');
      }).subscribe({
        error: () => log.push(`first: error, value ${semaphore.value}, waiting ${semaphore.waiting}`),
      });
      usingLease(semaphore, (lease) => {
        log.push(`second: token ${lease.token}`);
        return NEVER;
      }).subscribe();
      // The first is granted inside this release: its give-back is folded into the running grant loop.
      semaphore.release();
      expect(log).toEqual(['first: error, value 0, waiting 0', 'second: token 3']);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });
  });

  describe('options (as withPermit)', () => {
    it('timeout: errors with PermitTimeoutError and never calls the factory', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler });
      semaphore.tryAcquire();
      let calls = 0;
      const { events } = record(
        usingLease(
          semaphore,
          () => {
            calls++;
            return of(1);
          },
          { timeout: 10, permits: 1 },
        ),
      );
      advanceScheduler(scheduler, 9);
      expect([events, semaphore.waiting]).toEqual([[], 1]);
      advanceScheduler(scheduler, 1);
      expect(events).toEqual(['error', permitTimeout(10, 1)]);
      expect([calls, semaphore.value, semaphore.waiting]).toEqual([0, 0, 0]);
      expect(semaphore.stats()).toEqual(jasmine.objectContaining({ timedOut: 1, rejected: 0, withdrawn: 0 }));
    });

    it('timeout <= 0: errors at once unless the permits are free', () => {
      const semaphore = new Semaphore(1);
      const free = record(usingLease(semaphore, (lease) => of(lease.token), { timeout: 0 }));
      expect(free.events).toEqual([1, 'complete']);
      semaphore.tryAcquire();
      const taken = record(usingLease(semaphore, () => of(-1), { timeout: 0 }));
      expect(taken.events).toEqual(['error', permitTimeout(0, 1)]);
      expect(semaphore.waiting).toBe(0);
    });

    it('with: a timed-out subscription switches to the fallback, which gets the error and no lease', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler, name: 'writers' });
      semaphore.tryAcquire();
      const errors: unknown[] = [];
      let calls = 0;
      const { events } = record(
        usingLease(
          semaphore,
          () => {
            calls++;
            return of('held');
          },
          {
            timeout: 5,
            with: (error) => {
              errors.push(error);
              return of('fallback');
            },
          },
        ),
      );
      advanceScheduler(scheduler, 5);
      expect(events).toEqual(['fallback', 'complete']);
      expect(errors).toEqual([permitTimeout(5, 1, 'Semaphore "writers"')]);
      expect(calls).toBe(0);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('priority: a subscription of higher priority is served before earlier ones of lower priority', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const order: string[] = [];
      const leased = (label: string, priority?: number) =>
        usingLease(
          semaphore,
          (lease) => {
            order.push(`${label}:${lease.token}`);
            return of(label);
          },
          priority === undefined ? undefined : { priority },
        ).subscribe();
      leased('low', -1);
      leased('default');
      leased('high', 2);
      leased('zero', 0);
      expect(semaphore.waiting).toBe(4);
      semaphore.release();
      expect(order).toEqual(['high:2', 'default:3', 'zero:4', 'low:5']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('takes no maxWaiting: a bulkhead is boundedPermit, not usingLease', () => {
      const semaphore = new Semaphore(1);
      expect(() => usingLease(semaphore, () => of(1), { maxWaiting: 0 } as never)).toThrowError(
        TypeError,
        /usingLease: unknown option "maxWaiting"/,
      );
    });

    it('a lowered bound refuses a queued request that no longer fits: PermitRejectedError, no factory call', () => {
      const semaphore = new BoundedSemaphore(3);
      semaphore.tryAcquire(3);
      let calls = 0;
      const { events } = record(
        usingLease(
          semaphore,
          () => {
            calls++;
            return of(1);
          },
          { permits: 3 },
        ),
      );
      expect(semaphore.waiting).toBe(1);
      expect(semaphore.adjust(-1)).toBe(-1);
      expect(events).toEqual(['error', neverFits(3, 2, 'BoundedSemaphore')]);
      expect([calls, semaphore.waiting]).toEqual([0, 0]);
    });
  });

  describe('DummySemaphore', () => {
    it('calls the factory at once with a lease of its own counter; releasing it does nothing', () => {
      const dummy = new DummySemaphore();
      const other = new DummySemaphore();
      const leases: Lease[] = [];
      const stream = (pool: DummySemaphore) =>
        usingLease(
          pool,
          (lease) => {
            leases.push(lease);
            return of(lease.token);
          },
          { permits: 4 },
        );
      expect(record(stream(dummy)).events).toEqual([1, 'complete']);
      expect(record(stream(dummy)).events).toEqual([2, 'complete']);
      expect(record(stream(other)).events).toEqual([1, 'complete']);
      expect(leases.map(leaseState)).toEqual([
        { permits: 4, token: 1, released: true },
        { permits: 4, token: 2, released: true },
        { permits: 4, token: 1, released: true },
      ]);
      leases[0].release();
      leases[0][Symbol.dispose]();
      expect([dummy.value, dummy.waiting]).toEqual([Infinity, 0]);
    });

    it('a lease released early changes nothing, and the stream runs on', () => {
      const dummy = new DummySemaphore();
      const source = new Subject<number>();
      const seen: number[] = [];
      usingLease(dummy, (lease) => {
        lease.release();
        return source;
      }).subscribe((value) => seen.push(value));
      source.next(1);
      source.next(2);
      expect(seen).toEqual([1, 2]);
      expect(dummy.value).toBe(Infinity);
    });
  });

  describe('bad input, thrown synchronously by usingLease itself', () => {
    const semaphore = new Semaphore(1);

    for (const [label, factory] of [
      ['undefined', undefined],
      ['null', null],
      ['a number', 1],
      ['a string', 'of(1)'],
      ['an object', {}],
      ['an Observable', of(1)],
    ] as const) {
      it(`a factory that is ${label}: a TypeError naming the factory`, () => {
        expect(() => usingLease(semaphore, factory as never)).toThrowError(TypeError, /usingLease.*factory/);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });
    }

    for (const key of ['maxWaiting', 'owner', 'timout', 'blocking', 'signal']) {
      it(`an unknown option key ${key}: a TypeError naming it and the options`, () => {
        expect(() => usingLease(semaphore, () => of(1), { [key]: 1 } as never)).toThrowError(
          TypeError,
          new RegExp(
            `usingLease: unknown option "${key}"; the options are permits, priority, timeout, scheduler, with`,
          ),
        );
      });
    }

    for (const priority of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
      it(`priority = ${priority}: a RangeError naming options.priority`, () => {
        expect(() => usingLease(semaphore, () => of(1), { priority })).toThrowError(
          RangeError,
          /usingLease: options\.priority must be a safe integer/,
        );
      });
    }

    for (const priority of ['1', true, null, {}, 1n]) {
      it(`priority = ${String(priority)} (${typeof priority}): a TypeError naming options.priority`, () => {
        expect(() => usingLease(semaphore, () => of(1), { priority } as never)).toThrowError(
          TypeError,
          /usingLease: options\.priority must be a number/,
        );
      });
    }

    it('accepts the extreme safe integers as priorities', () => {
      expect(
        record(usingLease(semaphore, () => of(1), { priority: Number.MAX_SAFE_INTEGER })).events,
      ).toEqual([1, 'complete']);
      expect(
        record(usingLease(semaphore, () => of(2), { priority: Number.MIN_SAFE_INTEGER })).events,
      ).toEqual([2, 'complete']);
    });

    it('permits above a bound: a RangeError', () => {
      expect(() => usingLease(new BoundedSemaphore(2), () => of(1), { permits: 3 })).toThrowError(
        RangeError,
        /usingLease: options\.permits is 3, more than the bound of 2/,
      );
    });

    for (const [label, pool] of [
      ['an RLock', new RLock()],
      ['a plain object', { acquire: () => of(true), release: () => 0 }],
      ['null', null],
    ] as const) {
      it(`a pool that is ${label}: a TypeError`, () => {
        expect(() => usingLease(pool as never, () => of(1))).toThrowError(TypeError, /usingLease: semaphore/);
      });
    }

    it('a bad option throws from usingLease(), before anything is queued', () => {
      const held = new Semaphore(0);
      expect(() => usingLease(held, () => of(1), { timeout: NaN })).toThrowError(RangeError, /timeout/);
      expect(held.waiting).toBe(0);
    });
  });

  describe('stats', () => {
    it('counts a grant at once with a wait of 0, a queued one, a withdrawal and a timeout', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler, name: 'leases' });
      const first = usingLease(semaphore, () => NEVER).subscribe();
      usingLease(semaphore, () => of(1)).subscribe();
      const withdrawn = usingLease(semaphore, () => of(2)).subscribe();
      usingLease(semaphore, () => of(3), { timeout: 4 }).subscribe({ error: () => undefined });
      advanceScheduler(scheduler, 3);
      withdrawn.unsubscribe();
      advanceScheduler(scheduler, 1);
      advanceScheduler(scheduler, 3);
      first.unsubscribe();
      expect(semaphore.stats()).toEqual({
        name: 'leases',
        value: 1,
        waiting: 0,
        granted: 2,
        timedOut: 1,
        rejected: 0,
        withdrawn: 1,
        peakWaiting: 3,
        waitMs: { count: 2, total: 7, max: 7 },
      });
    });
  });
});

import { Observable, of } from 'rxjs';
import {
  DummySemaphore,
  Semaphore,
  mergeMapWithPermit,
  usingLease,
  withPermit,
  type Lease,
} from '../src/index.js';
import { badInputChecks, record, type BadInputTarget, type LooseApi } from './helpers/index.js';

// DummySemaphore's API and bad input. That it never blocks is its conformance suite
// (spec/conformance/semaphore-conformance.spec.ts); timing is in
// marble-tests/dummy-semaphore.marble.spec.ts.

describe('DummySemaphore', () => {
  it('is an Observable of Infinity', () => {
    const semaphore = new DummySemaphore();
    expect(semaphore instanceof Observable).toBe(true);
    expect(record(semaphore).events).toEqual([Infinity]);
  });

  for (const value of [0, 1, 5, undefined]) {
    it(`accepts and ignores a constructor value of ${value}`, () => {
      const semaphore = new DummySemaphore(value);
      expect([semaphore.value, semaphore.locked(), semaphore.ready(), semaphore.waiting]).toEqual([
        Infinity,
        false,
        true,
        0,
      ]);
      expect(record(semaphore.acquire()).events).toEqual([true, 'complete']);
      expect(record(semaphore.acquire()).events).toEqual([true, 'complete']);
    });
  }

  it('release returns Infinity, the unchanged value', () => {
    const semaphore = new DummySemaphore();
    expect(semaphore.release()).toBe(Infinity);
    expect(semaphore.release(3)).toBe(Infinity);
  });

  it('acquire emits true synchronously, and unsubscribing after it changes nothing', () => {
    const semaphore = new DummySemaphore();
    const { events, subscription } = record(semaphore.acquire());
    expect(events).toEqual([true, 'complete']);
    subscription.unsubscribe();
    expect(semaphore.value).toBe(Infinity);
  });

  it('wait emits Infinity synchronously and completes', () => {
    expect(record(new DummySemaphore().wait()).events).toEqual([Infinity, 'complete']);
  });

  it('rawlink does not call the callback and unlink does nothing', () => {
    const semaphore = new DummySemaphore();
    const calls: unknown[] = [];
    const callback = (linked: DummySemaphore) => calls.push(linked);
    semaphore.rawlink(callback);
    semaphore.unlink(callback);
    semaphore.rawlink(callback);
    semaphore.release();
    expect(calls).toEqual([]);
  });

  describe('bad input', () => {
    const dummy: BadInputTarget = {
      name: 'DummySemaphore',
      make: () => new DummySemaphore() as unknown as LooseApi,
    };
    for (const { title, check } of badInputChecks(dummy)) it(title, check);

    it("acquire(false) hints at { blocking: false }, gevent's acquire(False)", () => {
      expect(() => new DummySemaphore().acquire(false as never)).toThrowError(
        TypeError,
        `DummySemaphore.acquire: options must be an object, got false: gevent's acquire(False) is acquire({ blocking: false }) here`,
      );
    });

    it('acquire(5) hints at { timeout } and { permits }', () => {
      expect(() => new DummySemaphore().acquire(5 as never)).toThrowError(
        TypeError,
        `DummySemaphore.acquire: options must be an object, got 5: for a timeout write acquire({ timeout: 5 }), for several permits acquire({ permits: 5 })`,
      );
    });

    it('the constructor: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new DummySemaphore(1, { value: 2 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`DummySemaphore: unknown option "`) &&
          error.message.endsWith(`; the options are scheduler, name`),
      );
    });
  });
  // SPEC §5 on a DummySemaphore: leases from a counter of its own whose release does nothing,
  // adjust that returns Infinity, stats, and priority accepted (and checked) but moot.
  describe('leases and fencing tokens (§5)', () => {
    /** Grants a lease through usingLease and returns it, released or not as the factory leaves it. */
    function leaseFrom(dummy: DummySemaphore, permits = 1): Lease {
      let held: Lease | null = null;
      usingLease(
        dummy,
        (lease) => {
          held = lease;
          return of(0);
        },
        { permits },
      ).subscribe();
      return held!;
    }

    it('draws tokens from a counter of its own: every grant draws one, acquire() and tryAcquire included', () => {
      const dummy = new DummySemaphore();
      const semaphore = new Semaphore(1);
      expect(leaseFrom(dummy).token).toBe(1);
      dummy.acquire().subscribe(); // draws 2, unseen
      expect(dummy.tryAcquire()).toBe(true); // draws 3, unseen
      usingLease(semaphore, () => of(0)).subscribe(); // another primitive's counter
      const projected: number[] = [];
      of('a', 'b')
        .pipe(
          mergeMapWithPermit(dummy, (_value, _index, lease) => {
            projected.push(lease.token);
            return of(0);
          }),
        )
        .subscribe();
      expect(projected).toEqual([4, 5]);
      expect(leaseFrom(dummy).token).toBe(6);
      expect(leaseFrom(new DummySemaphore()).token).toBe(1);
    });

    it('withPermit passes the stream through untouched: it draws no token', () => {
      const dummy = new DummySemaphore();
      expect(leaseFrom(dummy).token).toBe(1);
      of(1, 2).pipe(withPermit(dummy)).subscribe();
      expect(leaseFrom(dummy).token).toBe(2);
    });

    it('a lease has the permits asked for; releasing it (or disposing it) does nothing but mark it released', () => {
      const dummy = new DummySemaphore();
      const seen: number[] = [];
      dummy.subscribe((value) => seen.push(value));
      const lease = leaseFrom(dummy, 7);
      expect([lease.permits, lease.released]).toEqual([7, true]);
      let held: Lease | null = null;
      usingLease(dummy, (given) => {
        held = given;
        return new Observable<never>();
      }).subscribe();
      expect(held!.released).toBe(false);
      held![Symbol.dispose]();
      expect(held!.released).toBe(true);
      held!.release();
      expect([dummy.value, dummy.waiting, seen]).toEqual([Infinity, 0, [Infinity]]);
    });
  });

  describe('adjust (rule 20)', () => {
    it('returns Infinity and does nothing, whatever the integer delta', () => {
      const dummy = new DummySemaphore();
      const seen: number[] = [];
      dummy.subscribe((value) => seen.push(value));
      for (const delta of [5, -5, 0, -(2 ** 40)]) expect(dummy.adjust(delta)).toBe(Infinity);
      expect([dummy.value, dummy.waiting, dummy.locked(), seen]).toEqual([Infinity, 0, false, [Infinity]]);
      expect(record(dummy.acquire({ permits: 1000 })).events).toEqual([true, 'complete']);
    });

    it('checks its argument as Semaphore.adjust does', () => {
      const dummy = new DummySemaphore();
      expect(() => dummy.adjust(1.5)).toThrowError(
        RangeError,
        /DummySemaphore\.adjust: delta must be an integer/,
      );
      expect(() => dummy.adjust('1' as never)).toThrowError(
        TypeError,
        /DummySemaphore\.adjust: delta must be a number/,
      );
    });
  });

  describe('stats (rule 21)', () => {
    it('counts every grant as granted at once with a wait of 0; value Infinity; its name', () => {
      const dummy = new DummySemaphore(0, { name: 'unlimited' });
      dummy.acquire().subscribe();
      dummy.acquire({ timeout: 0, blocking: false }).subscribe();
      dummy.tryAcquire(3);
      usingLease(dummy, () => of(1)).subscribe();
      of(1, 2)
        .pipe(mergeMapWithPermit(dummy, (x) => of(x)))
        .subscribe();
      expect(dummy.stats()).toEqual({
        name: 'unlimited',
        value: Infinity,
        waiting: 0,
        granted: 6,
        timedOut: 0,
        rejected: 0,
        withdrawn: 0,
        peakWaiting: 0,
        waitMs: { count: 6, total: 0, max: 0 },
      });
    });

    it('returns a fresh snapshot each call', () => {
      const dummy = new DummySemaphore();
      const first = dummy.stats();
      dummy.tryAcquire();
      expect(first.granted).toBe(0);
      expect(dummy.stats()).not.toBe(dummy.stats());
      expect(dummy.stats().granted).toBe(1);
      expect(new DummySemaphore().stats().name).toBeUndefined();
    });
  });

  describe('priority (rule 19)', () => {
    it('accepts a safe integer priority, and grants at once whatever it is', () => {
      const dummy = new DummySemaphore();
      for (const priority of [Number.MIN_SAFE_INTEGER, -1, 0, 7, Number.MAX_SAFE_INTEGER]) {
        expect(record(dummy.acquire({ priority })).events).toEqual([true, 'complete']);
        expect(record(usingLease(dummy, () => of(priority), { priority })).events).toEqual([
          priority,
          'complete',
        ]);
      }
    });

    it('checks it as Semaphore does: RangeError for a non-integer, TypeError for a non-number', () => {
      const dummy = new DummySemaphore();
      expect(() => dummy.acquire({ priority: 0.5 })).toThrowError(
        RangeError,
        /options\.priority must be a safe integer/,
      );
      expect(() => withPermit(dummy, { priority: NaN })).toThrowError(RangeError, /options\.priority/);
      expect(() => dummy.acquire({ priority: '1' as never })).toThrowError(
        TypeError,
        /options\.priority must be a number/,
      );
    });
  });
});

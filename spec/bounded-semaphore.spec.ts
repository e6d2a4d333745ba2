import { NEVER, Observable, of } from 'rxjs';
import {
  BoundedSemaphore,
  OverReleaseError,
  PermitRejectedError,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  withPermit,
} from '../src/index.js';
import { badInputChecks, permitRejected, record, semaphoreTarget } from './helpers/index.js';

// What a BoundedSemaphore adds to a Semaphore: its bound, over-release refused, requests above the
// bound rejected; and its bad input. The contract it shares with every primitive is the conformance
// suite (spec/conformance/semaphore-conformance.spec.ts); what it inherits from Semaphore (faults,
// timing) runs on both kinds in spec/semaphore.spec.ts and marble-tests/semaphore.marble.spec.ts.

function overRelease(semaphore: BoundedSemaphore, permits?: number): unknown {
  try {
    semaphore.release(permits);
  } catch (error) {
    return error;
  }
  return undefined;
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

describe('BoundedSemaphore', () => {
  it('is a Semaphore and an Observable', () => {
    const semaphore = new BoundedSemaphore(2);
    expect(semaphore instanceof Semaphore).toBe(true);
    expect(semaphore instanceof Observable).toBe(true);
  });

  it('defaults to 1 permit, its bound', () => {
    const semaphore = new BoundedSemaphore();
    expect(semaphore.value).toBe(1);
    expect(overRelease(semaphore)).toEqual(jasmine.any(OverReleaseError));
  });

  it('may be released back up to its initial value', () => {
    const semaphore = new BoundedSemaphore(3);
    semaphore.tryAcquire(3);
    expect(semaphore.release(2)).toBe(2);
    expect(semaphore.release()).toBe(3);
  });

  describe('over-release', () => {
    it('throws an OverReleaseError naming the primitive, the bound, the value and the permits', () => {
      const semaphore = new BoundedSemaphore(2);
      const error = overRelease(semaphore) as OverReleaseError;
      expect(error instanceof OverReleaseError).toBe(true);
      expect(error instanceof Error).toBe(true);
      expect(error.name).toBe('OverReleaseError');
      expect([error.primitive, error.bound, error.value, error.permits]).toEqual([
        'BoundedSemaphore',
        2,
        2,
        1,
      ]);
      expect(error.message).toMatch(/BoundedSemaphore/);
      expect(error.message).toMatch(/\b2\b/);
      expect(error.message).toMatch(/\b3\b/);
    });

    it('refuses a release that would overshoot even partly, and changes nothing', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire();
      const seen = record(semaphore);
      const error = overRelease(semaphore, 2) as OverReleaseError;
      expect(error instanceof OverReleaseError).toBe(true);
      expect([error.bound, error.value, error.permits]).toEqual([2, 1, 2]);
      expect(error.message).toMatch(/\b2\b/);
      expect(error.message).toMatch(/\b1\b/);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      expect(seen.events).toEqual([1]);
    });

    it('wakes no wait and no rawlink callback when refused', () => {
      const semaphore = new BoundedSemaphore(1);
      semaphore.tryAcquire();
      semaphore.release();
      const calls: string[] = [];
      semaphore.tryAcquire();
      semaphore.wait().subscribe(() => calls.push('wait'));
      semaphore.rawlink(() => calls.push('rawlink'));
      expect(overRelease(semaphore, 2)).toEqual(jasmine.any(OverReleaseError));
      expect(calls).toEqual([]);
      expect(semaphore.value).toBe(0);
      semaphore.release();
      expect(calls).toEqual(['wait', 'rawlink']);
    });

    it('refuses any release of a BoundedSemaphore(0)', () => {
      const semaphore = new BoundedSemaphore(0);
      const error = overRelease(semaphore) as OverReleaseError;
      expect(error instanceof OverReleaseError).toBe(true);
      expect([error.bound, error.value, error.permits]).toEqual([0, 0, 1]);
      expect(semaphore.value).toBe(0);
    });

    it('counts permits handed to waiters as taken: release hands off, then the next one overshoots', () => {
      const semaphore = new BoundedSemaphore(1);
      semaphore.tryAcquire();
      const { events } = record(semaphore.acquire());
      expect(semaphore.release()).toBe(0);
      expect(events).toEqual([true, 'complete']);
      expect(semaphore.release()).toBe(1);
      expect(overRelease(semaphore)).toEqual(jasmine.any(OverReleaseError));
      expect(semaphore.value).toBe(1);
    });

    it('leaves queued requests queued when refused', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire(2);
      const { events } = record(semaphore.acquire({ permits: 2 }));
      expect(overRelease(semaphore, 3)).toEqual(jasmine.any(OverReleaseError));
      expect(events).toEqual([]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
      semaphore.release(2);
      expect(events).toEqual([true, 'complete']);
    });
  });

  describe('requests above the bound', () => {
    it('acquire({ permits }) above the bound throws a RangeError from the call, before any subscribe', () => {
      const semaphore = new BoundedSemaphore(2);
      expect(() => semaphore.acquire({ permits: 3 })).toThrowError(RangeError, /permits/);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('tryAcquire(permits) above the bound throws a RangeError', () => {
      const semaphore = new BoundedSemaphore(2);
      expect(() => semaphore.tryAcquire(3)).toThrowError(RangeError, /permits/);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('names the bound in the message', () => {
      const semaphore = new BoundedSemaphore(2);
      expect(() => semaphore.acquire({ permits: 5 })).toThrowError(RangeError, /\b5\b.*\b2\b|\b2\b.*\b5\b/);
    });

    it('accepts a request for exactly the bound, even while permits are taken', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire();
      const { events } = record(semaphore.acquire({ permits: 2 }));
      expect([events, semaphore.waiting]).toEqual([[], 1]);
      semaphore.release();
      expect(events).toEqual([true, 'complete']);
      expect(semaphore.value).toBe(0);
    });

    it('rejects every acquire of a BoundedSemaphore(0), which could never grant one', () => {
      const semaphore = new BoundedSemaphore(0);
      expect(() => semaphore.acquire()).toThrowError(RangeError, /permits/);
      expect(() => semaphore.tryAcquire()).toThrowError(RangeError, /permits/);
      expect(semaphore.waiting).toBe(0);
    });
  });

  describe('bad input', () => {
    for (const { title, check } of badInputChecks(semaphoreTarget('BoundedSemaphore', BoundedSemaphore)))
      it(title, check);

    it("acquire(false) hints at { blocking: false }, gevent's acquire(False)", () => {
      expect(() => new BoundedSemaphore(1).acquire(false as never)).toThrowError(
        TypeError,
        `BoundedSemaphore.acquire: options must be an object, got false: gevent's acquire(False) is acquire({ blocking: false }) here`,
      );
    });

    it('acquire(5) hints at { timeout } and { permits }', () => {
      expect(() => new BoundedSemaphore(1).acquire(5 as never)).toThrowError(
        TypeError,
        `BoundedSemaphore.acquire: options must be an object, got 5: for a timeout write acquire({ timeout: 5 }), for several permits acquire({ permits: 5 })`,
      );
    });

    it('the constructor: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new BoundedSemaphore(1, { bound: 2 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`BoundedSemaphore: unknown option "`) &&
          error.message.endsWith(`; the options are scheduler, name`),
      );
    });
  });
  // SPEC rule 20 on a BoundedSemaphore: the bound moves with adjust(delta); releases are checked
  // against the new bound; a bound below 0 is a RangeError; a queued request that can no longer fit
  // fails at once (PermitRejectedError for a gated stream, false for acquire) and leaves the queue.
  describe('adjust moves the bound (rule 20)', () => {
    it('adjust(+n) raises the bound and the value: releases up to the new bound are allowed, not above', () => {
      const semaphore = new BoundedSemaphore(1);
      expect(semaphore.adjust(2)).toBe(3);
      expect(semaphore.tryAcquire(3)).toBe(true);
      expect(semaphore.release(3)).toBe(3);
      const error = overRelease(semaphore);
      expect(error).toEqual(jasmine.any(OverReleaseError));
      expect([(error as OverReleaseError).bound, (error as OverReleaseError).value]).toEqual([3, 3]);
    });

    it('adjust(-n) lowers the bound: with the permits free, they go at once, and a release above the new bound throws', () => {
      const semaphore = new BoundedSemaphore(4);
      expect(semaphore.adjust(-3)).toBe(1);
      const error = overRelease(semaphore);
      expect(error).toEqual(jasmine.any(OverReleaseError));
      expect([(error as OverReleaseError).bound, (error as OverReleaseError).value]).toEqual([1, 1]);
      expect(semaphore.value).toBe(1);
    });

    it('adjust(-n) with permits held: the value owes them, holders release back up to the new bound, and one more throws', () => {
      const semaphore = new BoundedSemaphore(3);
      expect(semaphore.tryAcquire(3)).toBe(true);
      expect(semaphore.adjust(-2)).toBe(-2);
      expect(semaphore.release()).toBe(-1);
      expect(semaphore.release()).toBe(0);
      expect(semaphore.release()).toBe(1);
      const error = overRelease(semaphore);
      expect(error).toEqual(jasmine.any(OverReleaseError));
      expect([(error as OverReleaseError).bound, (error as OverReleaseError).value]).toEqual([1, 1]);
      expect(semaphore.value).toBe(1);
    });

    it('a bound lowered to exactly 0 is allowed; then every request is above it', () => {
      const semaphore = new BoundedSemaphore(2);
      expect(semaphore.adjust(-2)).toBe(0);
      expect(() => semaphore.tryAcquire()).toThrowError(RangeError, /more than the bound of 0/);
      expect(() => semaphore.acquire()).toThrowError(RangeError, /more than the bound of 0/);
      expect(() => withPermit(semaphore)).toThrowError(RangeError, /more than the bound of 0/);
      expect(semaphore.adjust(1)).toBe(1);
      expect(semaphore.tryAcquire()).toBe(true);
    });

    it('a bound that would fall below 0 is a RangeError naming the delta and the bound; nothing changes', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire();
      semaphore.acquire({ permits: 2 }).subscribe();
      const seen: number[] = [];
      semaphore.subscribe((value) => seen.push(value));
      expect(() => semaphore.adjust(-3)).toThrowError(
        RangeError,
        /BoundedSemaphore\.adjust: -3 would lower the bound from 2 to -1, below 0/,
      );
      expect([semaphore.value, semaphore.waiting, seen]).toEqual([1, 1, [1]]);
      // The bound is still 2: the queued request still fits, and a release to 2 is allowed.
      expect(semaphore.release()).toBe(0);
      expect(semaphore.waiting).toBe(0);
      expect(semaphore.release(2)).toBe(2);
      expect(overRelease(semaphore)).toEqual(jasmine.any(OverReleaseError));
    });

    it('the bound of requests moves too: a request above the new bound is a RangeError when made', () => {
      const semaphore = new BoundedSemaphore(2);
      expect(() => semaphore.acquire({ permits: 4 })).toThrowError(RangeError, /bound of 2/);
      semaphore.adjust(2);
      expect(record(semaphore.acquire({ permits: 4 })).events).toEqual([true, 'complete']);
      semaphore.adjust(-1);
      expect(() => semaphore.tryAcquire(4)).toThrowError(RangeError, /bound of 3/);
      expect(() => boundedPermit(semaphore, { permits: 4 })).toThrowError(RangeError, /bound of 3/);
    });

    it('a queued acquire that no longer fits under the lowered bound emits false at once and leaves the queue', () => {
      const semaphore = new BoundedSemaphore(4);
      semaphore.tryAcquire(4);
      const big = record(semaphore.acquire({ permits: 4 }));
      const fits = record(semaphore.acquire({ permits: 3 }));
      const small = record(semaphore.acquire());
      expect(semaphore.waiting).toBe(3);
      expect(semaphore.adjust(-1)).toBe(-1);
      expect([big.events, fits.events, small.events]).toEqual([[false, 'complete'], [], []]);
      expect(semaphore.waiting).toBe(2);
      semaphore.release(4);
      expect([fits.events, small.events]).toEqual([[true, 'complete'], []]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    });

    it('a queued gated stream that no longer fits errors with PermitRejectedError; its source is never subscribed', () => {
      const semaphore = new BoundedSemaphore(3, { name: 'pool' });
      semaphore.tryAcquire(3);
      let subscribed = 0;
      const source = new Observable<number>(() => {
        subscribed++;
      });
      const gated = record(source.pipe(withPermit(semaphore, { permits: 3 })));
      const bulkhead = record(source.pipe(boundedPermit(semaphore, { permits: 3, maxWaiting: 5 })));
      const waiting = record(NEVER.pipe(withPermit(semaphore)));
      expect(semaphore.adjust(-1)).toBe(-1);
      expect(gated.events).toEqual(['error', neverFits(3, 2, 'BoundedSemaphore "pool"')]);
      expect(bulkhead.events).toEqual(['error', neverFits(3, 2, 'BoundedSemaphore "pool"')]);
      expect(gated.events[1]).toEqual(permitRejected(3, 1, Infinity, 'BoundedSemaphore "pool"'));
      expect(bulkhead.events[1]).toEqual(permitRejected(3, 1, 5, 'BoundedSemaphore "pool"'));
      expect(waiting.events).toEqual([]);
      expect([subscribed, semaphore.waiting]).toEqual([0, 1]);
    });

    it('a queued mergeMapWithPermit value that no longer fits errors the whole stream with PermitRejectedError', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire(2);
      const projected: number[] = [];
      const merged = record(
        of(1, 2).pipe(
          mergeMapWithPermit(
            semaphore,
            (value) => {
              projected.push(value);
              return of(value);
            },
            { permits: 2 },
          ),
        ),
      );
      expect(semaphore.waiting).toBe(2);
      semaphore.adjust(-1);
      expect(merged.events).toEqual(['error', neverFits(2, 1, 'BoundedSemaphore')]);
      expect([projected, semaphore.waiting, semaphore.value]).toEqual([[], 0, -1]);
    });

    it('refusing them is counted as rejected in stats', () => {
      const semaphore = new BoundedSemaphore(2);
      semaphore.tryAcquire(2);
      semaphore.acquire({ permits: 2 }).subscribe();
      semaphore.acquire({ permits: 2 }).subscribe();
      semaphore.acquire().subscribe();
      semaphore.adjust(-1);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          waiting: 1,
          granted: 1,
          rejected: 2,
          withdrawn: 0,
          timedOut: 0,
          peakWaiting: 3,
        }),
      );
    });

    it('the refusal makes room: a smaller request behind a refused head is granted in the same adjust', () => {
      const semaphore = new BoundedSemaphore(4);
      semaphore.tryAcquire(2);
      const head = record(semaphore.acquire({ permits: 4 }));
      const next = record(semaphore.acquire());
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 2]);
      expect(semaphore.adjust(-1)).toBe(0);
      expect([head.events, next.events]).toEqual([
        [false, 'complete'],
        [true, 'complete'],
      ]);
    });
  });
});

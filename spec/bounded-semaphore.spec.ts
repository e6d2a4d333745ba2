import { Observable } from 'rxjs';
import { BoundedSemaphore, OverReleaseError, Semaphore } from '../src/index.js';
import { badInputChecks, record, semaphoreTarget } from './helpers/index.js';

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
});

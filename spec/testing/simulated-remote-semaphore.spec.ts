import { NEVER, VirtualTimeScheduler, of } from 'rxjs';
import {
  BackendSemaphore,
  OverReleaseError,
  PermitBackendError,
  PermitLostError,
  Semaphore,
  usingLease,
  withPermit,
  type Lease,
} from '../../src/index.js';
import * as testing from '../../src/testing/index.js';
import { SimulatedRemoteSemaphore } from '../../src/testing/index.js';
import { advanceScheduler, record, thrownBy } from '../helpers/index.js';

// The API of `rxjs-permits/testing`'s SimulatedRemoteSemaphore outside of time: what it is, its bad
// input, and the errors it makes. Its timing is pinned frame by frame in
// marble-tests/testing/simulated-remote-semaphore.marble.spec.ts, and it runs through the shared
// conformance suite (spec/conformance/) with what it keeps of SPEC §2.

describe('SimulatedRemoteSemaphore', () => {
  let scheduler: VirtualTimeScheduler;

  beforeEach(() => {
    scheduler = new VirtualTimeScheduler();
  });

  const remote = (permits: number, options: { name?: string; bounded?: boolean } = {}) =>
    new SimulatedRemoteSemaphore(permits, { latency: 3, scheduler, ...options });

  /** The lease a gated stream on `pool` holds once granted (the stream itself never ends). */
  function leaseOf(pool: BackendSemaphore): Lease {
    let held: Lease | undefined;
    usingLease(pool, (lease) => {
      held = lease;
      return NEVER;
    }).subscribe();
    advanceScheduler(scheduler, 3);
    expect(held).toBeDefined();
    return held!;
  }

  describe('the entry point', () => {
    it('exports only SimulatedRemoteSemaphore, a BackendSemaphore (a PermitPool)', () => {
      expect(Object.keys(testing)).toEqual(['SimulatedRemoteSemaphore']);
      const semaphore = remote(2, { name: 'db' });
      expect(semaphore).toBeInstanceOf(BackendSemaphore);
      expect([semaphore.name, semaphore.value, semaphore.waiting, semaphore.locked()]).toEqual([
        'db',
        2,
        0,
        false,
      ]);
      expect(semaphore.stats().name).toBe('db');
    });

    it('answers on the asyncScheduler when given no scheduler', (done) => {
      const semaphore = new SimulatedRemoteSemaphore(1, { latency: 1 });
      const events: unknown[] = [];
      semaphore.acquire().subscribe({
        next: (granted) => events.push(granted),
        complete: () => {
          expect(events).toEqual([true]);
          done();
        },
      });
      expect(events).toEqual([]);
    });
  });

  describe('bad input', () => {
    it('requires options with a latency (TypeError)', () => {
      for (const options of [undefined, {}, { scheduler }]) {
        const error = thrownBy(() => new SimulatedRemoteSemaphore(1, options as never));
        expect(error).toEqual(jasmine.any(TypeError));
        expect((error as Error).message).toBe('SimulatedRemoteSemaphore: options.latency is required');
      }
    });

    for (const latency of [-1, 1.5, NaN, Infinity]) {
      it(`refuses latency ${latency} (RangeError)`, () => {
        const error = thrownBy(() => new SimulatedRemoteSemaphore(1, { latency, scheduler }));
        expect(error).toEqual(jasmine.any(RangeError));
        expect((error as Error).message).toContain('options.latency must be an integer >= 0');
      });
    }

    it('refuses a latency that is not a number (TypeError)', () => {
      expect(() => new SimulatedRemoteSemaphore(1, { latency: '3' as never, scheduler })).toThrowError(
        TypeError,
        /options\.latency must be a number/,
      );
    });

    for (const permits of [-1, 0.5, NaN, Infinity]) {
      it(`refuses ${permits} permits (RangeError)`, () => {
        expect(() => new SimulatedRemoteSemaphore(permits, { latency: 3, scheduler })).toThrowError(
          RangeError,
          /SimulatedRemoteSemaphore: permits must be an integer >= 0/,
        );
      });
    }

    it('refuses permits that are not a number (TypeError)', () => {
      expect(() => new SimulatedRemoteSemaphore('1' as never, { latency: 3, scheduler })).toThrowError(
        TypeError,
        /permits must be a number/,
      );
    });

    it('refuses an unknown option, naming the known ones (TypeError)', () => {
      expect(
        () => new SimulatedRemoteSemaphore(1, { latency: 3, scheduler, latencyMs: 3 } as never),
      ).toThrowError(
        TypeError,
        'SimulatedRemoteSemaphore: unknown option "latencyMs"; the options are latency, scheduler, name, bounded',
      );
    });

    for (const bounded of ['yes', 1, null]) {
      it(`refuses bounded: ${JSON.stringify(bounded)} (TypeError)`, () => {
        expect(
          () => new SimulatedRemoteSemaphore(1, { latency: 3, scheduler, bounded: bounded as never }),
        ).toThrowError(TypeError, 'SimulatedRemoteSemaphore: options.bounded must be a boolean');
      });
    }

    it('refuses options that are not an object, a scheduler that is not one, an empty name (TypeError)', () => {
      expect(() => new SimulatedRemoteSemaphore(1, 3 as never)).toThrowError(
        TypeError,
        /options must be an object/,
      );
      expect(() => new SimulatedRemoteSemaphore(1, { latency: 3, scheduler: {} as never })).toThrowError(
        TypeError,
        /options\.scheduler must be an RxJS scheduler/,
      );
      expect(() => new SimulatedRemoteSemaphore(1, { latency: 3, scheduler, name: '' })).toThrowError(
        TypeError,
        /options\.name must be a non-empty string/,
      );
    });

    it('loseLease refuses a lease of another semaphore, and changes nothing (TypeError)', () => {
      const mine = remote(1, { name: 'mine' });
      const other = remote(1, { name: 'other' });
      const foreign = leaseOf(other);
      expect(() => mine.loseLease(foreign)).toThrowError(
        TypeError,
        'SimulatedRemoteSemaphore "mine".loseLease: not a lease of this semaphore',
      );
      expect(foreign.released).toBe(false);
      expect(other.tryAcquire()).toBe(false);
    });

    it('loseLease refuses a lease of an in-process semaphore, a look-alike, null and undefined (TypeError)', () => {
      const semaphore = remote(1);
      let inProcess: Lease | undefined;
      usingLease(new Semaphore(1), (lease) => {
        inProcess = lease;
        return NEVER;
      }).subscribe();
      const lookAlike: Lease = {
        permits: 1,
        token: 1,
        released: false,
        signal: new AbortController().signal,
        release: () => {},
        [Symbol.dispose]: () => {},
      };
      for (const lease of [inProcess, lookAlike, null, undefined]) {
        expect(() => semaphore.loseLease(lease as never)).toThrowError(
          TypeError,
          'SimulatedRemoteSemaphore.loseLease: not a lease of this semaphore',
        );
      }
      expect(inProcess!.released).toBe(false);
    });
  });

  describe('errors it makes', () => {
    it('failPending: PermitBackendError with the cause attached and the primitive named', () => {
      const semaphore = remote(0, { name: 'db' });
      const cause = new Error('connection reset');
      const gated = record(of('x').pipe(withPermit(semaphore)));
      const acquired = record(semaphore.acquire());
      semaphore.failPending(cause);
      advanceScheduler(scheduler, 3);
      for (const { events } of [gated, acquired]) {
        expect(events.length).toBe(2);
        const error = events[1] as PermitBackendError;
        expect(events[0]).toBe('error');
        expect(error).toEqual(jasmine.any(PermitBackendError));
        expect([error.name, error.primitive, error.cause]).toEqual([
          'PermitBackendError',
          'SimulatedRemoteSemaphore "db"',
          cause,
        ]);
        expect(error.message).toBe(
          'SimulatedRemoteSemaphore "db": the permit backend failed (connection reset)',
        );
      }
    });

    it('failPending without a cause says so', () => {
      const semaphore = remote(0);
      const { events } = record(semaphore.acquire());
      semaphore.failPending();
      advanceScheduler(scheduler, 3);
      expect((events[1] as Error).message).toBe(
        'SimulatedRemoteSemaphore: the permit backend failed (no cause given)',
      );
      expect((events[1] as PermitBackendError).cause).toBeUndefined();
    });

    it('loseLease: PermitLostError with the lease token, regrantable', () => {
      const semaphore = remote(1, { name: 'db' });
      expect(semaphore.tryAcquire()).toBe(true); // draws token 1
      semaphore.release();
      let held: Lease | undefined;
      const { events } = record(
        usingLease(semaphore, (lease) => {
          held = lease;
          return NEVER;
        }),
      );
      advanceScheduler(scheduler, 3);
      expect(held!.token).toBe(2);
      semaphore.loseLease(held!);
      expect(held!.released).toBe(true);
      advanceScheduler(scheduler, 3);
      const error = events[1] as PermitLostError;
      expect(events[0]).toBe('error');
      expect(error).toEqual(jasmine.any(PermitLostError));
      expect([error.name, error.primitive, error.token, error.regrantable]).toEqual([
        'PermitLostError',
        'SimulatedRemoteSemaphore "db"',
        2,
        true,
      ]);
      expect(error.message).toBe(
        'SimulatedRemoteSemaphore "db": the lease with token 2 was lost; its permits may already be held by someone else',
      );
      expect(semaphore.value).toBe(1);
    });

    it('bounded: a release above the bound throws OverReleaseError at once and changes nothing', () => {
      const semaphore = remote(1, { bounded: true });
      const error = thrownBy(() => semaphore.release());
      expect(error).toEqual(jasmine.any(OverReleaseError));
      expect((error as OverReleaseError).bound).toBe(1);
      expect(semaphore.tryAcquire()).toBe(true);
      expect(semaphore.tryAcquire()).toBe(false);
    });

    it('bounded: a request for more permits than the bound is a RangeError of the call', () => {
      const semaphore = remote(2, { bounded: true });
      expect(() => semaphore.acquire({ permits: 3 })).toThrowError(RangeError);
      expect(() => semaphore.tryAcquire(3)).toThrowError(RangeError);
      expect(() => remote(2).acquire({ permits: 3 })).not.toThrow();
    });
  });

  describe('fencing tokens', () => {
    it('every grant draws a token greater than every one before, tryAcquire too', () => {
      const semaphore = remote(2);
      const tokens: number[] = [];
      const take = () =>
        usingLease(semaphore, (lease) => {
          tokens.push(lease.token);
          return of(lease.token);
        }).subscribe();
      take();
      expect(semaphore.tryAcquire()).toBe(true);
      take();
      advanceScheduler(scheduler, 3);
      semaphore.release();
      advanceScheduler(scheduler, 3);
      expect(tokens).toEqual([1, 3]);
      take();
      advanceScheduler(scheduler, 3);
      expect(tokens).toEqual([1, 3, 4]);
    });
  });
});

import { of } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  PermitBackendError,
  PermitLostError,
  mergeMapWithPermit,
  usingLease,
  withPermit,
  type Lease,
} from '../../src/index.js';
import { SimulatedRemoteSemaphore } from '../../src/testing/index.js';
import { createTestScheduler, granted, permitTimeout } from '../../spec/helpers/index.js';

// Frame-exact timing of the simulated remote backend of `rxjs-permits/testing` (SPEC §7): the
// simulated server changes its state in the frame of each call; every answer to the client — a grant,
// a refusal, a failure, a lost lease, a value — arrives `latency` frames later. Every semaphore here
// has a latency of 3 frames and runs on the TestScheduler given to it (also its timeouts' scheduler).

const LATENCY = 3;
const KIND = 'SimulatedRemoteSemaphore';

/** Marble values of the permit observable. */
const counts = { 0: 0, 1: 1, 2: 2 };

/** Matches exactly a PermitBackendError of `primitive` caused by `cause`. */
function permitBackendError(cause: unknown, primitive = KIND): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitBackendError &&
      error.name === 'PermitBackendError' &&
      error.primitive === primitive &&
      error.cause === cause &&
      error.message.startsWith(`${primitive}: `),
    jasmineToString: () => `<PermitBackendError ${primitive} cause=${String(cause)}>`,
  };
}

/** Matches exactly a PermitLostError of `primitive` for the lease with `token`, regrantable. */
function permitLost(token: number, primitive = KIND): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitLostError &&
      error.name === 'PermitLostError' &&
      error.primitive === primitive &&
      error.token === token &&
      error.regrantable === true,
    jasmineToString: () => `<PermitLostError ${primitive} token=${token} regrantable>`,
  };
}

describe('SimulatedRemoteSemaphore (marbles)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  /** A simulated remote semaphore of `permits`, 3 frames away, on the test scheduler. */
  const remote = (permits: number, name?: string) =>
    new SimulatedRemoteSemaphore(permits, { latency: LATENCY, scheduler: testScheduler, name });

  /** Runs `check` at `frame` (after the actions already scheduled for that frame). */
  const at = (frame: number, check: () => void) => testScheduler.schedule(check, frame);

  describe('grants', () => {
    it('grants a free permit `latency` frames after the subscribe, and shows it taken `latency` later still', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const source = cold('a-|');
        expectObservable(source.pipe(withPermit(semaphore))).toBe('---a-|');
        expectSubscriptions(source.subscriptions).toBe('---^-!');
        // Taken on the server at 0, heard at 3; given back at 5, heard at 8.
        expectObservable(semaphore).toBe('1--0----1', counts);
      });
    });

    it('acquire() emits true `latency` frames after the subscribe, a refused one false as late', () => {
      testScheduler.run(({ expectObservable }) => {
        const semaphore = remote(1);
        expectObservable(semaphore.acquire()).toBe('---(t|)', granted);
        expectObservable(semaphore.acquire({ blocking: false })).toBe('---(f|)', granted);
        expectObservable(semaphore.acquire({ timeout: 0 })).toBe('---(f|)', granted);
      });
    });

    it('acquire() on a free server takes the permit at once there: tryAcquire in the same frame finds none', () => {
      testScheduler.run(({ expectObservable }) => {
        const semaphore = remote(1);
        const tried: boolean[] = [];
        expectObservable(semaphore.acquire()).toBe('---(t|)', granted);
        at(0, () => tried.push(semaphore.tryAcquire()));
        at(2, () => tried.push(semaphore.value === 1));
        at(3, () => expect(tried).toEqual([false, true]));
      });
    });

    it('serves waiters in FIFO order, each `latency` frames after the release that handed it the permit', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const a = cold('-a|');
        const b = cold('b-|');
        const c = cold('(c|)');
        expectObservable(a.pipe(withPermit(semaphore))).toBe('----a|');
        expectObservable(b.pipe(withPermit(semaphore))).toBe('--------b-|');
        expectObservable(c.pipe(withPermit(semaphore))).toBe('-------------(c|)');
        expectSubscriptions(a.subscriptions).toBe('---^-!');
        expectSubscriptions(b.subscriptions).toBe('--------^-!');
        expectSubscriptions(c.subscriptions).toBe('-------------(^!)');
        // Every release goes straight to the next waiter on the server: the value stays 0 until c's.
        expectObservable(semaphore).toBe('1--0------------1', counts);
      });
    });
  });

  describe('releases', () => {
    it('hands a release off at the server in its frame; the waiter hears of it `latency` later', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const holder = cold('--a--|');
        const waiter = cold('b|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('-----a--|');
        expectObservable(waiter.pipe(withPermit(semaphore))).toBe('-----------b|');
        expectSubscriptions(holder.subscriptions).toBe('---^----!');
        expectSubscriptions(waiter.subscriptions).toBe('-----------^!');
        // The holder gives its permit back at 8, before its complete; the server grants the waiter
        // then (its wait, 8 frames, is measured there), and nobody ever sees the permit free.
        at(9, () => {
          const { granted: grants, waitMs } = semaphore.stats();
          expect([grants, waitMs]).toEqual([2, { count: 2, total: 8, max: 8 }]);
          expect(semaphore.tryAcquire()).toBe(false);
        });
        expectObservable(semaphore).toBe('1--0-----------1', counts);
      });
    });

    it('gives the permit back before forwarding the terminal notification, which `latency` later shows', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        const seen: string[] = [];
        cold('--|')
          .pipe(withPermit(semaphore))
          .subscribe({
            complete: () =>
              seen.push(`complete at ${testScheduler.now()}: tryAcquire ${semaphore.tryAcquire()}`),
          });
        expectObservable(semaphore).toBe('1--0----(10)', counts);
        at(6, () => expect(seen).toEqual(['complete at 5: tryAcquire true']));
      });
    });
  });

  describe('the permit observable', () => {
    it('shows each value `latency` frames after the server took it, the getters too', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(2);
        const values: number[] = [];
        cold('--t--r-T').subscribe((step) => {
          if (step === 't') semaphore.tryAcquire();
          else if (step === 'T') semaphore.tryAcquire(2);
          else semaphore.release();
        });
        for (const frame of [4, 6, 9, 11]) at(frame, () => values.push(semaphore.value));
        expectObservable(semaphore).toBe('2----1--2-0', counts);
        at(12, () => expect(values).toEqual([2, 1, 2, 0]));
      });
    });

    it('shows the queue length `latency` frames late', () => {
      testScheduler.run(({ expectObservable }) => {
        const semaphore = remote(0);
        const waiting: number[] = [];
        const requests = [semaphore.acquire().subscribe(), semaphore.acquire().subscribe()];
        at(2, () => requests[0].unsubscribe());
        for (const frame of [2, 4, 6]) at(frame, () => waiting.push(semaphore.waiting));
        expectObservable(semaphore).toBe('0', counts);
        at(7, () => expect(waiting).toEqual([0, 2, 1]));
      });
    });
  });

  describe('withdrawal', () => {
    it('an unsubscribe while the grant is in flight gives the permit back on the server at once; the next waiter gets it', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const holder = cold('--|');
        const withdrawn = cold('a|');
        const next = cold('b|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('-----|');
        // Granted on the server at 5 (the holder's release), to be told at 8; unsubscribed at 6.
        expectObservable(withdrawn.pipe(withPermit(semaphore)), '^-----!').toBe('-------');
        expectObservable(next.pipe(withPermit(semaphore))).toBe('---------b|');
        expectSubscriptions(withdrawn.subscriptions).toBe([]);
        expectSubscriptions(next.subscriptions).toBe('---------^!');
        expectObservable(semaphore).toBe('1--0---------1', counts);
      });
    });

    it('an unsubscribe while queued leaves the server queue at once', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        expectObservable(cold('----|').pipe(withPermit(semaphore))).toBe('-------|');
        expectObservable(cold('a|').pipe(withPermit(semaphore)), '^-!').toBe('--');
        expectObservable(cold('b|').pipe(withPermit(semaphore))).toBe('----------b|');
      });
    });
  });

  describe('timeouts', () => {
    it('fire at their own frame, client-side', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(0);
        expectObservable(cold('a|').pipe(withPermit(semaphore, { timeout: 4 }))).toBe(
          '----#',
          undefined,
          permitTimeout(4, 1, KIND),
        );
        expectObservable(semaphore.acquire({ timeout: 2 })).toBe('--(f|)', granted);
      });
    });

    it('a timeout while the grant is in flight loses no permit: the next waiter gets it', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const late = cold('a|');
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('-----|');
        // Granted on the server at 5, to be told at 8; its timeout fires at 6.
        expectObservable(late.pipe(withPermit(semaphore, { timeout: 6 }))).toBe(
          '------#',
          undefined,
          permitTimeout(6, 1, KIND),
        );
        expectObservable(cold('b|').pipe(withPermit(semaphore))).toBe('---------b|');
        expectSubscriptions(late.subscriptions).toBe([]);
        expectObservable(semaphore).toBe('1--0---------1', counts);
      });
    });

    it('a grant heard before the deadline cancels the timeout', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('-----|');
        expectObservable(cold('b|').pipe(withPermit(semaphore, { timeout: 9 }))).toBe('--------b|');
      });
    });
  });

  describe('failPending(cause)', () => {
    it('errors every queued stream with PermitBackendError `latency` later; they leave the server queue at once; holders go on', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1, 'db');
        const primitive = `${KIND} "db"`;
        const cause = new Error('connection reset');
        const failed = permitBackendError(cause, primitive);
        const queued = cold('a|');
        expectObservable(cold('-----|').pipe(withPermit(semaphore))).toBe('--------|');
        expectObservable(queued.pipe(withPermit(semaphore))).toBe('-------#', undefined, failed);
        expectObservable(cold('b|').pipe(withPermit(semaphore))).toBe('-------#', undefined, failed);
        expectObservable(semaphore.acquire()).toBe('-------#', undefined, failed);
        at(4, () => semaphore.failPending(cause));
        // Subscribed after the failure: first in the server's queue, granted at the holder's release.
        expectObservable(cold('d|').pipe(withPermit(semaphore)), '-----^').toBe('-----------d|');
        expectSubscriptions(queued.subscriptions).toBe([]);
        expectObservable(semaphore).toBe('1--0-----------1', counts);
      });
    });

    it('leaves a request whose grant is in flight alone: it gets its permit', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        const cause = 'unreachable';
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('-----|');
        expectObservable(cold('a|').pipe(withPermit(semaphore))).toBe('--------a|');
        expectObservable(cold('b|').pipe(withPermit(semaphore))).toBe(
          '---------#',
          undefined,
          permitBackendError(cause),
        );
        at(6, () => semaphore.failPending(cause));
        expectObservable(semaphore).toBe('1--0--------1', counts);
      });
    });

    it('with nothing queued changes nothing', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        at(1, () => semaphore.failPending());
        expectObservable(cold('-a|').pipe(withPermit(semaphore))).toBe('----a|');
        expectObservable(semaphore).toBe('1--0----1', counts);
      });
    });
  });

  describe('loseLease(lease)', () => {
    it('frees the permit on the server at once; the holder errors with PermitLostError `latency` later', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const semaphore = remote(1);
        const source = cold('a---b---|');
        const leases: Lease[] = [];
        const held = usingLease(semaphore, (lease) => {
          leases.push(lease);
          return source;
        });
        expectObservable(held).toBe('---a---b#', undefined, permitLost(1));
        expectSubscriptions(source.subscriptions).toBe('---^----!');
        // The waiter is granted on the server when the lease is lost, and hears of it 3 frames later.
        expectObservable(cold('w|').pipe(withPermit(semaphore))).toBe('--------w|');
        at(5, () => {
          semaphore.loseLease(leases[0]);
          expect(leases[0].released).toBe(true);
        });
        // Nothing is given back twice: not by the holder's teardown, not by a late release.
        at(10, () => leases[0].release());
        expectObservable(semaphore).toBe('1--0--------1', counts);
      });
    });

    it('reaches the lease of a mergeMapWithPermit value (its 3rd argument); the whole stream errors', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(2);
        const leases: Lease[] = [];
        const merged = cold('x').pipe(
          mergeMapWithPermit(semaphore, (_value, _index, lease) => {
            leases.push(lease);
            return cold('a-----b|');
          }),
        );
        expectObservable(merged).toBe('---a----#', undefined, permitLost(1));
        at(5, () => semaphore.loseLease(leases[0]));
        // Nothing is given back twice: the server holds exactly its 2 permits again.
        at(9, () => expect([semaphore.tryAcquire(2), semaphore.tryAcquire()]).toEqual([true, false]));
        expectObservable(semaphore).toBe('2--1----2---0', counts);
      });
    });

    it('leaves a lease already released alone', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        const leases: Lease[] = [];
        expectObservable(
          usingLease(semaphore, (lease) => {
            leases.push(lease);
            return cold('-|');
          }),
        ).toBe('----|');
        at(6, () => semaphore.loseLease(leases[0]));
        expectObservable(semaphore).toBe('1--0---1', counts);
      });
    });

    it('a lease lost twice is lost once', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = remote(1);
        const leases: Lease[] = [];
        expectObservable(
          usingLease(semaphore, (lease) => {
            leases.push(lease);
            return cold('------|');
          }),
        ).toBe('-------#', undefined, permitLost(1));
        at(4, () => semaphore.loseLease(leases[0]));
        at(5, () => semaphore.loseLease(leases[0]));
        expectObservable(semaphore).toBe('1--0---1---0--1', counts);
        expectObservable(of(null).pipe(withPermit(semaphore)), '--------^').toBe('-----------(n|)', {
          n: null,
        });
      });
    });
  });
});

import { VirtualTimeScheduler, of, type Subscription } from 'rxjs';
import { LockOwnershipError, RLock, reentrant, type Lease, type PermitGrantee } from '../src/index.js';
import { lockTargetOf } from '../src/rlock.js';
import {
  Fault,
  advanceScheduler,
  captureUnhandledErrors,
  createTestScheduler,
  notObjects,
  reportedDuring,
  request,
  stateOf,
  thrownBy,
  waitingOwners,
} from './helpers/index.js';

// RLock's API, faults and bad input (SPEC §1, rules 6, 9, 12, 15, 17). Its semaphore view runs
// through the conformance suite (spec/conformance/semaphore-conformance.spec.ts); the `reentrant`
// operator is spec/reentrant.spec.ts, and its timing marble-tests/reentrant.marble.spec.ts.

/** Every value the lock's permit observable emits, from subscription on. */
function watchValues(lock: RLock): { values: number[]; subscription: Subscription } {
  const values: number[] = [];
  const subscription = lock.subscribe((value) => values.push(value));
  return { values, subscription };
}

const alice = { name: 'alice' };
const bob = { name: 'bob' };
const carol = { name: 'carol' };

describe('RLock', () => {
  describe('state', () => {
    it('starts free: no owner, count 0, nobody waiting, not locked', () => {
      const lock = new RLock();
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
      expect(lock.isOwnedBy(alice)).toBe(false);
    });

    it('tryAcquire takes a free lock for its owner', () => {
      const lock = new RLock();
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
      expect(lock.isOwnedBy(alice)).toBe(true);
      expect(lock.isOwnedBy(bob)).toBe(false);
      expect(lock.isOwnedBy({ name: 'alice' })).toBe(false); // identity, not equality
    });

    it('the owner re-enters: count grows, and it must release as often as it acquired', () => {
      const lock = new RLock();
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(lock.count).toBe(3);
      lock.release(alice);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 2, waiting: 0, locked: true });
      lock.release(alice);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
      lock.release(alice);
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
      expect(() => lock.release(alice)).toThrowError(LockOwnershipError);
    });

    it('tryAcquire by another owner fails while the lock is held, and changes nothing', () => {
      const lock = new RLock();
      lock.tryAcquire(alice);
      expect(lock.tryAcquire(bob)).toBe(false);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
    });

    it('tryAcquire does not overtake a waiting owner, but the owner itself still re-enters', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      expect(lock.tryAcquire(carol)).toBe(false);
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 2, waiting: 1, locked: true });
      lock.release(alice);
      lock.release(alice);
      expect(log).toEqual(['bob:true', 'bob:|']);
      expect(lock.owner).toBe(bob);
    });
  });

  describe('release by a non-owner', () => {
    it('throws LockOwnershipError naming the caller and the owner, and changes nothing', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      lock.tryAcquire(alice);
      request(lock, carol, 'carol', log);
      const { values } = watchValues(lock);
      const before = stateOf(lock);

      const error = thrownBy(() => lock.release(bob));

      expect(error).toBeInstanceOf(LockOwnershipError);
      expect(error).toBeInstanceOf(Error);
      const ownership = error as LockOwnershipError;
      expect(ownership.name).toBe('LockOwnershipError');
      expect(ownership.message).toContain('RLock');
      expect(ownership.message).toContain('bob');
      expect(ownership.message).toContain('alice');
      expect(ownership.caller).toBe(bob);
      expect(ownership.owner).toBe(alice);
      expect(stateOf(lock)).toEqual(before);
      expect(before).toEqual({ owner: alice, count: 2, waiting: 1, locked: true });
      expect(values).toEqual([0]);
      expect(log).toEqual([]);
    });

    it('throws LockOwnershipError while the lock is free, and changes nothing', () => {
      const lock = new RLock();
      const { values } = watchValues(lock);

      const error = thrownBy(() => lock.release(bob)) as LockOwnershipError;

      expect(error).toBeInstanceOf(LockOwnershipError);
      expect(error.name).toBe('LockOwnershipError');
      expect(error.message).toContain('RLock');
      expect(error.message).toContain('bob');
      expect(error.message).toContain('not held');
      expect(error.caller).toBe(bob);
      expect(error.owner).toBeNull();
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
      expect(values).toEqual([1]);
      expect(lock.tryAcquire(alice)).toBe(true); // still usable
      expect(lock.count).toBe(1);
    });

    it('a stranger cannot release the lock out from under a waiting owner', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      expect(() => lock.release(carol)).toThrowError(LockOwnershipError);
      expect(() => lock.release(bob)).toThrowError(LockOwnershipError); // waiting is not owning
      expect(log).toEqual([]);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 1, locked: true });
    });
  });

  describe('waiting owners', () => {
    it('are served first come, first served', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      request(lock, carol, 'carol', log);
      const dave = { name: 'dave' };
      request(lock, dave, 'dave', log);
      expect(lock.waiting).toBe(3);

      lock.release(alice);
      expect(log).toEqual(['bob:true', 'bob:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 2, locked: true });
      lock.release(bob);
      expect(log).toEqual(['bob:true', 'bob:|', 'carol:true', 'carol:|']);
      expect(lock.owner).toBe(carol);
      lock.release(carol);
      expect(log.slice(4)).toEqual(['dave:true', 'dave:|']);
      expect(stateOf(lock)).toEqual({ owner: dave, count: 1, waiting: 0, locked: true });
      lock.release(dave);
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
    });

    it('get all of their queued requests granted together when their turn comes', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob1', log);
      request(lock, carol, 'carol', log);
      request(lock, bob, 'bob2', log); // joins bob's place in the queue, ahead of carol
      expect(lock.waiting).toBe(3);

      lock.release(alice);
      expect(log).toEqual(['bob1:true', 'bob1:|', 'bob2:true', 'bob2:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 2, waiting: 1, locked: true });

      lock.release(bob);
      expect(lock.owner).toBe(bob);
      lock.release(bob);
      expect(log.slice(4)).toEqual(['carol:true', 'carol:|']);
      expect(stateOf(lock)).toEqual({ owner: carol, count: 1, waiting: 0, locked: true });
    });

    it('lose their place once every request of theirs is withdrawn', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      const bob1 = request(lock, bob, 'bob1', log);
      request(lock, carol, 'carol', log);
      const bob2 = request(lock, bob, 'bob2', log);
      bob1.unsubscribe();
      expect(lock.waiting).toBe(2);
      bob2.unsubscribe();
      expect(lock.waiting).toBe(1);
      request(lock, bob, 'bob3', log); // queued again: now behind carol

      lock.release(alice);
      expect(log).toEqual(['carol:true', 'carol:|']);
      lock.release(carol);
      expect(log).toEqual(['carol:true', 'carol:|', 'bob3:true', 'bob3:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
    });

    it('keep the place of their oldest request still queued: a withdrawn one keeps none', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      const bob1 = request(lock, bob, 'bob1', log);
      request(lock, carol, 'carol', log);
      request(lock, bob, 'bob2', log);
      bob1.unsubscribe(); // bob's place is now bob2's, behind carol
      expect(lock.waiting).toBe(2);

      lock.release(alice);
      expect(log).toEqual(['carol:true', 'carol:|']);
      lock.release(carol);
      expect(log.slice(2)).toEqual(['bob2:true', 'bob2:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
    });

    it('keep no place for a request that timed out', () => {
      const scheduler = new VirtualTimeScheduler();
      const lock = new RLock({ scheduler });
      const log: string[] = [];
      lock.tryAcquire(alice);
      lock.acquire(bob, { timeout: 5 }).subscribe((v) => log.push(`bob1:${v}`));
      request(lock, carol, 'carol', log);
      request(lock, bob, 'bob2', log);
      scheduler.flush(); // bob1 times out
      expect(log).toEqual(['bob1:false']);
      expect(lock.waiting).toBe(2);

      lock.release(alice);
      expect(log.slice(1)).toEqual(['carol:true', 'carol:|']);
    });

    it('are skipped when their only request was withdrawn', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      const withdrawn = request(lock, bob, 'bob', log);
      request(lock, carol, 'carol', log);
      withdrawn.unsubscribe();
      expect(lock.waiting).toBe(1);
      lock.release(alice);
      expect(log).toEqual(['carol:true', 'carol:|']);
      expect(lock.owner).toBe(carol);
    });
  });

  describe('acquire()', () => {
    it('emits true synchronously and completes when the lock is free', () => {
      const lock = new RLock();
      const log: string[] = [];
      request(lock, alice, 'alice', log);
      expect(log).toEqual(['alice:true', 'alice:|']);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
    });

    it('is cold: nothing is requested until it is subscribed, and each subscription is one request', () => {
      const lock = new RLock();
      const acquire = lock.acquire(alice);
      expect(lock.locked()).toBe(false);
      acquire.subscribe();
      acquire.subscribe();
      expect(lock.count).toBe(2);
    });

    it('re-enters at once for the owner, even while other owners wait', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      request(lock, alice, 'alice', log);
      expect(log).toEqual(['alice:true', 'alice:|']);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 2, waiting: 1, locked: true });
    });

    it('waits while another owner holds the lock, and emits true when it is handed over', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      expect(log).toEqual([]);
      expect(lock.waiting).toBe(1);
      lock.release(alice);
      expect(log).toEqual(['bob:true', 'bob:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
    });

    it('with blocking: false emits false at once for another owner, and changes nothing', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log, { blocking: false });
      expect(log).toEqual(['bob:false', 'bob:|']);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
    });

    it('with blocking: false emits true for the owner (re-entry) and for a free lock', () => {
      const lock = new RLock();
      const log: string[] = [];
      request(lock, alice, 'first', log, { blocking: false });
      request(lock, alice, 'again', log, { blocking: false, timeout: 5 });
      expect(log).toEqual(['first:true', 'first:|', 'again:true', 'again:|']);
      expect(lock.count).toBe(2);
    });

    it('with timeout <= 0 does not wait', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'zero', log, { timeout: 0 });
      request(lock, bob, 'negative', log, { timeout: -1 });
      expect(log).toEqual(['zero:false', 'zero:|', 'negative:false', 'negative:|']);
      expect(lock.waiting).toBe(0);
    });

    it('with a timeout emits false and completes at the deadline, withdrawing the request', () => {
      const testScheduler = createTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const lock = new RLock();
        lock.tryAcquire(alice);
        expectObservable(lock.acquire(bob, { timeout: 4 })).toBe('----(f|)', { f: false });
        testScheduler.schedule(() => {
          expect(lock.waiting).toBe(0);
          lock.release(alice); // after the deadline: nobody is waiting any more
          expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
        }, 6);
      });
    });

    it('with a timeout emits true when granted before the deadline, and the timer is cancelled', () => {
      const testScheduler = createTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const lock = new RLock();
        lock.tryAcquire(alice);
        testScheduler.schedule(() => lock.release(alice), 2);
        expectObservable(lock.acquire(bob, { timeout: 4 })).toBe('--(t|)', { t: true });
        testScheduler.schedule(() => {
          // The deadline's action (due at frame 4) was removed from the scheduler on the grant.
          expect(testScheduler.actions.map((action) => action.delay)).not.toContain(4);
        }, 3);
        testScheduler.schedule(() => {
          expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
        }, 10);
      });
    });

    it('runs its timeout on the scheduler given to the constructor', () => {
      const testScheduler = createTestScheduler();
      const lock = new RLock({ scheduler: testScheduler });
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log, { timeout: 30 });
      testScheduler.flush();
      expect(testScheduler.now()).toBe(30);
      expect(log).toEqual(['bob:false', 'bob:|']);
      expect(lock.waiting).toBe(0);
    });

    it('unsubscribing a queued request withdraws it: it is never granted and consumes nothing', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      const withdrawn = request(lock, bob, 'bob', log);
      expect(lock.waiting).toBe(1);
      withdrawn.unsubscribe();
      expect(lock.waiting).toBe(0);
      lock.release(alice);
      expect(log).toEqual([]);
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
    });

    it('unsubscribing after true does not release (the owner must release)', () => {
      const lock = new RLock();
      const subscription = lock.acquire(alice).subscribe();
      subscription.unsubscribe();
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
      lock.release(alice);
      expect(lock.locked()).toBe(false);
    });
  });

  describe('as an Observable<number>', () => {
    it('emits the current value on subscribe: 1 when free, 0 when held', () => {
      const lock = new RLock();
      expect(watchValues(lock).values).toEqual([1]);
      lock.tryAcquire(alice);
      expect(watchValues(lock).values).toEqual([0]);
    });

    it('emits 0 when taken and 1 when freed, and never completes', () => {
      const lock = new RLock();
      let completed = false;
      const values: number[] = [];
      lock.subscribe({ next: (value) => values.push(value), complete: () => (completed = true) });
      lock.tryAcquire(alice);
      lock.release(alice);
      lock.acquire(bob).subscribe();
      lock.release(bob);
      expect(values).toEqual([1, 0, 1, 0, 1]);
      expect(completed).toBe(false);
    });

    it('emits nothing on re-entry or on a release that leaves the owner holding it', () => {
      const lock = new RLock();
      lock.tryAcquire(alice);
      const { values } = watchValues(lock);
      lock.tryAcquire(alice);
      lock.acquire(alice).subscribe();
      lock.release(alice);
      lock.release(alice);
      expect(values).toEqual([0]);
      lock.release(alice);
      expect(values).toEqual([0, 1]);
    });

    it('emits nothing when the lock passes straight from one owner to a waiting owner', () => {
      const lock = new RLock();
      lock.tryAcquire(alice);
      lock.acquire(bob).subscribe();
      const { values } = watchValues(lock);
      lock.release(alice);
      expect(lock.owner).toBe(bob);
      expect(values).toEqual([0]);
      lock.release(bob);
      expect(values).toEqual([0, 1]);
    });

    it('stops emitting to a subscriber that unsubscribed', () => {
      const lock = new RLock();
      const { values, subscription } = watchValues(lock);
      subscription.unsubscribe();
      lock.tryAcquire(alice);
      expect(values).toEqual([1]);
    });

    it('shows every subscriber the true value when one of them takes the lock from its handler', () => {
      const lock = new RLock();
      const seenByFirst: number[] = [];
      const seenBySecond: number[] = [];
      lock.subscribe((value) => {
        seenByFirst.push(value);
        if (value === 1 && seenByFirst.length > 1) lock.tryAcquire(bob);
      });
      lock.subscribe((value) => seenBySecond.push(value));
      lock.tryAcquire(alice);
      lock.release(alice); // the first subscriber takes it back for bob at once
      expect(lock.owner).toBe(bob);
      expect(seenByFirst[seenByFirst.length - 1]).toBe(0);
      expect(seenBySecond[seenBySecond.length - 1]).toBe(0);
      expect(seenBySecond).toEqual([1, 0, 1, 0]);
    });
  });

  describe('faults stay local', () => {
    const A = { name: 'A' };
    const B = { name: 'B' };
    const C = { name: 'C' };

    it('a value observer that throws neither stops other observers nor corrupts the lock', async () => {
      const lock = new RLock();
      const boom = new Error('observer fault');
      let values: number[] = [];
      const reported = await captureUnhandledErrors(() => {
        lock.subscribe((value) => {
          if (value === 0) throw boom;
        });
        values = watchValues(lock).values;
        expect(lock.tryAcquire(alice)).toBe(true);
        expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
        lock.release(alice);
      });
      expect(reported).toEqual([boom]);
      expect(values).toEqual([1, 0, 1]);
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
    });

    it('an acquire observer that throws on its grant still holds the lock, and the queue moves on', async () => {
      const lock = new RLock();
      const boom = new Error('grant handler fault');
      const log: string[] = [];
      const reported = await captureUnhandledErrors(() => {
        lock.tryAcquire(alice);
        lock.acquire(bob).subscribe(() => {
          throw boom;
        });
        request(lock, carol, 'carol', log);
        lock.release(alice);
      });
      expect(reported).toEqual([boom]);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 1, locked: true });
      lock.release(bob);
      expect(log).toEqual(['carol:true', 'carol:|']);
      expect(stateOf(lock)).toEqual({ owner: carol, count: 1, waiting: 0, locked: true });
    });

    it('an owner whose observer throws on its grant: reported; it owns the lock until it releases', async () => {
      const fault = new Fault('observer');
      const lock = new RLock();
      const X = { name: 'X' };
      expect(lock.tryAcquire(A)).toBe(true);
      let others!: ReturnType<typeof waitingOwners>;
      const reported = await reportedDuring(() => {
        lock.acquire(X).subscribe(() => {
          throw fault;
        });
        others = waitingOwners(lock, B, C);
        lock.release(A);
        expect([lock.owner, lock.count, lock.waiting]).toEqual([X, 1, 2]);
        lock.release(X);
      });
      expect(reported).toEqual([fault]);
      expect(others.log).toEqual(others.served);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
    });

    it('an owner that re-enters and releases twice from its observer, then throws: the next owners are served', async () => {
      const fault = new Fault('observer');
      const lock = new RLock();
      const X = { name: 'X' };
      expect(lock.tryAcquire(A)).toBe(true);
      let others!: ReturnType<typeof waitingOwners>;
      const reported = await reportedDuring(() => {
        lock.acquire(X).subscribe(() => {
          expect(lock.tryAcquire(X)).toBe(true);
          lock.release(X);
          lock.release(X);
          throw fault;
        });
        others = waitingOwners(lock, B, C);
        lock.release(A);
      });
      expect(reported).toEqual([fault]);
      expect(others.log).toEqual(others.served);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
    });

    it('an observer that releases for an owner that does not hold the lock: LockOwnershipError, reported; nothing changes', async () => {
      const lock = new RLock();
      expect(lock.tryAcquire(A)).toBe(true);
      const reported = await captureUnhandledErrors(() => {
        lock.acquire(A).subscribe(() => lock.release(B));
      });
      expect(reported.some((error) => (error as Error).name === 'LockOwnershipError')).toBe(true);
      expect([lock.owner, lock.count]).toEqual([A, 2]);
    });

    it('a lock subscriber that throws: reported; the lock keeps its count', async () => {
      const fault = new Fault('lock subscriber');
      const lock = new RLock();
      const seen: number[] = [];
      const reported = await reportedDuring(() => {
        lock.subscribe(() => {
          throw fault;
        });
        lock.subscribe((value) => seen.push(value));
        expect(lock.tryAcquire(A)).toBe(true);
        const others = waitingOwners(lock, B, C);
        lock.release(A);
        expect(others.log).toEqual(others.served);
      });
      expect(reported.length).toBeGreaterThanOrEqual(2);
      expect(seen[seen.length - 1]).toBe(1);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
    });
  });

  describe('bad input', () => {
    for (const [label, owner] of notObjects) {
      describe(`an owner that is ${label}`, () => {
        it('makes acquire throw a TypeError synchronously, queueing nothing', () => {
          const lock = new RLock();
          lock.tryAcquire(alice);
          expect(() => lock.acquire(owner as object)).toThrowError(TypeError);
          expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
        });

        it('makes tryAcquire throw a TypeError, taking nothing', () => {
          const lock = new RLock();
          expect(() => lock.tryAcquire(owner as object)).toThrowError(TypeError);
          expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
        });

        it('makes release throw a TypeError, releasing nothing', () => {
          const lock = new RLock();
          lock.tryAcquire(alice);
          expect(() => lock.release(owner as object)).toThrowError(TypeError);
          expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
        });

        it('makes isOwnedBy throw a TypeError', () => {
          const lock = new RLock();
          expect(() => lock.isOwnedBy(owner as object)).toThrowError(TypeError);
        });
      });
    }

    it('acquire throws a RangeError for a NaN timeout, queueing nothing', () => {
      const lock = new RLock();
      lock.tryAcquire(alice);
      expect(() => lock.acquire(bob, { timeout: NaN })).toThrowError(RangeError);
      expect(lock.waiting).toBe(0);
    });

    it('acquire throws a TypeError for options of the wrong type', () => {
      const lock = new RLock();
      expect(() => lock.acquire(alice, { blocking: 'no' as unknown as boolean })).toThrowError(TypeError);
      expect(() => lock.acquire(alice, { timeout: '5' as unknown as number })).toThrowError(TypeError);
      expect(() => lock.acquire(alice, { scheduler: {} as never })).toThrowError(TypeError);
      expect(lock.locked()).toBe(false);
    });

    it('the constructor throws a TypeError for a scheduler that is not one', () => {
      expect(() => new RLock({ scheduler: {} as never })).toThrowError(TypeError);
    });

    it('acquire(owner, true) hints at { blocking: true }', () => {
      expect(() => new RLock().acquire({}, true as never)).toThrowError(
        TypeError,
        /acquire\(\{ blocking: true \}\)/,
      );
    });

    it('acquire: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new RLock().acquire({}, { permits: 1 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`RLock.acquire: unknown option "`) &&
          error.message.endsWith(`; the options are blocking, timeout, priority, scheduler`),
      );
    });

    it('the constructor: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new RLock({ owner: {} } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`RLock: unknown option "`) &&
          error.message.endsWith(`; the options are scheduler, name`),
      );
    });
  });
  // SPEC §5 on an RLock: priority for waiting owners (an owner's place is its first still-queued
  // request in queue order), one fencing token per hold shared by its re-entries, and stats().
  describe('priority of waiting owners (rule 19)', () => {
    it('serves waiting owners by priority, FIFO within a priority', () => {
      const lock = new RLock();
      const log: string[] = [];
      const dave = { name: 'dave' };
      const erin = { name: 'erin' };
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log);
      request(lock, carol, 'carol', log, { priority: 2 });
      request(lock, dave, 'dave', log, { priority: -1 });
      request(lock, erin, 'erin', log, { priority: 2 });
      for (const owner of [alice, carol, erin, bob]) lock.release(owner);
      expect(log.filter((entry) => entry.endsWith(':true'))).toEqual([
        'carol:true',
        'erin:true',
        'bob:true',
        'dave:true',
      ]);
      expect(stateOf(lock)).toEqual({ owner: dave, count: 1, waiting: 0, locked: true });
    });

    it("an owner's place is that of its first still-queued request in queue order: a later request of higher priority moves it up", () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, carol, 'carol', log);
      request(lock, bob, 'bob1', log);
      request(lock, bob, 'bob2', log, { priority: 1 });
      lock.release(alice);
      expect(log).toEqual(['bob1:true', 'bob1:|', 'bob2:true', 'bob2:|']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 2, waiting: 1, locked: true });
    });

    it('withdrawing the request that gave an owner its place moves it back to its next queued request', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      const bob1 = request(lock, bob, 'bob1', log, { priority: 1 });
      request(lock, carol, 'carol', log);
      request(lock, bob, 'bob2', log);
      bob1.unsubscribe();
      lock.release(alice);
      expect(log).toEqual(['carol:true', 'carol:|']);
      lock.release(carol);
      expect(log.slice(2)).toEqual(['bob2:true', 'bob2:|']);
      expect(lock.stats()).toEqual(jasmine.objectContaining({ withdrawn: 1, granted: 3 }));
    });

    it('the owner re-enters at once whatever its priority, ahead of waiting owners of higher priority', () => {
      const lock = new RLock();
      const log: string[] = [];
      lock.tryAcquire(alice);
      request(lock, bob, 'bob', log, { priority: 100 });
      request(lock, alice, 'alice again', log, { priority: -100 });
      expect(log).toEqual(['alice again:true', 'alice again:|']);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 2, waiting: 1, locked: true });
    });

    it('another owner that may not wait fails at once whatever its priority; a free lock is taken at any priority', () => {
      const lock = new RLock();
      const log: string[] = [];
      request(lock, alice, 'alice', log, { priority: -7 });
      request(lock, bob, 'bob non-blocking', log, { blocking: false, priority: 100 });
      request(lock, bob, 'bob timeout 0', log, { timeout: 0, priority: 100 });
      expect(log).toEqual([
        'alice:true',
        'alice:|',
        'bob non-blocking:false',
        'bob non-blocking:|',
        'bob timeout 0:false',
        'bob timeout 0:|',
      ]);
      expect(lock.stats()).toEqual(jasmine.objectContaining({ granted: 1, rejected: 2, timedOut: 0 }));
    });

    describe('bad input', () => {
      for (const priority of [0.5, NaN, Infinity, 2 ** 53]) {
        it(`acquire: priority ${priority} is a RangeError naming options.priority; nothing changes`, () => {
          const lock = new RLock();
          lock.tryAcquire(alice);
          expect(() => lock.acquire(bob, { priority })).toThrowError(
            RangeError,
            /RLock\.acquire: options\.priority must be a safe integer/,
          );
          expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 0, locked: true });
        });
      }
      for (const priority of ['1', null, true, {}]) {
        it(`acquire: priority ${String(priority)} (${typeof priority}) is a TypeError naming options.priority`, () => {
          const lock = new RLock();
          expect(() => lock.acquire(bob, { priority } as never)).toThrowError(
            TypeError,
            /options\.priority must be a number/,
          );
        });
      }
    });
  });

  describe('fencing tokens (§5)', () => {
    /**
     * Requests the lock for `owner` through its backend (the contract the operators use) and returns
     * the lease once granted (`lease` is null while it waits).
     */
    function leaseRequest(lock: RLock, owner: object, priority = 0) {
      const handle = { lease: null as Lease | null, refused: false };
      const grantee: PermitGrantee = {
        grant: (lease) => (handle.lease = lease),
        refuse: () => (handle.refused = true),
        fail: () => fail('an in-process lock does not fail'),
        lose: () => fail('an in-process lock does not lose leases'),
      };
      const ticket = lockTargetOf('spec', lock)
        .core.backendFor(owner)
        .request({ permits: 1, priority, maxWaiting: Infinity }, grantee);
      return { handle, ticket };
    }

    it("one hold draws one token, shared by the owner's re-entries; the next hold draws a larger one", () => {
      const lock = new RLock();
      const outer = leaseRequest(lock, alice).handle.lease!;
      const inner = leaseRequest(lock, alice).handle.lease!;
      expect([outer.token, inner.token, outer.permits, inner.permits]).toEqual([1, 1, 1, 1]);
      expect(lock.tryAcquire(alice)).toBe(true);
      expect(lock.count).toBe(3);
      lock.release(alice);
      inner.release();
      outer.release();
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
      expect(leaseRequest(lock, bob).handle.lease!.token).toBe(2);
    });

    it('acquire(), tryAcquire and reentrant holds draw a token each, unseen', () => {
      const lock = new RLock();
      lock.acquire(alice).subscribe(); // hold 1
      lock.release(alice);
      expect(lock.tryAcquire(bob)).toBe(true); // hold 2
      expect(lock.tryAcquire(bob)).toBe(true); // a re-entry: no new hold
      lock.release(bob);
      lock.release(bob);
      of(1).pipe(reentrant(lock)).subscribe(); // hold 3
      const lease = leaseRequest(lock, carol).handle.lease!;
      expect(lease.token).toBe(4);
    });

    it("an owner's queued requests, granted together, share the token of its new hold", () => {
      const lock = new RLock();
      const first = leaseRequest(lock, alice).handle.lease!;
      const bob1 = leaseRequest(lock, bob).handle;
      const carol1 = leaseRequest(lock, carol).handle;
      const bob2 = leaseRequest(lock, bob).handle;
      expect([bob1.lease, carol1.lease, bob2.lease]).toEqual([null, null, null]);
      first.release();
      expect([bob1.lease!.token, bob2.lease!.token, carol1.lease]).toEqual([2, 2, null]);
      bob2.lease!.release();
      bob1.lease!.release();
      expect(carol1.lease!.token).toBe(3);
    });

    it('releasing the outer lease early keeps the hold (the re-entry lease stays valid); release() is idempotent', () => {
      const lock = new RLock();
      const outer = leaseRequest(lock, alice).handle.lease!;
      const inner = leaseRequest(lock, alice).handle.lease!;
      const waiter = leaseRequest(lock, bob).handle;
      outer.release();
      expect([outer.released, inner.released]).toEqual([true, false]);
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 1, locked: true });
      outer.release();
      outer[Symbol.dispose]();
      expect(stateOf(lock)).toEqual({ owner: alice, count: 1, waiting: 1, locked: true });
      inner[Symbol.dispose]();
      expect(inner.released).toBe(true);
      expect(waiter.lease!.token).toBe(2);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
      inner.release();
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
    });

    it('a waiting owner of higher priority draws the next token', () => {
      const lock = new RLock();
      const first = leaseRequest(lock, alice).handle.lease!;
      const low = leaseRequest(lock, bob).handle;
      const high = leaseRequest(lock, carol, 1).handle;
      first.release();
      expect([high.lease!.token, low.lease]).toEqual([2, null]);
      high.lease!.release();
      expect(low.lease!.token).toBe(3);
    });
  });

  describe('stats (rule 21)', () => {
    it('starts at zero, with the name, value 1 and a fresh object each call', () => {
      const lock = new RLock({ name: 'token refresh' });
      const first = lock.stats();
      expect(first).toEqual({
        name: 'token refresh',
        value: 1,
        waiting: 0,
        granted: 0,
        timedOut: 0,
        rejected: 0,
        withdrawn: 0,
        peakWaiting: 0,
        waitMs: { count: 0, total: 0, max: 0 },
      });
      lock.tryAcquire(alice);
      expect(first.value).toBe(1);
      expect(lock.stats()).not.toBe(lock.stats());
      expect(lock.stats()).toEqual(jasmine.objectContaining({ value: 0, granted: 1 }));
      expect(new RLock().stats().name).toBeUndefined();
    });

    it('a re-entry counts as granted with a wait of 0; a tryAcquire refused as rejected', () => {
      const lock = new RLock();
      lock.tryAcquire(alice);
      lock.tryAcquire(alice);
      lock.acquire(alice).subscribe();
      of(1)
        .pipe(reentrant(lock, { owner: alice }))
        .subscribe();
      expect(lock.tryAcquire(bob)).toBe(false);
      expect(lock.stats()).toEqual(
        jasmine.objectContaining({
          value: 0,
          granted: 4,
          rejected: 1,
          waitMs: { count: 4, total: 0, max: 0 },
        }),
      );
    });

    it("counts timeouts, withdrawals, peakWaiting, and the queued time on the lock's scheduler", () => {
      const scheduler = new VirtualTimeScheduler();
      const lock = new RLock({ scheduler });
      lock.tryAcquire(alice);
      const log: string[] = [];
      request(lock, bob, 'bob', log);
      request(lock, carol, 'carol', log, { timeout: 4 });
      const dave = request(lock, { name: 'dave' }, 'dave', log);
      advanceScheduler(scheduler, 2);
      dave.unsubscribe();
      advanceScheduler(scheduler, 2);
      advanceScheduler(scheduler, 3);
      lock.release(alice);
      expect(lock.stats()).toEqual({
        name: undefined,
        value: 0,
        waiting: 0,
        granted: 2,
        timedOut: 1,
        rejected: 0,
        withdrawn: 1,
        peakWaiting: 3,
        waitMs: { count: 2, total: 7, max: 7 },
      });
    });

    it("an owner's request assigned by a hand-off but withdrawn before it was told counts as withdrawn, not granted", () => {
      // A virtual clock: the queued time is 0 whatever the real clock does meanwhile.
      const lock = new RLock({ scheduler: new VirtualTimeScheduler() });
      const log: string[] = [];
      lock.tryAcquire(alice);
      const handles: { second?: Subscription } = {};
      lock.acquire(bob).subscribe(() => {
        log.push('bob1');
        handles.second!.unsubscribe();
      });
      handles.second = lock.acquire(bob).subscribe(() => log.push('bob2'));
      lock.release(alice);
      expect(log).toEqual(['bob1']);
      expect(stateOf(lock)).toEqual({ owner: bob, count: 1, waiting: 0, locked: true });
      expect(lock.stats()).toEqual(
        jasmine.objectContaining({ granted: 2, withdrawn: 1, waitMs: { count: 2, total: 0, max: 0 } }),
      );
    });
  });
});

import {
  EMPTY,
  Observable,
  Subject,
  concatMap,
  concatWith,
  defer,
  delay,
  expand,
  finalize,
  map,
  mergeMap,
  of,
  share,
  switchMap,
  take,
  takeUntil,
  tap,
  timer,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { LockOwnershipError, RLock, reentrant } from '../src/index.js';
import { createTestScheduler, permitTimeout } from '../spec/helpers/index.js';

// Frame-exact timing of reentrant(lock) (SPEC rules 6, 8, 15, 16): ownership inferred from the
// subscription chain, FIFO between owners, timeouts, and the lock given back before a holder's
// complete or error is forwarded. Inside `run()` the default asyncScheduler is virtual.

/** Matches exactly the PermitTimeoutError of an RLock request that waited `timeout` frames. */
function lockTimeout(timeout: number): jasmine.AsymmetricMatcher<unknown> {
  return permitTimeout(timeout, 1, 'RLock');
}

type FlatteningOperator = <T, O extends ObservableInput<unknown>>(
  project: (value: T, index: number) => O,
) => OperatorFunction<T, O extends ObservableInput<infer R> ? R : never>;

const flatteners: ReadonlyArray<readonly [string, FlatteningOperator]> = [
  ['mergeMap', mergeMap as FlatteningOperator],
  ['switchMap', switchMap as FlatteningOperator],
  ['concatMap', concatMap as FlatteningOperator],
];

describe('reentrant (marbles)', () => {
  let testScheduler: TestScheduler;
  let lock: RLock;

  beforeEach(() => {
    testScheduler = createTestScheduler();
    lock = new RLock();
  });

  /**
   * Does `action` at `frame`, before what the flush schedules for that frame (cold notifications,
   * timers): it is scheduled now, and actions of one frame run in the order they were scheduled.
   */
  function at(frame: number, action: () => void): void {
    testScheduler.schedule(action, frame);
  }

  /** Runs `check` at `frame`, after everything else due in that frame. */
  function checkAt(frame: number, check: () => void): void {
    testScheduler.schedule(() => testScheduler.schedule(check), frame);
  }

  function expectFreeAt(frame: number): void {
    checkAt(frame, () => {
      expect(lock.owner).toBeNull();
      expect(lock.count).toBe(0);
      expect(lock.waiting).toBe(0);
      expect(lock.locked()).toBe(false);
    });
  }

  describe('ownership follows the data', () => {
    it('a nested reentrant(lock) subscribed synchronously inside a holder re-enters at once', () => {
      const counts: number[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('--x|');
        const nested = work.pipe(
          tap(() => counts.push(lock.count)),
          reentrant(lock),
          reentrant(lock),
        );
        expectObservable(nested).toBe('--x|');
        expectSubscriptions(work.subscriptions).toBe('^--!');
        expectFreeAt(3);
      });
      expect(counts).toEqual([2]);
    });

    it('a reentrant inner of a synchronous mergeMap inside a holder re-enters at once', () => {
      const counts: number[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('--x|');
        const holder = of('go').pipe(
          mergeMap(() =>
            work.pipe(
              tap(() => counts.push(lock.count)),
              reentrant(lock),
            ),
          ),
          reentrant(lock),
        );
        expectObservable(holder).toBe('--x|');
        expectSubscriptions(work.subscriptions).toBe('^--!');
        expectFreeAt(3);
      });
      expect(counts).toEqual([2]);
    });

    for (const [name, flatten] of flatteners) {
      it(`re-enters later from a ${name} inner after a timer, ahead of an owner already waiting`, () => {
        const counts: number[] = [];
        testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
          const work = cold('-w|');
          const otherWork = cold('-y|');
          const holder = cold('a|').pipe(
            flatten(() =>
              timer(3).pipe(
                flatten(() =>
                  work.pipe(
                    tap(() => counts.push(lock.count)),
                    reentrant(lock),
                  ),
                ),
              ),
            ),
            reentrant(lock),
          );
          const other = otherWork.pipe(reentrant(lock));

          expectObservable(holder).toBe('----w|');
          // Another owner queues at frame 1; the holder's later re-entry does not wait behind it.
          expectObservable(other, '-^').toBe('------y|');
          expectSubscriptions(work.subscriptions).toBe('---^-!');
          expectSubscriptions(otherWork.subscriptions).toBe('-----^-!');
          checkAt(2, () => expect(lock.waiting).toBe(1));
          expectFreeAt(8);
        });
        expect(counts).toEqual([2]);
      });
    }

    it('a switchMap inner that is switched away gives back its level, and the next one re-enters', () => {
      const counts: number[] = [];
      testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
        const triggers = hot('-a--b|');
        const work = cold('--x--|');
        const holder = triggers.pipe(
          switchMap(() => work.pipe(reentrant(lock))),
          tap(() => counts.push(lock.count)),
          reentrant(lock),
        );
        expectObservable(holder).toBe('---x--x--|');
        expectSubscriptions(work.subscriptions).toBe(['-^--!', '----^----!']);
        checkAt(4, () => expect(lock.count).toBe(2)); // the first inner left, the second entered
        expectFreeAt(9);
      });
      expect(counts).toEqual([2, 2]);
    });

    it('a recursive expand takes the lock at every level, completes, and leaves the lock free', () => {
      const counts: number[] = [];
      const owners: Array<object | null> = [];
      testScheduler.run(({ expectObservable }) => {
        const level = (n: number) => of(n).pipe(delay(1), reentrant(lock));
        const tree = of(0).pipe(
          reentrant(lock),
          expand((n) => (n < 3 ? level(n + 1) : EMPTY)),
          tap(() => {
            counts.push(lock.count);
            owners.push(lock.owner);
          }),
          reentrant(lock),
        );
        expectObservable(tree).toBe('abc(d|)', { a: 0, b: 1, c: 2, d: 3 });
        expectFreeAt(4);
      });
      // The holder plus the level that emitted; all levels act as one owner.
      expect(counts).toEqual([2, 2, 2, 2]);
      expect(owners.length).toBe(4);
      expect(owners.every((owner) => owner !== null && owner === owners[0])).toBe(true);
    });

    it('concurrent inners of one holder share its ownership, while another owner waits for the holder', () => {
      const counts: number[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const inner = cold('--x|');
        const otherWork = cold('-y|');
        const holder = cold('ab|').pipe(
          mergeMap(() =>
            inner.pipe(
              tap(() => counts.push(lock.count)),
              reentrant(lock),
            ),
          ),
          reentrant(lock),
        );
        expectObservable(holder).toBe('--xx|');
        expectObservable(otherWork.pipe(reentrant(lock))).toBe('-----y|');
        expectSubscriptions(inner.subscriptions).toBe(['^--!', '-^--!']);
        expectSubscriptions(otherWork.subscriptions).toBe('----^-!');
        checkAt(1, () => expect(lock.count).toBe(3));
        expectFreeAt(6);
      });
      // Frame 2: holder + both inners; frame 3: the first inner completed just before the second emits.
      expect(counts).toEqual([3, 2]);
    });

    it("a stream started from a holder's output (downstream of it) is a different owner and waits for it", () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('-x|');
        const holder = cold('a---|').pipe(reentrant(lock));
        expectObservable(holder.pipe(mergeMap(() => work.pipe(reentrant(lock))))).toBe('-----x|');
        expectSubscriptions(work.subscriptions).toBe('----^-!');
        checkAt(1, () => expect(lock.waiting).toBe(1));
        expectFreeAt(6);
      });
    });

    it('ownership is per lock: holding one lock does not make a stream the owner of another', () => {
      const other = new RLock();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const blocker = cold('---|');
        const work = cold('-x|');
        expectObservable(blocker.pipe(reentrant(other))).toBe('---|');
        const holder = cold('a|').pipe(
          mergeMap(() => work.pipe(reentrant(other))),
          reentrant(lock),
        );
        expectObservable(holder).toBe('----x|');
        expectSubscriptions(work.subscriptions).toBe('---^-!');
        checkAt(1, () => {
          expect(other.waiting).toBe(1);
          expect(lock.count).toBe(1);
        });
        expectFreeAt(5);
        checkAt(5, () => expect(other.locked()).toBe(false));
      });
    });

    it('an inner inherits an explicit owner of its holder', () => {
      const me = { name: 'me' };
      const owners: Array<object | null> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const holder = cold('a|').pipe(
          mergeMap(() =>
            timer(2).pipe(
              mergeMap(() =>
                cold('x|').pipe(
                  tap(() => owners.push(lock.owner)),
                  reentrant(lock),
                ),
              ),
            ),
          ),
          reentrant(lock, { owner: me }),
        );
        expectObservable(holder).toBe('--x|');
        checkAt(1, () => {
          expect(lock.owner).toBe(me);
          expect(lock.tryAcquire(me)).toBe(true); // `me` is the owner: plain calls re-enter too
          lock.release(me);
        });
        expectFreeAt(4);
      });
      expect(owners).toEqual([me]);
    });
  });

  describe('unrelated streams exclude each other', () => {
    it('the second is subscribed at the frame the first completes', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--a|');
        const second = cold('-b|');
        expectObservable(first.pipe(reentrant(lock))).toBe('--a|');
        expectObservable(second.pipe(reentrant(lock))).toBe('----b|');
        expectSubscriptions(first.subscriptions).toBe('^--!');
        expectSubscriptions(second.subscriptions).toBe('---^-!');
        checkAt(1, () => expect(lock.waiting).toBe(1));
        expectFreeAt(5);
      });
    });

    it('the second is subscribed at the frame the first errors', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--#', undefined, new Error('first failed'));
        const second = cold('-b|');
        expectObservable(first.pipe(reentrant(lock))).toBe('--#', undefined, new Error('first failed'));
        expectObservable(second.pipe(reentrant(lock))).toBe('---b|');
        expectSubscriptions(second.subscriptions).toBe('--^-!');
        expectFreeAt(4);
      });
    });

    it('the second is subscribed at the frame the first is unsubscribed', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('-----a|');
        const second = cold('-b|');
        expectObservable(first.pipe(reentrant(lock)), '^-!').toBe('');
        expectObservable(second.pipe(reentrant(lock))).toBe('---b|');
        expectSubscriptions(first.subscriptions).toBe('^-!');
        expectSubscriptions(second.subscriptions).toBe('--^-!');
        expectFreeAt(4);
      });
    });

    it('waiting streams are served first come, first served', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--a|');
        const second = cold('-b|');
        const third = cold('c|');
        expectObservable(first.pipe(reentrant(lock))).toBe('--a|');
        expectObservable(third.pipe(reentrant(lock)), '-^').toBe('-----c|');
        expectObservable(second.pipe(reentrant(lock)), '^').toBe('----b|');
        expectSubscriptions(second.subscriptions).toBe('---^-!');
        expectSubscriptions(third.subscriptions).toBe('-----^!');
        expectFreeAt(6);
      });
    });

    it('a waiting stream that is unsubscribed withdraws: its source is never subscribed', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('---a|');
        const second = cold('-b|');
        expectObservable(first.pipe(reentrant(lock))).toBe('---a|');
        expectObservable(second.pipe(reentrant(lock)), '^-!').toBe('');
        checkAt(1, () => expect(lock.waiting).toBe(1));
        checkAt(2, () => expect(lock.waiting).toBe(0));
        expectSubscriptions(second.subscriptions).toBe([]);
        expectFreeAt(4);
      });
    });

    it('a stream reached only through share() is a different owner and waits for the holder to end', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('-x|');
        const shared = work.pipe(reentrant(lock), share());
        // The holder is first to subscribe to `shared` (connecting it), then stops listening at frame 2.
        const holder = cold('a---|').pipe(
          mergeMap(() => shared.pipe(takeUntil(timer(2)))),
          reentrant(lock),
        );
        expectObservable(holder).toBe('----|');
        expectObservable(shared).toBe('-----x|');
        expectSubscriptions(work.subscriptions).toBe('----^-!');
        checkAt(1, () => expect(lock.waiting).toBe(1));
        expectFreeAt(6);
      });
    });

    it('a stream reached only through a Subject is a different owner and waits for the holder to end', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('-x|');
        const subject = new Subject<string>();
        // Subscribed synchronously inside the holder's inner, but its output goes into a Subject.
        const holder = cold('a---|').pipe(
          mergeMap(() => {
            work.pipe(reentrant(lock)).subscribe(subject);
            return subject.pipe(takeUntil(timer(2)));
          }),
          reentrant(lock),
        );
        expectObservable(holder).toBe('----|');
        expectObservable(subject).toBe('-----x|');
        expectSubscriptions(work.subscriptions).toBe('----^-!');
        checkAt(1, () => expect(lock.waiting).toBe(1));
        expectFreeAt(6);
      });
    });
  });

  describe('an explicit owner overrides the inference', () => {
    it('two unrelated streams with the same explicit owner run together', () => {
      const shared = { name: 'shared' };
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--a|');
        const second = cold('-b|');
        expectObservable(first.pipe(reentrant(lock, { owner: shared }))).toBe('--a|');
        expectObservable(second.pipe(reentrant(lock, { owner: shared }))).toBe('-b|');
        expectSubscriptions(second.subscriptions).toBe('^-!');
        checkAt(1, () => {
          expect(lock.owner).toBe(shared);
          expect(lock.count).toBe(2);
        });
        checkAt(2, () => expect(lock.count).toBe(1));
        expectFreeAt(3);
      });
    });

    it('a stream whose explicit owner already holds the lock (taken by hand) runs at once', () => {
      const me = { name: 'me' };
      lock.tryAcquire(me);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('-a|');
        expectObservable(work.pipe(reentrant(lock, { owner: me }))).toBe('-a|');
        expectSubscriptions(work.subscriptions).toBe('^-!');
        checkAt(1, () => expect(lock.count).toBe(2));
        checkAt(3, () => expect(lock.count).toBe(1));
      });
      expect(lock.owner).toBe(me);
      lock.release(me);
      expect(lock.locked()).toBe(false);
    });

    it('a nested stream with a different explicit owner waits: here a deadlock, cut by its timeout', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('-x|');
        const stranger = { name: 'stranger' };
        const holder = cold('a----|').pipe(
          mergeMap(() => work.pipe(reentrant(lock, { owner: stranger, timeout: 3 }))),
          reentrant(lock),
        );
        expectObservable(holder).toBe('---#', undefined, lockTimeout(3));
        expectSubscriptions(work.subscriptions).toBe([]);
        checkAt(1, () => {
          expect(lock.waiting).toBe(1);
          expect(lock.isOwnedBy(stranger)).toBe(false);
        });
        expectFreeAt(3);
      });
    });
  });

  describe('timeouts', () => {
    const alice = { name: 'alice' };

    it('a stream that waits longer than its timeout errors with PermitTimeoutError at that frame', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        at(5, () => lock.release(alice));
        const work = cold('-x|');
        expectObservable(work.pipe(reentrant(lock, { timeout: 3 }))).toBe('---#', undefined, lockTimeout(3));
        expectSubscriptions(work.subscriptions).toBe([]);
        checkAt(3, () => expect(lock.waiting).toBe(0));
        expectFreeAt(5);
      });
    });

    it('a `with` fallback replaces the stream at the timeout frame, and runs without the lock', () => {
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        at(5, () => lock.release(alice));
        const work = cold('-x|');
        const fallback = cold('-f|');
        const gated = work.pipe(
          reentrant(lock, {
            timeout: 3,
            with: (error) => {
              errors.push(error);
              return fallback;
            },
          }),
        );
        expectObservable(gated).toBe('----f|');
        expectSubscriptions(fallback.subscriptions).toBe('---^-!');
        expectSubscriptions(work.subscriptions).toBe([]);
        checkAt(4, () => {
          expect(lock.owner).toBe(alice);
          expect(lock.count).toBe(1);
        });
        expectFreeAt(5);
      });
      expect(errors).toEqual([lockTimeout(3)]);
    });

    it('a grant before the timeout subscribes the source at the release frame, and the timeout never fires', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        at(2, () => lock.release(alice));
        const work = cold('---x|');
        expectObservable(work.pipe(reentrant(lock, { timeout: 3 }))).toBe('-----x|');
        expectSubscriptions(work.subscriptions).toBe('--^---!');
        expectFreeAt(6);
      });
    });

    it('timeout 0 does not wait: it errors at once when another owner holds the lock', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        const work = cold('-x|');
        expectObservable(work.pipe(reentrant(lock, { timeout: 0 }))).toBe('#', undefined, lockTimeout(0));
        expectSubscriptions(work.subscriptions).toBe([]);
        checkAt(1, () => expect(lock.waiting).toBe(0));
      });
    });

    it('timeout 0 still takes a free lock at once', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('-x|').pipe(reentrant(lock, { timeout: 0 }))).toBe('-x|');
        checkAt(1, () => expect(lock.count).toBe(1));
        expectFreeAt(2);
      });
    });

    it('a release in the timeout frame, before the timer, grants the lock: nothing is lost', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        at(3, () => lock.release(alice)); // scheduled before the subscription's timer: runs first
        const work = cold('-x|');
        expectObservable(work.pipe(reentrant(lock, { timeout: 3 }))).toBe('----x|');
        expectSubscriptions(work.subscriptions).toBe('---^-!');
        expectFreeAt(5);
      });
    });

    it('a release in the timeout frame, after the timer, finds nobody waiting: nothing is given twice', () => {
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        lock.tryAcquire(alice);
        // Scheduled during the flush (after the subscription's timer), so it runs after the timeout.
        at(1, () => testScheduler.schedule(() => lock.release(alice), 2));
        const work = cold('-x|');
        expectObservable(work.pipe(reentrant(lock, { timeout: 3 }))).toBe('---#', undefined, lockTimeout(3));
        expectSubscriptions(work.subscriptions).toBe([]);
        expectFreeAt(3);
      });
    });
  });

  describe('the lock is given back exactly once, before the end is forwarded', () => {
    it('a downstream complete handler already sees the lock free and can take it', () => {
      const seen: Array<[number, boolean, boolean]> = [];
      const bob = { name: 'bob' };
      testScheduler.run(({ cold }) => {
        cold('--a|')
          .pipe(reentrant(lock))
          .subscribe({
            complete: () => seen.push([testScheduler.now(), lock.locked(), lock.tryAcquire(bob)]),
          });
      });
      expect(seen).toEqual([[3, false, true]]);
      expect(lock.owner).toBe(bob);
    });

    it("the next owner's stream starts only after the holder's source was torn down", () => {
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const first = cold('--a|').pipe(
          finalize(() => log.push(`first finalized, lock ${lock.locked() ? 'held' : 'free'}`)),
          reentrant(lock),
        );
        const second = defer(() => {
          log.push('second subscribed');
          return cold('-b|');
        }).pipe(reentrant(lock));
        expectObservable(first).toBe('--a|');
        expectObservable(second).toBe('----b|');
      });
      expect(log).toEqual(['first finalized, lock held', 'second subscribed']);
    });

    it('an operator after the gated stream sees the lock free at its completion frame', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const gated = cold('--a|').pipe(reentrant(lock));
        expectObservable(gated.pipe(concatWith(defer(() => of(lock.locked() ? 'held' : 'free'))))).toBe(
          '--a(f|)',
          { a: 'a', f: 'free' },
        );
      });
    });

    it('a downstream error handler already sees the lock free and can take it', () => {
      const seen: Array<[number, boolean, boolean]> = [];
      const bob = { name: 'bob' };
      testScheduler.run(({ cold }) => {
        cold('--#')
          .pipe(reentrant(lock))
          .subscribe({
            error: () => seen.push([testScheduler.now(), lock.locked(), lock.tryAcquire(bob)]),
          });
      });
      expect(seen).toEqual([[2, false, true]]);
      expect(lock.owner).toBe(bob);
    });

    it('an error thrown inside the gated stream releases the lock before it reaches downstream', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const failing = cold('-a|').pipe(
          map(() => {
            throw new Error('bad value');
          }),
          reentrant(lock),
        );
        expectObservable(failing.pipe(tap({ error: () => expect(lock.locked()).toBe(false) }))).toBe(
          '-#',
          undefined,
          new Error('bad value'),
        );
        expectFreeAt(2);
      });
    });

    it('a downstream take(1) stops a synchronous endless gated source and frees the lock', () => {
      let emitted = 0;
      const endless = new Observable<number>((subscriber) => {
        for (let i = 0; !subscriber.closed; i++) {
          emitted++;
          subscriber.next(i);
        }
      });
      testScheduler.run(({ expectObservable }) => {
        expectObservable(endless.pipe(reentrant(lock), take(1))).toBe('(a|)', { a: 0 });
        expectFreeAt(1);
      });
      expect(emitted).toBe(1);
    });

    it('a `with` fallback that throws errors the stream and leaves the lock as it was', () => {
      const alice = { name: 'alice' };
      const fault = new Error('fallback fault');
      testScheduler.run(({ cold, expectObservable }) => {
        lock.tryAcquire(alice);
        const gated = cold('-x|').pipe(
          reentrant(lock, {
            timeout: 2,
            with: () => {
              throw fault;
            },
          }),
        );
        expectObservable(gated).toBe('--#', undefined, fault);
        checkAt(2, () => {
          expect(lock.owner).toBe(alice);
          expect(lock.count).toBe(1);
          expect(lock.waiting).toBe(0);
        });
      });
    });
  });

  describe('a release by a non-owner while a stream holds the lock', () => {
    it('throws LockOwnershipError naming both owners and changes nothing', () => {
      const intruder = { name: 'intruder' };
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const work = cold('----a|');
        const waitingWork = cold('-b|');
        expectObservable(work.pipe(reentrant(lock))).toBe('----a|');
        expectObservable(waitingWork.pipe(reentrant(lock))).toBe('------b|');
        checkAt(2, () => {
          const owner = lock.owner as { name: string };
          expect(owner.name).toMatch(/^stream owner #\d+$/);
          let thrown: unknown;
          try {
            lock.release(intruder);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(LockOwnershipError);
          expect((thrown as Error).name).toBe('LockOwnershipError');
          expect((thrown as Error).message).toContain('intruder');
          expect((thrown as Error).message).toContain(owner.name);
          expect(lock.owner).toBe(owner);
          expect(lock.count).toBe(1);
          expect(lock.waiting).toBe(1);
        });
        // The waiting stream is still served at the holder's end, not at the failed release.
        expectSubscriptions(waitingWork.subscriptions).toBe('-----^-!');
        expectFreeAt(7);
      });
    });
  });
});

// SPEC §5 for RLock: waiting owners are served by priority, then arrival (rule 19); an owner's
// place in the queue is that of its first still-queued request in queue order, and all its queued
// requests are granted together; stats() in virtual time, a re-entry counting as a grant.
describe('reentrant (marbles): priority of waiting owners, and stats', () => {
  let testScheduler: TestScheduler;
  let lock: RLock;

  beforeEach(() => {
    testScheduler = createTestScheduler();
    lock = new RLock();
  });

  function at(frame: number, action: () => void): void {
    testScheduler.schedule(action, frame);
  }

  const owners = { A: { name: 'A' }, B: { name: 'B' }, C: { name: 'C' }, D: { name: 'D' }, E: { name: 'E' } };

  it('serves waiting owners by priority, FIFO within a priority', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { A, B, C, D, E } = owners;
      const b = cold('b|');
      const c = cold('c|');
      const d = cold('d|');
      const e = cold('e|');
      expectObservable(cold('---|').pipe(reentrant(lock, { owner: A }))).toBe('---|');
      expectObservable(b.pipe(reentrant(lock, { owner: B })), '-^').toBe('-----b|');
      expectObservable(c.pipe(reentrant(lock, { owner: C, priority: 1 })), '--^').toBe('---c|');
      expectObservable(d.pipe(reentrant(lock, { owner: D, priority: 0 })), '--^').toBe('------d|');
      expectObservable(e.pipe(reentrant(lock, { owner: E, priority: 1 })), '--^').toBe('----e|');
      expectSubscriptions(c.subscriptions).toBe('---^!');
      expectSubscriptions(e.subscriptions).toBe('----^!');
      expectSubscriptions(b.subscriptions).toBe('-----^!');
      expectSubscriptions(d.subscriptions).toBe('------^!');
      at(2, () => expect(lock.waiting).toBe(4));
    });
    expect([lock.owner, lock.waiting]).toEqual([null, 0]);
  });

  it("an owner's place is its first still-queued request in queue order: a later request of higher priority moves it up", () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { A, B, C } = owners;
      const c = cold('c|');
      const b1 = cold('b|');
      const b2 = cold('B-|');
      expectObservable(cold('----|').pipe(reentrant(lock, { owner: A }))).toBe('----|');
      expectObservable(c.pipe(reentrant(lock, { owner: C })), '-^').toBe('------c|');
      expectObservable(b1.pipe(reentrant(lock, { owner: B })), '--^').toBe('----b|');
      expectObservable(b2.pipe(reentrant(lock, { owner: B, priority: 2 })), '---^').toBe('----B-|');
      // Both of B's requests are granted together, in the frame A lets go.
      expectSubscriptions(b1.subscriptions).toBe('----^!');
      expectSubscriptions(b2.subscriptions).toBe('----^-!');
      expectSubscriptions(c.subscriptions).toBe('------^!');
      at(5, () => expect([lock.owner, lock.count, lock.waiting]).toEqual([B, 2, 1]));
    });
    expect(lock.owner).toBeNull();
  });

  it('a withdrawn request keeps no place: the owner falls back to its next queued request', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { A, B, C } = owners;
      const c = cold('c|');
      const b2 = cold('b|');
      expectObservable(cold('-----|').pipe(reentrant(lock, { owner: A }))).toBe('-----|');
      expectObservable(cold('x|').pipe(reentrant(lock, { owner: B, priority: 1 })), '-^-!').toBe('---');
      expectObservable(c.pipe(reentrant(lock, { owner: C })), '--^').toBe('-----c|');
      expectObservable(b2.pipe(reentrant(lock, { owner: B })), '----^').toBe('------b|');
      expectSubscriptions(c.subscriptions).toBe('-----^!');
      expectSubscriptions(b2.subscriptions).toBe('------^!');
    });
    expect(lock.stats()).toEqual(jasmine.objectContaining({ granted: 3, withdrawn: 1 }));
  });

  it('a timed-out request of high priority keeps no place either, and the lock passes on by priority', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { A, B, C } = owners;
      expectObservable(cold('-----|').pipe(reentrant(lock, { owner: A }))).toBe('-----|');
      expectObservable(cold('x|').pipe(reentrant(lock, { owner: B, priority: 3, timeout: 2 })), '-^').toBe(
        '---#',
        undefined,
        permitTimeout(2, 1, 'RLock'),
      );
      expectObservable(cold('c|').pipe(reentrant(lock, { owner: C, priority: -1 })), '--^').toBe('-----c|');
    });
    expect(lock.stats()).toEqual(jasmine.objectContaining({ granted: 2, timedOut: 1, withdrawn: 0 }));
  });

  it('stats(): re-entries count as grants with a wait of 0; queued time in virtual ms; refusals, timeouts, withdrawals', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { B, C, D } = owners;
      const holder = cold('a---|').pipe(
        mergeMap(() => cold('-x|').pipe(reentrant(lock))),
        reentrant(lock),
      );
      expectObservable(holder).toBe('-x--|');
      expectObservable(cold('b|').pipe(reentrant(lock, { owner: B })), '-^').toBe('----b|');
      expectObservable(cold('c|').pipe(reentrant(lock, { owner: C, timeout: 1 })), '--^').toBe(
        '---#',
        undefined,
        permitTimeout(1, 1, 'RLock'),
      );
      expectObservable(cold('d|').pipe(reentrant(lock, { owner: D })), '--^!').toBe('--');
      expectObservable(lock.acquire(D, { blocking: false }), '-^').toBe('-(f|)', { f: false });
      at(1, () => expect(lock.tryAcquire(C)).toBe(false));
      at(2, () => expect(lock.stats()).toEqual(jasmine.objectContaining({ waiting: 3, peakWaiting: 3 })));
      at(6, () =>
        expect(lock.stats()).toEqual({
          name: undefined,
          value: 1,
          waiting: 0,
          granted: 3,
          timedOut: 1,
          rejected: 2,
          withdrawn: 1,
          peakWaiting: 3,
          waitMs: { count: 3, total: 3, max: 3 },
        }),
      );
    });
  });
});

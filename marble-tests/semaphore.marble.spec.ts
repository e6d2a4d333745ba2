import { tap } from 'rxjs';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  createTestScheduler,
  granted,
  heldSemaphore,
  record,
  semaphoreKinds,
  type FrameEvent,
} from './marble-helpers.js';

// Timing of acquire() and release(): wake-up order, timeouts, withdrawal and weighted requests, at
// exact frames of virtual time. Inside `run()`, asyncScheduler (the default for timeouts) runs in
// virtual time; wake-ups happen in the frame of the release (SPEC rule 3).
for (const [kind, create] of semaphoreKinds) {
  describe(`${kind} timing (marbles)`, () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = createTestScheduler();
    });

    /** Runs `work` at `frame` of virtual time, after every action already scheduled for that frame. */
    function at(frame: number, work: () => void): void {
      testScheduler.schedule(work, frame);
    }

    describe('wake-up order', () => {
      it('wakes queued acquires in subscription order, each in the frame of the release that hands it the permit', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '-^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('-------(t|)', granted);
          expectObservable(semaphore.acquire(), '---^').toBe('---------(t|)', granted);
          cold('-----r-r-r').subscribe(() => semaphore.release());
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 3]));
          at(10, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('serves acquires in the order they subscribed, not the order they were created', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const createdFirst = semaphore.acquire();
          const createdSecond = semaphore.acquire();
          expectObservable(createdSecond, '-^').toBe('---(t|)', granted);
          expectObservable(createdFirst, '--^').toBe('-----(t|)', granted);
          cold('---r-r').subscribe(() => semaphore.release());
        });
      });

      it('one release of several permits wakes as many waiters, in queue order, all in that frame', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3);
          const order: string[] = [];
          for (const [name, subscription] of [
            ['a', '-^'],
            ['b', '--^'],
            ['c', '---^'],
          ] as const) {
            const acquire = semaphore.acquire().pipe(tap(() => order.push(name)));
            expectObservable(acquire, subscription).toBe('-----(t|)', granted);
          }
          at(5, () => expect(semaphore.release(3)).toBe(0));
          at(6, () => {
            expect(order).toEqual(['a', 'b', 'c']);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('a release with nobody queued frees the permit for an acquire later in that frame', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          at(3, () => expect(semaphore.release()).toBe(1));
          expectObservable(semaphore.acquire(), '---^').toBe('---(t|)', granted);
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('does not let tryAcquire overtake a request queued before the permit came back', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2, 1);
          expectObservable(semaphore.acquire({ permits: 2 }), '-^').toBe('----(t|)', granted);
          at(2, () => expect(semaphore.tryAcquire()).toBe(false));
          at(4, () => semaphore.release());
          at(5, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });
    });

    describe('timeouts', () => {
      it('acquire({ timeout: 5 }) emits false and completes 5 frames after subscription', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire({ timeout: 5 })).toBe('-----(f|)', granted);
          expectObservable(semaphore.acquire({ timeout: 5 }), '--^').toBe('-------(f|)', granted);
          at(4, () => expect(semaphore.waiting).toBe(2));
          at(6, () => expect(semaphore.waiting).toBe(1));
          at(8, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('a grant before the deadline emits true in the release frame and cancels the timer', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire({ timeout: 5 })).toBe('---(t|)', granted);
          at(3, () => expect(semaphore.release()).toBe(0));
          // Only the frame-6 check is still pending: a live timer would be due at frame 5.
          at(4, () => expect(testScheduler.actions.map((action) => action.delay)).toEqual([6]));
          // The grantee still holds the permit after the old deadline.
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('runs the timeout on the scheduler given in the options', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const fired: number[] = [];
          const spy: SchedulerLike = {
            now: () => testScheduler.now(),
            schedule<T>(
              work: (this: SchedulerAction<T>, state?: T) => void,
              delay?: number,
              state?: T,
            ): Subscription {
              return testScheduler.schedule(
                function (this: SchedulerAction<T>, actionState?: T) {
                  fired.push(testScheduler.now());
                  work.call(this, actionState);
                },
                delay,
                state,
              );
            },
          };
          expectObservable(semaphore.acquire({ timeout: 3, scheduler: spy })).toBe('---(f|)', granted);
          expectObservable(semaphore.acquire({ timeout: 4, scheduler: spy }), '^-!').toBe('--', granted);
          at(6, () => expect(fired).toEqual([3]));
        });
      });

      it('does not wait at all with a timeout <= 0 or blocking: false', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2, 1);
          expectObservable(semaphore.acquire({ permits: 2, timeout: 0 })).toBe('(f|)', granted);
          expectObservable(semaphore.acquire({ permits: 2, timeout: -1 })).toBe('(f|)', granted);
          expectObservable(semaphore.acquire({ permits: 2, blocking: false, timeout: 5 })).toBe(
            '(f|)',
            granted,
          );
          expectObservable(semaphore.acquire({ timeout: 0 }), '--^').toBe('--(t|)', granted);
          at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });
    });

    describe('a timeout and a release in the same frame', () => {
      it('timer first: the waiter gets false and the release goes to the next waiter', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          // Subscribed before the release is scheduled, so its timer runs first in frame 5.
          record(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
          record(testScheduler, 'B', semaphore.acquire(), log);
          at(5, () => log.push([testScheduler.now(), `release:${semaphore.release()}`]));
          at(6, () => {
            expect(log).toEqual([
              [5, 'A:false'],
              [5, 'A:|'],
              [5, 'B:true'],
              [5, 'B:|'],
              [5, 'release:0'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('release first: the waiter gets true, its timer is cancelled and the next waiter keeps waiting', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          // Scheduled before the acquire subscribes, so the release runs first in frame 5.
          at(5, () => log.push([testScheduler.now(), `release:${semaphore.release()}`]));
          record(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
          record(testScheduler, 'B', semaphore.acquire(), log);
          at(6, () => {
            expect(log).toEqual([
              [5, 'A:true'],
              [5, 'A:|'],
              [5, 'release:0'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
          });
        });
      });

      it('timer first with nobody else queued: the released permit becomes free, not lost', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          record(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
          at(5, () => log.push([testScheduler.now(), `release:${semaphore.release()}`]));
          at(6, () => {
            expect(log).toEqual([
              [5, 'A:false'],
              [5, 'A:|'],
              [5, 'release:1'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        });
      });

      // A (timeout 5), B and C queue in that order; in frame 5 A's timer, B's unsubscription and one
      // release run in the order given. Exactly one of them ends up holding the released permit.
      const orders: ReadonlyArray<[order: string, holder: string, log: string[], waiting: number]> = [
        ['timer, withdraw B, release', 'C', ['A:false', 'A:|', 'C:true', 'C:|'], 0],
        ['withdraw B, timer, release', 'C', ['A:false', 'A:|', 'C:true', 'C:|'], 0],
        ['timer, release, withdraw B', 'B', ['A:false', 'A:|', 'B:true', 'B:|'], 1],
        ['withdraw B, release, timer', 'A', ['A:true', 'A:|'], 1],
        ['release, timer, withdraw B', 'A', ['A:true', 'A:|'], 1],
        ['release, withdraw B, timer', 'A', ['A:true', 'A:|'], 1],
      ];
      for (const [order, holder, expectedLog, waiting] of orders) {
        it(`${order} in one frame: ${holder} alone gets the permit, none is lost`, () => {
          testScheduler.run(() => {
            const semaphore = heldSemaphore(create, 1);
            const log: FrameEvent[] = [];
            const actions: Record<string, () => void> = {
              timer: () => record(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log),
              'withdraw B': () => at(5, () => subscriptionB.unsubscribe()),
              release: () => at(5, () => semaphore.release()),
            };
            for (const step of order.split(', ')) actions[step]();
            // Read only from frame 5, by the action above.
            const subscriptionB = record(testScheduler, 'B', semaphore.acquire(), log);
            record(testScheduler, 'C', semaphore.acquire(), log);
            at(6, () => {
              expect(log).toEqual(expectedLog.map((event): FrameEvent => [5, event]));
              expect([semaphore.value, semaphore.waiting]).toEqual([0, waiting]);
            });
          });
        });
      }
    });

    describe('withdrawal by unsubscribe', () => {
      it('a queued acquire unsubscribed consumes nothing; the next waiter gets the release', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '^--!').toBe('------', granted);
          expectObservable(semaphore.acquire(), '-^').toBe('-----(t|)', granted);
          cold('-----r').subscribe(() => semaphore.release());
          at(2, () => expect(semaphore.waiting).toBe(2));
          at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('a withdrawal in the frame of a release, before it, lets the release skip the withdrawn request', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '^----!').toBe('------', granted);
          expectObservable(semaphore.acquire(), '-^').toBe('-----(t|)', granted);
          at(5, () => expect(semaphore.release()).toBe(0));
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('unsubscribing after true does not give the permit back', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1, 1);
          expectObservable(semaphore.acquire(), '^--!').toBe('(t|)', granted);
          expectObservable(semaphore.acquire(), '-^').toBe('-', granted);
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
        });
      });

      it('a waiter unsubscribed by an earlier grantee of the same release passes its permit to the next waiter', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 2);
          const log: FrameEvent[] = [];
          // X's grant handler runs after A was already picked by the same release(2).
          record(testScheduler, 'X', semaphore.acquire(), log, () => subscriptionA.unsubscribe());
          const subscriptionA = record(testScheduler, 'A', semaphore.acquire(), log);
          record(testScheduler, 'B', semaphore.acquire(), log);
          at(3, () => expect(semaphore.release(2)).toBe(0));
          at(4, () => {
            expect(log).toEqual([
              [3, 'X:true'],
              [3, 'X:|'],
              [3, 'B:true'],
              [3, 'B:|'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });
    });

    describe('weighted requests, head of line', () => {
      it('a head needing 3 permits blocks a later request for 1 while 2 are free', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 2);
          expectObservable(semaphore.acquire({ permits: 3 }), '-^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('-------(t|)', granted);
          at(3, () => {
            expect(semaphore.tryAcquire()).toBe(false);
            expect([semaphore.value, semaphore.waiting]).toEqual([2, 2]);
          });
          at(5, () => expect(semaphore.release()).toBe(0));
          at(6, () => expect(semaphore.waiting).toBe(1));
          at(7, () => expect(semaphore.release(3)).toBe(2));
        });
      });

      it('releasing enough for both grants the head, then the request behind it, in the same frame', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 4, 2);
          const order: string[] = [];
          const head = semaphore.acquire({ permits: 3 }).pipe(tap(() => order.push('head')));
          const next = semaphore.acquire().pipe(tap(() => order.push('next')));
          expectObservable(head, '-^').toBe('-----(t|)', granted);
          expectObservable(next, '--^').toBe('-----(t|)', granted);
          at(5, () => expect(semaphore.release(2)).toBe(0));
          at(6, () => {
            expect(order).toEqual(['head', 'next']);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('withdrawing the heavy head grants the smaller requests behind it at once, in that frame', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 2);
          expectObservable(semaphore.acquire({ permits: 3 }), '-^--!').toBe('------', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('----(t|)', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('----(t|)', granted);
          expectObservable(semaphore.acquire(), '---^').toBe('------', granted);
          at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([2, 4]));
          at(5, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
        });
      });

      it('a heavy head that times out grants the smaller requests behind it in the frame of its deadline', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 1);
          expectObservable(semaphore.acquire({ permits: 2, timeout: 4 }), '-^').toBe('-----(f|)', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('-------', granted);
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
        });
      });

      it('withdrawing a request behind a blocked head does not let a later request past the head', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 2);
          expectObservable(semaphore.acquire({ permits: 3 }), '-^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire({ permits: 2 }), '--^-!').toBe('------', granted);
          expectObservable(semaphore.acquire(), '--^').toBe('-------', granted);
          at(5, () => expect(semaphore.release()).toBe(0));
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
        });
      });
    });
  });
}

import { tap } from 'rxjs';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { Semaphore } from '../src/index.js';
import {
  createTestScheduler,
  granted,
  heldSemaphore,
  recordFrames,
  semaphoreKinds,
  type FrameEvent,
} from '../spec/helpers/index.js';

// Timing of a Semaphore and a BoundedSemaphore, at exact frames of virtual time: acquire() and
// release() (wake-up order, timeouts, withdrawal and weighted requests), the permit observable, and
// wait() and rawlink(). Inside `run()`, asyncScheduler (the default for timeouts) runs in virtual
// time; wake-ups happen in the frame of the release (SPEC rule 3).
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
          recordFrames(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
          recordFrames(testScheduler, 'B', semaphore.acquire(), log);
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
          recordFrames(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
          recordFrames(testScheduler, 'B', semaphore.acquire(), log);
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
          recordFrames(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log);
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
              timer: () => recordFrames(testScheduler, 'A', semaphore.acquire({ timeout: 5 }), log),
              'withdraw B': () => at(5, () => subscriptionB.unsubscribe()),
              release: () => at(5, () => semaphore.release()),
            };
            for (const step of order.split(', ')) actions[step]();
            // Read only from frame 5, by the action above.
            const subscriptionB = recordFrames(testScheduler, 'B', semaphore.acquire(), log);
            recordFrames(testScheduler, 'C', semaphore.acquire(), log);
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
          recordFrames(testScheduler, 'X', semaphore.acquire(), log, () => subscriptionA.unsubscribe());
          const subscriptionA = recordFrames(testScheduler, 'A', semaphore.acquire(), log);
          recordFrames(testScheduler, 'B', semaphore.acquire(), log);
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

    // The semaphore itself is an Observable<number> of its value (SPEC rule 12): the current value
    // on subscribe, then each settled value, in order, to every subscriber, in the frame of the
    // operation — even when grantees and subscribers acquire and release from inside their
    // notifications.
    describe('the permit observable', () => {
      it('emits the value on subscribe, then each settled change in its frame, and never completes', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2, 2);
          const values = { a: 2, b: 1, c: 0 };
          expectObservable(semaphore).toBe('abc----b', values);
          expectObservable(semaphore, '----^').toBe('----c--b', values);
          at(1, () => semaphore.tryAcquire());
          expectObservable(semaphore.acquire(), '--^').toBe('--(t|)', granted);
          expectObservable(semaphore.acquire(), '---^').toBe('-----(t|)', granted);
          at(5, () => expect(semaphore.release()).toBe(0));
          at(7, () => expect(semaphore.release()).toBe(1));
        });
      });

      it('emits only the value left after the hand-off when a release is partly handed to a waiter', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3);
          expectObservable(semaphore).toBe('z--o', { z: 0, o: 1 });
          expectObservable(semaphore.acquire(), '-^').toBe('---(t|)', granted);
          at(3, () => expect(semaphore.release(2)).toBe(1));
        });
      });

      it('a grant callback that releases at once passes the permit down the queue; only the final value is emitted', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const order: string[] = [];
          expectObservable(semaphore).toBe('z----o', { z: 0, o: 1 });
          expectObservable(semaphore, '-^').toBe('-z---o', { z: 0, o: 1 });
          for (const [name, subscription] of [
            ['a', '-^'],
            ['b', '--^'],
            ['c', '---^'],
          ] as const) {
            const releasesAtOnce = semaphore.acquire().pipe(
              tap(() => {
                order.push(`${name} granted`);
                // A nested release: it hands the permit on and returns before that grant runs (rule 4).
                order.push(`${name} released: ${semaphore.release()}`);
              }),
            );
            expectObservable(releasesAtOnce, subscription).toBe('-----(t|)', granted);
          }
          at(5, () => {
            semaphore.release();
            order.push('outer release returned');
          });
          at(6, () => {
            expect(order).toEqual([
              'a granted',
              'a released: 0',
              'b granted',
              'b released: 0',
              'c granted',
              'c released: 1',
              'outer release returned',
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        });
      });

      it('never shows permits that a grant passes on to a queued request: no value, wait or rawlink sees them', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2);
          const log: FrameEvent[] = [];
          // The holder gives its permit back as soon as it gets it; the weighted request behind it
          // then takes that permit and the one left free by the release: nothing is free at any
          // moment anyone could look.
          expectObservable(semaphore).toBe('z', { z: 0 });
          recordFrames(testScheduler, 'holder', semaphore.acquire(), log, () => semaphore.release());
          recordFrames(testScheduler, 'weighted', semaphore.acquire({ permits: 2 }), log);
          recordFrames(testScheduler, 'wait', semaphore.wait(), log);
          semaphore.rawlink((s) => void log.push([testScheduler.now(), `rawlink:${s.value}`]));
          at(3, () => expect(semaphore.release(2)).toBe(0));
          at(4, () => {
            expect(log).toEqual([
              [3, 'holder:true'],
              [3, 'holder:|'],
              [3, 'weighted:true'],
              [3, 'weighted:|'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('still shows a settled value lower than an earlier one after a hand-off leaves more free', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 2);
          // 2 free; a weighted request for 3 waits; a release of 1 hands 3 to it (0), and it gives
          // them back at once (3): both values were free when announced.
          expectObservable(semaphore).toBe('t--(zh)', { z: 0, t: 2, h: 3 });
          semaphore.acquire({ permits: 3 }).subscribe(() => semaphore.release(3));
          at(3, () => semaphore.release());
        });
      });

      it('subscribers that acquire and release in their next handler all see every settled value in order and end on the true value', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 4);
          const log: FrameEvent[] = [];
          let acquired = false;
          let released = false;
          // Takes a permit the first time it sees 2, then subscribes a late listener.
          const greedy = semaphore.pipe(
            tap((value) => {
              if (value !== 2 || acquired) return;
              acquired = true;
              recordFrames(testScheduler, 'greedy acquire', semaphore.acquire(), log);
              recordFrames(testScheduler, 'late', semaphore, log);
            }),
          );
          // Gives a permit back the first time it sees 1.
          const generous = semaphore.pipe(
            tap((value) => {
              if (value !== 1 || released) return;
              released = true;
              semaphore.release();
            }),
          );
          const values = { z: 0, o: 1, t: 2 };
          // Settled values in frame 3: 2 (release(2)), 1 (greedy's acquire), 2 (generous' release).
          expectObservable(greedy).toBe('z--(tot)', values);
          expectObservable(generous).toBe('z--(tot)', values);
          expectObservable(semaphore).toBe('z--(tot)', values);
          at(3, () => expect(semaphore.release(2)).toBe(2));
          at(4, () => {
            expect(log).toEqual([
              [3, 'greedy acquire:true'],
              [3, 'greedy acquire:|'],
              // Joined after greedy's acquire: the current value, then only later changes.
              [3, 'late:1'],
              [3, 'late:2'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
          });
        });
      });

      it('a subscriber that acquires inside its notification queues behind a heavier request already waiting', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2);
          const log: FrameEvent[] = [];
          let acquired = false;
          const acquiresOnOne = semaphore.pipe(
            tap((value) => {
              if (value !== 1 || acquired) return;
              acquired = true;
              recordFrames(testScheduler, 'acquire', semaphore.acquire(), log);
            }),
          );
          expectObservable(acquiresOnOne).toBe('z--o-z-o', { z: 0, o: 1 });
          expectObservable(semaphore.acquire({ permits: 2 }), '-^').toBe('-----(t|)', granted);
          at(3, () => semaphore.release());
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 2]));
          at(5, () => semaphore.release());
          at(6, () => expect(log).toEqual([]));
          at(7, () => semaphore.release(2));
          at(8, () => {
            expect(log).toEqual([
              [7, 'acquire:true'],
              [7, 'acquire:|'],
            ]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        });
      });

      it('a subscriber unsubscribed by another during a broadcast hears nothing more', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          let victim: Subscription | undefined;
          const unsubscriber = semaphore.pipe(
            tap((value) => {
              if (value === 1) victim!.unsubscribe();
            }),
          );
          const subscribeBoth = (): void => {
            unsubscriber.subscribe();
            victim = recordFrames(testScheduler, 'victim', semaphore, log);
          };
          subscribeBoth();
          expectObservable(semaphore).toBe('z--o', { z: 0, o: 1 });
          at(3, () => semaphore.release());
          at(4, () => expect(log).toEqual([[0, 'victim:0']]));
        });
      });
    });

    // wait() and rawlink() take no permit, fire in the frame the semaphore becomes ready after queued
    // requests were served (SPEC rules 10 and 11), and never for permits handed straight to a waiter
    // (rule 3).
    describe('wait()', () => {
      it('on a free semaphore emits its value at frame 0 and completes', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 2);
          expectObservable(semaphore.wait()).toBe('(a|)', { a: 2 });
          expectObservable(semaphore.wait({ timeout: 4 })).toBe('(a|)', { a: 2 });
          at(1, () => expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]));
        });
      });

      it('on a locked semaphore emits in the frame of the release that frees a permit', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait()).toBe('---(a|)', { a: 1 });
          cold('---r').subscribe(() => semaphore.release());
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]));
        });
      });

      it('does not fire for a release handed off whole to a queued acquire, but for the next one', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '-^').toBe('----(t|)', granted);
          expectObservable(semaphore.wait(), '--^').toBe('------(a|)', { a: 1 });
          cold('----r-r').subscribe(() => semaphore.release());
          at(5, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('sees the value left after queued acquires were served, in the frame of the release', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3);
          expectObservable(semaphore.wait()).toBe('----(a|)', { a: 1 });
          expectObservable(semaphore.acquire(), '-^').toBe('----(t|)', granted);
          at(4, () => expect(semaphore.release(2)).toBe(1));
        });
      });

      it('the queued acquire served by a release is told of its grant before wait() and rawlink() wake, in that frame', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 2);
          const log: FrameEvent[] = [];
          recordFrames(testScheduler, 'wait', semaphore.wait(), log);
          semaphore.rawlink((s) => log.push([testScheduler.now(), `rawlink:${s.value}`]));
          recordFrames(testScheduler, 'acquire', semaphore.acquire(), log);
          at(3, () => semaphore.release(2));
          at(4, () =>
            expect(log).toEqual([
              [3, 'acquire:true'],
              [3, 'acquire:|'],
              [3, 'wait:1'],
              [3, 'wait:|'],
              [3, 'rawlink:1'],
            ]),
          );
        });
      });

      it('fires for a permit that a blocked weighted head cannot use yet, and stops once the head takes it', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2);
          expectObservable(semaphore.acquire({ permits: 2 }), '-^').toBe('------(t|)', granted);
          // The head needs 2, so the one permit released at frame 3 stays free: value > 0.
          expectObservable(semaphore.wait()).toBe('---(a|)', { a: 1 });
          expectObservable(semaphore.wait(), '----^').toBe('----(a|)', { a: 1 });
          expectObservable(semaphore.wait(), '-------^').toBe('----------', { a: 1 });
          at(3, () => semaphore.release());
          at(6, () => semaphore.release());
          at(8, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('wait({ timeout: 4 }) emits the value 0 at frame 4 after subscription and completes', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait({ timeout: 4 })).toBe('----(z|)', { z: 0 });
          expectObservable(semaphore.wait({ timeout: 4 }), '--^').toBe('------(z|)', { z: 0 });
        });
      });

      it('wait({ timeout: 4 }) woken at frame 2 emits then, once, and cancels its timer', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait({ timeout: 4 })).toBe('--(a|)', { a: 1 });
          at(2, () => semaphore.release());
          // Only the frame-5 check is still pending: a live timer would be due at frame 4.
          at(3, () => expect(testScheduler.actions.map((action) => action.delay)).toEqual([5]));
          at(5, () => expect(semaphore.value).toBe(1));
        });
      });

      it('wait({ timeout: 0 }) emits the value at once, even 0', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait({ timeout: 0 })).toBe('(z|)', { z: 0 });
          expectObservable(semaphore.wait({ timeout: -5 }), '-^').toBe('-(z|)', { z: 0 });
        });
      });

      it('one release wakes every wait, all in the frame of that release', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait()).toBe('-----(a|)', { a: 1 });
          expectObservable(semaphore.wait(), '-^').toBe('-----(a|)', { a: 1 });
          expectObservable(semaphore.wait({ timeout: 9 }), '--^').toBe('-----(a|)', { a: 1 });
          at(5, () => semaphore.release());
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]));
        });
      });

      it('an unsubscribed wait is not woken, and the others still are', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.wait(), '^--!').toBe('---', { a: 1 });
          expectObservable(semaphore.wait()).toBe('-----(a|)', { a: 1 });
          at(5, () => semaphore.release());
        });
      });

      // wait({ timeout: 4 }) and a release in frame 4: whichever runs first decides what it sees.
      it('a timeout before a release in the same frame emits 0; the release is then seen by nobody', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          recordFrames(testScheduler, 'wait', semaphore.wait({ timeout: 4 }), log);
          at(4, () => semaphore.release());
          at(5, () => {
            expect(log).toEqual([
              [4, 'wait:0'],
              [4, 'wait:|'],
            ]);
            expect(semaphore.value).toBe(1);
          });
        });
      });

      it('a release before the timeout in the same frame is seen by the wait, and the timer is cancelled', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const log: FrameEvent[] = [];
          at(4, () => semaphore.release());
          recordFrames(testScheduler, 'wait', semaphore.wait({ timeout: 4 }), log);
          at(5, () => {
            expect(log).toEqual([
              [4, 'wait:1'],
              [4, 'wait:|'],
            ]);
            expect(semaphore.value).toBe(1);
          });
        });
      });
    });

    describe('rawlink()', () => {
      /** Records each call as `[frame, value]`, checking it was called with the semaphore. */
      function linkRecorder(semaphore: Semaphore, calls: Array<[number, number]>): (s: Semaphore) => void {
        return (calledWith) => {
          expect(calledWith).toBe(semaphore);
          calls.push([testScheduler.now(), calledWith.value]);
        };
      }

      it('fires once, in the frame the semaphore becomes ready, and takes no permit', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const calls: Array<[number, number]> = [];
          at(1, () => semaphore.rawlink(linkRecorder(semaphore, calls)));
          at(4, () => semaphore.release());
          at(5, () => semaphore.tryAcquire());
          at(6, () => semaphore.release());
          at(7, () => {
            expect(calls).toEqual([[4, 1]]);
            expect(semaphore.value).toBe(1);
          });
        });
      });

      it('on a ready semaphore is called synchronously, in the frame it is linked', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 2, 1);
          const calls: Array<[number, number]> = [];
          at(2, () => {
            semaphore.rawlink(linkRecorder(semaphore, calls));
            expect(calls).toEqual([[2, 1]]);
          });
          at(3, () => semaphore.tryAcquire());
          at(4, () => semaphore.release());
          at(5, () => expect(calls).toEqual([[2, 1]]));
        });
      });

      it('is not called for a release handed off whole to a queued acquire', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const calls: Array<[number, number]> = [];
          expectObservable(semaphore.acquire()).toBe('---(t|)', granted);
          at(1, () => semaphore.rawlink(linkRecorder(semaphore, calls)));
          at(3, () => semaphore.release());
          at(4, () => expect(calls).toEqual([]));
          at(5, () => semaphore.release());
          at(6, () => expect(calls).toEqual([[5, 1]]));
        });
      });

      it('unlink before the ready frame cancels it', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const calls: Array<[number, number]> = [];
          const callback = linkRecorder(semaphore, calls);
          at(1, () => semaphore.rawlink(callback));
          at(3, () => semaphore.unlink(callback));
          at(4, () => semaphore.release());
          at(5, () => {
            expect(calls).toEqual([]);
            expect(semaphore.value).toBe(1);
          });
        });
      });

      it('unlink by another callback woken by the same release cancels it', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const calls: Array<[number, number]> = [];
          const second = linkRecorder(semaphore, calls);
          const first = (s: Semaphore): void => s.unlink(second);
          at(1, () => {
            semaphore.rawlink(first);
            semaphore.rawlink(second);
          });
          at(4, () => semaphore.release());
          at(5, () => expect(calls).toEqual([]));
        });
      });

      it('a callback that takes the permit leaves the callbacks linked after it waiting, in order, for the next ready frame', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 2);
          const calls: Array<[number, string]> = [];
          const taker = (s: Semaphore): void => {
            calls.push([testScheduler.now(), `taker:${String(s.tryAcquire())}`]);
          };
          const second = (s: Semaphore): void => void calls.push([testScheduler.now(), `b:${s.value}`]);
          const third = (s: Semaphore): void => void calls.push([testScheduler.now(), `c:${s.value}`]);
          at(1, () => {
            semaphore.rawlink(taker);
            semaphore.rawlink(second);
            semaphore.rawlink(third);
          });
          at(3, () => semaphore.release());
          at(4, () => {
            expect(calls).toEqual([[3, 'taker:true']]);
            expect(semaphore.value).toBe(0);
          });
          at(5, () => semaphore.release());
          at(6, () =>
            expect(calls).toEqual([
              [3, 'taker:true'],
              [5, 'b:1'],
              [5, 'c:1'],
            ]),
          );
        });
      });

      it('waits and callbacks share one order: a taker stops the pass, a wait linked after it stays queued', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 2);
          const log: FrameEvent[] = [];
          at(1, () => {
            recordFrames(testScheduler, 'wait0', semaphore.wait(), log);
            semaphore.rawlink((s) => void log.push([testScheduler.now(), `taker:${String(s.tryAcquire())}`]));
            recordFrames(testScheduler, 'wait2', semaphore.wait(), log);
          });
          at(3, () => semaphore.release());
          at(4, () =>
            expect(log).toEqual([
              [3, 'wait0:1'],
              [3, 'wait0:|'],
              [3, 'taker:true'],
            ]),
          );
          at(5, () => semaphore.release());
          at(6, () =>
            expect(log.slice(3)).toEqual([
              [5, 'wait2:1'],
              [5, 'wait2:|'],
            ]),
          );
        });
      });

      it('wakes several callbacks, each once, in the frame of one release', () => {
        testScheduler.run(() => {
          const semaphore = heldSemaphore(create, 1);
          const calls: Array<[number, number]> = [];
          const first = linkRecorder(semaphore, calls);
          const second = linkRecorder(semaphore, calls);
          at(1, () => semaphore.rawlink(first));
          at(2, () => {
            semaphore.rawlink(second);
            semaphore.rawlink(second);
          });
          at(4, () => semaphore.release());
          at(5, () => semaphore.tryAcquire());
          at(6, () => semaphore.release());
          at(7, () =>
            expect(calls).toEqual([
              [4, 1],
              [4, 1],
            ]),
          );
        });
      });
    });
  });
}

// SPEC §5, rules 19-21, at exact frames: priority (higher first, FIFO within a priority, strict head
// of line over the queue ordered by priority then arrival), adjust (permits added are handed on in
// the frame; permits removed are owed), and stats() in virtual time.
for (const [kind, create] of semaphoreKinds) {
  describe(`${kind} priority, adjust and stats (marbles)`, () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = createTestScheduler();
    });

    /** Runs `work` at `frame` of virtual time, after every action already scheduled for that frame. */
    function at(frame: number, work: () => void): void {
      testScheduler.schedule(work, frame);
    }

    describe('priority (rule 19)', () => {
      it('serves higher priorities first and FIFO within a priority, one per release, in its frame', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const order: string[] = [];
          const request = (label: string, priority: number) =>
            semaphore.acquire({ priority }).pipe(tap(() => order.push(label)));
          expectObservable(request('a', 0), '-^').toBe('---------(t|)', granted);
          expectObservable(request('b', 1), '--^').toBe('-------(t|)', granted);
          expectObservable(request('c', 0), '---^').toBe('----------(t|)', granted);
          expectObservable(request('d', 1), '----^').toBe('--------(t|)', granted);
          expectObservable(request('e', 2), '-----^').toBe('------(t|)', granted);
          expectObservable(request('f', -1), '-----^').toBe('-----------(t|)', granted);
          cold('------rrrrrr').subscribe(() => semaphore.release());
          at(5, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 6]));
          at(12, () => {
            expect(order).toEqual(['e', 'b', 'd', 'a', 'c', 'f']);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('an explicit priority 0 and the default are one priority: served FIFO', () => {
        testScheduler.run(({ cold, expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '-^').toBe('----(t|)', granted);
          expectObservable(semaphore.acquire({ priority: 0 }), '--^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire({ timeout: 100 }), '---^').toBe('------(t|)', granted);
          cold('----rrr').subscribe(() => semaphore.release());
        });
      });

      it('a weighted head of high priority blocks lower ones; an equal priority queues behind it; a higher one is granted at once', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3);
          const order: string[] = [];
          const request = (label: string, options: { permits?: number; priority?: number }) =>
            semaphore.acquire(options).pipe(tap(() => order.push(label)));
          expectObservable(request('a', {}), '-^').toBe('--------(t|)', granted);
          expectObservable(request('b', { permits: 2, priority: 1 }), '--^').toBe('-------(t|)', granted);
          expectObservable(request('c', {}), '---^').toBe('--------(t|)', granted);
          at(4, () => {
            expect(semaphore.release()).toBe(1);
            expect(semaphore.tryAcquire()).toBe(false);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 3]);
          });
          // d has b's priority: it may not overtake b. e has a higher one: the free permit is its.
          expectObservable(request('d', { priority: 1 }), '-----^').toBe('--------(t|)', granted);
          expectObservable(request('e', { priority: 2 }), '-----^').toBe('-----(t|)', granted);
          at(6, () => expect(semaphore.release()).toBe(1));
          at(7, () => expect(semaphore.release()).toBe(0));
          at(8, () => expect(semaphore.release(3)).toBe(0));
          at(9, () => {
            expect(order).toEqual(['e', 'b', 'd', 'a', 'c']);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });
      });

      it('a later request of higher priority becomes the head, ahead of a heavier one that waited longer', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 3, 1);
          expectObservable(semaphore.acquire({ permits: 3 }), '-^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire({ permits: 2, priority: 1 }), '--^').toBe('---(t|)', granted);
          at(3, () => expect(semaphore.release()).toBe(0));
          at(4, () => expect(semaphore.release(2)).toBe(2));
          at(5, () => expect(semaphore.release()).toBe(0));
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('a high-priority head that times out lets the lower ones behind it in, in the frame of its deadline', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2, 1);
          expectObservable(semaphore.acquire({ permits: 2, priority: 1, timeout: 4 }), '-^').toBe(
            '-----(f|)',
            granted,
          );
          expectObservable(semaphore.acquire(), '--^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire({ priority: -3 }), '---^').toBe('------(t|)', granted);
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 3]));
          at(6, () => expect(semaphore.release()).toBe(0));
          at(7, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]));
        });
      });

      it('a high-priority head withdrawn by unsubscribe lets the lower ones behind it in, in that frame', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 2, 1);
          expectObservable(semaphore.acquire({ permits: 2, priority: 5 }), '-^--!').toBe('------', granted);
          expectObservable(semaphore.acquire({ priority: -1 }), '--^').toBe('----(t|)', granted);
          expectObservable(semaphore.acquire({ priority: -1 }), '--^').toBe('-------', granted);
          at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 3]));
          at(5, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
        });
      });

      it('grants at once while only lower priorities wait (also without waiting); tryAcquire never overtakes', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 5, 3);
          expectObservable(semaphore.acquire({ permits: 4, priority: -1 }), '-^').toBe('-----(t|)', granted);
          at(2, () => {
            expect(semaphore.tryAcquire()).toBe(false);
            expect([semaphore.value, semaphore.waiting]).toEqual([3, 1]);
          });
          expectObservable(semaphore.acquire(), '---^').toBe('---(t|)', granted);
          expectObservable(semaphore.acquire({ blocking: false }), '---^').toBe('---(t|)', granted);
          // Equal priority to the queued request: it may not pass it, and it may not wait.
          expectObservable(semaphore.acquire({ timeout: 0, priority: -1 }), '---^').toBe('---(f|)', granted);
          expectObservable(semaphore.acquire({ timeout: 0 }), '---^').toBe('---(t|)', granted);
          at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
          at(5, () => expect(semaphore.release(4)).toBe(0));
        });
      });
    });

    describe('adjust (rule 20)', () => {
      it('adjust(+n) hands the new permits to queued requests in queue order, in its frame, as a release does', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          const order: string[] = [];
          const request = (label: string, priority = 0) =>
            semaphore.acquire({ priority }).pipe(tap(() => order.push(label)));
          expectObservable(request('a'), '-^').toBe('----(t|)', granted);
          expectObservable(request('b', 1), '--^').toBe('----(t|)', granted);
          expectObservable(request('c'), '---^').toBe('------(t|)', granted);
          // Handed off whole: the permit observable shows no change.
          expectObservable(semaphore).toBe('0', { 0: 0 });
          at(4, () => {
            expect(semaphore.adjust(2)).toBe(0);
            expect(order).toEqual(['b', 'a']);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
          });
          at(6, () => expect(semaphore.release()).toBe(0));
        });
      });

      it('adjust(-n) takes free permits at once and owes the rest: nothing is granted or woken until the value is positive again', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 4, 1);
          expectObservable(semaphore).toBe('ab-c-a', { a: 1, b: -1, c: 0 });
          at(1, () => {
            expect(semaphore.adjust(-2)).toBe(-1);
            expect([semaphore.locked(), semaphore.ready(), semaphore.tryAcquire()]).toEqual([
              true,
              false,
              false,
            ]);
          });
          expectObservable(semaphore.acquire(), '--^').toBe('----(t|)', granted);
          expectObservable(semaphore.wait(), '--^').toBe('-----(a|)', { a: 1 });
          at(3, () => expect(semaphore.release()).toBe(0));
          at(4, () => expect(semaphore.release()).toBe(0));
          at(5, () => expect(semaphore.release()).toBe(1));
          at(6, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]));
        });
      });

      it('adjust(0) changes nothing: no emission, no grant', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore).toBe('0', { 0: 0 });
          expectObservable(semaphore.acquire(), '-^').toBe('---(t|)', granted);
          at(2, () => {
            expect(semaphore.adjust(0)).toBe(0);
            expect(semaphore.waiting).toBe(1);
          });
          at(3, () => expect(semaphore.release()).toBe(0));
        });
      });
    });

    describe('stats (rule 21)', () => {
      it('counts grants, refusals, timeouts and withdrawals, and the queued time of grants in virtual ms', () => {
        testScheduler.run(({ expectObservable }) => {
          const semaphore = heldSemaphore(create, 1);
          expectObservable(semaphore.acquire(), '-^').toBe('-----(t|)', granted);
          expectObservable(semaphore.acquire(), '--^-!').toBe('------', granted);
          expectObservable(semaphore.acquire({ blocking: false }), '--^').toBe('--(f|)', granted);
          expectObservable(semaphore.acquire(), '---^').toBe('---------(t|)', granted);
          expectObservable(semaphore.acquire({ timeout: 2 }), '----^').toBe('------(f|)', granted);
          at(2, () => expect(semaphore.tryAcquire()).toBe(false));
          at(3, () =>
            expect(semaphore.stats()).toEqual(jasmine.objectContaining({ waiting: 3, peakWaiting: 3 })),
          );
          at(5, () => expect(semaphore.release()).toBe(0));
          at(9, () => expect(semaphore.release()).toBe(0));
          at(10, () =>
            expect(semaphore.stats()).toEqual({
              name: undefined,
              value: 0,
              waiting: 0,
              granted: 3,
              timedOut: 1,
              rejected: 2,
              withdrawn: 1,
              peakWaiting: 3,
              waitMs: { count: 3, total: 10, max: 6 },
            }),
          );
        });
      });
    });
  });
}

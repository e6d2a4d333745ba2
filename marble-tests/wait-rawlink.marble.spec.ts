import type { TestScheduler } from 'rxjs/testing';
import type { Semaphore } from '../src/index.js';
import {
  createTestScheduler,
  granted,
  heldSemaphore,
  record,
  semaphoreKinds,
  type FrameEvent,
} from './marble-helpers.js';

// Timing of wait() and rawlink(): they take no permit, fire in the frame the semaphore becomes ready
// after queued requests were served (SPEC rules 10 and 11), and never for permits handed straight to
// a waiter (rule 3).
for (const [kind, create] of semaphoreKinds) {
  describe(`${kind} wait() and rawlink() timing (marbles)`, () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = createTestScheduler();
    });

    function at(frame: number, work: () => void): void {
      testScheduler.schedule(work, frame);
    }

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
          record(testScheduler, 'wait', semaphore.wait(), log);
          semaphore.rawlink((s) => log.push([testScheduler.now(), `rawlink:${s.value}`]));
          record(testScheduler, 'acquire', semaphore.acquire(), log);
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
          record(testScheduler, 'wait', semaphore.wait({ timeout: 4 }), log);
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
          record(testScheduler, 'wait', semaphore.wait({ timeout: 4 }), log);
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
            record(testScheduler, 'wait0', semaphore.wait(), log);
            semaphore.rawlink((s) => void log.push([testScheduler.now(), `taker:${String(s.tryAcquire())}`]));
            record(testScheduler, 'wait2', semaphore.wait(), log);
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

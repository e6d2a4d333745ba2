import { tap } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  createTestScheduler,
  granted,
  heldSemaphore,
  record,
  semaphoreKinds,
  type FrameEvent,
} from './marble-helpers.js';

// The semaphore itself is an Observable<number> of its value (SPEC rule 12): the current value on
// subscribe, then each settled value, in order, to every subscriber, in the frame of the operation —
// even when grantees and subscribers acquire and release from inside their notifications.
for (const [kind, create] of semaphoreKinds) {
  describe(`${kind} permit observable timing (marbles)`, () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = createTestScheduler();
    });

    function at(frame: number, work: () => void): void {
      testScheduler.schedule(work, frame);
    }

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
        record(testScheduler, 'holder', semaphore.acquire(), log, () => semaphore.release());
        record(testScheduler, 'weighted', semaphore.acquire({ permits: 2 }), log);
        record(testScheduler, 'wait', semaphore.wait(), log);
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
            record(testScheduler, 'greedy acquire', semaphore.acquire(), log);
            record(testScheduler, 'late', semaphore, log);
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
            record(testScheduler, 'acquire', semaphore.acquire(), log);
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
          victim = record(testScheduler, 'victim', semaphore, log);
        };
        subscribeBoth();
        expectObservable(semaphore).toBe('z--o', { z: 0, o: 1 });
        at(3, () => semaphore.release());
        at(4, () => expect(log).toEqual([[0, 'victim:0']]));
      });
    });
  });
}

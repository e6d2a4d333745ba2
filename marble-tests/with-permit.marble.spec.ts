import { Observable, defer, finalize, mergeMap, retry, take } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitRejectedError,
  Semaphore,
  withPermit,
} from '../src/index.js';
import { createTestScheduler, permitRejected, permitTimeout, spyScheduler } from '../spec/helpers/index.js';

// Frame-exact timing of withPermit: wake-up order, permit lifetime, timeouts (SPEC rules 3, 5, 6, 8).
// Inside `run()` the default asyncScheduler is virtual, so the operator's timeouts run in frames.

describe('withPermit (marbles)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  /** Runs `check` at `frame` (after the actions already scheduled for that frame). */
  const at = (frame: number, check: () => void) => testScheduler.schedule(check, frame);

  describe('order', () => {
    it('runs three gated streams on a semaphore of 1 one after another, in subscription order', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a-|');
        const b = cold('--b|');
        const c = cold('c-|');
        expectObservable(a.pipe(withPermit(semaphore))).toBe('-a-|');
        expectObservable(b.pipe(withPermit(semaphore))).toBe('-----b|');
        expectObservable(c.pipe(withPermit(semaphore))).toBe('------c-|');
        expectSubscriptions(a.subscriptions).toBe('^--!');
        expectSubscriptions(b.subscriptions).toBe('---^--!');
        expectSubscriptions(c.subscriptions).toBe('------^-!');
        // Hand-offs go straight to the next stream: the value shows 0 until the last one is done.
        expectObservable(semaphore).toBe('0-------1', { 0: 0, 1: 1 });
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('starts the next gated stream in the frame the previous one completes', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--a--|');
        const second = cold('(b|)');
        expectObservable(first.pipe(withPermit(semaphore))).toBe('--a--|');
        expectObservable(second.pipe(withPermit(semaphore))).toBe('-----(b|)');
        expectSubscriptions(first.subscriptions).toBe('^----!');
        expectSubscriptions(second.subscriptions).toBe('-----(^!)');
      });
      expect(semaphore.value).toBe(1);
    });

    it('starts the next gated stream in the frame the previous one errors', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold('-a-#', undefined, 'boom');
        const next = cold('-b|');
        expectObservable(failing.pipe(withPermit(semaphore))).toBe('-a-#', undefined, 'boom');
        expectObservable(next.pipe(withPermit(semaphore))).toBe('----b|');
        expectSubscriptions(failing.subscriptions).toBe('^--!');
        expectSubscriptions(next.subscriptions).toBe('---^-!');
      });
      expect(semaphore.value).toBe(1);
    });

    it('serves streams subscribed at different frames in the order they subscribed', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('------|');
        const late = cold('(l|)');
        const early = cold('-e|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('------|');
        expectObservable(late.pipe(withPermit(semaphore)), '---^').toBe('--------(l|)');
        expectObservable(early.pipe(withPermit(semaphore)), '-^').toBe('-------e|');
        expectSubscriptions(early.subscriptions).toBe('------^-!');
        expectSubscriptions(late.subscriptions).toBe('--------(^!)');
      });
      expect(semaphore.value).toBe(1);
    });

    it('queues a retry after an error behind the streams already waiting', () => {
      const semaphore = new Semaphore(1);
      let attempts = 0;
      testScheduler.run(({ cold, expectObservable }) => {
        const flaky = defer(() => (attempts++ === 0 ? cold('--#') : cold('-a|')));
        expectObservable(flaky.pipe(withPermit(semaphore), retry(1))).toBe('------a|');
        expectObservable(cold('--b|').pipe(withPermit(semaphore))).toBe('----b|');
      });
      expect(attempts).toBe(2);
      expect(semaphore.value).toBe(1);
    });

    it('lets two pipelines sharing a semaphore of 2 run at most 2 gated streams at once', () => {
      const semaphore = new Semaphore(2);
      let running = 0;
      let maxRunning = 0;
      let finished = 0;
      const started: Array<[string, number]> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        // Counted from the source's subscribe (defer) to its teardown (finalize): the source is torn
        // down before its permit goes to the next stream, so the count never exceeds N.
        const gated = (value: string) =>
          defer(() => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            started.push([value, testScheduler.now()]);
            return cold('--x|', { x: value });
          }).pipe(
            finalize(() => {
              running--;
              finished++;
            }),
            withPermit(semaphore),
          );
        expectObservable(cold('ab-c|').pipe(mergeMap(gated))).toBe('--ab----c|');
        expectObservable(cold('-de|').pipe(mergeMap(gated))).toBe('-----de|');
      });
      expect(maxRunning).toBe(2);
      expect(running).toBe(0);
      expect(finished).toBe(5);
      expect(started).toEqual([
        ['a', 0],
        ['b', 1],
        ['d', 3],
        ['e', 4],
        ['c', 6],
      ]);
      expect(semaphore.value).toBe(2);
    });
  });

  describe('permit lifetime', () => {
    it('gives the permit back before forwarding complete, so a complete handler can tryAcquire it', () => {
      const semaphore = new Semaphore(1);
      const seen: Array<[number, number, boolean]> = [];
      testScheduler.run(({ cold }) => {
        cold('--a|')
          .pipe(withPermit(semaphore))
          .subscribe({
            complete: () => seen.push([testScheduler.now(), semaphore.value, semaphore.tryAcquire()]),
          });
      });
      expect(seen).toEqual([[3, 1, true]]);
      expect(semaphore.value).toBe(0);
    });

    it('gives the permit back before forwarding an error, so an error handler can tryAcquire it', () => {
      const semaphore = new Semaphore(1);
      const seen: Array<[number, unknown, number, boolean]> = [];
      testScheduler.run(({ cold }) => {
        cold('--#', undefined, 'boom')
          .pipe(withPermit(semaphore))
          .subscribe({
            error: (error) =>
              seen.push([testScheduler.now(), error, semaphore.value, semaphore.tryAcquire()]),
          });
      });
      expect(seen).toEqual([[2, 'boom', 1, true]]);
      expect(semaphore.value).toBe(0);
    });

    it('tears the source down, then hands the permit to the next waiter, then forwards complete', () => {
      const semaphore = new Semaphore(1);
      const log: string[] = [];
      testScheduler.run(({ cold }) => {
        cold('--|')
          .pipe(
            finalize(() => log.push(`first finalized @${testScheduler.now()}`)),
            withPermit(semaphore),
          )
          .subscribe({ complete: () => log.push(`first complete @${testScheduler.now()}`) });
        defer(() => {
          log.push(`second subscribed @${testScheduler.now()}`);
          return cold('-|');
        })
          .pipe(withPermit(semaphore))
          .subscribe({ complete: () => log.push(`second complete @${testScheduler.now()}`) });
      });
      expect(log).toEqual([
        'first finalized @2',
        'second subscribed @2',
        'first complete @2',
        'second complete @3',
      ]);
      expect(semaphore.value).toBe(1);
    });

    it('tears the source down, then hands the permit on, then forwards an error', () => {
      const semaphore = new Semaphore(1);
      const log: string[] = [];
      testScheduler.run(({ cold }) => {
        cold('--#', undefined, 'boom')
          .pipe(
            finalize(() => log.push(`first finalized @${testScheduler.now()}`)),
            withPermit(semaphore),
          )
          .subscribe({ error: (error) => log.push(`first error ${error} @${testScheduler.now()}`) });
        defer(() => {
          log.push(`second subscribed @${testScheduler.now()}`);
          return cold('-|');
        })
          .pipe(withPermit(semaphore))
          .subscribe();
      });
      expect(log).toEqual(['first finalized @2', 'second subscribed @2', 'first error boom @2']);
      expect(semaphore.value).toBe(1);
    });

    it('subscribes the source in the subscribe call when a permit is free (synchronous grant)', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('(a|)');
        expectObservable(source.pipe(withPermit(semaphore)), '--^').toBe('--(a|)');
        expectSubscriptions(source.subscriptions).toBe('--(^!)');
        expectObservable(semaphore).toBe('1-(01)', { 0: 0, 1: 1 });
      });
    });

    it('withdraws a queued stream that is unsubscribed: its source is never subscribed and the next waiter gets the permit', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('----|');
        const withdrawn = cold('-w|');
        const next = cold('-n|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('----|');
        expectObservable(withdrawn.pipe(withPermit(semaphore)), '^-!').toBe('---');
        expectObservable(next.pipe(withPermit(semaphore))).toBe('-----n|');
        expectSubscriptions(withdrawn.subscriptions).toBe([]);
        expectSubscriptions(next.subscriptions).toBe('----^-!');
        at(1, () => expect(semaphore.waiting).withContext('waiting at frame 1').toBe(2));
        at(3, () => expect(semaphore.waiting).withContext('waiting at frame 3').toBe(1));
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('frees the permit in the frame the holder is unsubscribed', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('-a-a-a-a-a');
        const next = cold('(b|)');
        expectObservable(holder.pipe(withPermit(semaphore)), '^--!').toBe('-a-');
        expectObservable(next.pipe(withPermit(semaphore))).toBe('---(b|)');
        expectSubscriptions(holder.subscriptions).toBe('^--!');
        expectSubscriptions(next.subscriptions).toBe('---(^!)');
        expectObservable(semaphore).toBe('0--1', { 0: 0, 1: 1 });
      });
    });

    it('frees the permit in the frame the holder is unsubscribed when nobody waits', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('-a-a-a-a-a');
        expectObservable(holder.pipe(withPermit(semaphore)), '^---!').toBe('-a-a');
        expectSubscriptions(holder.subscriptions).toBe('^---!');
        expectObservable(semaphore).toBe('0---1', { 0: 0, 1: 1 });
      });
    });

    it('stops a synchronous endless source at a downstream take(1) and gives the permit back', () => {
      const semaphore = new Semaphore(1);
      let emitted = 0;
      const endless = new Observable<number>((subscriber) => {
        let i = 0;
        while (!subscriber.closed) {
          emitted++;
          subscriber.next(i++);
        }
      });
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('--|');
        expectObservable(endless.pipe(withPermit(semaphore), take(1))).toBe('--(0|)', { 0: 0 });
        expectObservable(cold('(c|)').pipe(withPermit(semaphore))).toBe('--(c|)');
      });
      expect(emitted).toBe(1);
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('stops a synchronous endless source granted at once at a downstream take(3)', () => {
      const semaphore = new Semaphore(1);
      let emitted = 0;
      const endless = new Observable<number>((subscriber) => {
        let i = 0;
        while (!subscriber.closed) {
          emitted++;
          subscriber.next(i++);
        }
      });
      testScheduler.run(({ expectObservable }) => {
        expectObservable(endless.pipe(withPermit(semaphore), take(3))).toBe('(abc|)', { a: 0, b: 1, c: 2 });
      });
      expect(emitted).toBe(3);
      expect(semaphore.value).toBe(1);
    });
  });

  describe('timeout', () => {
    it('errors with PermitTimeoutError at the timeout frame when no permit comes', () => {
      const semaphore = new Semaphore(0);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('a|');
        expectObservable(source.pipe(withPermit(semaphore, { timeout: 5 }))).toBe(
          '-----#',
          undefined,
          permitTimeout(5, 1),
        );
        expectSubscriptions(source.subscriptions).toBe([]);
        at(4, () => expect(semaphore.waiting).withContext('waiting before the timeout').toBe(1));
        at(6, () => expect(semaphore.waiting).withContext('waiting after the timeout').toBe(0));
      });
      expect(semaphore.value).toBe(0);
    });

    it('reports the permits requested in the PermitTimeoutError of a weighted request', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('a|').pipe(withPermit(semaphore, { permits: 2, timeout: 3 }))).toBe(
          '---#',
          undefined,
          permitTimeout(3, 2),
        );
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('switches to the `with` fallback at the timeout frame, without a permit', () => {
      const semaphore = new Semaphore(1);
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('--------|');
        const source = cold('s|');
        const fallback = cold('-f|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('--------|');
        expectObservable(
          source.pipe(
            withPermit(semaphore, {
              timeout: 5,
              with: (error) => {
                errors.push(error);
                return fallback;
              },
            }),
          ),
        ).toBe('------f|');
        expectSubscriptions(source.subscriptions).toBe([]);
        expectSubscriptions(fallback.subscriptions).toBe('-----^-!');
        // The fallback holds nothing: the holder's release at frame 8 makes the value 1.
        expectObservable(semaphore).toBe('0-------1', { 0: 0, 1: 1 });
      });
      expect(errors).toEqual([permitTimeout(5, 1)]);
    });

    it('cancels the timeout timer when the permit is granted', () => {
      const semaphore = new Semaphore(1);
      const { scheduler, log } = spyScheduler(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('--|');
        expectObservable(cold('------a|').pipe(withPermit(semaphore, { timeout: 5, scheduler }))).toBe(
          '--------a|',
        );
      });
      expect(log).toEqual({ scheduled: 1, fired: 0, closedAt: [2] });
      expect(semaphore.value).toBe(1);
    });

    it('schedules no timer when the permit is free at subscribe', () => {
      const semaphore = new Semaphore(1);
      const { scheduler, log } = spyScheduler(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('--a|').pipe(withPermit(semaphore, { timeout: 1, scheduler }))).toBe('--a|');
      });
      expect(log).toEqual({ scheduled: 0, fired: 0, closedAt: [] });
    });

    it("runs the timeout on the semaphore's scheduler by default", () => {
      const { scheduler, log } = spyScheduler(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        const semaphore = new Semaphore(0, { scheduler });
        expectObservable(cold('a|').pipe(withPermit(semaphore, { timeout: 4 }))).toBe(
          '----#',
          undefined,
          permitTimeout(4, 1),
        );
      });
      expect(log).toEqual({ scheduled: 1, fired: 1, closedAt: [4] });
    });

    it('with timeout <= 0 errors at once when no permit is free', () => {
      const semaphore = new Semaphore(0);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('a|').pipe(withPermit(semaphore, { timeout: 0 })), '--^').toBe(
          '--#',
          undefined,
          permitTimeout(0, 1),
        );
        expectObservable(cold('a|').pipe(withPermit(semaphore, { timeout: -1 })), '---^').toBe(
          '---#',
          undefined,
          permitTimeout(-1, 1),
        );
      });
      expect(semaphore.waiting).toBe(0);
    });

    it('with timeout <= 0 still runs at once when a permit is free', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a|').pipe(withPermit(semaphore, { timeout: 0 }))).toBe('-a|');
      });
      expect(semaphore.value).toBe(1);
    });

    it('grants the permit when the release comes before the timeout in the same frame', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      testScheduler.run(({ cold, expectObservable }) => {
        at(5, () => semaphore.release()); // scheduled before the timer: runs first in frame 5
        expectObservable(cold('-a|').pipe(withPermit(semaphore, { timeout: 5 }))).toBe('------a|');
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('times out and keeps the permit free when the release comes after the timeout in the same frame', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a|').pipe(withPermit(semaphore, { timeout: 5 }))).toBe(
          '-----#',
          undefined,
          permitTimeout(5, 1),
        );
        // Scheduled from frame 0 after the subscription, so after the timer: runs second in frame 5.
        at(0, () => at(5, () => semaphore.release()));
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });
  });

  describe('DummySemaphore', () => {
    it('passes streams through untouched, all at once', () => {
      const dummy = new DummySemaphore();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a-b|');
        const b = cold('--c#', undefined, 'boom');
        const c = cold('d---e|');
        expectObservable(a.pipe(withPermit(dummy))).toBe('-a-b|');
        expectObservable(b.pipe(withPermit(dummy, { timeout: 0 }))).toBe('--c#', undefined, 'boom');
        expectObservable(c.pipe(withPermit(dummy, { permits: 5 }))).toBe('d---e|');
        expectSubscriptions(a.subscriptions).toBe('^---!');
        expectSubscriptions(b.subscriptions).toBe('^--!');
        expectSubscriptions(c.subscriptions).toBe('^----!');
      });
    });
  });
});

// SPEC §5: withPermit takes `priority` (rule 19), and a BoundedSemaphore whose bound `adjust` lowers
// refuses the queued gated streams that no longer fit (rule 20), at exact frames.
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

describe('withPermit (marbles): priority and adjust', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  const at = (frame: number, work: () => void) => testScheduler.schedule(work, frame);

  describe('priority (rule 19)', () => {
    it('starts gated streams of higher priority first, FIFO within a priority, each when the previous ends', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('--|');
        const low1 = cold('a|');
        const high1 = cold('b|');
        const low2 = cold('c|');
        const high2 = cold('d|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('--|');
        expectObservable(low1.pipe(withPermit(semaphore)), '^').toBe('----a|');
        expectObservable(high1.pipe(withPermit(semaphore, { priority: 7 })), '-^').toBe('--b|');
        expectObservable(low2.pipe(withPermit(semaphore, { priority: 0 })), '-^').toBe('-----c|');
        expectObservable(high2.pipe(withPermit(semaphore, { priority: 7 })), '-^').toBe('---d|');
        expectSubscriptions(high1.subscriptions).toBe('--^!');
        expectSubscriptions(high2.subscriptions).toBe('---^!');
        expectSubscriptions(low1.subscriptions).toBe('----^!');
        expectSubscriptions(low2.subscriptions).toBe('-----^!');
      });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('subscribes a source synchronously when its permits are free and only lower priorities wait (rule 5)', () => {
      const semaphore = new Semaphore(3);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('------|');
        const heavy = cold('h|');
        const urgent = cold('u--|');
        const later = cold('l|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('------|');
        expectObservable(heavy.pipe(withPermit(semaphore, { permits: 3, priority: -1 })), '-^').toBe(
          '------h|',
        );
        expectObservable(urgent.pipe(withPermit(semaphore)), '--^').toBe('--u--|');
        expectObservable(later.pipe(withPermit(semaphore, { priority: -1 })), '---^').toBe('-------l|');
        expectSubscriptions(urgent.subscriptions).toBe('--^--!');
        expectSubscriptions(heavy.subscriptions).toBe('------^!');
        expectSubscriptions(later.subscriptions).toBe('-------^!');
        at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 2]));
      });
      expect([semaphore.value, semaphore.waiting]).toEqual([3, 0]);
    });

    it('a high-priority head that times out lets the lower ones behind it start in the frame of its deadline', () => {
      const semaphore = new Semaphore(2);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('--------|');
        const heavy = cold('h|');
        const light = cold('l|');
        expectObservable(holder.pipe(withPermit(semaphore))).toBe('--------|');
        expectObservable(
          heavy.pipe(withPermit(semaphore, { permits: 2, priority: 1, timeout: 3 })),
          '-^',
        ).toBe('----#', undefined, permitTimeout(3, 2));
        expectObservable(light.pipe(withPermit(semaphore)), '--^').toBe('----l|');
        expectSubscriptions(heavy.subscriptions).toBe([]);
        expectSubscriptions(light.subscriptions).toBe('----^!');
      });
      expect(semaphore.value).toBe(2);
    });
  });

  describe('a bound lowered by adjust (rule 20)', () => {
    it('errors a queued stream that no longer fits with PermitRejectedError in the frame of the adjust; the others keep their place', () => {
      const semaphore = new BoundedSemaphore(3);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('------|');
        const big = cold('b|');
        const small = cold('s|');
        expectObservable(holder.pipe(withPermit(semaphore, { permits: 3 }))).toBe('------|');
        expectObservable(big.pipe(withPermit(semaphore, { permits: 3 })), '-^').toBe(
          '---#',
          undefined,
          neverFits(3, 2, 'BoundedSemaphore'),
        );
        expectObservable(small.pipe(withPermit(semaphore)), '--^').toBe('------s|');
        expectSubscriptions(big.subscriptions).toBe([]);
        expectSubscriptions(small.subscriptions).toBe('------^!');
        at(3, () => {
          expect(semaphore.adjust(-1)).toBe(-1);
          expect([semaphore.value, semaphore.waiting]).toEqual([-1, 1]);
        });
        // Released by the holder: 3 permits, back to the new bound of 2 with nothing over-released.
        at(8, () => expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]));
      });
    });

    it('with a fallback, switches the refused stream to it in the frame of the adjust', () => {
      const semaphore = new BoundedSemaphore(2);
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('----|').pipe(withPermit(semaphore, { permits: 2 }))).toBe('----|');
        expectObservable(
          cold('b|').pipe(
            withPermit(semaphore, {
              permits: 2,
              with: (error) => {
                errors.push(error);
                return cold('f|');
              },
            }),
          ),
          '-^',
        ).toBe('--f|');
        at(2, () => expect(semaphore.adjust(-1)).toBe(-1));
      });
      expect(errors).toEqual([neverFits(2, 1, 'BoundedSemaphore')]);
      expect(errors[0]).toEqual(permitRejected(2, 0, Infinity, 'BoundedSemaphore'));
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });
  });
});

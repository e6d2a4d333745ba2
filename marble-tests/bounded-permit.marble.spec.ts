import { Observable, defer, finalize, mergeMap } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitTimeoutError,
  Semaphore,
  boundedPermit,
  withPermit,
} from '../src/index.js';
import { createTestScheduler, permitRejected } from '../spec/helpers/index.js';

// Frame-exact timing of boundedPermit: rejection when the queue is full, the `with` fallback, and
// the permit lifetime it shares with withPermit (SPEC rules 6, 8 and the BoundedPermitOptions).

/** Matches a PermitTimeoutError with this timeout and these permits, whatever its primitive and name. */
function anyPermitTimeout(timeout: number, permits: number): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitTimeoutError && error.timeout === timeout && error.permits === permits,
    jasmineToString: () => `<PermitTimeoutError timeout=${timeout} permits=${permits}>`,
  };
}

describe('boundedPermit (marbles)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  const at = (frame: number, check: () => void) => testScheduler.schedule(check, frame);

  describe('with the default maxWaiting 0 (a bulkhead)', () => {
    it('runs a stream at once when a permit is free', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-a-|');
        expectObservable(source.pipe(boundedPermit(semaphore)), '-^').toBe('--a-|');
        expectSubscriptions(source.subscriptions).toBe('-^--!');
        expectObservable(semaphore).toBe('10--1', { 0: 0, 1: 1 });
      });
    });

    it('rejects at once, in the subscribe frame, when no permit is free', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('----|');
        const refused = cold('r|');
        expectObservable(holder.pipe(boundedPermit(semaphore))).toBe('----|');
        expectObservable(refused.pipe(boundedPermit(semaphore)), '--^').toBe(
          '--#',
          undefined,
          permitRejected(1, 0, 0),
        );
        expectSubscriptions(holder.subscriptions).toBe('^---!');
        expectSubscriptions(refused.subscriptions).toBe([]);
        at(3, () => expect(semaphore.waiting).withContext('nothing queued after the rejection').toBe(0));
        // The rejected stream took nothing: the value is 0 while the holder runs, then 1.
        expectObservable(semaphore).toBe('0---1', { 0: 0, 1: 1 });
      });
    });

    it('runs a stream subscribed in the frame the permit is released, once it is released', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        at(3, () => semaphore.release()); // scheduled before the subscription below: runs first
        const next = cold('-n|');
        expectObservable(next.pipe(boundedPermit(semaphore)), '---^').toBe('----n|');
        expectSubscriptions(next.subscriptions).toBe('---^-!');
      });
      expect(semaphore.value).toBe(1);
    });

    it('rejects a stream subscribed in the frame the holder completes, before it has completed', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        // A cold holder's completion is scheduled when it is subscribed, after the subscription below.
        const holder = cold('---|');
        const next = cold('-n|');
        expectObservable(holder.pipe(boundedPermit(semaphore))).toBe('---|');
        expectObservable(next.pipe(boundedPermit(semaphore)), '---^').toBe(
          '---#',
          undefined,
          permitRejected(1, 0, 0),
        );
        expectSubscriptions(next.subscriptions).toBe([]);
      });
      expect(semaphore.value).toBe(1);
    });

    it('rejects a weighted stream when fewer permits are free than it asks for', () => {
      const semaphore = new Semaphore(2);
      semaphore.tryAcquire();
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('a|').pipe(boundedPermit(semaphore, { permits: 2 }))).toBe(
          '#',
          undefined,
          permitRejected(2, 0, 0),
        );
        expectObservable(cold('(b|)').pipe(boundedPermit(semaphore, { permits: 1 }))).toBe('(b|)');
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('rejects rather than overtake a queued weighted request while a permit is free', () => {
      const semaphore = new Semaphore(2);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('---|').pipe(withPermit(semaphore))).toBe('---|');
        // Asks for 2 with only 1 free: queued at the head, it blocks the free permit (rule 2).
        expectObservable(cold('(w|)').pipe(withPermit(semaphore, { permits: 2 }))).toBe('---(w|)');
        expectObservable(cold('r|').pipe(boundedPermit(semaphore)), '-^').toBe(
          '-#',
          undefined,
          permitRejected(1, 1, 0),
        );
      });
      expect(semaphore.value).toBe(2);
    });
  });

  describe('with maxWaiting', () => {
    it('lets two streams queue with maxWaiting 2 and rejects the third', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const holder = cold('---|');
        const b = cold('-b|');
        const c = cold('-c|');
        const d = cold('-d|');
        const options = { maxWaiting: 2 };
        expectObservable(holder.pipe(boundedPermit(semaphore, options))).toBe('---|');
        expectObservable(b.pipe(boundedPermit(semaphore, options))).toBe('----b|');
        expectObservable(c.pipe(boundedPermit(semaphore, options))).toBe('------c|');
        expectObservable(d.pipe(boundedPermit(semaphore, options)), '-^').toBe(
          '-#',
          undefined,
          permitRejected(1, 2, 2),
        );
        expectSubscriptions(b.subscriptions).toBe('---^-!');
        expectSubscriptions(c.subscriptions).toBe('-----^-!');
        expectSubscriptions(d.subscriptions).toBe([]);
        at(2, () => expect(semaphore.waiting).withContext('waiting at frame 2').toBe(2));
      });
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });

    it('queues again once the queue has room: compared with semaphore.waiting at subscribe', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const options = { maxWaiting: 1 };
        expectObservable(cold('--|').pipe(boundedPermit(semaphore, options))).toBe('--|');
        expectObservable(cold('--b|').pipe(boundedPermit(semaphore, options))).toBe('----b|');
        // Frame 1: b waits, the queue is full. Frame 2: b runs, the queue is empty again.
        expectObservable(cold('x|').pipe(boundedPermit(semaphore, options)), '-^').toBe(
          '-#',
          undefined,
          permitRejected(1, 1, 1),
        );
        expectObservable(cold('-y|').pipe(boundedPermit(semaphore, options)), '---^').toBe('------y|');
      });
      expect(semaphore.value).toBe(1);
    });

    it('counts requests queued by every user of the semaphore, not only its own', () => {
      const semaphore = new Semaphore(0);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('a|').pipe(withPermit(semaphore)), '^-!').toBe('');
        expectObservable(semaphore.acquire(), '^-!').toBe('');
        expectObservable(cold('b|').pipe(boundedPermit(semaphore, { maxWaiting: 2 })), '-^').toBe(
          '-#',
          undefined,
          permitRejected(1, 2, 2),
        );
        // Both others withdrawn at frame 2: the same stream may queue at frame 3.
        expectObservable(cold('c|').pipe(boundedPermit(semaphore, { maxWaiting: 2 })), '---^--!').toBe('');
        at(4, () => expect(semaphore.waiting).withContext('queued at frame 4').toBe(1));
      });
      expect(semaphore.waiting).toBe(0);
    });

    it('with maxWaiting Infinity behaves as withPermit', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const options = { maxWaiting: Infinity };
        expectObservable(cold('-a|').pipe(boundedPermit(semaphore, options))).toBe('-a|');
        expectObservable(cold('-b|').pipe(boundedPermit(semaphore, options))).toBe('---b|');
        expectObservable(cold('-c|').pipe(boundedPermit(semaphore, options))).toBe('-----c|');
        expectObservable(cold('-d|').pipe(boundedPermit(semaphore, options))).toBe('-------d|');
      });
      expect(semaphore.value).toBe(1);
    });
  });

  describe('the `with` fallback', () => {
    it('takes over at the frame of the rejection, without a permit', () => {
      const semaphore = new Semaphore(1);
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const refused = cold('r|');
        const fallback = cold('-f|');
        expectObservable(cold('-----|').pipe(boundedPermit(semaphore))).toBe('-----|');
        expectObservable(
          refused.pipe(
            boundedPermit(semaphore, {
              with: (error) => {
                errors.push(error);
                return fallback;
              },
            }),
          ),
          '--^',
        ).toBe('---f|');
        expectSubscriptions(refused.subscriptions).toBe([]);
        expectSubscriptions(fallback.subscriptions).toBe('--^-!');
        expectObservable(semaphore).toBe('0----1', { 0: 0, 1: 1 });
      });
      expect(errors).toEqual([permitRejected(1, 0, 0)]);
    });

    it('takes over from a queued stream at its timeout frame', () => {
      const semaphore = new Semaphore(1);
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('------|').pipe(boundedPermit(semaphore))).toBe('------|');
        expectObservable(
          cold('q|').pipe(
            boundedPermit(semaphore, {
              maxWaiting: 1,
              timeout: 4,
              with: (error) => {
                errors.push(error);
                return cold('(f|)');
              },
            }),
          ),
        ).toBe('----(f|)');
      });
      expect(errors).toEqual([anyPermitTimeout(4, 1)]);
      expect(semaphore.value).toBe(1);
    });
  });

  describe('timeout and permit lifetime', () => {
    it('errors a queued stream with PermitTimeoutError at its timeout frame', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const queued = cold('q|');
        expectObservable(cold('------|').pipe(boundedPermit(semaphore))).toBe('------|');
        expectObservable(queued.pipe(boundedPermit(semaphore, { maxWaiting: 1, timeout: 3 }))).toBe(
          '---#',
          undefined,
          anyPermitTimeout(3, 1),
        );
        expectSubscriptions(queued.subscriptions).toBe([]);
        at(4, () => expect(semaphore.waiting).toBe(0));
      });
      expect(semaphore.value).toBe(1);
    });

    it('starts the next queued stream in the frame the previous one completes or errors', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const first = cold('--|');
        const second = cold('-#', undefined, 'boom');
        const third = cold('(t|)');
        const options = { maxWaiting: 2 };
        expectObservable(first.pipe(boundedPermit(semaphore, options))).toBe('--|');
        expectObservable(second.pipe(boundedPermit(semaphore, options))).toBe('---#', undefined, 'boom');
        expectObservable(third.pipe(boundedPermit(semaphore, options))).toBe('---(t|)');
        expectSubscriptions(second.subscriptions).toBe('--^!');
        expectSubscriptions(third.subscriptions).toBe('---(^!)');
      });
      expect(semaphore.value).toBe(1);
    });

    it('gives the permit back before forwarding complete and error, so the handlers can tryAcquire it', () => {
      const semaphore = new Semaphore(1);
      const seen: Array<[string, number, boolean]> = [];
      testScheduler.run(({ cold }) => {
        cold('--|')
          .pipe(boundedPermit(semaphore))
          .subscribe({
            complete: () => {
              seen.push(['complete', testScheduler.now(), semaphore.tryAcquire()]);
              semaphore.release();
            },
          });
        at(3, () =>
          cold('-#')
            .pipe(boundedPermit(semaphore))
            .subscribe({ error: () => seen.push(['error', testScheduler.now(), semaphore.tryAcquire()]) }),
        );
      });
      expect(seen).toEqual([
        ['complete', 2, true],
        ['error', 4, true],
      ]);
      expect(semaphore.value).toBe(0);
    });

    it('frees the permit in the frame the holder is unsubscribed', () => {
      const semaphore = new BoundedSemaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(cold('-a-a-a-a').pipe(boundedPermit(semaphore)), '^--!').toBe('-a-');
        expectObservable(semaphore).toBe('0--1', { 0: 0, 1: 1 });
      });
    });

    it('never runs more than N streams at once and sheds the rest, across two pipelines', () => {
      const semaphore = new Semaphore(2);
      let running = 0;
      let maxRunning = 0;
      let finished = 0;
      const rejected: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const gated = (value: string) =>
          defer(() => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            return cold('--x|', { x: value });
          }).pipe(
            finalize(() => {
              running--;
              finished++;
            }),
            boundedPermit(semaphore, {
              with: () => {
                rejected.push(value);
                return new Observable<string>((subscriber) => subscriber.complete());
              },
            }),
          );
        expectObservable(cold('ab--c|').pipe(mergeMap(gated))).toBe('--ab--c|');
        expectObservable(cold('-de|').pipe(mergeMap(gated))).toBe('---|');
      });
      expect(maxRunning).toBe(2);
      expect(running).toBe(0);
      expect(finished).toBe(3);
      expect(rejected).toEqual(['d', 'e']);
      expect(semaphore.value).toBe(2);
    });
  });

  describe('DummySemaphore', () => {
    it('passes streams through untouched and never rejects', () => {
      const dummy = new DummySemaphore();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a-b|');
        const b = cold('--c#', undefined, 'boom');
        const c = cold('d---e|');
        expectObservable(a.pipe(boundedPermit(dummy))).toBe('-a-b|');
        expectObservable(b.pipe(boundedPermit(dummy))).toBe('--c#', undefined, 'boom');
        expectObservable(c.pipe(boundedPermit(dummy, { maxWaiting: 0, permits: 3 }))).toBe('d---e|');
        expectSubscriptions(a.subscriptions).toBe('^---!');
        expectSubscriptions(b.subscriptions).toBe('^--!');
        expectSubscriptions(c.subscriptions).toBe('^----!');
      });
    });
  });
});

// SPEC §5, rule 19 and its settled details: a full bulkhead is a request that may not wait. It is
// granted at once when its permits are free and no queued request of equal or higher priority is
// ahead of it; otherwise it is rejected at once. maxWaiting counts every queued request.
describe('boundedPermit (marbles): priority', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  const at = (frame: number, check: () => void) => testScheduler.schedule(check, frame);

  it('admits at once a stream of higher priority than every queued request; rejects one of equal priority', () => {
    const semaphore = new Semaphore(2);
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const heavy = cold('h|');
      const urgent = cold('u-|');
      const equal = cold('e|');
      expectObservable(cold('-----|').pipe(withPermit(semaphore))).toBe('-----|');
      expectObservable(heavy.pipe(withPermit(semaphore, { permits: 2 })), '-^').toBe('-----h|');
      // At frame 2 one permit is free: the bulkhead of priority 0 may not pass the queued request
      // of priority 0 (and may not wait); the one of priority 1 takes the permit at once.
      expectObservable(equal.pipe(boundedPermit(semaphore)), '--^').toBe(
        '--#',
        undefined,
        permitRejected(1, 1, 0),
      );
      expectObservable(urgent.pipe(boundedPermit(semaphore, { priority: 1 })), '--^').toBe('--u-|');
      expectSubscriptions(urgent.subscriptions).toBe('--^-!');
      expectSubscriptions(equal.subscriptions).toBe([]);
      expectSubscriptions(heavy.subscriptions).toBe('-----^!');
      at(3, () => expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]));
    });
    expect(semaphore.stats()).toEqual(
      jasmine.objectContaining({ granted: 3, rejected: 1, timedOut: 0, withdrawn: 0 }),
    );
  });

  it('rejects a stream of any priority once maxWaiting requests are queued and no permit is free', () => {
    const semaphore = new Semaphore(1);
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const urgent = cold('u|');
      const queued = cold('q|');
      expectObservable(cold('----|').pipe(withPermit(semaphore))).toBe('----|');
      expectObservable(cold('a|').pipe(withPermit(semaphore)), '-^').toBe('-----a|');
      expectObservable(queued.pipe(boundedPermit(semaphore, { maxWaiting: 2, priority: 9 })), '-^').toBe(
        '----q|',
      );
      expectObservable(urgent.pipe(boundedPermit(semaphore, { maxWaiting: 2, priority: 9 })), '--^').toBe(
        '--#',
        undefined,
        permitRejected(1, 2, 2),
      );
      expectSubscriptions(urgent.subscriptions).toBe([]);
      // Queued with priority 9, the bulkhead's stream goes before the earlier one of priority 0.
      expectSubscriptions(queued.subscriptions).toBe('----^!');
    });
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
  });
});

import { TestScheduler } from 'rxjs/testing';
import { RLock, Semaphore } from '../src/index.js';
import { CLEAN, LeakWorkload } from './model/leak-workload.js';

// Leaks (issue #6): after 10^5 gated streams finish — completed, errored, timed out (with and
// without a fallback), rejected, cut off while waiting or running, on a Semaphore, an RLock and
// through mergeMapWithPermit — no waiter remains queued, no permit is held, no gated source is still
// subscribed and no timer remains scheduled: the TestScheduler is idle. The heap side of the same
// workload is bench/leaks.js (Node, --expose-gc). Runs in Node and in headless Chromium.

const STREAMS = 100_000;
const BATCH = 1_000;
const TIMEOUT_MS = 120_000;

describe('leaks', () => {
  it(
    `${STREAMS} gated streams that finish every way leave no waiter, no held permit, no live source, no timer`,
    () => {
      const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
      scheduler.maxFrames = Infinity; // the frames run on past TestScheduler's default horizon
      const capacity = 4;
      const workload = new LeakWorkload(
        new Semaphore(capacity, { scheduler }),
        capacity,
        new RLock({ scheduler }),
        scheduler,
      );
      const residues: string[] = [];
      for (let started = 0; started < STREAMS; started += BATCH) {
        workload.batch(BATCH);
        const residue = workload.residue();
        if (JSON.stringify(residue) !== JSON.stringify(CLEAN) && residues.length < 5) {
          residues.push(`after ${started + BATCH} streams: ${JSON.stringify(residue)}`);
        }
      }
      expect(residues).toEqual([]);
      expect(workload.residue()).toEqual(CLEAN);
      expect(scheduler.actions.length).toBe(0);
      expect([workload.semaphore.value, workload.semaphore.waiting]).toEqual([capacity, 0]);
      expect([workload.lock.owner, workload.lock.count, workload.lock.waiting]).toEqual([null, 0, 0]);
      const { streams, ...outcomes } = workload.outcomes;
      expect(streams).toBe(STREAMS);
      // Every way of finishing happened, again and again.
      for (const [how, count] of Object.entries(outcomes)) {
        expect(`${how}: ${count >= 10 ? 'many' : count}`).toBe(`${how}: many`);
      }
    },
    TIMEOUT_MS,
  );
});

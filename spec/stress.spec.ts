import { config } from 'rxjs';
import { Semaphore } from '../src/index.js';

// SPEC rule 4: 1,000,000 requests run through one semaphore in constant stack depth, in FIFO
// order, with every permit returned. Runs in Node and in headless Chromium.

const REQUESTS = 1_000_000;
const TIMEOUT_MS = 60_000;

/**
 * Runs `body` with errors reported out of band (a stack overflow caught inside an observer ends up
 * there) captured, and returns them after the reports had a task to arrive.
 */
async function unhandledErrorsOf(body: () => void): Promise<unknown[]> {
  const previous = config.onUnhandledError;
  const errors: unknown[] = [];
  config.onUnhandledError = (error) => errors.push(error);
  try {
    body();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    config.onUnhandledError = previous;
  }
  return errors;
}

describe('stress', () => {
  it(
    'grants 1,000,000 queued acquires in FIFO order from one release, each releasing from its grant',
    async () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      let granted = 0;
      let firstOutOfOrder = -1;
      const errors = await unhandledErrorsOf(() => {
        for (let index = 0; index < REQUESTS; index++) {
          semaphore.acquire().subscribe((ok) => {
            if ((!ok || index !== granted) && firstOutOfOrder < 0) firstOutOfOrder = index;
            granted++;
            semaphore.release();
          });
        }
        expect([semaphore.value, semaphore.waiting]).toEqual([0, REQUESTS]);
        expect(granted).toBe(0);
        semaphore.release();
        expect(granted).toBe(REQUESTS);
      });
      expect(errors).toEqual([]);
      expect(firstOutOfOrder).toBe(-1);
      expect(granted).toBe(REQUESTS);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    },
    TIMEOUT_MS,
  );

  it(
    'grants 1,000,000 queued acquires in order while each grant acquires and releases another semaphore',
    async () => {
      const semaphore = new Semaphore(1);
      const inner = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      let granted = 0;
      let innerGranted = 0;
      let firstOutOfOrder = -1;
      let innerMissed = 0;
      const errors = await unhandledErrorsOf(() => {
        for (let index = 0; index < REQUESTS; index++) {
          semaphore.acquire().subscribe(() => {
            if (index !== granted && firstOutOfOrder < 0) firstOutOfOrder = index;
            granted++;
            let innerSync = false;
            inner.acquire().subscribe(() => {
              innerSync = true;
              innerGranted++;
              inner.release();
            });
            if (!innerSync) innerMissed++;
            semaphore.release();
          });
        }
        semaphore.release();
      });
      expect(errors).toEqual([]);
      expect(firstOutOfOrder).toBe(-1);
      expect([granted, innerGranted, innerMissed]).toEqual([REQUESTS, REQUESTS, 0]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      expect([inner.value, inner.waiting]).toEqual([1, 0]);
    },
    TIMEOUT_MS,
  );

  it(
    'keeps the permit observable on the true value through 1,000,000 chained grants',
    async () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const seen: number[] = [];
      semaphore.subscribe((value) => seen.push(value));
      let granted = 0;
      const errors = await unhandledErrorsOf(() => {
        for (let index = 0; index < REQUESTS; index++) {
          semaphore.acquire().subscribe(() => {
            granted++;
            semaphore.release();
          });
        }
        semaphore.release();
      });
      expect(errors).toEqual([]);
      expect(granted).toBe(REQUESTS);
      // Every hand-off is whole, so the only settled change is the last release freeing the permit.
      expect(seen).toEqual([0, 1]);
    },
    TIMEOUT_MS,
  );
});

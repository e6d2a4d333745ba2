import { mergeMap, of, range } from 'rxjs';
import { Semaphore, mergeMapWithPermit, withPermit } from '../src/index.js';

// 10^6 gated streams through one semaphore: constant stack depth, FIFO order, every permit back
// (SPEC rules 4 and 18). Runs in Node and headless Chromium alike, so only portable APIs here.
//
// For comparison (not asserted): RxJS's own `mergeMap(project, 1)` overflows the stack at about 900
// buffered synchronous inners, because each finished inner subscribes the next buffered one from
// inside its own completion. (Measured with Node 20: hold the first inner open, buffer N `of(x)`
// inners behind it, then complete it; past roughly 800 values start to go missing, the RangeError
// being swallowed and reported out of band.) The gated variants below fold every such nested
// release into one grant loop instead (rule 4).

const COUNT = 1_000_000;
const STRESS_TIMEOUT = 120_000;

/** Records values and reports the first one out of order, without 10^6 expectations. */
function orderChecker() {
  const state = { received: 0, firstOutOfOrder: -1, completed: false, error: undefined as unknown };
  return {
    state,
    observer: {
      next(value: number) {
        if (value !== state.received && state.firstOutOfOrder === -1) state.firstOutOfOrder = state.received;
        state.received++;
      },
      error(error: unknown) {
        state.error = error;
      },
      complete() {
        state.completed = true;
      },
    },
  };
}

describe('operators under load', () => {
  it(
    'runs 10^6 synchronous gated inners of a mergeMap through a semaphore of 1 in order, without stack overflow',
    () => {
      const semaphore = new Semaphore(1);
      const { state, observer } = orderChecker();
      range(0, COUNT)
        .pipe(mergeMap((x) => of(x).pipe(withPermit(semaphore))))
        .subscribe(observer);
      expect(state.error).toBeUndefined();
      expect(state.completed).toBe(true);
      expect(state.received).toBe(COUNT);
      expect(state.firstOutOfOrder).toBe(-1);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    },
    STRESS_TIMEOUT,
  );

  it(
    'grants 10^6 separately subscribed withPermit streams queued behind a held permit in FIFO order on one release',
    () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      const { state, observer } = orderChecker();
      let completed = 0;
      const countingObserver = {
        next: observer.next,
        error: observer.error,
        complete: () => completed++,
      };
      for (let i = 0; i < COUNT; i++) of(i).pipe(withPermit(semaphore)).subscribe(countingObserver);
      expect(state.received).toBe(0);
      expect(semaphore.waiting).toBe(COUNT);
      expect(semaphore.release()).toBe(1);
      expect(state.error).toBeUndefined();
      expect(state.received).toBe(COUNT);
      expect(completed).toBe(COUNT);
      expect(state.firstOutOfOrder).toBe(-1);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    },
    STRESS_TIMEOUT,
  );

  it(
    'drains 10^6 mergeMapWithPermit values queued behind a held permit in FIFO order on one release',
    () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      const { state, observer } = orderChecker();
      let projected = 0;
      range(0, COUNT)
        .pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected++;
            return of(x);
          }),
        )
        .subscribe(observer);
      expect(projected).toBe(0);
      expect(state.completed).toBe(false);
      expect(semaphore.waiting).toBe(COUNT);
      expect(semaphore.release()).toBe(1);
      expect(state.error).toBeUndefined();
      expect(state.completed).toBe(true);
      expect(projected).toBe(COUNT);
      expect(state.received).toBe(COUNT);
      expect(state.firstOutOfOrder).toBe(-1);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    },
    STRESS_TIMEOUT,
  );

  it(
    'withdraws 10^6 queued mergeMapWithPermit values at once when unsubscribed',
    () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.tryAcquire()).toBe(true);
      let projected = 0;
      const subscription = range(0, COUNT)
        .pipe(
          mergeMapWithPermit(semaphore, (x) => {
            projected++;
            return of(x);
          }),
        )
        .subscribe();
      expect(semaphore.waiting).toBe(COUNT);
      subscription.unsubscribe();
      expect(semaphore.waiting).toBe(0);
      expect(semaphore.release()).toBe(1);
      expect(projected).toBe(0);
    },
    STRESS_TIMEOUT,
  );
});

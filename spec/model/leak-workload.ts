import {
  Observable,
  map,
  of,
  takeUntil,
  timer,
  type ObservableInput,
  type Subscription,
  type VirtualTimeScheduler,
} from 'rxjs';
import {
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  reentrant,
  withPermit,
} from '../../src/index.js';

/**
 * The workload of the leak checks (issue #6): many gated streams on one semaphore and one RLock,
 * finishing every way a gated stream can — completed, errored, timed out (with and without a
 * fallback), rejected by a bulkhead, cut off while waiting or while running, inners of
 * `mergeMapWithPermit` — all on one virtual-time scheduler. Used by 'nothing leaks' in
 * spec/with-permit.spec.ts (Node and Chromium) and by bench/leaks.js (heap measured with
 * --expose-gc). Free of Node APIs.
 */

export class LeakTestError extends Error {
  override readonly name = 'LeakTestError';
}

/** How the streams ended. */
export interface Outcomes {
  completed: number;
  errored: number;
  timedOut: number;
  fellBack: number;
  rejected: number;
  cutWhileWaiting: number;
  cutWhileRunning: number;
  /** Streams started (each counts once, whatever its kind). */
  streams: number;
}

export function noOutcomes(): Outcomes {
  return {
    completed: 0,
    errored: 0,
    timedOut: 0,
    fellBack: 0,
    rejected: 0,
    cutWhileWaiting: 0,
    cutWhileRunning: 0,
    streams: 0,
  };
}

/** The state the checks look at between batches. */
export interface Residue {
  /** Requests still queued on the semaphore and on the lock. */
  waiting: number;
  /** Permits not back: capacity - value, plus the lock's count. */
  held: number;
  /** Actions still scheduled on the virtual scheduler. */
  timers: number;
  /** Gated sources still subscribed. */
  liveSources: number;
}

export class LeakWorkload {
  readonly outcomes = noOutcomes();
  private liveSources = 0;
  private started = 0;

  constructor(
    readonly semaphore: Semaphore,
    readonly capacity: number,
    readonly lock: RLock,
    readonly scheduler: VirtualTimeScheduler,
  ) {}

  /** Counts the subscriptions of `source` that are still open. */
  private tracked<T>(source: ObservableInput<T> & Observable<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      this.liveSources++;
      const inner = source.subscribe(subscriber);
      return () => {
        this.liveSources--;
        inner.unsubscribe();
      };
    });
  }

  private observe(
    kind: string,
  ): Partial<{ next: (v: unknown) => void; error: (e: unknown) => void; complete: () => void }> {
    const outcomes = this.outcomes;
    let fellBack = false;
    return {
      next: (value) => {
        if (value === 'fallback') fellBack = true;
      },
      error: (error) => {
        if (error instanceof PermitTimeoutError) outcomes.timedOut++;
        else if (error instanceof PermitRejectedError) outcomes.rejected++;
        else if (error instanceof LeakTestError) outcomes.errored++;
        else throw new Error(`${kind}: unexpected error ${String(error)}`);
      },
      complete: () => {
        if (fellBack) outcomes.fellBack++;
        else outcomes.completed++;
      },
    };
  }

  /** Starts one gated stream of kind `index % 12`. */
  start(index: number): void {
    const { semaphore, lock, scheduler } = this;
    const s = scheduler;
    this.outcomes.streams++;
    this.started++;
    const delay = 1 + (index % 3);
    switch (index % 12) {
      case 0: // completes synchronously once granted
        this.tracked(of(index)).pipe(withPermit(semaphore)).subscribe(this.observe('sync'));
        return;
      case 1: // completes later
        this.tracked(timer(delay, s)).pipe(withPermit(semaphore)).subscribe(this.observe('later'));
        return;
      case 2: // errors later
        this.tracked(
          timer(delay, s).pipe(
            map(() => {
              throw new LeakTestError('source error');
            }),
          ),
        )
          .pipe(withPermit(semaphore))
          .subscribe(this.observe('error'));
        return;
      case 3: // may time out waiting
        this.tracked(timer(delay, s))
          .pipe(withPermit(semaphore, { timeout: 1 }))
          .subscribe(this.observe('timeout'));
        return;
      case 4: // may time out and fall back
        this.tracked(timer(delay, s))
          .pipe(
            map(() => 'value'),
            withPermit(semaphore, { timeout: 2, with: () => of('fallback') }),
          )
          .subscribe(this.observe('fallback'));
        return;
      case 5: {
        // cut off after 2 ms, waiting or running
        let running = false;
        this.tracked(
          new Observable<never>(() => {
            running = true;
          }),
        )
          .pipe(withPermit(semaphore), takeUntil(timer(2, s)))
          .subscribe({
            complete: () => {
              if (running) this.outcomes.cutWhileRunning++;
              else this.outcomes.cutWhileWaiting++;
            },
          });
        return;
      }
      case 6: {
        // cut off at once: a withdrawal (or, when granted at once, a release)
        let running = false;
        const subscription: Subscription = this.tracked(
          new Observable<never>(() => {
            running = true;
          }),
        )
          .pipe(withPermit(semaphore, { permits: 2 }))
          .subscribe();
        subscription.unsubscribe();
        if (running) this.outcomes.cutWhileRunning++;
        else this.outcomes.cutWhileWaiting++;
        return;
      }
      case 7: // a bulkhead: rejected when 3 are already waiting
        this.tracked(timer(delay, s))
          .pipe(boundedPermit(semaphore, { maxWaiting: 3 }))
          .subscribe(this.observe('bulkhead'));
        return;
      case 8: // weighted
        this.tracked(timer(delay, s))
          .pipe(withPermit(semaphore, { permits: 2 }))
          .subscribe(this.observe('weighted'));
        return;
      case 9: // inners of mergeMapWithPermit, one of which errors the merge now and then
        of(1, 2, 3)
          .pipe(
            mergeMapWithPermit(
              semaphore,
              (value) =>
                this.tracked(
                  timer(value, s).pipe(
                    map(() => {
                      if (value === 3 && index % 24 === 9) throw new LeakTestError('inner error');
                      return value;
                    }),
                  ),
                ),
              { timeout: 3 },
            ),
          )
          .subscribe(this.observe('merge'));
        return;
      case 10: // an RLock, re-entered by a nested stream (its owner inferred)
        this.tracked(timer(delay, s).pipe(reentrant(lock)))
          .pipe(reentrant(lock, { timeout: 2 }))
          .subscribe(this.observe('rlock'));
        return;
      default: {
        // an RLock stream cut off after 1 ms
        let running = false;
        this.tracked(
          new Observable<never>(() => {
            running = true;
          }),
        )
          .pipe(reentrant(lock), takeUntil(timer(1, s)))
          .subscribe({
            complete: () => {
              if (running) this.outcomes.cutWhileRunning++;
              else this.outcomes.cutWhileWaiting++;
            },
          });
      }
    }
  }

  /** Starts `count` streams, then runs virtual time until every timer has fired. */
  batch(count: number): void {
    const first = this.started;
    for (let index = first; index < first + count; index++) this.start(index);
    this.scheduler.flush();
  }

  residue(): Residue {
    return {
      waiting: this.semaphore.waiting + this.lock.waiting,
      held: this.capacity - this.semaphore.value + this.lock.count,
      timers: this.scheduler.actions.length,
      liveSources: this.liveSources,
    };
  }
}

/** The residue of a workload that leaked nothing. */
export const CLEAN: Residue = { waiting: 0, held: 0, timers: 0, liveSources: 0 };

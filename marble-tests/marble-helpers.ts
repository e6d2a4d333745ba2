import {
  asyncScheduler,
  type Observable,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BoundedSemaphore, PermitTimeoutError, Semaphore } from '../src/index.js';

/** A TestScheduler whose assertions are jasmine's: exact frames, exact values. */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Marble values of `acquire()`. */
export const granted = { t: true, f: false } as const;

/** One notification seen at a frame: `[frame, 'label:value']`, or `'label:|'` for complete. */
export type FrameEvent = [frame: number, event: string];

/**
 * Subscribes to `source` now and appends each notification to `log` as `[frame, 'label:value']`.
 *
 * Used where a test must control the order of actions inside one frame: subscribing now (rather
 * than through `expectObservable`, which subscribes from a scheduled action) creates a request's
 * timeout timer at this point of the test, so it runs before any action scheduled later for the
 * same frame.
 */
export function record<T>(
  scheduler: TestScheduler,
  label: string,
  source: Observable<T>,
  log: FrameEvent[],
  onNext?: (value: T) => void,
): Subscription {
  return source.subscribe({
    next: (value) => {
      log.push([scheduler.now(), `${label}:${String(value)}`]);
      onNext?.(value);
    },
    error: (error: unknown) => log.push([scheduler.now(), `${label}:#${String(error)}`]),
    complete: () => log.push([scheduler.now(), `${label}:|`]),
  });
}

/** The primitives that share the Semaphore contract, built with every permit free. */
export const semaphoreKinds: ReadonlyArray<readonly [string, (capacity: number) => Semaphore]> = [
  ['Semaphore', (capacity) => new Semaphore(capacity)],
  ['BoundedSemaphore', (capacity) => new BoundedSemaphore(capacity)],
];

/**
 * A semaphore of `capacity` permits of which only `free` are free: the rest are taken (by the test,
 * which gives them back with `release`). Taking them rather than starting lower keeps every test
 * valid for a BoundedSemaphore, whose releases may not exceed the initial value.
 */
export function heldSemaphore(
  create: (capacity: number) => Semaphore,
  capacity: number,
  free = 0,
): Semaphore {
  const semaphore = create(capacity);
  if (capacity > free && !semaphore.tryAcquire(capacity - free)) {
    throw new Error(`could not take ${capacity - free} of ${capacity} permits`);
  }
  return semaphore;
}

/** Matches exactly a PermitTimeoutError with these numbers. */
export function permitTimeout(
  timeout: number,
  permits: number,
  primitive = 'Semaphore',
): jasmine.AsymmetricMatcher<unknown> {
  return {
    asymmetricMatch: (error) =>
      error instanceof PermitTimeoutError &&
      error.name === 'PermitTimeoutError' &&
      error.primitive === primitive &&
      error.timeout === timeout &&
      error.permits === permits,
    jasmineToString: () => `<PermitTimeoutError ${primitive} timeout=${timeout} permits=${permits}>`,
  };
}

/** Wraps the (virtual) asyncScheduler to record whether a timer ran and when it was closed. */
export function spyScheduler(now: () => number) {
  const log = { scheduled: 0, fired: 0, closedAt: [] as number[] };
  const scheduler: SchedulerLike = {
    now: () => asyncScheduler.now(),
    schedule<S>(work: (this: SchedulerAction<S>, state: S) => void, delay?: number, state?: S): Subscription {
      log.scheduled++;
      const subscription = asyncScheduler.schedule<S>(
        function (this: SchedulerAction<S>, s) {
          log.fired++;
          work.call(this, s as S);
        },
        delay,
        state,
      );
      subscription.add(() => log.closedAt.push(now()));
      return subscription;
    },
  };
  return { scheduler, log };
}

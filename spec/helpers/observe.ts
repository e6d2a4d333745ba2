import type { Observable, Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';

/** Collects what an observable delivers synchronously. */
export function collect<T>(source: Observable<T>) {
  const log = { values: [] as T[], error: undefined as unknown, completed: false };
  const subscription = source.subscribe({
    next: (value) => log.values.push(value),
    error: (error) => (log.error = error),
    complete: () => (log.completed = true),
  });
  return { log, subscription };
}

/** Subscribes and records every notification: values as they are, then `'complete'` / `'error'`. */
export function record<T>(source: Observable<T>): { events: unknown[]; subscription: Subscription } {
  const events: unknown[] = [];
  const subscription = source.subscribe({
    next: (value) => events.push(value),
    error: (error: unknown) => events.push('error', error),
    complete: () => events.push('complete'),
  });
  return { events, subscription };
}

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
export function recordFrames<T>(
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

/** Records values and reports the first one out of order, without 10^6 expectations. */
export function orderChecker() {
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

import {
  asyncScheduler,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
  type VirtualTimeScheduler,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/** A TestScheduler whose assertions are jasmine's: exact frames, exact values. */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
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

/**
 * Moves a `VirtualTimeScheduler` forward by `ms`: runs every action due by then, in order, and
 * leaves the clock at the target even when nothing ran (plain `flush()` would leave `frame` at the
 * last action, so later timers would be scheduled relative to a stale time).
 */
export function advanceScheduler(scheduler: VirtualTimeScheduler, ms: number): void {
  const target = scheduler.frame + ms;
  scheduler.maxFrames = target;
  scheduler.flush();
  scheduler.frame = target;
}

/** A timeout scheduler whose `schedule` throws. */
export const throwingScheduler: SchedulerLike = {
  now: () => 0,
  schedule: () => {
    throw new Error('cannot schedule');
  },
};

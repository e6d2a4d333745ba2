import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { StatsClock } from '../core/stats.js';

/** 2001-09-09 in ms since the epoch: no wall clock reads less, no virtual time gets this far. */
const VIRTUAL_BELOW = 1e12;

/**
 * The clock a primitive's statistics use: its scheduler's `now`, else `asyncScheduler`'s, read when
 * it is used (so a primitive made outside `TestScheduler.run` and used inside it measures virtual
 * time there). The engines read it at most once per outermost operation (`StatsCounter.loopNow`).
 *
 * Without a scheduler of its own, a primitive measures real time and reads it at most once per
 * microtask: the requests queued in one synchronous run (the 10^5 values of a `range`, say) share
 * one reading instead of paying one each (a reading costs 25-90 ns, a third of a queued request on
 * some machines; statistics are to cost nothing measurable, rule 21). A synchronous run happens at
 * one moment of its scheduler anyway. Virtual time is read exactly every time: a scheduler given,
 * or `asyncScheduler` made virtual by `TestScheduler.run` (told apart by reading
 * below {@link VIRTUAL_BELOW}, where its time starts at 0). The first reading (the engine's epoch,
 * when it is made) is never kept, so that a primitive made just before `TestScheduler.run` reads
 * virtual time inside it.
 */
export function statsClock(scheduler: SchedulerLike | undefined): StatsClock {
  if (scheduler !== undefined && scheduler !== asyncScheduler) return () => scheduler.now();
  let reading = -1;
  let epochRead = false;
  const forget = (): void => {
    reading = -1;
  };
  const shared: StatsClock = () => {
    if (reading >= 0) return reading;
    const now = asyncScheduler.now();
    if (!epochRead) {
      epochRead = true;
      return now;
    }
    // Before 2001 on the wall clock: `asyncScheduler` is virtual now (TestScheduler.run, whose time
    // starts at 0): never kept. (Told without a second reading of the wall clock.)
    if (now < VIRTUAL_BELOW) return now;
    reading = now;
    queueMicrotask(forget);
    return now;
  };
  // A grant loop reads the time once (`StatsCounter.loopNow`) and is mostly alone in its microtask
  // (a task that finished, releasing): a shared reading there would cost a microtask of its own.
  shared.exact = () => asyncScheduler.now();
  return shared;
}

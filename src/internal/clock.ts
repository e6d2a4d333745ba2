import { asyncScheduler, type SchedulerLike } from 'rxjs';

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
 * or `asyncScheduler` made virtual by `TestScheduler.run` (told apart by being far from the wall
 * clock). The first reading (the engine's epoch, when it is made) is never kept, so that a
 * primitive made just before `TestScheduler.run` reads virtual time inside it.
 */
export function statsClock(scheduler: SchedulerLike | undefined): () => number {
  if (scheduler !== undefined && scheduler !== asyncScheduler) return () => scheduler.now();
  let reading = -1;
  let epochRead = false;
  const forget = (): void => {
    reading = -1;
  };
  return () => {
    if (reading >= 0) return reading;
    const now = asyncScheduler.now();
    if (!epochRead) {
      epochRead = true;
      return now;
    }
    // Far from the wall clock: `asyncScheduler` is virtual now (TestScheduler.run): never kept.
    if (Math.abs(now - Date.now()) > 1000) return now;
    reading = now;
    queueMicrotask(forget);
    return now;
  };
}

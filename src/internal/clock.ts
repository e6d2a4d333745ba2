import { asyncScheduler, type SchedulerLike } from 'rxjs';

/**
 * The clock a primitive's statistics use: its scheduler's `now`, else `asyncScheduler`'s, read when
 * it is used (so a primitive made outside `TestScheduler.run` and used inside it measures virtual
 * time there). The engines read it at most once per outermost operation (`StatsCounter.loopNow`).
 */
export function statsClock(scheduler: SchedulerLike | undefined): () => number {
  const clock = scheduler ?? asyncScheduler;
  return () => clock.now();
}

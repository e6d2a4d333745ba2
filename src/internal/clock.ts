import { asyncScheduler, type SchedulerLike } from 'rxjs';

let taskTime = -1;

function forgetTaskTime(): void {
  taskTime = -1;
}

/**
 * `Date.now()`, read once per task: every call until the microtask queue drains returns the same
 * time. A clock read costs 70-90 ns on some virtual machines, and statistics read one per queued
 * request; requests made in one synchronous task are made at one moment anyway.
 */
function realTimePerTask(): number {
  if (taskTime < 0) {
    taskTime = Date.now();
    queueMicrotask(forgetTaskTime);
  }
  return taskTime;
}

/**
 * The clock a primitive's statistics use: its scheduler's `now`. Without a scheduler of its own it
 * is `asyncScheduler`'s: real time (read once per task), unless the primitive is made inside
 * `TestScheduler.run`, which virtualises `asyncScheduler` — then that virtual time, read each time.
 */
export function statsClock(scheduler: SchedulerLike | undefined): () => number {
  if (scheduler !== undefined) return () => scheduler.now();
  const virtual = Math.abs(asyncScheduler.now() - Date.now()) > 60_000;
  return virtual ? () => asyncScheduler.now() : realTimePerTask;
}

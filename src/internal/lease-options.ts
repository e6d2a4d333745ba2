import type { SchedulerLike } from 'rxjs';
import type { LeaseOptions } from '../types.js';
import { waitConfig, type WaitConfig } from './permit-request.js';
import {
  checkOptions,
  checkPermits,
  checkPriority,
  checkScheduler,
  checkSignal,
  checkTimeout,
} from './validate.js';

/** The checked options of one `lease()` / `run()` call. */
export interface LeaseSettings {
  readonly config: WaitConfig;
  readonly scheduler: SchedulerLike | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Checks the options of `lease()`/`run()` (synchronously, as every bad argument is). `maxPermits`
 * `null`: the primitive has one permit (an RLock), so `permits` is not an option.
 */
export function checkLeaseOptions(
  where: string,
  options: unknown,
  maxPermits: number | null,
  defaultScheduler: SchedulerLike | undefined,
): LeaseSettings {
  const known: (keyof LeaseOptions)[] =
    maxPermits === null
      ? ['timeout', 'priority', 'signal', 'scheduler']
      : ['permits', 'timeout', 'priority', 'signal', 'scheduler'];
  const opts = checkOptions<LeaseOptions>(where, options, known);
  const permits =
    maxPermits === null ? 1 : checkPermits(where, 'options.permits', opts.permits ?? 1, maxPermits);
  const config = waitConfig(
    permits,
    checkPriority(where, 'options.priority', opts.priority),
    checkTimeout(where, 'options.timeout', opts.timeout),
    Infinity,
  );
  const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? defaultScheduler;
  return { config, scheduler, signal: checkSignal(where, 'options.signal', opts.signal) };
}

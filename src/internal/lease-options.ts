import type { SchedulerLike } from 'rxjs';
import type { PermitBackend } from '../core/permit-backend.js';
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

/**
 * One `lease()` / `run()` call as checked: whom it asks and how it waits. One object, kept by the
 * request while it waits (a call without options shares its primitive's).
 */
export interface LeaseCall {
  readonly backend: PermitBackend;
  readonly config: WaitConfig;
  readonly scheduler: SchedulerLike | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * Checks the options of a `lease()`/`run()` call on `backend` (synchronously, as every bad argument
 * is). `maxPermits` `null`: the primitive has one permit (an RLock), so `permits` is not an option.
 */
export function checkLeaseOptions(
  where: string,
  options: unknown,
  backend: PermitBackend,
  maxPermits: number | null,
  defaultScheduler: SchedulerLike | undefined,
): LeaseCall {
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
  return { backend, config, scheduler, signal: checkSignal(where, 'options.signal', opts.signal) };
}

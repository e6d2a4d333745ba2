import type { ObservableInput, SchedulerLike } from 'rxjs';
import type { PermitRejectedError, PermitTimeoutError } from '../errors.js';
import { gateTargetOf, type GateTarget } from '../internal/gate-target.js';
import { demandFor } from '../internal/permit-request.js';
import {
  checkLimit,
  checkOptionalFunction,
  checkOptions,
  checkPermits,
  checkPriority,
  checkScheduler,
  checkTimeout,
} from '../internal/validate.js';
import type { GateConfig, PermitFallback } from './permit-gate.js';

/** Options of {@link withPermit} and {@link mergeMapWithPermit}. */
export interface PermitOptions<T> {
  /**
   * Permits each gated stream holds: a positive integer, at most a BoundedSemaphore's bound.
   * @default 1
   */
  permits?: number | undefined;
  /**
   * Higher is served first: a safe integer (rule 19). Within a priority, first come, first served.
   * @default 0
   */
  priority?: number | undefined;
  /**
   * Milliseconds to wait for the permits; then the stream errors with {@link PermitTimeoutError},
   * or switches to `with`. `undefined`/`null` waits for ever; `<= 0` does not wait.
   * @default undefined (for ever)
   */
  timeout?: number | null | undefined;
  /**
   * Runs the timeout.
   * @default the semaphore's scheduler, else `asyncScheduler`
   */
  scheduler?: SchedulerLike | undefined;
  /**
   * A fallback: called with the timeout (or rejection) error, its stream replaces the gated one.
   * It runs without a permit.
   */
  with?: ((error: PermitTimeoutError | PermitRejectedError) => ObservableInput<T>) | undefined;
}

/** Options of {@link boundedPermit}. */
export interface BoundedPermitOptions<T> extends PermitOptions<T> {
  /**
   * How many requests may already be queued on the semaphore (by anyone: compared with
   * `semaphore.waiting`) for this one still to queue. With no permit free and that many waiting,
   * the stream fails at once with {@link PermitRejectedError} (or switches to `with`).
   * @default 0 (run now or be rejected: a bulkhead)
   */
  maxWaiting?: number | undefined;
}

const PERMIT_OPTIONS = ['permits', 'priority', 'timeout', 'scheduler', 'with'] as const;
const BOUNDED_PERMIT_OPTIONS = [...PERMIT_OPTIONS, 'maxWaiting'] as const;

/** The configuration of an operator made with no options, per primitive. */
const gateDefaults = new WeakMap<GateTarget, GateConfig<unknown>>();
const boundedDefaults = new WeakMap<GateTarget, GateConfig<unknown>>();

/**
 * Checks an operator's arguments when the operator is created, and fixes its configuration.
 *
 * @param defaultMaxWaiting `Infinity` for `withPermit` and `mergeMapWithPermit` (which take no
 * `maxWaiting`), 0 for `boundedPermit`.
 */
export function gateConfig<T>(
  where: string,
  semaphore: unknown,
  options: BoundedPermitOptions<T> | undefined,
  defaultMaxWaiting: number,
  hint?: (value: unknown) => string,
): { target: GateTarget; config: GateConfig<T> } {
  const target = gateTargetOf(where, 'semaphore', semaphore);
  if (options === undefined) {
    // Operators are often made per value (inside a `mergeMap`): the default configuration of a
    // primitive is built once. Only the permits' check depends on the moment (`adjust` moves a bound).
    const defaults = defaultMaxWaiting === Infinity ? gateDefaults : boundedDefaults;
    const config = defaults.get(target);
    if (config !== undefined && target.backend.maxPermits >= 1) {
      return { target, config: config as GateConfig<T> };
    }
    const made = gateConfig<T>(where, semaphore, {}, defaultMaxWaiting, hint);
    defaults.set(target, made.config as GateConfig<unknown>);
    return made;
  }
  const known = defaultMaxWaiting === Infinity ? PERMIT_OPTIONS : BOUNDED_PERMIT_OPTIONS;
  const opts = checkOptions<BoundedPermitOptions<T>>(where, options, known, hint);
  const permits = checkPermits(
    where,
    'options.permits',
    opts.permits ?? 1,
    target.backend?.maxPermits ?? Infinity,
  );
  const priority = checkPriority(where, 'options.priority', opts.priority);
  const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
  const scheduler = checkScheduler(where, 'options.scheduler', opts.scheduler) ?? target.scheduler;
  const fallback = checkOptionalFunction<PermitFallback<T>>(where, 'options.with', opts.with);
  const maxWaiting =
    opts.maxWaiting === undefined
      ? defaultMaxWaiting
      : checkLimit(where, 'options.maxWaiting', opts.maxWaiting);
  const demand = demandFor(permits, priority, timeout, maxWaiting);
  return {
    target,
    config: { permits, priority, timeout, maxWaiting, demand, scheduler, fallback, holderFor: undefined },
  };
}

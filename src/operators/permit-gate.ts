import {
  Observable,
  from,
  throwError,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import type { PermitGrantee, PermitSource, PermitTicket } from '../core/permit-source.js';
import { PermitRejectedError, PermitTimeoutError } from '../errors.js';
import { PermitHolder } from './permit-holder.js';
import { scheduleOrWithdraw } from '../internal/schedule.js';

/** The fallback of the `with` option. */
export type PermitFallback<T> = (error: PermitTimeoutError | PermitRejectedError) => ObservableInput<T>;

/** Everything one gated subscription needs, fixed when the operator is created. */
export interface GateConfig<T> {
  readonly permits: number;
  /** `null`: wait for ever; `<= 0`: do not wait. */
  readonly timeout: number | null;
  readonly scheduler: SchedulerLike | undefined;
  readonly fallback: PermitFallback<T> | undefined;
  /** For `boundedPermit`: refuse at once when this many requests are already queued. */
  readonly maxWaiting: number;
}

/** Makes the subscriber that will hold the permits once they are granted. */
export type HolderFactory<T> = (
  downstream: Subscriber<T>,
  source: PermitSource,
  permits: number,
) => Subscriber<T>;

const plainHolder = <T>(downstream: Subscriber<T>, source: PermitSource, permits: number): Subscriber<T> =>
  new PermitHolder(downstream, source, permits);

/**
 * Gates `input`: each subscription requests the permits and subscribes `input` only once it holds
 * them (synchronously when they are free), through a holder that gives them back exactly once.
 * Used by `withPermit`, `boundedPermit` and `reentrant`.
 *
 * @param sourceFor The permit source of one subscription (an RLock gives each owner its own view).
 */
export function gate<T>(
  input: Observable<T>,
  sourceFor: (downstream: Subscriber<T>) => PermitSource,
  config: GateConfig<T>,
  holderFor: HolderFactory<T> = plainHolder,
): Observable<T> {
  return new Observable<T>((downstream) => {
    const source = sourceFor(downstream);
    const request = new GateRequest(downstream, input, source, config, holderFor);
    request.ticket = source.request(config.permits, request);
    if (request.granted) return;
    const { timeout, maxWaiting } = config;
    // Without a wait allowed (bulkhead full, or timeout <= 0), an ungranted request gives up now.
    if (source.waiting > maxWaiting) {
      request.ticket.withdraw();
      request.fail(
        new PermitRejectedError({
          primitive: source.name,
          permits: config.permits,
          waiting: source.waiting,
          maxWaiting,
        }),
      );
      return;
    }
    if (timeout !== null) {
      if (timeout <= 0) {
        request.timeOut();
        return;
      }
      request.timer = scheduleOrWithdraw(config.scheduler, () => request.timeOut(), timeout, request.ticket);
    }
    return request;
  });
}

/**
 * What replaces a stream whose request timed out or was refused: the `with` fallback's stream, or
 * else the error itself. A fallback that throws errors with what it threw.
 */
export function replacementFor<T>(
  fallback: PermitFallback<T> | undefined,
  error: PermitTimeoutError | PermitRejectedError,
): Observable<T> {
  if (fallback === undefined) return throwError(() => error);
  try {
    return from(fallback(error));
  } catch (thrown) {
    return throwError(() => thrown);
  }
}

/** One gated subscription waiting for its grant; also its teardown while it waits. */
class GateRequest<T> implements PermitGrantee {
  ticket: PermitTicket | null = null;
  timer: Subscription | null = null;
  granted = false;

  constructor(
    private readonly downstream: Subscriber<T>,
    private readonly input: Observable<T>,
    private readonly source: PermitSource,
    private readonly config: GateConfig<T>,
    private readonly holderFor: HolderFactory<T>,
  ) {}

  grant(): void {
    this.granted = true;
    this.timer?.unsubscribe();
    this.timer = null;
    this.input.subscribe(this.holderFor(this.downstream, this.source, this.config.permits));
  }

  timeOut(): void {
    if (!this.ticket!.withdraw()) return;
    this.fail(
      new PermitTimeoutError({
        primitive: this.source.name,
        timeout: this.config.timeout!,
        permits: this.config.permits,
      }),
    );
  }

  /** Errors downstream, or hands it to the `with` fallback (which runs without a permit). */
  fail(error: PermitTimeoutError | PermitRejectedError): void {
    replacementFor(this.config.fallback, error).subscribe(this.downstream);
  }

  /** Teardown while waiting: withdraws the request; after the grant the holder owns the permits. */
  unsubscribe(): void {
    this.ticket?.withdraw();
    this.timer?.unsubscribe();
  }
}

import { Observable, from, throwError, type ObservableInput, type Subscriber } from 'rxjs';
import type { PermitBackend } from '../core/permit-backend.js';
import { PermitRejectedError, PermitTimeoutError } from '../errors.js';
import { PermitRequest, type WaitConfig } from '../internal/permit-request.js';
import { PermitHolder } from './permit-holder.js';

/** The fallback of the `with` option. */
export type PermitFallback<T> = (error: PermitTimeoutError | PermitRejectedError) => ObservableInput<T>;

/** Everything one gated subscription needs, fixed when the operator is created. */
export interface GateConfig<T> extends WaitConfig {
  readonly fallback: PermitFallback<T> | undefined;
}

/** Makes the subscriber that will hold the permits once they are granted. */
export type HolderFactory<T> = (
  downstream: Subscriber<T>,
  backend: PermitBackend,
  permits: number,
) => Subscriber<T>;

const plainHolder = <T>(downstream: Subscriber<T>, backend: PermitBackend, permits: number): Subscriber<T> =>
  new PermitHolder(downstream, backend, permits);

/**
 * Gates `source`: each subscription requests the permits and subscribes `source` only once it holds
 * them (synchronously when they are free), through a holder that gives them back exactly once.
 * Used by `withPermit`, `boundedPermit` and `reentrant`.
 *
 * @param backendFor The permits of one subscription (an RLock gives each owner its own view).
 */
export function gate<T>(
  source: Observable<T>,
  backendFor: (downstream: Subscriber<T>) => PermitBackend,
  config: GateConfig<T>,
  holderFor: HolderFactory<T> = plainHolder,
): Observable<T> {
  return new Observable<T>((downstream) => {
    const request = new GateRequest(downstream, source, backendFor(downstream), config, holderFor);
    return request.granted ? undefined : request;
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

/** One gated subscription: subscribes the source once granted, or fails (or falls back). */
class GateRequest<T> extends PermitRequest {
  constructor(
    private readonly downstream: Subscriber<T>,
    private readonly source: Observable<T>,
    private readonly backend: PermitBackend,
    private readonly config: GateConfig<T>,
    private readonly holderFor: HolderFactory<T>,
  ) {
    super();
    this.ask(backend, config);
  }

  protected onGrant(): void {
    this.source.subscribe(this.holderFor(this.downstream, this.backend, this.config.permits));
  }

  protected onTimeout(): void {
    const { permits, timeout } = this.config;
    this.fail(new PermitTimeoutError({ primitive: this.backend.name, timeout: timeout!, permits }));
  }

  protected override onRefused(waiting: number): void {
    const { permits, maxWaiting } = this.config;
    this.fail(new PermitRejectedError({ primitive: this.backend.name, permits, waiting, maxWaiting }));
  }

  /** Errors downstream, or hands it to the `with` fallback (which runs without a permit). */
  private fail(error: PermitTimeoutError | PermitRejectedError): void {
    replacementFor(this.config.fallback, error).subscribe(this.downstream);
  }
}

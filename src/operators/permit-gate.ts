import {
  Observable,
  from,
  throwError,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
} from 'rxjs';
import type { Lease, PermitBackend } from '../core/permit-backend.js';
import type {
  PermitBackendError,
  PermitLostError,
  PermitRejectedError,
  PermitTimeoutError,
} from '../errors.js';
import {
  PermitRequest,
  rejectedErrorFor,
  timeoutErrorFor,
  type WaitConfig,
} from '../internal/permit-request.js';
import { PermitHolder } from './permit-holder.js';

/** The fallback of the `with` option. */
export type PermitFallback<T> = (error: PermitTimeoutError | PermitRejectedError) => ObservableInput<T>;

/** Everything one gated subscription needs, fixed when the operator is created. */
export interface GateConfig<T> extends WaitConfig {
  readonly scheduler: SchedulerLike | undefined;
  readonly fallback: PermitFallback<T> | undefined;
}

/** Makes the subscriber that holds the lease while the gated stream runs. */
export type HolderFactory<T> = (downstream: Subscriber<T>, lease: Lease) => PermitHolder<T>;

const plainHolder = <T>(downstream: Subscriber<T>, lease: Lease): PermitHolder<T> =>
  new PermitHolder(downstream, lease);

/**
 * Gates a stream: each subscription requests the permits and subscribes the source only once it
 * holds them (synchronously when they are free), through a holder that gives them back exactly once.
 * Used by `withPermit`, `boundedPermit`, `usingLease` and `reentrant`.
 *
 * @param source The gated stream, or a function that makes it from the lease once granted.
 * @param backend The permits, or a function giving those of one subscription (an RLock gives each
 * owner its own view). Passed as they are, not wrapped, as this runs once per gated stream.
 */
export function gate<T>(
  source: Observable<T> | ((lease: Lease) => Observable<T>),
  backend: PermitBackend | ((downstream: Subscriber<T>) => PermitBackend),
  config: GateConfig<T>,
  holderFor: HolderFactory<T> = plainHolder,
): Observable<T> {
  return new Observable<T>((downstream) => {
    const permits = typeof backend === 'function' ? backend(downstream) : backend;
    const request = new GateRequest(downstream, source, permits, config, holderFor);
    return request.answered ? undefined : request;
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
  private holder: PermitHolder<T> | null = null;

  constructor(
    private readonly downstream: Subscriber<T>,
    private readonly source: Observable<T> | ((lease: Lease) => Observable<T>),
    private readonly backend: PermitBackend,
    private readonly config: GateConfig<T>,
    private readonly holderFor: HolderFactory<T>,
  ) {
    super();
    this.ask(backend, config, config.scheduler);
  }

  maxWaiting(): number {
    return this.config.maxWaiting;
  }

  onGrant(lease: Lease): void {
    const holder = this.holderFor(this.downstream, lease);
    // Kept only where a lease can be lost: an in-process semaphore (this request's engine) never
    // loses one, and a pointer from a long-queued request to its young holder would keep the
    // finished holder alive until a full GC.
    if (this.engine === null) this.holder = holder;
    let source = this.source;
    if (typeof source === 'function') {
      try {
        source = source(lease);
      } catch (error) {
        holder.error(error); // a factory that throws: the lease goes back, then the error
        return;
      }
    }
    source.subscribe(holder);
  }

  onTimeout(): void {
    this.fallBack(timeoutErrorFor(this.backend, this.config));
  }

  onRefused(waiting: number, never: boolean): void {
    this.fallBack(rejectedErrorFor(this.backend, this.config, waiting, never));
  }

  onFailure(error: PermitBackendError): void {
    this.downstream.error(error);
  }

  onLost(error: PermitLostError): void {
    this.holder?.lost(error);
  }

  /** Errors downstream, or hands it to the `with` fallback (which runs without a permit). */
  private fallBack(error: PermitTimeoutError | PermitRejectedError): void {
    replacementFor(this.config.fallback, error).subscribe(this.downstream);
  }
}

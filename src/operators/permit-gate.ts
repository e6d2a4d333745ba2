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
  type RequestKind,
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
  /** Makes the holder (an RLock's marks its owner); `undefined`: a plain {@link PermitHolder}. */
  readonly holderFor: HolderFactory<T> | undefined;
}

/** Makes the subscriber that holds the lease while the gated stream runs. */
export type HolderFactory<T> = (downstream: Subscriber<T>, lease: Lease) => PermitHolder<T>;

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
): Observable<T> {
  return new Observable<T>((downstream) => {
    const permits = typeof backend === 'function' ? backend(downstream) : backend;
    const request = new PermitRequest(GATE, downstream, source, permits, config);
    request.ask(permits, config, config.scheduler);
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

/** A gated subscription's request: its slots (see {@link PermitRequest}). */
type GateRequest<T> = PermitRequest & {
  readonly s0: Subscriber<T>;
  /**
   * The gated stream, or the function that makes it from the lease; once granted, its holder where
   * a lease can be lost (see `onGrant`).
   */
  s1: Observable<T> | ((lease: Lease) => Observable<T>) | PermitHolder<T>;
  readonly s2: PermitBackend;
  readonly s3: GateConfig<T>;
};

/** One gated subscription: subscribes the source once granted, or fails (or falls back). */
class GateKind implements RequestKind {
  maxWaiting(request: PermitRequest): number {
    return (request as GateRequest<unknown>).s3.maxWaiting;
  }

  onGrant(request: PermitRequest, lease: Lease): void {
    const { s0: downstream, s1: factory, s3: config } = request as GateRequest<unknown>;
    const { holderFor } = config;
    const holder =
      holderFor === undefined ? new PermitHolder(downstream, lease) : holderFor(downstream, lease);
    // Kept only where a lease can be lost: an in-process semaphore (this request's engine) never
    // loses one, and a pointer from a long-queued request to its young holder would keep the
    // finished holder alive until a full GC.
    if (request.engine === null) (request as GateRequest<unknown>).s1 = holder;
    let source = factory as Observable<unknown> | ((lease: Lease) => Observable<unknown>);
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

  onTimeout(request: PermitRequest): void {
    const { s2: backend, s3: config } = request as GateRequest<unknown>;
    fallBack(request as GateRequest<unknown>, timeoutErrorFor(backend, config));
  }

  onRefused(request: PermitRequest, waiting: number, never: boolean): void {
    const { s2: backend, s3: config } = request as GateRequest<unknown>;
    fallBack(request as GateRequest<unknown>, rejectedErrorFor(backend, config, waiting, never));
  }

  onFailure(request: PermitRequest, error: PermitBackendError): void {
    (request as GateRequest<unknown>).s0.error(error);
  }

  onLost(request: PermitRequest, error: PermitLostError): void {
    // Asked of an in-process engine, a request is never told of a loss (and `s1` is still its source).
    ((request as GateRequest<unknown>).s1 as PermitHolder<unknown>).lost(error);
  }
}

const GATE = new GateKind();

/** Errors downstream, or hands it to the `with` fallback (which runs without a permit). */
function fallBack<T>(request: GateRequest<T>, error: PermitTimeoutError | PermitRejectedError): void {
  replacementFor(request.s3.fallback, error).subscribe(request.s0);
}

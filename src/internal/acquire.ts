import { Observable, type SchedulerLike, type Subscriber } from 'rxjs';
import type { Lease, PermitBackend } from '../core/permit-backend.js';
import type { PermitBackendError, PermitLostError } from '../errors.js';
import { SmallPermitRequest, type WaitConfig } from './permit-request.js';
import { reportUnhandledError } from './report-error.js';

/**
 * The cold `Observable<boolean>` behind `acquire()`: each subscription is one request; it emits
 * `true` when granted (the subscriber then holds the permits, and gives them back with `release`)
 * or `false` when a non-blocking or timed request fails, then completes. Unsubscribing while queued
 * withdraws the request. A backend failure errors it with `PermitBackendError`.
 */
export function acquirePermits(
  backend: PermitBackend,
  config: WaitConfig,
  scheduler: SchedulerLike | undefined,
): Observable<boolean> {
  return new Observable<boolean>((subscriber) => new AcquireRequest(subscriber, backend, config, scheduler));
}

/** One `acquire()` subscription: `true` on the grant, `false` at the timeout. */
class AcquireRequest extends SmallPermitRequest {
  constructor(
    private readonly subscriber: Subscriber<boolean>,
    backend: PermitBackend,
    config: WaitConfig,
    scheduler: SchedulerLike | undefined,
  ) {
    super();
    this.ask(backend, config, scheduler);
  }

  onGrant(_lease: Lease): void {
    this.subscriber.next(true);
    this.subscriber.complete();
  }

  onTimeout(): void {
    this.subscriber.next(false);
    this.subscriber.complete();
  }

  onRefused(): void {
    this.onTimeout();
  }

  onFailure(error: PermitBackendError): void {
    this.subscriber.error(error);
  }

  /** The `acquire()` stream is over; nobody holds the lease but the caller, anonymously. */
  onLost(error: PermitLostError): void {
    reportUnhandledError(error);
  }
}

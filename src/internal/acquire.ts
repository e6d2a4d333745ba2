import { Observable, type SchedulerLike, type Subscriber } from 'rxjs';
import type { PermitBackend } from '../core/permit-backend.js';
import { PermitRequest, type WaitConfig } from './permit-request.js';

/**
 * The cold `Observable<boolean>` behind `acquire()`: each subscription is one request; it emits
 * `true` when granted (the subscriber then holds the permits) or `false` when a non-blocking or timed
 * request fails, then completes. Unsubscribing while queued withdraws the request.
 *
 * @param timeout `null` waits for ever; `<= 0` does not wait (nor does `blocking: false`).
 */
export function acquirePermits(
  backend: PermitBackend,
  permits: number,
  blocking: boolean,
  timeout: number | null,
  scheduler: SchedulerLike | undefined,
): Observable<boolean> {
  const config: WaitConfig = { permits, timeout: blocking ? timeout : 0, scheduler, maxWaiting: Infinity };
  return new Observable<boolean>((subscriber) => new AcquireRequest(subscriber, backend, config));
}

/** One `acquire()` subscription: `true` on the grant, `false` at the timeout. */
class AcquireRequest extends PermitRequest {
  constructor(
    private readonly subscriber: Subscriber<boolean>,
    backend: PermitBackend,
    config: WaitConfig,
  ) {
    super();
    this.ask(backend, config);
  }

  protected onGrant(): void {
    this.subscriber.next(true);
    this.subscriber.complete();
  }

  protected onTimeout(): void {
    this.subscriber.next(false);
    this.subscriber.complete();
  }
}

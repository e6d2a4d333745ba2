import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { scheduleOrWithdraw } from './schedule.js';
import type { PermitGrantee, PermitSource, PermitTicket } from '../core/permit-source.js';

/**
 * The cold `Observable<boolean>` behind `acquire()`: each subscription is one request; it emits
 * `true` when granted (the subscriber then holds the permits) or `false` when a non-blocking or timed
 * request fails, then completes. Unsubscribing while queued withdraws the request.
 *
 * @param timeout `null` waits for ever; `<= 0` does not wait.
 */
export function acquirePermits(
  source: PermitSource,
  permits: number,
  blocking: boolean,
  timeout: number | null,
  scheduler: SchedulerLike | undefined,
): Observable<boolean> {
  if (!blocking || (timeout !== null && timeout <= 0)) {
    return new Observable<boolean>((subscriber) => {
      subscriber.next(source.tryAcquire(permits));
      subscriber.complete();
    });
  }
  return new Observable<boolean>((subscriber) => {
    const request = new AcquireRequest(subscriber);
    request.ticket = source.request(permits, request);
    if (subscriber.closed) return; // granted synchronously
    if (timeout !== null) {
      request.timer = scheduleOrWithdraw(scheduler, () => request.timeOut(), timeout, request.ticket);
    }
    return request;
  });
}

/** The grantee of one `acquire()` subscription, and its teardown. */
class AcquireRequest implements PermitGrantee {
  ticket: PermitTicket | null = null;
  timer: Subscription | null = null;

  constructor(private readonly subscriber: Subscriber<boolean>) {}

  grant(): void {
    this.timer?.unsubscribe();
    this.subscriber.next(true);
    this.subscriber.complete();
  }

  timeOut(): void {
    if (this.ticket!.withdraw()) {
      this.subscriber.next(false);
      this.subscriber.complete();
    }
  }

  /** Teardown: withdraws a request still queued; after the grant it changes nothing (rule 9). */
  unsubscribe(): void {
    this.ticket?.withdraw();
    this.timer?.unsubscribe();
  }
}

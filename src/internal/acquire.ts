import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { scheduleOrWithdraw } from './schedule.js';
import type { PermitGrantee, PermitSource, PermitTicket } from '../core/permit-source.js';
import { QueuedRequest, type SemaphoreCore } from '../core/semaphore-core.js';

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
  if (!blocking || (timeout !== null && timeout <= 0)) return tryAcquirePermits(source, permits);
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

/**
 * {@link acquirePermits} for the in-process semaphore engine: the request is one object, the
 * engine's queue node, its grantee and the subscription's teardown at once (about 80 bytes less
 * per queued request — `bench/` W3).
 */
export function acquireFromSemaphore(
  core: SemaphoreCore,
  permits: number,
  blocking: boolean,
  timeout: number | null,
  scheduler: SchedulerLike | undefined,
): Observable<boolean> {
  if (!blocking || (timeout !== null && timeout <= 0)) return tryAcquirePermits(core, permits);
  return new Observable<boolean>((subscriber) => {
    const node = new AcquireNode(core, permits, subscriber);
    core.enqueue(node);
    if (subscriber.closed) return; // granted synchronously
    if (timeout !== null) node.timer = scheduleOrWithdraw(scheduler, () => node.timeOut(), timeout, node);
    return node;
  });
}

function tryAcquirePermits(source: PermitSource, permits: number): Observable<boolean> {
  return new Observable<boolean>((subscriber) => {
    subscriber.next(source.tryAcquire(permits));
    subscriber.complete();
  });
}

/** One queued `acquire()` of a semaphore: queue node, grantee and teardown in one object. */
class AcquireNode extends QueuedRequest implements PermitGrantee {
  timer: Subscription | null = null;

  constructor(
    core: SemaphoreCore,
    permits: number,
    private readonly subscriber: Subscriber<boolean>,
  ) {
    super(core, permits, null);
    this.grantee = this;
  }

  grant(): void {
    this.timer?.unsubscribe();
    this.subscriber.next(true);
    this.subscriber.complete();
  }

  timeOut(): void {
    if (this.withdraw()) {
      this.subscriber.next(false);
      this.subscriber.complete();
    }
  }

  /** Teardown: withdraws a request still queued; after the grant it changes nothing (rule 9). */
  unsubscribe(): void {
    this.withdraw();
    this.timer?.unsubscribe();
  }
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

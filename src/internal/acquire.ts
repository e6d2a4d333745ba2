import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type {
  Lease,
  PermitBackend,
  PermitGrantee,
  PermitRefusal,
  PermitTicket,
} from '../core/permit-backend.js';
import type { PermitBackendError, PermitLostError } from '../errors.js';
import type { WaitConfig } from './permit-request.js';
import { reportUnhandledError } from './report-error.js';
import { scheduleOrWithdraw } from './schedule.js';

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

/**
 * One `acquire()` subscription: `true` on the grant, `false` on a timeout or a refusal. It asks as
 * `PermitRequest` does (see its diagram), but is not an engine node: nobody keeps an `acquire()`
 * lease (the permits go back through `release`), so a small grantee of four fields costs less than
 * the node's ten on every call, and shares no code (so no inline caches) with the gated streams'.
 */
class AcquireRequest implements PermitGrantee {
  private ticket: PermitTicket | null = null;
  private timer: Subscription | null = null;
  private answered = false;

  constructor(
    private readonly subscriber: Subscriber<boolean>,
    backend: PermitBackend,
    config: WaitConfig,
    scheduler: SchedulerLike | undefined,
  ) {
    const { timeout } = config;
    const ticket = (this.ticket = backend.request(config.demand, this));
    if (this.answered || timeout === null || timeout <= 0) return;
    this.timer = scheduleOrWithdraw(scheduler, () => this.timeOut(), timeout, ticket);
  }

  grant(_lease: Lease): void {
    this.answer();
    this.subscriber.next(true);
    this.subscriber.complete();
  }

  /** A refusal of any kind (not grantable now, a full queue, never grantable): `false`. */
  refuse(_refusal: PermitRefusal): void {
    this.answer();
    this.denied();
  }

  fail(error: PermitBackendError): void {
    this.answer();
    this.subscriber.error(error);
  }

  /** The `acquire()` stream is over; nobody holds the lease but the caller, anonymously. */
  lose(error: PermitLostError): void {
    reportUnhandledError(error);
  }

  /** Teardown while waiting: withdraws the request; after the answer it changes nothing. */
  unsubscribe(): void {
    // Granted, refused or failed (the common teardown, right after the answer): nothing to
    // withdraw, and `answer()` stopped the timer. After a timeout the path below runs as before.
    if (this.answered) return;
    this.ticket?.withdraw('cancel');
    this.timer?.unsubscribe();
    this.timer = null;
  }

  private timeOut(): void {
    if (this.ticket!.withdraw('timeout')) this.denied();
  }

  private denied(): void {
    this.subscriber.next(false);
    this.subscriber.complete();
  }

  private answer(): void {
    this.answered = true;
    this.timer?.unsubscribe();
    this.timer = null;
  }
}

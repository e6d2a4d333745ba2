import type { SchedulerLike, Subscription } from 'rxjs';
import type { PermitBackend, PermitGrantee, PermitTicket } from '../core/permit-backend.js';
import { scheduleOrWithdraw } from './schedule.js';

/** How one request waits, fixed when the `acquire()` call or the operator is made. */
export interface WaitConfig {
  readonly permits: number;
  /**
   * `null`: wait for ever. `<= 0`: do not wait — granted at once when the permits are free and
   * nobody is queued, else it times out at once (docs/semantics.md, rule 6).
   */
  readonly timeout: number | null;
  readonly scheduler: SchedulerLike | undefined;
  /** Refuse at once (a bulkhead) when, with this request queued, more than this many wait. */
  readonly maxWaiting: number;
}

/**
 * One request for permits made by the RxJS layer — an `acquire()` subscription, a gated stream, a
 * value of `mergeMapWithPermit` — from the moment it asks until it is granted, refused, times out
 * or is withdrawn. Every path waits the same way ({@link ask}); subclasses say what a grant, a
 * timeout and a refusal do. It is also the teardown of a subscription that waits.
 *
 * ```
 *   ask ──> granted at once ─────────────────────────────> onGrant
 *    │
 *    └───> queued ──> grant (from the backend) ──────────> onGrant
 *             ├─────> bulkhead full: withdrawn ──────────> onRefused
 *             ├─────> timeout (or timeout <= 0): withdrawn > onTimeout
 *             └─────> unsubscribe: withdrawn ────────────> (nothing)
 * ```
 * A timeout or an unsubscribe that comes after the grant withdraws nothing (the ticket says so),
 * so a permit is never lost or given twice, whatever their order in one frame.
 */
export abstract class PermitRequest implements PermitGrantee {
  ticket: PermitTicket | null = null;
  timer: Subscription | null = null;
  granted = false;

  /** Asks `backend` for the permits; unless they are granted at once, waits as `config` says. */
  protected ask(backend: PermitBackend, config: WaitConfig): void {
    const ticket = (this.ticket = backend.request(config.permits, this));
    if (this.granted) return;
    if (backend.waiting > config.maxWaiting) {
      if (ticket.withdraw()) this.onRefused(backend.waiting);
      return;
    }
    const { timeout } = config;
    if (timeout === null) return;
    if (timeout <= 0) this.timeOut();
    else this.timer = scheduleOrWithdraw(config.scheduler, () => this.timeOut(), timeout, ticket);
  }

  /** Called by the backend, once: the permits are held from now on. */
  grant(): void {
    this.granted = true;
    this.timer?.unsubscribe();
    this.timer = null;
    this.onGrant();
  }

  /** The deadline: gives up unless the grant came first. */
  timeOut(): void {
    if (this.ticket!.withdraw()) this.onTimeout();
  }

  /** Teardown while waiting: withdraws the request; after the grant it changes nothing. */
  unsubscribe(): void {
    this.ticket?.withdraw();
    this.timer?.unsubscribe();
    this.timer = null;
  }

  protected abstract onGrant(): void;
  protected abstract onTimeout(): void;
  /** The bulkhead was full: `waiting` other requests are queued. */
  protected onRefused(_waiting: number): void {
    this.onTimeout();
  }
}

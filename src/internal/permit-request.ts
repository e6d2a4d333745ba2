import type { SchedulerLike, Subscription } from 'rxjs';
import type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitRefusal,
  PermitTicket,
} from '../core/permit-backend.js';
import {
  PermitRejectedError,
  PermitTimeoutError,
  type PermitBackendError,
  type PermitLostError,
} from '../errors.js';
import { DONE, GRANTED, QUEUED, RELEASED } from '../core/request-node.js';
import { QueuedRequest, type SemaphoreCore } from '../core/semaphore-core.js';
import { scheduleOrWithdraw } from './schedule.js';

/** How one request waits, fixed when the `acquire()` call or the operator is made. */
export interface WaitConfig {
  readonly permits: number;
  /** A safe integer; higher is served first (rule 19). */
  readonly priority: number;
  /**
   * `null`: wait for ever. `<= 0`: do not wait — granted at once when the permits are free and
   * nobody of equal or higher priority is queued, else it times out at once (rule 6).
   */
  readonly timeout: number | null;
  /**
   * A bulkhead: refused at once when this many requests are already queued and the permits are not
   * free (`Infinity`: none). Decided by the backend, atomically with the grant.
   */
  readonly maxWaiting: number;
  /** What the backend is asked, built once per configuration ({@link waitConfig}). */
  readonly demand: PermitDemand;
}

/** What the backend is asked: `timeout <= 0` asks "now or never" (`maxWaiting: 0`). */
export function demandFor(
  permits: number,
  priority: number,
  timeout: number | null,
  maxWaiting: number,
): PermitDemand {
  return { permits, priority, maxWaiting: timeout !== null && timeout <= 0 ? 0 : maxWaiting };
}

/**
 * A {@link WaitConfig}, built as one literal (not by spreading: operators are often made per value,
 * inside a `mergeMap`, and this is on that path).
 */
export function waitConfig(
  permits: number,
  priority: number,
  timeout: number | null,
  maxWaiting: number,
): WaitConfig {
  return {
    permits,
    priority,
    timeout,
    maxWaiting,
    demand: demandFor(permits, priority, timeout, maxWaiting),
  };
}

/** The error of a request that timed out (or could not wait: `timeout <= 0`). */
export function timeoutErrorFor(backend: PermitBackend, config: WaitConfig): PermitTimeoutError {
  return new PermitTimeoutError({
    primitive: backend.name,
    timeout: config.timeout!,
    permits: config.permits,
  });
}

/**
 * The error of a request refused at once: a full bulkhead (`waiting` others queued), or, `never`,
 * more permits than the primitive can ever grant (its bound, lowered by `adjust`).
 */
export function rejectedErrorFor(
  backend: PermitBackend,
  config: WaitConfig,
  waiting: number,
  never: boolean,
): PermitRejectedError {
  const { permits, maxWaiting } = config;
  const bound = never ? backend.maxPermits : undefined;
  return new PermitRejectedError({ primitive: backend.name, permits, waiting, maxWaiting, bound });
}

/**
 * One request for permits made by the RxJS layer — a gated stream, a value of `mergeMapWithPermit`,
 * a `lease()` or `run()` call (an `acquire()` subscription has a smaller one of its own: see
 * internal/acquire.ts) — from the moment it asks until it is answered or withdrawn. It is
 * the backend's grantee: every path asks the same way ({@link ask}), and subclasses say what a
 * grant, a timeout, a refusal, a backend failure and a lost lease do. It is also the teardown of a
 * subscription that waits.
 *
 * ```
 *   ask ──> granted at once ──────────────────────────────> onGrant(lease)
 *    ├────> refused at once (timeout <= 0, bulkhead full) ─> onTimeout / onRefused
 *    └────> queued ──> grant (from the backend) ──────────> onGrant(lease) ··> lose ──> onLost
 *              ├─────> failure (backend unreachable) ────> onFailure
 *              ├─────> timeout: withdrawn ───────────────> onTimeout
 *              └─────> unsubscribe: withdrawn ───────────> (nothing)
 * ```
 * A timeout or an unsubscribe that comes after the answer withdraws nothing (the ticket says so),
 * so a permit is never lost or given twice, whatever their order in one frame.
 *
 * Made on an engine node: asked of an in-process semaphore, the request is its queue node, ticket
 * and lease — one object. Used by gated streams, `mergeMapWithPermit` values and `lease()`/`run()`,
 * whose leases are kept.
 */
export abstract class PermitRequest extends QueuedRequest implements PermitGrantee {
  ticket: PermitTicket | null = null;
  timer: Subscription | null = null;

  constructor() {
    // No engine yet: asked of a `SemaphoreCore`, it becomes that engine's node, ticket and lease.
    super(null as unknown as SemaphoreCore, 0, 0);
  }

  /**
   * Told of its answer (granted, refused or failed). Its state says it: QUEUED until then (also
   * when the node is unused: another backend), after it never again.
   */
  get answered(): boolean {
    return this.state !== QUEUED;
  }

  /** Asks `backend` for the permits; unless answered at once, waits as `config` says. */
  ask(backend: PermitBackend, config: WaitConfig, scheduler: SchedulerLike | undefined): void {
    const { timeout } = config;
    const ticket = (this.ticket = backend.request(config.demand, this));
    if (this.answered || timeout === null || timeout <= 0) return;
    this.timer = scheduleOrWithdraw(scheduler, () => this.timeOut(), timeout, ticket);
  }

  grant(lease: Lease): void {
    this.answer();
    this.onGrant(lease);
  }

  refuse(refusal: PermitRefusal): void {
    this.answer();
    // A full bulkhead or queue (a SharedSemaphore's ring of `capacity` slots), or a request that
    // can never fit, is a refusal; a request that only could not wait (timeout <= 0, blocking:
    // false) is a timeout at once.
    if (refusal.reason === 'never') this.onRefused(refusal.waiting, true);
    else if (refusal.reason === 'full' || refusal.waiting >= this.maxWaiting())
      this.onRefused(refusal.waiting, false);
    else this.onTimeout();
  }

  fail(error: PermitBackendError): void {
    this.answer();
    this.onFailure(error);
  }

  lose(error: PermitLostError): void {
    this.onLost(error);
  }

  /** The deadline: gives up unless the answer came first. */
  timeOut(): void {
    if (this.ticket!.withdraw('timeout')) this.onTimeout();
  }

  /** Teardown while waiting: withdraws the request; after the answer it changes nothing. */
  unsubscribe(): void {
    // Granted by its engine and told (the common teardown: a gated stream that ran): nothing to
    // withdraw, and `answer()` stopped the timer. Any other state takes the path below (a timer
    // that fired is still unsubscribed, so that it is closed).
    const { state } = this;
    if (state === GRANTED || state === RELEASED) return;
    this.ticket?.withdraw('cancel');
    this.timer?.unsubscribe();
    this.timer = null;
  }

  /** The `maxWaiting` of the configuration it was asked with (a subclass keeps that, not this). */
  abstract maxWaiting(): number;
  abstract onGrant(lease: Lease): void;
  abstract onTimeout(): void;
  /** The bulkhead was full (`waiting` others queued), or the request can never be granted. */
  abstract onRefused(waiting: number, never: boolean): void;
  abstract onFailure(error: PermitBackendError): void;
  /** A lease it was granted was lost. */
  abstract onLost(error: PermitLostError): void;

  /** Marks it answered and stops its timer. */
  answer(): void {
    // A node granted by its engine is GRANTED already; any other answer ends its life as a node.
    if (this.state === QUEUED) this.state = DONE;
    this.timer?.unsubscribe();
    this.timer = null;
  }
}

import type { SchedulerLike, Subscription, Unsubscribable } from 'rxjs';
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
import { DONE, GRANTED, QUEUED, RELEASED, markNotThenable } from '../core/request-node.js';
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
 * What the requests of one kind do when answered: a gated stream's ({@link PermitRequest.kind}
 * is a singleton), a `mergeMapWithPermit` subscription's values (the merge itself), a
 * `lease()`/`run()` call's, an `acquire()` subscription's. Each method gets the request, whose slots
 * hold what the kind keeps of it.
 */
export interface RequestKind {
  /** The `maxWaiting` the request was asked with (tells a full bulkhead from a request that could not wait). */
  maxWaiting(request: PermitRequest): number;
  onGrant(request: PermitRequest, lease: Lease): void;
  onTimeout(request: PermitRequest): void;
  /** The bulkhead was full (`waiting` others queued), or the request can never be granted. */
  onRefused(request: PermitRequest, waiting: number, never: boolean): void;
  onFailure(request: PermitRequest, error: PermitBackendError): void;
  /** A lease it was granted was lost. */
  onLost(request: PermitRequest, error: PermitLostError): void;
}

/**
 * One request for permits made by the RxJS layer — a gated stream, a value of
 * `mergeMapWithPermit`, a `lease()` or `run()` call, an `acquire()` subscription — from the moment
 * it asks until it is answered or withdrawn. It is the backend's grantee: every path asks the same
 * way ({@link ask}), and its {@link kind} says what a grant, a timeout, a refusal, a backend failure
 * and a lost lease do. It is also the teardown of a subscription that waits.
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
 * and lease — one object.
 *
 * **One class for every kind.** The behaviour is in a field ({@link kind}), the data of each kind in
 * four untyped slots (each kind's module gives them names with a type of its own), and every request
 * is made by this one constructor, which sets every field in one order. So every request the RxJS
 * layer queues has one hidden class (V8 map), and the engine's code — queue links, grants,
 * withdrawals, releases — sees one shape where a subclass per kind made it see four (polymorphic
 * inline caches, and megamorphic ones once a fifth kind came in: measured, `acquire()` made a
 * node of its own class cost the gated streams' drain 1.2x-1.4x in the same process).
 *
 * **Size.** 13 fields, 64 bytes (Node 20, compressed pointers), and no more: measured, the same
 * request with 14 or 15 fields made `run(task)`'s drain of 10^4 microtask tasks 1.2-1.5x slower.
 * Hence one field for the ticket and the timer ({@link wait}), and slots reused once granted.
 *
 * **One object, not a grantee and a node.** Measured (one build per process, 10^5 queued
 * `acquire()`s then drained by one release): with a four-field grantee of its own and the engine's
 * node for it, a queued `acquire()` drained 0.77-0.83x as long as with this request, but enqueued
 * 1.11x as long, so the two cost the same per request (about 895 ns here), and took 8 more bytes
 * (472 B). Kept as one object: its drain alone is 1.4-1.5x the pre-v2 build's (the bench's W3 row
 * times the drain), its enqueue 0.8x; with the two objects, 1.15-1.25x and 0.92x.
 */
export class PermitRequest extends QueuedRequest implements PermitGrantee {
  /**
   * While it waits, what stops the wait: asked of an in-process engine (which adopted it: `engine`
   * is set, and its ticket is itself), its timeout's timer; asked of any other backend, a
   * {@link ForeignWait} with that backend's ticket and the timer. `null` when there is nothing to
   * stop (answered, or no timeout). One field, not two: see the class's note on size.
   */
  wait: Unsubscribable | null;
  /** What requests of its kind do when answered. */
  readonly kind: RequestKind;
  // What each kind keeps in its slots (its module names them with a type of its own):
  //
  //   kind          s0                   s1                            s2            s3
  //   gated stream  downstream           source or factory, holder (1) backend       GateConfig
  //   mMWP value    value, inner (1)     index, then phase             older value   newer value
  //   lease()/run() LeaseCall            run()'s task                  resolve       reject
  //   acquire()     subscriber           WaitConfig                    -             -
  //
  // (1) once granted, kept only where a lease can be lost: asked of another backend than an
  // in-process engine (which never loses one).
  s0: unknown;
  s1: unknown;
  s2: unknown;
  s3: unknown;

  constructor(kind: RequestKind, s0: unknown, s1: unknown, s2: unknown, s3: unknown) {
    // No engine yet: asked of a `SemaphoreCore`, it becomes that engine's node, ticket and lease.
    super(null as unknown as SemaphoreCore, 0, 0);
    this.wait = null;
    this.kind = kind;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
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
    const ticket = backend.request(config.demand, this);
    if (this.answered) return;
    const timer =
      timeout === null || timeout <= 0
        ? null
        : scheduleOrWithdraw(scheduler, () => this.timeOut(), timeout, ticket);
    this.wait = this.engine !== null ? timer : new ForeignWait(ticket, timer);
  }

  /**
   * Withdraws the request while it waits; `false` once answered (or withdrawn), so that a timeout,
   * an unsubscribe and an abort never both take effect.
   */
  cancel(reason: 'timeout' | 'cancel'): boolean {
    if (this.engine !== null) return this.withdraw(reason); // its own ticket
    const wait = this.wait as ForeignWait | null;
    return wait !== null && wait.ticket.withdraw(reason);
  }

  grant(lease: Lease): void {
    this.answer();
    this.kind.onGrant(this, lease);
  }

  refuse(refusal: PermitRefusal): void {
    this.answer();
    // A full bulkhead or queue (a SharedSemaphore's ring of `capacity` slots), or a request that
    // can never fit, is a refusal; a request that only could not wait (timeout <= 0, blocking:
    // false) is a timeout at once.
    const { kind } = this;
    if (refusal.reason === 'never') kind.onRefused(this, refusal.waiting, true);
    else if (refusal.reason === 'full' || refusal.waiting >= kind.maxWaiting(this))
      kind.onRefused(this, refusal.waiting, false);
    else kind.onTimeout(this);
  }

  fail(error: PermitBackendError): void {
    this.answer();
    this.kind.onFailure(this, error);
  }

  lose(error: PermitLostError): void {
    this.kind.onLost(this, error);
  }

  /** The deadline: gives up unless the answer came first. */
  timeOut(): void {
    if (this.cancel('timeout')) this.kind.onTimeout(this);
  }

  /** Teardown while waiting: withdraws the request; after the answer it changes nothing. */
  unsubscribe(): void {
    // Granted by its engine and told (the common teardown: a gated stream that ran): nothing to
    // withdraw, and `answer()` stopped the timer. Any other state takes the path below (a timer
    // that fired is still unsubscribed, so that it is closed).
    const { state } = this;
    if (state === GRANTED || state === RELEASED) return;
    this.cancel('cancel');
    this.stopWaiting();
  }

  /** Marks it answered and stops its timer. */
  answer(): void {
    // A node granted by its engine is GRANTED already; any other answer ends its life as a node.
    if (this.state === QUEUED) this.state = DONE;
    this.stopWaiting();
  }

  /** Stops its timer, and forgets a foreign backend's ticket. */
  stopWaiting(): void {
    const { wait } = this;
    if (wait !== null) {
      this.wait = null;
      wait.unsubscribe();
    }
  }
}

/**
 * How a request asked of another backend than an in-process engine waits: that backend's ticket,
 * and the timeout's timer. Made only for such a request, while it is queued.
 */
class ForeignWait implements Unsubscribable {
  constructor(
    readonly ticket: PermitTicket,
    private readonly timer: Subscription | null,
  ) {}

  /** Stops the timer. */
  unsubscribe(): void {
    this.timer?.unsubscribe();
  }
}

// A queued `lease()` resolves with its request (the engine's lease).
markNotThenable(PermitRequest);

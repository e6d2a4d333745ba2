import type { PermitBackendError, PermitLostError } from '../errors.js';

/**
 * A held grant of permits, delivered to the grantee of a request. Its `token` is a fencing token:
 * strictly greater than every token the primitive granted before, so a resource that records the
 * highest token it has seen can refuse a stale holder.
 *
 * @example
 * ```ts
 * // with usingLease, withPermit's twin that hands the stream its lease:
 * usingLease(writers, (lease) => store.write(data, { fencingToken: lease.token }));
 * ```
 */
export interface Lease extends Disposable {
  /** How many permits it holds. */
  readonly permits: number;
  /** Its fencing token: strictly increasing per primitive (per key, for a remote one). */
  readonly token: number;
  /** Whether it was released (or lost): it holds nothing any more. */
  readonly released: boolean;
  /**
   * Aborted, with the {@link PermitLostError} as its `reason`, when the lease is lost — a remote
   * backend's lease can expire, or its backend lose its state, while its holder still works (SPEC
   * §7). Pass it to the work done under the lease (`fetch(url, { signal: lease.signal })`) so that
   * the work stops when the permits may be someone else's. Made on first read; a lease of an
   * in-process, shared-memory or dummy primitive is never lost, and its signal never aborts.
   */
  readonly signal: AbortSignal;
  /** Gives the permits back; a second call does nothing. */
  release(): void;
  /** The same as {@link release}, for `using`. */
  [Symbol.dispose](): void;
}

/** What a request asks a {@link PermitBackend} for. */
export interface PermitDemand {
  /** A positive integer. */
  readonly permits: number;
  /** A safe integer; higher is served first, FIFO within a priority. */
  readonly priority: number;
  /**
   * When the permits are not grantable at once: refuse at once if this many requests or more are
   * already queued. `0`: now or never (`tryAcquire`, `timeout <= 0`, a full bulkhead); `Infinity`:
   * always wait. The backend decides atomically with the grant, so a remote bulkhead is exact.
   */
  readonly maxWaiting: number;
}

/** Why a request was refused without waiting. */
export interface PermitRefusal {
  /**
   * `'busy'`: not grantable now and it may not wait (`maxWaiting: 0`); `'full'`: `maxWaiting`
   * requests were already queued, or the backend's queue is full (a refusal whatever `maxWaiting`);
   * `'never'`: it asks more than the primitive could ever grant (a
   * bound lowered by `adjust` below it).
   */
  readonly reason: 'busy' | 'full' | 'never';
  /** Requests queued when it was refused (not counting itself). */
  readonly waiting: number;
}

/**
 * The party a request answers to. The backend calls exactly one of `grant`, `refuse` and `fail`,
 * once — synchronously inside `request` or later — unless the request is withdrawn first; after a
 * grant it may call `lose` once.
 */
export interface PermitGrantee {
  /** The permits are held from now on, as `lease`. */
  grant(lease: Lease): void;
  /** Refused without waiting; nothing is held. */
  refuse(refusal: PermitRefusal): void;
  /** The backend failed (unreachable, state lost) while the request waited; nothing is held. */
  fail(error: PermitBackendError): void;
  /** A lease granted to this grantee was lost: it holds nothing any more. */
  lose(error: PermitLostError): void;
}

/** The caller's handle on one request. */
export interface PermitTicket {
  /**
   * Withdraws the request if its grantee has not been told of a grant (or refusal, or failure)
   * yet: it then consumes nothing, its grantee is never called, and `true` is returned. Returns
   * `false` once the grantee was told. Synchronous for the caller: what a remote backend already
   * sent, it cleans up itself.
   *
   * @param reason `'timeout'` counts in `stats().timedOut`, `'cancel'` in `stats().withdrawn`.
   */
  withdraw(reason?: 'timeout' | 'cancel'): boolean;
}

/** Counts kept by a primitive since it was made (`stats()`). */
export interface PermitStats {
  /** The primitive's name, if it was given one. */
  readonly name: string | undefined;
  /** As the `value` getter: permits free now (negative: owed after `adjust`). */
  readonly value: number;
  /** As the `waiting` getter: requests queued now. */
  readonly waiting: number;
  /** Requests granted (a request granted at once counts, with a wait of 0). */
  readonly granted: number;
  /** Requests that timed out while queued. */
  readonly timedOut: number;
  /** Requests refused without waiting: `tryAcquire` false, non-blocking or `timeout <= 0` failures, a full bulkhead. */
  readonly rejected: number;
  /** Requests withdrawn while queued (unsubscribed, aborted). */
  readonly withdrawn: number;
  /** The most requests ever queued at once. */
  readonly peakWaiting: number;
  /** Queued time of granted requests, in ms of the primitive's scheduler's clock. */
  readonly waitMs: {
    /** Granted requests measured (equals `granted`). */
    readonly count: number;
    /** Their queued time added up, in ms (a request granted at once adds 0). */
    readonly total: number;
    /** The longest queued time, in ms. */
    readonly max: number;
  };
}

/** Told each settled value of a primitive. */
export interface ValueListener {
  /** Called with each settled value, in order. */
  next(value: number): void;
}

/** Told once, with the value, the next time the primitive is ready. */
export interface ReadyListener {
  /** Called once, with the value (> 0), when the primitive is ready. */
  onReady(value: number): void;
}

/**
 * The contract between the RxJS layer (the operators, `acquire`, `wait`, `rawlink`, the permit
 * observable, leases) and whatever keeps the permits: the in-process engine, shared memory, a
 * server. It is the way to write a backend: implement it, and wrap it in a `BackendSemaphore`.
 *
 * A backend may answer later and may fail: `request` returns a ticket at once, and the grantee is
 * told of the grant, refusal or failure when the backend knows. Nothing here depends on RxJS.
 */
export interface PermitBackend {
  /** How messages and errors name the primitive: `Semaphore "uploads"`. */
  readonly name: string;
  /** Permits free now, as far as this process knows. */
  readonly value: number;
  /** Requests queued now, as far as this process knows. */
  readonly waiting: number;
  /** The most permits one request can ever be granted (`Infinity` when unbounded). */
  readonly maxPermits: number;
  /** A backend that never limits anything: the operators pass streams through untouched. */
  readonly unlimited?: boolean;
  /** Asks for permits; see {@link PermitGrantee} for the answers. */
  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket;
  /** Takes `permits` now if that is possible without overtaking any queued request; never queues. */
  tryAcquire(permits: number): boolean;
  /**
   * Optional, for speed: the lease of a request granted at once — exactly when {@link request}
   * would grant it inside the call — without a grantee; else `null`, and nothing happened (the
   * caller then makes the request). `lease()` and `run()` try it first. A backend that never grants
   * inside the call leaves it out.
   */
  tryLease?(demand: PermitDemand): Lease | null;
  /**
   * Optional, for speed: when {@link request} would grant `demand` inside the call, takes the
   * permits and calls `tell(arg)` there, as that grant's grantee would be told (a release made in
   * `tell` is folded into the operation, as it is in a grant), and returns `true`; else returns
   * `false`, and nothing happened (the caller then makes the request). No lease is made: the
   * caller gives the permits back with {@link release}. `acquire()` tries it first.
   */
  tryGrantNow?<T>(demand: PermitDemand, tell: (arg: T) => void, arg: T): boolean;
  /** Gives back permits taken without a lease (`tryAcquire`, `acquire()`); returns the value after. */
  release(permits: number): number;
  /** Changes the number of permits (rule 20); absent when the backend cannot. */
  adjust?(delta: number): number;
  /** A fresh snapshot of the counts (without `name`, which the primitive adds). */
  stats(): Omit<PermitStats, 'name'>;
  /** Tells `listener` the value now, then every settled change; returns the way to stop. */
  watchValue(listener: ValueListener): () => void;
  /** Tells `listener` once, the next time the value is > 0 (not now); returns the way to cancel. */
  watchReady(listener: ReadyListener): () => void;
}

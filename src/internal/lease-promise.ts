import type { Lease } from '../core/permit-backend.js';
import type { PermitBackendError, PermitLostError } from '../errors.js';
import type { LeaseCall } from './lease-options.js';
import { PermitRequest, rejectedErrorFor, timeoutErrorFor, type RequestKind } from './permit-request.js';

/**
 * The Promise behind `lease()` (rule 22): it joins the backend's queue inside the call, resolves
 * with the held lease, or rejects with `PermitTimeoutError` at the timeout, with `signal.reason`
 * when the signal aborts (the request is withdrawn: it consumes nothing), or with the backend's
 * error. A grant and an abort in the same turn settle as whichever came first.
 */
export function leasePermits(call: LeaseCall): Promise<Lease> {
  // An already-aborted signal queues nothing.
  if (call.signal?.aborted === true) return Promise.reject(call.signal.reason);
  const lease = call.backend.tryLease?.(call.config.demand) ?? null;
  if (lease !== null) return Promise.resolve(lease); // free: no request object at all
  return queueLease(call);
}

/**
 * {@link leasePermits} once `backend.tryLease` has found nothing free (or there is none) and the
 * signal is not aborted: the request that waits.
 */
export function queueLease(call: LeaseCall): Promise<Lease> {
  return queued<Lease>(call, null);
}

/**
 * `run(task)` (rule 22): waits as {@link leasePermits} does, then calls `task(lease)` holding the
 * lease, releases it once the task's result settles (however it settles, a synchronous throw
 * included), and settles as the task did. One Promise per call: the grantee runs the task itself.
 */
export function runPermits<T>(call: LeaseCall, task: (lease: Lease) => T | PromiseLike<T>): Promise<T> {
  if (call.signal?.aborted === true) return Promise.reject(call.signal.reason);
  const lease = call.backend.tryLease?.(call.config.demand) ?? null;
  if (lease !== null) return runHolding(lease, task);
  return queued(call, task);
}

/** The Promise of a request that waits: its {@link LeaseRequest} is made inside the executor. */
function queued<T>(call: LeaseCall, task: ((lease: Lease) => T | PromiseLike<T>) | null): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const request = new PermitRequest(LEASE, call, task, resolve, reject) as LeaseRequest<unknown>;
    const { signal } = call;
    if (signal !== undefined) AbortWatch.add(signal, request);
    request.ask(call.backend, call.config, call.scheduler);
  });
}

/**
 * Runs `task(lease)` and releases the lease once its result settles (at once for a plain value or
 * a synchronous throw); the Promise settles as the task did.
 */
function runHolding<T>(lease: Lease, task: (lease: Lease) => T | PromiseLike<T>): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = task(lease);
  } catch (error) {
    lease.release();
    return Promise.reject(error);
  }
  if (!isThenable(result)) {
    lease.release();
    return Promise.resolve(result);
  }
  return Promise.resolve(result).then(
    (value) => {
      lease.release();
      return value;
    },
    (error: unknown) => {
      lease.release();
      throw error;
    },
  );
}

/**
 * One queued `lease()` or `run()` call's request: its slots (see {@link PermitRequest}). Made inside
 * its Promise's executor (so it holds the resolvers, and nothing else of the Promise). On an
 * in-process semaphore it is also the engine's queue node and the lease: one object per queued call.
 */
type LeaseRequest<T> = PermitRequest & {
  readonly s0: LeaseCall;
  /**
   * For `run()`: the task to run holding the lease, until its result settles; `null` for `lease()`
   * (resolves with the lease) and once the task's result has settled.
   */
  s1: ((lease: Lease) => T | PromiseLike<T>) | null;
  readonly s2: (value: T | PromiseLike<T>) => void;
  readonly s3: (reason: unknown) => void;
};

/** What a queued `lease()` or `run()` call does when answered. */
class LeaseKind implements RequestKind {
  maxWaiting(request: PermitRequest): number {
    return (request as LeaseRequest<unknown>).s0.config.maxWaiting;
  }

  onGrant(request: PermitRequest, lease: Lease): void {
    const self = request as LeaseRequest<unknown>;
    stopListening(self);
    const task = self.s1;
    if (task === null) {
      self.s2(lease);
      return;
    }
    let result: unknown;
    try {
      result = task(lease);
    } catch (error) {
      settle(self, lease);
      self.s3(error);
      return;
    }
    if (isThenable(result)) {
      settleWhenDone(self, lease, result);
    } else {
      settle(self, lease);
      self.s2(result);
    }
  }

  onTimeout(request: PermitRequest): void {
    const self = request as LeaseRequest<unknown>;
    stopListening(self);
    self.s3(timeoutErrorFor(self.s0.backend, self.s0.config));
  }

  onRefused(request: PermitRequest, waiting: number, never: boolean): void {
    const self = request as LeaseRequest<unknown>;
    stopListening(self);
    self.s3(rejectedErrorFor(self.s0.backend, self.s0.config, waiting, never));
  }

  onFailure(request: PermitRequest, error: PermitBackendError): void {
    const self = request as LeaseRequest<unknown>;
    stopListening(self);
    self.s3(error);
  }

  /**
   * A `run()` whose task is still running rejects with the error at once: its caller learns that
   * the permits may be someone else's now (the task's own result, when it comes, is ignored; the
   * task itself learns from `lease.signal`). A `lease()` holder learns from the lease itself — its
   * `signal` aborts with the error and `released` reads true — so nothing is thrown at it (a lease
   * lost from a timer must not crash a process). A `run()` whose task has settled released its
   * lease already: nothing is left to tell.
   */
  onLost(request: PermitRequest, error: PermitLostError): void {
    const self = request as LeaseRequest<unknown>;
    if (self.s1 !== null) self.s3(error);
  }
}

const LEASE = new LeaseKind();

/**
 * Settles a `run()` call when its task's result does, directly (resolving its Promise with another
 * Promise would cost that Promise and two more microtask turns). A function of its own, so that the
 * callbacks' closure is made only for a task that returned a thenable.
 */
function settleWhenDone(request: LeaseRequest<unknown>, lease: Lease, result: PromiseLike<unknown>): void {
  Promise.resolve(result).then(
    (value) => {
      settle(request, lease);
      request.s2(value);
    },
    (error: unknown) => {
      settle(request, lease);
      request.s3(error);
    },
  );
}

/** `run()`'s task has settled: its lease goes back; a loss from now on is nobody's to hear. */
function settle(request: LeaseRequest<unknown>, lease: Lease): void {
  request.s1 = null;
  lease.release();
}

/** The signal aborted: withdraws the request unless it was answered first. */
function abort(request: LeaseRequest<unknown>, reason: unknown): void {
  if (request.cancel('cancel')) {
    request.stopWaiting();
    request.s3(reason);
  }
}

function stopListening(request: LeaseRequest<unknown>): void {
  // The signal's watch, if it still listens (it forgets every request when the signal aborts).
  const { signal } = request.s0;
  if (signal !== undefined) watches.get(signal)?.remove(request);
}

/**
 * The requests waiting on one AbortSignal, behind one 'abort' listener however many they are:
 * `addEventListener` looks through the listeners already added for a duplicate (so a listener per
 * request would make 10^5 requests on one signal quadratic), and Node warns of a leak past 10
 * listeners. Requests are told in the order they were made; each leaves in O(1) once answered.
 */
class AbortWatch {
  private readonly requests = new Set<LeaseRequest<unknown>>();

  private constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  static add(signal: AbortSignal, request: LeaseRequest<unknown>): void {
    let watch = watches.get(signal);
    if (watch === undefined) watches.set(signal, (watch = new AbortWatch(signal)));
    watch.requests.add(request);
  }

  remove(request: LeaseRequest<unknown>): void {
    const { requests } = this;
    requests.delete(request);
    if (requests.size === 0 && watches.get(this.signal) === this) {
      watches.delete(this.signal);
      this.signal.removeEventListener('abort', this.onAbort);
    }
  }

  private readonly onAbort = (): void => {
    watches.delete(this.signal);
    // A withdrawal may grant a request further on (it leaves the set) before its turn comes here.
    for (const request of this.requests) {
      this.requests.delete(request);
      abort(request, this.signal.reason);
    }
  };
}

const watches = new WeakMap<AbortSignal, AbortWatch>();

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<T>).then === 'function'
  );
}

import type { SchedulerLike } from 'rxjs';
import type { Lease, PermitBackend } from '../core/permit-backend.js';
import {
  PermitRejectedError,
  PermitTimeoutError,
  type PermitBackendError,
  type PermitLostError,
} from '../errors.js';
import { PermitRequest, type WaitConfig } from './permit-request.js';
import { reportUnhandledError } from './report-error.js';

/**
 * The Promise behind `lease()` (rule 22): it joins the backend's queue inside the call, resolves
 * with the held lease, or rejects with `PermitTimeoutError` at the timeout, with `signal.reason`
 * when the signal aborts (the request is withdrawn: it consumes nothing), or with the backend's
 * error. A grant and an abort in the same turn settle as whichever came first.
 */
export function leasePermits(
  backend: PermitBackend,
  config: WaitConfig,
  scheduler: SchedulerLike | undefined,
  signal: AbortSignal | undefined,
): Promise<Lease> {
  // An already-aborted signal queues nothing.
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  return new Promise<Lease>((resolve, reject) => {
    new LeaseRequest(backend, config, scheduler, signal, resolve, reject);
  });
}

/** One `lease()` call: the grantee that settles its Promise. */
class LeaseRequest extends PermitRequest {
  private watch: AbortWatch | null = null;

  constructor(
    private readonly backend: PermitBackend,
    private readonly config: WaitConfig,
    scheduler: SchedulerLike | undefined,
    signal: AbortSignal | undefined,
    private readonly resolve: (lease: Lease) => void,
    private readonly reject: (reason: unknown) => void,
  ) {
    super();
    if (signal !== undefined) this.watch = AbortWatch.add(signal, this);
    this.ask(backend, config, scheduler);
  }

  /** The signal aborted: withdraws the request unless it was answered first. */
  abort(reason: unknown): void {
    this.watch = null;
    if (this.ticket?.withdraw('cancel') === true) {
      this.timer?.unsubscribe();
      this.reject(reason);
    }
  }

  protected onGrant(lease: Lease): void {
    this.stopListening();
    this.resolve(lease);
  }

  protected onTimeout(): void {
    this.stopListening();
    const { permits, timeout } = this.config;
    this.reject(new PermitTimeoutError({ primitive: this.backend.name, timeout: timeout!, permits }));
  }

  protected onRefused(waiting: number, never: boolean): void {
    this.stopListening();
    const { permits, maxWaiting } = this.config;
    const bound = never ? this.backend.maxPermits : undefined;
    this.reject(
      new PermitRejectedError({ primitive: this.backend.name, permits, waiting, maxWaiting, bound }),
    );
  }

  protected onFailure(error: PermitBackendError): void {
    this.stopListening();
    this.reject(error);
  }

  /** The Promise has settled long ago: nobody is listening but the unhandled-error hook. */
  protected onLost(error: PermitLostError): void {
    reportUnhandledError(error);
  }

  private stopListening(): void {
    this.watch?.remove(this);
    this.watch = null;
  }
}

/**
 * The requests waiting on one AbortSignal, behind one 'abort' listener however many they are:
 * `addEventListener` looks through the listeners already added for a duplicate (so a listener per
 * request would make 10^5 requests on one signal quadratic), and Node warns of a leak past 10
 * listeners. Requests are told in the order they were made; each leaves in O(1) once answered.
 */
class AbortWatch {
  private readonly requests = new Set<LeaseRequest>();

  private constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  static add(signal: AbortSignal, request: LeaseRequest): AbortWatch {
    let watch = watches.get(signal);
    if (watch === undefined) watches.set(signal, (watch = new AbortWatch(signal)));
    watch.requests.add(request);
    return watch;
  }

  remove(request: LeaseRequest): void {
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
      request.abort(this.signal.reason);
    }
  };
}

const watches = new WeakMap<AbortSignal, AbortWatch>();

/**
 * `run(task)`: holds a lease while `task(lease)` runs, releases it once the task's result settles
 * (however it settles), and settles as the task did.
 */
export async function runWithLease<T>(
  leased: Promise<Lease>,
  task: (lease: Lease) => T | PromiseLike<T>,
): Promise<T> {
  const lease = await leased;
  try {
    return await task(lease);
  } finally {
    lease.release();
  }
}

import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { BackendSemaphore } from '../backend-semaphore.js';
import { GrantLoop } from '../core/grant-loop.js';
import type {
  Lease,
  PermitBackend,
  PermitDemand,
  PermitGrantee,
  PermitRefusal,
  PermitStats,
  PermitTicket,
  ReadyListener,
  ValueListener,
} from '../core/permit-backend.js';
import { LosableLease } from '../core/lease-signal.js';
import { SemaphoreCore } from '../core/semaphore-core.js';
import { ValueWatchers } from '../core/value-watchers.js';
import { PermitBackendError, PermitLostError } from '../errors.js';
import { reportUnhandledError } from '../internal/report-error.js';
import { checkCount, checkName, checkOptions, checkScheduler, primitiveLabel } from '../internal/validate.js';

const KIND = 'SimulatedRemoteSemaphore';

/** Options of {@link SimulatedRemoteSemaphore}. */
export interface SimulatedRemoteOptions {
  /**
   * Milliseconds between the simulated server's decision and the moment the client hears of it
   * (grants, refusals, failures, value changes), on `scheduler`.
   */
  latency: number;
  /**
   * Runs the latency and the timeouts; `TestScheduler.run` virtualises the default.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
  /** A name for messages and errors. */
  name?: string | undefined;
  /**
   * Whether releases above the initial number of permits throw `OverReleaseError`.
   * @default false
   */
  bounded?: boolean | undefined;
}

/**
 * A semaphore whose permits live on a simulated server that answers after a latency: a backend for
 * marble tests of code that will run against a remote semaphore (a `RedisSemaphore`), without a
 * server. The server's state changes at the moment of each call (a request is queued, a release
 * hands permits on, a lease is lost); every answer to the client — a grant, a refusal, a failure, a
 * value change — arrives `latency` ms later on the scheduler. It can be told to fail the requests
 * it holds ({@link failPending}) or to lose a lease ({@link loseLease}).
 *
 * Of the in-process semantics it keeps FIFO order with priorities and strict head-of-line, stack
 * safety, timeouts, withdrawal, the permit lifetime of the operators, `acquire()`, the bound and
 * `mergeMapWithPermit`; it gives up the synchronous grant (a free permit is granted `latency` ms
 * later) and every value the permit observable shows is `latency` ms old. `tryAcquire` answers at
 * once from the server's state (a convenience of the simulation: a real remote backend cannot).
 *
 * @example
 * ```ts
 * import { withPermit } from 'rxjs-permits';
 * import { SimulatedRemoteSemaphore } from 'rxjs-permits/testing';
 * import { of } from 'rxjs';
 * import { TestScheduler } from 'rxjs/testing';
 *
 * new TestScheduler((a, b) => console.log(JSON.stringify(a) === JSON.stringify(b))).run(
 *   ({ expectObservable }) => {
 *     const remote = new SimulatedRemoteSemaphore(1, { latency: 5 });
 *     expectObservable(of('x').pipe(withPermit(remote))).toBe('-----(x|)');
 *   },
 * ); // logs: true
 * ```
 *
 * @throws `RangeError` when `permits` is not an integer >= 0 or `latency` is not an integer >= 0.
 * @throws `TypeError` when an option has the wrong type or an unknown key.
 */
export class SimulatedRemoteSemaphore extends BackendSemaphore {
  private readonly simulated: SimulatedBackend;

  /**
   * Creates the simulated server with `permits` free, and its client.
   *
   * @param permits The number of permits on the simulated server.
   * @param options `latency` (required), `scheduler`, `name`, `bounded`.
   */
  constructor(permits: number, options: SimulatedRemoteOptions) {
    const initial = checkCount(KIND, 'permits', permits);
    const opts = checkOptions<SimulatedRemoteOptions>(KIND, options, [
      'latency',
      'scheduler',
      'name',
      'bounded',
    ]);
    if (opts.latency === undefined) throw new TypeError(`${KIND}: options.latency is required`);
    const latency = checkCount(KIND, 'options.latency', opts.latency);
    const scheduler = checkScheduler(KIND, 'options.scheduler', opts.scheduler);
    const name = checkName(KIND, opts.name);
    if (opts.bounded !== undefined && typeof opts.bounded !== 'boolean') {
      throw new TypeError(`${KIND}: options.bounded must be a boolean`);
    }
    const backend = new SimulatedBackend(
      initial,
      opts.bounded === true,
      primitiveLabel(KIND, name),
      latency,
      scheduler ?? asyncScheduler,
    );
    super(backend, { scheduler, name });
    this.simulated = backend;
  }

  /**
   * The server fails every request it holds queued: each leaves the server's queue at once, and its
   * stream errors with {@link PermitBackendError} (carrying `cause`) `latency` ms later.
   *
   * @example
   * ```ts
   * remote.failPending(new Error('connection reset'));
   * ```
   *
   * @param cause What the backend reports as the reason.
   */
  failPending(cause?: unknown): void {
    this.simulated.failPending(cause);
  }

  /**
   * The server loses `lease` (it expired, say): its permits are freed on the server at once, and may
   * be granted to someone else at once; its holder's stream errors with {@link PermitLostError}
   * (`regrantable: true`) `latency` ms later. A lease already released or lost is left alone.
   *
   * @example
   * ```ts
   * usingLease(remote, (lease) => {
   *   remote.loseLease(lease);
   *   return NEVER;
   * }).subscribe({ error: (e) => console.log(e.name) }); // PermitLostError, latency ms later
   * ```
   *
   * @param lease A lease this semaphore granted.
   * @throws `TypeError` when `lease` is not a lease of this semaphore.
   */
  loseLease(lease: Lease): void {
    this.simulated.loseLease(lease);
  }
}

/** What the client knows of one request, and the server's handle on it. */
class SimulatedRequest implements PermitTicket {
  /** The server's ticket (and, once granted there, its lease). */
  serverTicket: PermitTicket | null = null;
  /** Told of its answer, or withdrawn: nothing more is delivered to it. */
  done = false;
  clientLease: SimulatedLease | null = null;

  constructor(
    private readonly backend: SimulatedBackend,
    readonly grantee: PermitGrantee,
  ) {}

  withdraw(reason?: 'timeout' | 'cancel'): boolean {
    if (this.done) return false;
    this.done = true;
    this.backend.forget(this, reason);
    return true;
  }
}

/**
 * A lease as the client holds it: releasing it frees the server's lease at once. Its signal aborts
 * when the client learns of its loss.
 */
class SimulatedLease extends LosableLease {
  lost = false;

  constructor(
    readonly server: Lease,
    readonly request: SimulatedRequest,
    private readonly backend: SimulatedBackend,
  ) {
    super();
  }

  get permits(): number {
    return this.server.permits;
  }

  get token(): number {
    return this.server.token;
  }

  get released(): boolean {
    return this.lost || this.server.released;
  }

  release(): void {
    if (this.lost) return;
    this.server.release();
    this.backend.report();
  }
}

class SimulatedBackend implements PermitBackend {
  private readonly server: SemaphoreCore;
  /** Requests the server holds (queued there, or granted there and not yet delivered). */
  private readonly pending = new Set<SimulatedRequest>();
  private readonly leases = new WeakSet<SimulatedLease>();
  /** The client's view: the server's value and queue length as last heard, `latency` ms old. */
  private heardValue: number;
  private heardWaiting = 0;
  /** Requests withdrawn (or timed out) while their grant was on its way: see {@link stats}. */
  private inFlightWithdrawn = 0;
  private inFlightTimedOut = 0;
  /** The server's value and queue length as last sent to the client (on their way for `latency` ms). */
  private reportedValue: number;
  private reportedWaiting = 0;
  private readonly loop = new GrantLoop(reportUnhandledError);
  private readonly watchers: ValueWatchers;

  constructor(
    permits: number,
    bounded: boolean,
    readonly name: string,
    private readonly latency: number,
    private readonly scheduler: SchedulerLike,
  ) {
    this.server = new SemaphoreCore(permits, bounded, name, reportUnhandledError, () => scheduler.now());
    this.heardValue = permits;
    this.reportedValue = permits;
    this.watchers = new ValueWatchers(permits, reportUnhandledError, () => this.heardValue);
  }

  get value(): number {
    return this.heardValue;
  }

  get waiting(): number {
    return this.heardWaiting;
  }

  get maxPermits(): number {
    return this.server.maxPermits;
  }

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const request = new SimulatedRequest(this, grantee);
    this.pending.add(request);
    request.serverTicket = this.server.request(demand, {
      grant: (lease) => this.deliverGrant(request, lease),
      refuse: (refusal) => this.deliverRefusal(request, refusal),
      fail: () => {},
      lose: () => {},
    });
    this.report();
    return request;
  }

  tryAcquire(permits: number): boolean {
    const taken = this.server.tryAcquire(permits);
    this.report();
    return taken;
  }

  release(permits: number): number {
    this.server.release(permits);
    this.report();
    return this.heardValue;
  }

  adjust(delta: number): number {
    this.server.adjust(delta);
    this.report();
    return this.heardValue;
  }

  /**
   * The server's counts, as the client sees them: a request withdrawn while its grant was on its
   * way was never granted to anyone, so it counts as withdrawn (or timed out), not as granted.
   */
  stats(): Omit<PermitStats, 'name'> {
    const server = this.server.stats();
    const { inFlightTimedOut: timedOut, inFlightWithdrawn: withdrawn } = this;
    return {
      ...server,
      value: this.heardValue,
      waiting: this.heardWaiting,
      granted: server.granted - timedOut - withdrawn,
      timedOut: server.timedOut + timedOut,
      withdrawn: server.withdrawn + withdrawn,
      waitMs: { ...server.waitMs, count: server.waitMs.count - timedOut - withdrawn },
    };
  }

  watchValue(listener: ValueListener): () => void {
    return this.watchers.watchValue(listener);
  }

  watchReady(listener: ReadyListener): () => void {
    return this.watchers.watchReady(listener);
  }

  /** The client withdrew: the server drops the request, or gives back what it already granted. */
  forget(request: SimulatedRequest, reason: 'timeout' | 'cancel' | undefined): void {
    this.pending.delete(request);
    if (request.clientLease !== null) {
      request.clientLease.server.release();
      if (reason === 'timeout') this.inFlightTimedOut++;
      else this.inFlightWithdrawn++;
    } else {
      request.serverTicket?.withdraw(reason);
    }
    this.report();
  }

  failPending(cause: unknown): void {
    for (const request of [...this.pending]) {
      if (request.clientLease !== null) continue; // granted on the server: it is on its way
      this.pending.delete(request);
      request.serverTicket?.withdraw('cancel');
      this.later(() => {
        if (request.done) return;
        request.done = true;
        request.grantee.fail(new PermitBackendError({ primitive: this.name, cause }));
      });
    }
    this.report();
  }

  loseLease(lease: Lease): void {
    if (!(lease instanceof SimulatedLease) || !this.leases.has(lease)) {
      throw new TypeError(`${this.name}.loseLease: not a lease of this semaphore`);
    }
    if (lease.released) return;
    lease.server.release();
    lease.lost = true;
    this.report();
    this.later(() => {
      const error = new PermitLostError({ primitive: this.name, token: lease.token, regrantable: true });
      lease.signalLoss(error);
      lease.request.grantee.lose(error);
    });
  }

  private deliverGrant(request: SimulatedRequest, serverLease: Lease): void {
    const lease = new SimulatedLease(serverLease, request, this);
    this.leases.add(lease);
    request.clientLease = lease;
    this.later(() => {
      this.pending.delete(request);
      if (request.done) return; // withdrawn meanwhile: forget() gave the permits back
      request.done = true;
      request.grantee.grant(lease);
    });
  }

  private deliverRefusal(request: SimulatedRequest, refusal: PermitRefusal): void {
    this.pending.delete(request);
    this.later(() => {
      if (request.done) return;
      request.done = true;
      request.grantee.refuse(refusal);
    });
  }

  /**
   * Sends the server's value and queue length to the client after a call that may have changed
   * them (a queued request or a hand-off changes the queue without changing the value).
   */
  report(): void {
    const value = this.server.value;
    const waiting = this.server.waiting;
    if (value === this.reportedValue && waiting === this.reportedWaiting) return;
    this.reportedValue = value;
    this.reportedWaiting = waiting;
    this.later(() => this.heard(value, waiting));
  }

  /** The client hears of the server's value (and queue length) `latency` ms after it changed. */
  private heard(value: number, waiting: number): void {
    this.heardValue = value;
    this.heardWaiting = waiting;
    this.watchers.settled(value, this.loop);
    this.loop.drain();
  }

  private later(work: () => void): void {
    this.scheduler.schedule(work, this.latency);
  }
}

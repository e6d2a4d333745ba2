import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SchedulerLike } from 'rxjs';
import { GrantLoop } from '../core/grant-loop.js';
import type {
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
import { StatsCounter } from '../core/stats.js';
import { ValueWatchers } from '../core/value-watchers.js';
import { OverReleaseError, PermitBackendError, PermitLostError } from '../errors.js';
import { reportUnhandledError } from '../internal/report-error.js';
import type { RedisConnection, Subscription } from './adapter.js';
import { SCRIPTS, keysOf, type Script } from './scripts.js';

/** What the backend is made with (checked by RedisSemaphore). */
export interface RedisBackendSettings {
  readonly name: string;
  readonly key: string;
  readonly permits: number;
  readonly leaseMs: number;
  readonly scheduler: SchedulerLike | undefined;
}

type Reply = (string | number | null)[];

/** A lost connection, a stalled server, a lost state: why requests fail or leases are lost. */
class RedisStateError extends Error {
  override readonly name = 'RedisStateError';
}

/** One request of this process: queued locally until the server's answer reaches it. */
class RedisRequest implements PermitTicket {
  /** Told of its answer, or withdrawn: nothing more is delivered to it. */
  done = false;
  /** Its enqueue script was sent: the server may know it. */
  sent = false;
  /** The server answered that it queued it. */
  queued = false;
  /** How many times its enqueue script was sent (it is sent again after a LOST or EXPIRED answer). */
  attempt = 0;

  constructor(
    private readonly backend: RedisBackend,
    readonly ticket: string,
    readonly demand: PermitDemand,
    readonly grantee: PermitGrantee,
    readonly queuedAt: number,
  ) {}

  withdraw(reason?: 'timeout' | 'cancel'): boolean {
    if (this.done) return false;
    this.done = true;
    this.backend.withdrawn(this, reason);
    return true;
  }
}

/**
 * A held grant: releasing it sends the release; the server hands the permits on. Its signal aborts
 * when it is lost.
 */
class RedisLease extends LosableLease {
  released = false;

  constructor(
    private readonly backend: RedisBackend,
    readonly ticket: string,
    public permits: number,
    readonly token: number,
    readonly grantee: PermitGrantee,
  ) {
    super();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.backend.releaseLease(this, 0);
  }
}

/**
 * The {@link PermitBackend} of `RedisSemaphore`: the queue and the permits live in Redis (see
 * scripts.ts); this process keeps its own requests and leases, a heartbeat that renews them, and a
 * subscriber connection on which the server pushes its grants.
 */
export class RedisBackend implements PermitBackend {
  readonly name: string;
  maxPermits: number;
  private readonly key: string;
  private readonly leaseMs: number;
  /** The permits this instance expects stored (the constructor's, moved by its own `adjust`). */
  private expected: number;
  /** The stored permits when they differ from `expected`: every request fails. */
  private mismatch: number | null = null;
  private readonly clientId = randomBytes(8).toString('hex');
  private ticketCount = 0;
  private readonly keys: string[];
  private readonly channel: string;
  private readonly channelPrefix: string;
  /** The epoch of the state this instance registered with; null until then. */
  private epoch: string | null = null;
  private starting: Promise<void> | null = null;
  /** Registered with the current state: requests are sent at once. */
  private registered = false;
  /**
   * Counts the resets (lost state, expired client): an answer LOST or EXPIRED to a command sent
   * before the last reset is stale (already handled), and must not reset again.
   */
  private generation = 0;
  private subscription: Subscription | null = null;
  private stopReconnect: (() => void) | null = null;
  private readonly requests = new Map<string, RedisRequest>();
  private readonly leases = new Map<string, RedisLease>();
  /** Tickets withdrawn or released whose message may not have reached the server: sent again. */
  private readonly orphans = new Map<string, number>();
  private heardValue: number;
  private heardWaiting = 0;
  private readonly counts: StatsCounter;
  private readonly watchers: ValueWatchers;
  private readonly loop = new GrantLoop(reportUnhandledError);
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatInFlight = false;
  /** performance.now() by which the leases must have been renewed; they are lost locally then. */
  private deadline = Infinity;
  private closed = false;
  private warnedPolicy = false;

  constructor(
    private readonly connection: RedisConnection,
    settings: RedisBackendSettings,
  ) {
    this.name = settings.name;
    this.key = settings.key;
    this.leaseMs = settings.leaseMs;
    this.expected = settings.permits;
    this.maxPermits = settings.permits;
    this.heardValue = settings.permits;
    const { keys, channelPrefix } = keysOf(settings.key);
    this.keys = keys;
    this.channelPrefix = channelPrefix;
    this.channel = channelPrefix + this.clientId;
    const scheduler = settings.scheduler;
    this.counts = new StatsCounter(scheduler ? () => scheduler.now() : () => Date.now());
    this.watchers = new ValueWatchers(settings.permits, reportUnhandledError, () => this.heardValue);
    this.stopReconnect = connection.onReconnect(() => this.reconcile());
    void this.start().catch(() => {});
  }

  get value(): number {
    return this.heardValue;
  }

  get waiting(): number {
    return this.heardWaiting;
  }

  // -------------------------------------------------------------------------------------------
  // Starting: the subscriber connection, the state, the heartbeat

  /** Registers with the server (once, or again after the state or the client was lost). */
  private start(): Promise<void> {
    return (this.starting ??= this.register().catch((error: unknown) => {
      this.starting = null; // the next request or heartbeat tries again
      throw error;
    }));
  }

  private async register(): Promise<void> {
    if (this.subscription === null) {
      this.subscription = await this.connection.subscribe(
        this.channel,
        (message) => this.pushed(message),
        () => this.reconcile(),
      );
      if (this.closed) {
        await this.subscription.close();
        return;
      }
      void this.checkPolicy();
    }
    // Every script cached before any request: a NOSCRIPT answer sends the script again behind the
    // commands sent meanwhile, out of order (a release arriving after the next request). A state
    // lost with the cache (a restart, a failover) registers again, and loads them again.
    await Promise.all(
      Object.values(SCRIPTS).map((script) =>
        this.connection.command(['SCRIPT', 'LOAD', script.source]).catch(() => {}),
      ),
    );
    const candidate = randomBytes(8).toString('hex');
    const sentAt = performance.now();
    const reply = await this.script(
      SCRIPTS.init,
      [candidate, String(this.expected), String(this.leaseMs)],
      true,
    );
    if (this.closed) return;
    const [, epoch, stored, free, waiting] = reply as [string, string, number, number, number];
    this.epoch = String(epoch);
    this.registered = true;
    this.mismatch = Number(stored) === this.expected ? null : Number(stored);
    this.renewed(sentAt);
    this.heard(Number(free), Number(waiting));
    this.scheduleHeartbeat();
  }

  /** Warns once when the server may evict keys: a semaphore's state must never be evicted. */
  private async checkPolicy(): Promise<void> {
    try {
      const reply = (await this.connection.command(['CONFIG', 'GET', 'maxmemory-policy'])) as unknown;
      const policy = Array.isArray(reply)
        ? String(reply[1])
        : reply !== null && typeof reply === 'object'
          ? String((reply as Record<string, unknown>)['maxmemory-policy'])
          : undefined;
      if (policy !== undefined && policy !== 'noeviction' && policy !== 'undefined' && !this.warnedPolicy) {
        this.warnedPolicy = true;
        process.emitWarning(
          `${this.name}: the Redis server's maxmemory-policy is ${policy}, not noeviction: ` +
            "it may evict the semaphore's keys, which RedisSemaphore then reports as a lost state",
          'RedisSemaphoreWarning',
        );
      }
    } catch {
      // CONFIG may be disabled (managed services): nothing to check
    }
  }

  /** Runs `script` with the epoch and the client id (EVALSHA, then EVAL when it is not cached). */
  private script(script: Script, args: string[], init = false): Promise<Reply> {
    const command = [
      'EVALSHA',
      script.sha,
      String(this.keys.length),
      ...this.keys,
      this.channelPrefix,
      init ? (args.shift() as string) : (this.epoch ?? ''),
      this.clientId,
      ...args,
    ];
    return (this.connection.command(command) as Promise<Reply>).catch((error: unknown) => {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      command[0] = 'EVAL';
      command[1] = script.source;
      return this.connection.command(command) as Promise<Reply>;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  request(demand: PermitDemand, grantee: PermitGrantee): PermitTicket {
    const request = new RedisRequest(
      this,
      `${this.clientId}:${++this.ticketCount}`,
      demand,
      grantee,
      this.counts.now(),
    );
    this.requests.set(request.ticket, request);
    void this.send(request);
    return request;
  }

  private async send(request: RedisRequest, again = false): Promise<void> {
    // Registered and well: sent in this call (the common case). Otherwise one turn later at least,
    // after the registration, so the grantee is never told inside `request`.
    if (!this.registered || this.closed || this.mismatch !== null) {
      if (this.closed) {
        await Promise.resolve();
        this.fail(request, new RedisStateError('the RedisSemaphore was closed'));
        return;
      }
      try {
        await this.start();
      } catch (error) {
        this.fail(request, error);
        return;
      }
    }
    if (request.done) return; // withdrawn before it was sent: the server never knew it
    if (this.mismatch !== null) {
      this.fail(request, this.mismatchError(this.mismatch));
      return;
    }
    const { permits, priority, maxWaiting } = request.demand;
    request.sent = true;
    request.attempt++;
    const generation = this.generation;
    let reply: Reply;
    try {
      reply = await this.script(SCRIPTS.enqueue, [
        String(this.expected),
        request.ticket,
        String(permits),
        String(-priority),
        maxWaiting === Infinity ? '-1' : String(maxWaiting),
      ]);
    } catch (error) {
      // The outcome is unknown: the request may be queued (or granted) on the server. Withdraw it there.
      this.orphans.set(request.ticket, 0);
      this.fail(request, error);
      return;
    }
    switch (reply[0]) {
      case 'G':
        this.heard(Number(reply[2]), Number(reply[3]));
        if (!request.done) this.granted(request, Number(reply[1]), true);
        else this.withdrawAnswered(request);
        return;
      case 'Q':
        request.queued = true;
        this.heard(Number(reply[1]), Number(reply[2]));
        this.counts.queued(Number(reply[2]));
        if (request.done) this.withdrawAnswered(request);
        return;
      case 'R':
        this.heard(Number(reply[3]), Number(reply[2]));
        this.refused(request, { reason: reply[1] as PermitRefusal['reason'], waiting: Number(reply[2]) });
        return;
      case 'MISMATCH':
        this.mismatch = Number(reply[1]);
        this.fail(request, this.mismatchError(this.mismatch));
        return;
      case 'LOST':
      case 'EXPIRED':
        // Refused before anything changed: nothing of it is on the server. Every request queued
        // before fails (the state they were queued in is gone); this one is sent again, once,
        // after this instance registers again.
        request.sent = false;
        if (generation === this.generation) this.failed(reply);
        if (again) this.fail(request, new RedisStateError(`Redis answered ${String(reply[0])} again`));
        else void this.send(request, true);
        return;
      default:
        this.failed(reply, request);
    }
  }

  private mismatchError(stored: number): RedisStateError {
    return new RedisStateError(
      `the key ${JSON.stringify(this.key)} stores ${stored} permits, but this RedisSemaphore was made ` +
        `with ${this.expected}; adjust() is how the stored count changes`,
    );
  }

  /** The grant reached this process (a script's answer, a pushed message, a heartbeat). */
  private granted(request: RedisRequest, token: number, atOnce: boolean): void {
    if (request.done) return;
    request.done = true;
    this.requests.delete(request.ticket);
    const lease = new RedisLease(this, request.ticket, request.demand.permits, token, request.grantee);
    this.leases.set(request.ticket, lease);
    if (atOnce) this.counts.grantedAfterQueue(0);
    else this.counts.grantedAfterQueue(Math.max(0, this.counts.now() - request.queuedAt));
    try {
      request.grantee.grant(lease);
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  private refused(request: RedisRequest, refusal: PermitRefusal): void {
    if (request.done) return;
    request.done = true;
    this.requests.delete(request.ticket);
    this.counts.rejected++;
    try {
      request.grantee.refuse(refusal);
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  /** Fails `request` with PermitBackendError (cause attached). */
  private fail(request: RedisRequest, cause: unknown): void {
    if (request.done) return;
    request.done = true;
    this.requests.delete(request.ticket);
    try {
      request.grantee.fail(new PermitBackendError({ primitive: this.name, cause }));
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  /** A script answered LOST or EXPIRED (or something unexpected): `request` fails, and all with it. */
  private failed(reply: Reply, request?: RedisRequest): void {
    if (reply[0] === 'LOST') {
      const cause = new RedisStateError(
        `the semaphore's state in Redis was lost (a restart without persistence, a failover, an eviction)`,
      );
      if (request) this.fail(request, cause);
      this.reset(cause, false);
    } else if (reply[0] === 'EXPIRED') {
      const cause = new RedisStateError(
        `this process did not renew its lease within ${this.leaseMs} ms: the server gave its permits back`,
      );
      if (request) this.fail(request, cause);
      this.reset(cause, true);
    } else if (request) {
      this.fail(request, new RedisStateError(`unexpected answer from Redis: ${JSON.stringify(reply)}`));
    }
  }

  /**
   * Everything this process held or queued on the server is gone (the state was lost, or this
   * client's lease expired and was reaped): leases are lost, requests fail; then it registers again.
   */
  private reset(cause: Error, sameState: boolean): void {
    this.generation++;
    this.loseAll(cause, false);
    // Requests still on their way get their own answer (LOST or EXPIRED: they are sent again).
    for (const request of [...this.requests.values()]) {
      if (request.queued) this.fail(request, cause);
    }
    this.orphans.clear();
    if (!sameState) this.epoch = null;
    this.registered = false;
    this.starting = null;
    if (!this.closed) void this.start().catch(() => {});
  }

  /** Every held lease is lost; `release`: tell the server too (it may still count them). */
  private loseAll(cause: Error, release: boolean): void {
    for (const lease of [...this.leases.values()]) {
      lease.released = true;
      this.leases.delete(lease.ticket);
      if (release) this.orphans.set(lease.ticket, 0);
      try {
        const error = new PermitLostError({
          primitive: this.name,
          token: lease.token,
          regrantable: true,
          cause,
        });
        lease.signalLoss(error);
        lease.grantee.lose(error);
      } catch (error) {
        reportUnhandledError(error);
      }
    }
  }

  /**
   * A request left before its answer (timeout, unsubscribe, abort). Its withdrawal is sent once
   * the server answered its enqueue: an enqueue that meets NOSCRIPT goes again as EVAL, after
   * anything sent meanwhile (a withdrawal sent at once ran first, and the permit stayed taken).
   */
  withdrawn(request: RedisRequest, reason: 'timeout' | 'cancel' | undefined): void {
    this.requests.delete(request.ticket);
    this.counts.left(reason);
    if (request.sent && request.queued) void this.sendRelease(request.ticket, 0);
  }

  /** The server granted or queued a request that left (or failed) while its enqueue was on its way. */
  private withdrawAnswered(request: RedisRequest): void {
    if (!this.leases.has(request.ticket)) void this.sendRelease(request.ticket, 0);
  }

  tryAcquire(): boolean {
    throw new TypeError(
      `${this.name}.tryAcquire: a Redis semaphore cannot answer synchronously; ` +
        'use acquire({ blocking: false }) or lease({ timeout: 0 }), which ask the server',
    );
  }

  /** Gives back `permits` held by this instance without a lease (acquire()): oldest grants first. */
  release(permits: number): number {
    let held = 0;
    for (const lease of this.leases.values()) held += lease.permits;
    if (permits > held) {
      throw new OverReleaseError({
        primitive: this.name,
        bound: this.expected,
        value: this.heardValue,
        permits,
      });
    }
    let left = permits;
    for (const lease of [...this.leases.values()]) {
      if (left === 0) break;
      const taken = Math.min(left, lease.permits);
      left -= taken;
      if (taken === lease.permits) {
        lease.released = true;
        this.releaseLease(lease, 0);
      } else {
        lease.permits -= taken;
        void this.sendRelease(lease.ticket, taken);
      }
    }
    return this.heardValue;
  }

  releaseLease(lease: RedisLease, permits: number): void {
    if (this.leases.get(lease.ticket) !== lease) return; // lost already
    this.leases.delete(lease.ticket);
    void this.sendRelease(lease.ticket, permits);
  }

  /** Sends a release (or withdrawal); if it may not have arrived, the heartbeat sends it again. */
  private async sendRelease(ticket: string, permits: number): Promise<void> {
    if (this.epoch === null) return;
    const generation = this.generation;
    try {
      const reply = await this.script(SCRIPTS.release, [ticket, String(permits)]);
      this.orphans.delete(ticket);
      if (reply[0] === 'W' || reply[0] === 'R' || reply[0] === 'N') {
        this.heard(Number(reply[1]), Number(reply[2]));
      } else if (generation === this.generation) {
        this.failed(reply);
      }
    } catch {
      if (permits === 0) this.orphans.set(ticket, 0);
      else this.orphans.set(ticket, (this.orphans.get(ticket) ?? 0) + permits);
    }
  }

  adjust(delta: number): number {
    if (delta === 0) return this.heardValue;
    if (this.mismatch !== null) {
      throw new PermitBackendError({ primitive: this.name, cause: this.mismatchError(this.mismatch) });
    }
    if (this.expected + delta < 0) {
      throw new RangeError(
        `${this.name}.adjust: ${delta} would leave ${this.expected + delta} permits stored, fewer than 0`,
      );
    }
    const before = this.expected;
    this.expected += delta;
    this.maxPermits = this.expected;
    this.heard(this.heardValue + delta, this.heardWaiting);
    void this.start()
      .then(() => this.script(SCRIPTS.adjust, [String(before), String(delta)]))
      .then((reply) => {
        if (reply[0] === 'OK') this.heard(Number(reply[1]), Number(reply[2]));
        else if (reply[0] === 'MISMATCH') this.mismatch = Number(reply[1]);
        else if (reply[0] === 'RANGE') {
          reportUnhandledError(
            new RangeError(`${this.name}.adjust: ${delta} would leave fewer than 0 permits`),
          );
        } else this.failed(reply);
      })
      .catch((error: unknown) =>
        reportUnhandledError(new PermitBackendError({ primitive: this.name, cause: error })),
      );
    return this.heardValue;
  }

  stats(): Omit<PermitStats, 'name'> {
    return this.counts.snapshot(this.heardValue, this.heardWaiting);
  }

  watchValue(listener: ValueListener): () => void {
    return this.watchers.watchValue(listener);
  }

  watchReady(listener: ReadyListener): () => void {
    return this.watchers.watchReady(listener);
  }

  /** The server's value and queue length, as one of its answers gave them. */
  private heard(value: number, waiting: number): void {
    if (this.closed) return;
    this.heardValue = value;
    this.heardWaiting = waiting;
    this.watchers.settled(value, this.loop);
    this.loop.drain();
  }

  // -------------------------------------------------------------------------------------------
  // Pushed grants, the heartbeat, the lease deadline

  /** A message on this client's channel: a hint, checked against the requests it names. */
  private pushed(message: string): void {
    const [kind, ticket, token] = message.split(' ');
    const request = this.requests.get(ticket ?? '');
    if (request === undefined || !request.sent) return;
    if (kind === 'g') this.granted(request, Number(token), false);
    else if (kind === 'n') this.refused(request, { reason: 'never', waiting: this.heardWaiting });
  }

  private scheduleHeartbeat(): void {
    if (this.closed || this.heartbeatTimer !== null) return;
    this.heartbeatTimer = setTimeout(
      () => {
        this.heartbeatTimer = null;
        void this.heartbeat();
      },
      Math.max(1, Math.floor(this.leaseMs / 3)),
    );
    this.heartbeatTimer.unref?.();
  }

  /** A reconnection: a pushed message may have been lost; ask now. */
  private reconcile(): void {
    if (this.closed) return;
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    void this.heartbeat();
  }

  /**
   * Renews this client's lease, and reconciles: each sent request and held lease is checked
   * against the server (a grant whose message was lost is taken, a lease the server no longer has
   * is lost), and releases that may not have arrived are sent again.
   */
  private async heartbeat(): Promise<void> {
    this.checkDeadline();
    if (this.closed) return;
    if (this.heartbeatInFlight) {
      this.scheduleHeartbeat();
      return;
    }
    this.heartbeatInFlight = true;
    try {
      if (this.epoch === null) {
        await this.start();
        return;
      }
      const asked = [...this.requests.values()].filter((request) => request.sent);
      const attempts = asked.map((request) => request.attempt);
      const held = [...this.leases.values()];
      const sentAt = performance.now();
      const generation = this.generation;
      const reply = await this.script(SCRIPTS.heartbeat, [
        String(this.leaseMs),
        ...asked.map((request) => request.ticket),
        ...held.map((lease) => lease.ticket),
      ]);
      if (reply[0] !== 'OK') {
        if (generation === this.generation) this.failed(reply);
        return;
      }
      this.renewed(sentAt);
      const stored = Number(reply[3]);
      this.mismatch = stored === this.expected ? null : stored;
      this.heard(Number(reply[1]), Number(reply[2]));
      asked.forEach((request, index) => {
        const state = String(reply[4 + index]);
        // Sent again since (its first enqueue met a lost state): this answer is about the old one.
        if (request.done || state === 'q' || request.attempt !== attempts[index]) return;
        if (state === 'x') {
          // Not queued yet: its enqueue, unanswered, may be on its way again as EVAL (NOSCRIPT).
          if (!request.queued) return;
          this.fail(request, new RedisStateError('the request is no longer queued in Redis'));
        } else {
          this.granted(request, Number(state), false);
        }
      });
      held.forEach((lease, index) => {
        if (String(reply[4 + asked.length + index]) !== 'x' || this.leases.get(lease.ticket) !== lease)
          return;
        this.leases.delete(lease.ticket);
        lease.released = true;
        const error = new PermitLostError({ primitive: this.name, token: lease.token, regrantable: true });
        lease.signalLoss(error);
        lease.grantee.lose(error);
      });
      for (const [ticket, permits] of [...this.orphans]) {
        this.orphans.delete(ticket);
        void this.sendRelease(ticket, permits);
      }
    } catch {
      // unreachable: the deadline loses the leases in time; the next heartbeat tries again
    } finally {
      this.heartbeatInFlight = false;
      this.scheduleHeartbeat();
    }
  }

  /**
   * The server renewed this client's lease from (at the latest) `sentAt`: it holds until
   * `sentAt + leaseMs` in this process's time; the leases are given up locally a sixth of it earlier.
   */
  private renewed(sentAt: number): void {
    const deadline = sentAt + (this.leaseMs * 5) / 6;
    if (deadline <= this.deadline && this.deadline !== Infinity) return;
    this.deadline = deadline;
    this.armDeadline();
  }

  private armDeadline(): void {
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    // Timers run on a millisecond clock and may fire a fraction of a millisecond early: +1.
    this.deadlineTimer = setTimeout(
      () => {
        this.deadlineTimer = null;
        if (performance.now() < this.deadline) this.armDeadline();
        else this.checkDeadline();
      },
      Math.max(0, this.deadline - performance.now()) + 1,
    );
    this.deadlineTimer.unref?.();
  }

  /** Loses every held lease when they could not be renewed in time. */
  private checkDeadline(): void {
    if (performance.now() < this.deadline || this.leases.size === 0) return;
    this.loseAll(
      new RedisStateError(`the leases could not be renewed within ${this.leaseMs} ms (Redis unreachable?)`),
      true,
    );
  }

  // -------------------------------------------------------------------------------------------

  /** Withdraws and releases everything of this instance, stops its timers and its connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    const closedCause = new RedisStateError('the RedisSemaphore was closed');
    for (const request of [...this.requests.values()]) this.fail(request, closedCause);
    // Released quietly: the close script gives them back (a shutdown is no loss to report).
    for (const lease of this.leases.values()) lease.released = true;
    this.leases.clear();
    this.closed = true;
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.heartbeatTimer = this.deadlineTimer = null;
    this.stopReconnect?.();
    this.stopReconnect = null;
    try {
      await this.starting;
    } catch {
      // never registered: nothing to withdraw
    }
    try {
      if (this.epoch !== null) await this.script(SCRIPTS.close, []);
    } finally {
      const subscription = this.subscription;
      this.subscription = null;
      await subscription?.close();
    }
  }
}

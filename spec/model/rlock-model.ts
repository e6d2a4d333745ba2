import { ModelClock } from './clock.js';
import {
  appliesTo,
  countGrant,
  emptyStats,
  isModelWaiting,
  modelActionable,
  openModelRequest,
  performOn,
  resolveTarget,
  queueIndex,
  type ModelEntry,
  type ModelStats,
  SRC_DEVIATIONS,
} from './shared.js';

/**
 * The reference model of an `RLock` (SPEC §2 rule 15, with rules 3-9 and 12 as they apply to a
 * lock, and §5 rules 19 and 21): one owner at a time and its recursion count; the owner re-enters
 * at once; other owners' requests wait in one queue ordered by (priority desc, arrival); when the
 * lock is freed, the owner of the first queued request in that order takes it and all its queued
 * requests are granted together (they would re-enter anyway), told in queue order, so an owner's
 * place is that of its first request still queued in queue order (settled details of §2 and §5); a
 * release by anyone but the owner throws and changes nothing. Grants are announced from one
 * trampoline, as for the semaphore (see semaphore-model.ts), and counted in `stats()` the same way:
 * a re-entry (also the one a gated source makes through its own `reentrant(lock)`) is a grant with a
 * wait of 0.
 */

export type OwnerName = 'A' | 'B' | 'C';

/** What can be done to a named request (or, for `acquire`, under a free name). */
export type LockAction = 'release' | 'unsubscribe' | 'complete' | 'error' | 'cut' | 'acquire';

/** Something an `acquire()` observer does as soon as it is granted; `owner` is for `acquire`. */
export interface LockReaction {
  readonly action: LockAction;
  readonly target: string;
  readonly owner: OwnerName;
}

/** The plain request `acquire` actions make: blocking, no timeout. */
export function plainLockAcquire(name: string, owner: OwnerName): LockRequestSpec {
  return {
    name,
    owner,
    kind: 'acquire',
    timeout: null,
    blocking: true,
    atOnce: false,
    fallback: false,
    then: null,
    priority: 0,
  };
}

export interface LockRequestSpec {
  readonly name: string;
  readonly owner: OwnerName;
  readonly kind: 'acquire' | 'tryAcquire' | 'gate';
  /** `null`: wait for ever; `<= 0`: do not wait. */
  readonly timeout: number | null;
  /** acquire: `blocking` option. */
  readonly blocking: boolean;
  /** acquire: the observer releases as soon as it sees `true`; gate: the source (which re-enters
   * the lock itself, with an inferred owner) completes synchronously. */
  readonly atOnce: boolean;
  /** gate: a `with` fallback. */
  readonly fallback: boolean;
  /** acquire: what its observer does when granted (from inside the grant). */
  readonly then: LockReaction | null;
  /** Rule 19: a waiting owner's request of higher priority is served first; 0 by default. */
  readonly priority: number;
}

/** A request; `state` `closing`: withdrawn by its timeout, its subscriber not yet told. */
export interface LockModelRequest extends ModelEntry<LockRequestSpec> {
  /** When it joined the queue (for `stats().waitMs`); unset when it never queued. */
  queuedAt?: number;
}

export class RLockModel {
  owner: OwnerName | null = null;
  count = 0;
  /** Every queued request, in serving order: by priority (higher first), then as they came. */
  readonly queue: LockModelRequest[] = [];
  readonly stats: ModelStats = emptyStats(1);
  readonly requests = new Map<string, LockModelRequest>();
  readonly clock = new ModelClock();
  readonly events: string[] = [];
  readonly valueLog: number[] = [];
  listeners = 0;
  step = 0;

  private jobs: Array<() => void> = [];
  private running = false;
  private announced = 1;
  private seq = 0;

  get value(): number {
    return this.owner === null ? 1 : 0;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** What `stats()` must return now (but `name`). */
  snapshot(): ModelStats {
    return { ...this.stats, value: this.value, waiting: this.waiting, waitMs: { ...this.stats.waitMs } };
  }

  live(name: string): LockModelRequest | undefined {
    const request = this.requests.get(name);
    return request !== undefined && request.state !== 'done' ? request : undefined;
  }

  // ------------------------------------------------------------------------------------------

  private settle(): void {
    if (this.value !== this.announced) {
      this.announced = this.value;
      this.valueLog.push(this.value);
    }
    this.drain();
  }

  private drain(): void {
    if (this.running) return;
    this.running = true;
    try {
      let job: (() => void) | undefined;
      while ((job = this.jobs.shift()) !== undefined) job();
    } finally {
      this.running = false;
    }
  }

  /** The owner re-enters, or takes the free lock (never free while anyone is queued). */
  private takeNow(owner: OwnerName): boolean {
    if (this.owner === owner) {
      this.count++;
      return true;
    }
    if (this.owner !== null || this.queue.length > 0) return false;
    this.owner = owner;
    this.count = 1;
    return true;
  }

  private enqueue(request: LockModelRequest): void {
    request.state = 'queued';
    request.queuedAt = this.clock.now;
    this.queue.splice(queueIndex(this.queue, request.spec.priority), 0, request);
    if (this.queue.length > this.stats.peakWaiting) this.stats.peakWaiting = this.queue.length;
  }

  /**
   * Grants `request` now (a re-entry, or the lock free: rule 5), queues it, or — when it may not
   * wait (`blocking: false`, `timeout <= 0`) — refuses it (`'refused'`, counted as rejected).
   */
  private request(request: LockModelRequest, mayWait: boolean): 'granted' | 'queued' | 'refused' {
    const { owner } = request.spec;
    if (this.takeNow(owner)) {
      if (this.value !== this.announced) {
        this.announced = this.value;
        this.valueLog.push(this.value);
      }
      const outermost = !this.running;
      this.running = true;
      try {
        this.granted(request);
      } finally {
        if (outermost) {
          this.running = false;
          this.drain();
        }
      }
      return 'granted';
    }
    if (!mayWait) {
      request.state = 'closing';
      this.stats.rejected++;
      return 'refused';
    }
    this.enqueue(request);
    return 'queued';
  }

  /** `lock.release(owner)`; throws 'LockOwnershipError' when `owner` does not hold the lock. */
  release(owner: OwnerName): void {
    if (owner !== this.owner) throw new Error('LockOwnershipError');
    this.leaveOnce();
  }

  private leaveOnce(): void {
    if (--this.count === 0) {
      this.owner = null;
      const head = this.queue[0];
      if (head !== undefined) {
        const next = head.spec.owner;
        this.owner = next;
        const theirs = this.queue.filter((request) => request.spec.owner === next);
        if (SRC_DEVIATIONS.lockOwnerRequestsToldInArrivalOrder) theirs.sort((a, b) => a.seq - b.seq);
        this.queue.splice(
          0,
          this.queue.length,
          ...this.queue.filter((request) => request.spec.owner !== next),
        );
        for (const request of theirs) {
          this.count++;
          request.state = 'assigned';
          this.jobs.push(() => {
            if (request.state === 'assigned') this.granted(request);
          });
        }
      }
    }
    this.settle();
  }

  private withdraw(
    request: LockModelRequest,
    final: LockModelRequest['state'] = 'done',
    reason: 'timeout' | 'cancel' = 'cancel',
  ): boolean {
    request.timer?.cancel();
    request.timer = null;
    if (request.state === 'queued' || request.state === 'assigned') {
      if (reason === 'timeout') this.stats.timedOut++;
      else this.stats.withdrawn++;
    }
    if (request.state === 'queued') {
      this.queue.splice(this.queue.indexOf(request), 1);
      request.state = final;
      return true;
    }
    if (request.state === 'assigned') {
      request.state = final;
      this.leaveOnce();
      return true;
    }
    return false;
  }

  private granted(request: LockModelRequest): void {
    const { spec } = request;
    countGrant(this.stats, request.queuedAt === undefined ? 0 : this.clock.now - request.queuedAt);
    request.state = 'holding';
    request.timer?.cancel();
    request.timer = null;
    if (spec.kind === 'gate') {
      this.events.push(`${spec.name}: source subscribed`);
      if (spec.atOnce) {
        // The source's own reentrant(lock) re-enters (count + 1, then - 1): nothing to see but a
        // grant in the statistics.
        countGrant(this.stats, 0);
        this.events.push(`${spec.name}: next ${spec.name}1`);
        request.state = 'done';
        this.release(spec.owner);
        this.events.push(`${spec.name}: complete`);
      }
      return;
    }
    this.sawTrue(request);
  }

  /** An `acquire()` observer sees `true`: its owner holds one more level, and it reacts. */
  private sawTrue(request: LockModelRequest): void {
    const { spec } = request;
    request.state = 'holding';
    this.events.push(`${spec.name}: true`);
    const then = spec.then;
    const target = then === null ? null : this.resolve(request, then.target);
    if (target !== null && this.can(target, then!.action)) this.perform(target, then!.action, then!.owner);
    if (spec.atOnce && request.state === 'holding') {
      request.state = 'done';
      this.release(spec.owner);
    }
  }

  /** The name `target` designates for `request`'s reaction (see SemaphoreModel.resolve). */
  private resolve(request: LockModelRequest, target: string): string | null {
    return resolveTarget(target, request, this.requests.values(), this.clock.now, isModelWaiting);
  }

  /** Whether `action` applies to `name` now (see SemaphoreModel.can). */
  can(name: string, action: LockAction): boolean {
    const request = this.live(name);
    if (action === 'acquire') return request === undefined;
    if (!modelActionable(request, this.clock.now)) return false;
    const { kind, atOnce } = request.spec;
    return appliesTo(action, kind, atOnce, request.state === 'holding', isModelWaiting(request));
  }

  perform(name: string, action: LockAction, owner: OwnerName): void {
    performOn(this, name, action, () => this.acquire(plainLockAcquire(name, owner)));
  }

  // ------------------------------------------------------------------------------------------

  private open(spec: LockRequestSpec): LockModelRequest {
    const request: LockModelRequest = openModelRequest(spec, ++this.seq, this.clock.now);
    this.requests.set(spec.name, request);
    return request;
  }

  acquire(spec: LockRequestSpec): void {
    const request = this.open(spec);
    try {
      if (spec.kind === 'tryAcquire') {
        const ok = this.takeNow(spec.owner);
        if (ok) {
          countGrant(this.stats, 0);
          this.settle();
        } else this.stats.rejected++;
        request.state = ok ? 'holding' : 'done';
        return;
      }
      const mayWait = spec.blocking && (spec.timeout === null || spec.timeout > 0);
      const outcome = this.request(request, mayWait);
      if (outcome === 'granted') return;
      if (outcome === 'refused') {
        request.state = 'done';
        this.events.push(`${spec.name}: false`);
        return;
      }
      if (spec.timeout !== null) {
        request.timer = this.clock.schedule(spec.timeout, () => {
          request.timer = null;
          if (this.withdraw(request, 'closing', 'timeout')) {
            request.state = 'done';
            this.events.push(`${spec.name}: false`);
          }
        });
      }
    } finally {
      request.settling = false;
    }
  }

  gate(spec: LockRequestSpec): void {
    const request = this.open(spec);
    try {
      const outcome = this.request(request, spec.timeout === null || spec.timeout > 0);
      if (outcome === 'granted') return;
      if (outcome === 'refused') {
        this.fail(request);
        return;
      }
      if (spec.timeout === null) return;
      request.timer = this.clock.schedule(spec.timeout, () => {
        request.timer = null;
        if (this.withdraw(request, 'closing', 'timeout')) this.fail(request);
      });
    } finally {
      request.settling = false;
    }
  }

  private fail(request: LockModelRequest): void {
    const { name } = request.spec;
    request.state = 'done';
    if (request.spec.fallback) {
      this.events.push(`${name}: next fallback for PermitTimeoutError`, `${name}: complete`);
    } else {
      this.events.push(`${name}: error PermitTimeoutError`);
    }
  }

  releaseHeld(name: string): void {
    const request = this.live(name)!;
    request.state = 'done';
    this.release(request.spec.owner);
  }

  unsubscribe(name: string): void {
    this.withdraw(this.live(name)!);
  }

  finish(name: string, how: 'complete' | 'error'): void {
    const request = this.live(name)!;
    request.state = 'done';
    this.release(request.spec.owner);
    this.events.push(how === 'complete' ? `${name}: complete` : `${name}: error TestError ${name}`);
  }

  cut(name: string): void {
    const request = this.live(name)!;
    if (request.state === 'holding') {
      request.state = 'done';
      this.release(request.spec.owner);
    } else {
      this.withdraw(request);
    }
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }
}

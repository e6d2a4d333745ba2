import fc from 'fast-check';
import { Observable, VirtualTimeScheduler, defer, of, type Subscriber, type Subscription } from 'rxjs';
import { LockOwnershipError, PermitTimeoutError, RLock, reentrant } from '../../src/index.js';
import { during, holds, same, throwsA } from './check.js';
import { advanceScheduler } from './clock.js';
import {
  NEXT_WAITING,
  RLockModel,
  plainLockAcquire,
  type LockAction,
  type LockReaction,
  type LockRequestSpec,
  type LockRequestState,
  type OwnerName,
} from './rlock-model.js';
import { TestError } from './semaphore-commands.js';

/**
 * The real side of the RLock model-based test, and its fast-check commands (see
 * semaphore-commands.ts for the approach). Owners are three objects, A, B and C; a gated stream
 * names its owner explicitly, and a gated source that completes at once re-enters the lock itself
 * through a nested `reentrant(lock)` whose owner is inferred from the subscription chain.
 */

type HandleState = 'waiting' | 'holding' | 'done';

interface Handle {
  readonly spec: LockRequestSpec;
  readonly seq: number;
  readonly deadline: number;
  state: HandleState;
  /** Inside its own subscribe call. */
  settling: boolean;
  /** Its subscriber saw complete or error. */
  notified: boolean;
  subscription: Subscription | null;
  source: Subscriber<string> | null;
  tornDown: boolean;
}

export class RLockWorld {
  readonly scheduler = new VirtualTimeScheduler();
  readonly lock = new RLock({ scheduler: this.scheduler });
  readonly owners: Record<OwnerName, { readonly name: OwnerName }> = {
    A: { name: 'A' },
    B: { name: 'B' },
    C: { name: 'C' },
  };
  readonly handles = new Map<string, Handle>();
  readonly events: string[] = [];
  readonly valueLog: number[] = [];
  readonly problems: string[] = [];
  readonly listeners: Array<{ id: number; last: number | undefined }> = [];
  private seq = 0;

  constructor() {
    let first = true;
    this.lock.subscribe((value) => {
      if (first) first = false;
      else this.valueLog.push(value);
    });
  }

  ownerName(owner: object | null): OwnerName | null {
    if (owner === null) return null;
    for (const name of ['A', 'B', 'C'] as const) if (this.owners[name] === owner) return name;
    return `stranger ${String((owner as { name?: unknown }).name)}` as OwnerName;
  }

  private open(spec: LockRequestSpec): Handle {
    const handle: Handle = {
      spec,
      seq: ++this.seq,
      deadline:
        spec.kind !== 'tryAcquire' && spec.timeout !== null && spec.timeout > 0
          ? this.scheduler.now() + spec.timeout
          : Infinity,
      state: 'waiting',
      settling: true,
      notified: false,
      subscription: null,
      source: null,
      tornDown: false,
    };
    this.handles.set(spec.name, handle);
    this.noteWaiting(spec.owner);
    return handle;
  }

  /** Levels held by `owner`, as its subscribers saw them. */
  heldBy(owner: OwnerName): number {
    let held = 0;
    for (const handle of this.handles.values())
      if (handle.state === 'holding' && handle.spec.owner === owner) held++;
    return held;
  }

  /**
   * The owner whose turn it is, as the grants seen so far tell; reset when the lock is seen free.
   * A grant to another owner starts a new turn.
   */
  turnOwner: OwnerName | null = null;
  /** For each owner with requests waiting, the seq of the request that began its wait. */
  private readonly waitingSince = new Map<OwnerName, number>();

  private waitingHandlesOf(owner: OwnerName): Handle[] {
    return [...this.handles.values()].filter(
      (handle) => handle.state === 'waiting' && handle.spec.owner === owner,
    );
  }

  /** Keeps {@link waitingSince} up to date after `owner`'s handles changed state. */
  private noteWaiting(owner: OwnerName): void {
    const waiting = this.waitingHandlesOf(owner);
    if (waiting.length === 0) this.waitingSince.delete(owner);
    else if (!this.waitingSince.has(owner))
      this.waitingSince.set(owner, Math.min(...waiting.map((handle) => handle.seq)));
  }

  private setState(handle: Handle, state: HandleState): void {
    handle.state = state;
    this.noteWaiting(handle.spec.owner);
  }

  /**
   * FIFO of owners, checked without the model: an owner whose turn begins must have begun waiting
   * before every other owner still waiting (unless that one is timing out right now).
   */
  private granted(handle: Handle, what: string): void {
    const { name, owner } = handle.spec;
    if (handle.state !== 'waiting') this.problems.push(`${name}: ${what} while ${handle.state}`);
    if (this.lock.owner !== this.owners[owner]) {
      this.problems.push(`${name}: ${what} but the lock is held by ${this.ownerName(this.lock.owner)}`);
    }
    if (this.turnOwner !== owner) {
      const since = this.waitingSince.get(owner) ?? handle.seq;
      for (const [other, otherSince] of this.waitingSince) {
        if (other === owner || otherSince > since) continue;
        const live = this.waitingHandlesOf(other).filter(
          (candidate) => candidate.deadline > this.scheduler.now(),
        );
        if (live.length > 0) {
          this.problems.push(
            `${name}: ${what} for ${owner} (waiting since request #${since}) while ${other}, waiting since #${otherSince}, still waits`,
          );
        }
      }
      this.turnOwner = owner;
    }
    this.setState(handle, 'holding');
  }

  /** After every step: the turn ends when the lock is free. */
  settleTurn(): void {
    if (this.lock.owner === null) this.turnOwner = null;
    for (const owner of ['A', 'B', 'C'] as const) this.noteWaiting(owner);
  }

  acquire(spec: LockRequestSpec): void {
    const handle = this.open(spec);
    const { name } = spec;
    const owner = this.owners[spec.owner];
    const options: { timeout: number | null; blocking?: boolean } = { timeout: spec.timeout };
    if (!spec.blocking) options.blocking = false;
    let emitted = 0;
    this.afterSubscribe(handle, () =>
      this.lock.acquire(owner, options).subscribe({
        next: (ok) => {
          emitted++;
          this.events.push(`${name}: ${ok}`);
          if (!ok) {
            if (handle.state !== 'waiting') this.problems.push(`${name}: false while ${handle.state}`);
            this.setState(handle, 'done');
            return;
          }
          this.granted(handle, 'granted');
          try {
            const then = spec.then;
            const target = then === null ? null : this.resolve(handle, then.target);
            if (target !== null && this.can(target, then!.action))
              this.perform(target, then!.action, then!.owner);
            if (spec.atOnce && handle.state === 'holding') {
              this.setState(handle, 'done');
              this.lock.release(owner);
            }
          } catch (error) {
            this.problems.push(`${name}: its observer threw ${String(error)}`);
          }
        },
        error: (error: unknown) => this.problems.push(`${name}: acquire() errored: ${String(error)}`),
        complete: () => {
          if (emitted !== 1) this.problems.push(`${name}: acquire() completed after ${emitted} values`);
        },
      }),
    );
  }

  private afterSubscribe(handle: Handle, subscribe: () => Subscription): void {
    try {
      handle.subscription = subscribe();
    } finally {
      handle.settling = false;
    }
  }

  tryAcquire(spec: LockRequestSpec): void {
    const handle = this.open(spec);
    if (this.lock.tryAcquire(this.owners[spec.owner])) this.granted(handle, 'tryAcquire succeeded');
    else this.setState(handle, 'done');
    handle.settling = false;
  }

  /** The name a reaction's `target` designates (the same rule as RLockModel.resolve). */
  private resolve(handle: Handle, target: string): string | null {
    if (target !== NEXT_WAITING) return target;
    let next: Handle | null = null;
    for (const other of this.handles.values()) {
      if (other.state !== 'waiting' || other.settling || other.deadline <= this.scheduler.now()) continue;
      if (other.seq <= handle.seq) continue;
      if (next === null || other.seq < next.seq) next = other;
    }
    return next === null ? null : next.spec.name;
  }

  /** Whether `action` applies to `name` now (the same rule as RLockModel.can, from what was seen). */
  can(name: string, action: LockAction): boolean {
    const handle = this.handles.get(name);
    if (action === 'acquire') return handle === undefined || handle.state === 'done';
    if (handle === undefined || handle.state === 'done' || handle.settling) return false;
    if (handle.state === 'waiting' && handle.deadline <= this.scheduler.now()) return false;
    const { kind, atOnce } = handle.spec;
    switch (action) {
      case 'release':
        return kind !== 'gate' && handle.state === 'holding';
      case 'unsubscribe':
        return kind === 'acquire' && handle.state === 'waiting';
      case 'cut':
        return kind === 'gate';
      default:
        return kind === 'gate' && handle.state === 'holding' && !atOnce;
    }
  }

  perform(name: string, action: LockAction, owner: OwnerName): void {
    switch (action) {
      case 'release':
        this.releaseHeld(name);
        return;
      case 'unsubscribe':
        this.unsubscribe(name);
        return;
      case 'cut':
        this.cut(name);
        return;
      case 'acquire':
        this.acquire(plainLockAcquire(name, owner));
        return;
      default:
        this.finish(name, action);
    }
  }

  gate(spec: LockRequestSpec): void {
    const handle = this.open(spec);
    const { name } = spec;
    const lock = this.lock;
    const source = new Observable<string>((subscriber) => {
      this.granted(handle, 'source subscribed');
      this.events.push(`${name}: source subscribed`);
      if (spec.atOnce) {
        // Re-enters with an inferred owner: must not wait for itself.
        const count = lock.count;
        return defer(() => {
          if (lock.count !== count + 1) this.problems.push(`${name}: nested reentrant did not re-enter`);
          return of(`${name}1`);
        })
          .pipe(reentrant(lock))
          .subscribe(subscriber);
      }
      handle.source = subscriber;
      return () => {
        handle.tornDown = true;
      };
    });
    this.afterSubscribe(handle, () =>
      source
        .pipe(
          reentrant(lock, {
            owner: this.owners[spec.owner],
            timeout: spec.timeout,
            with: spec.fallback ? (error) => of(`fallback for ${error.name}`) : undefined,
          }),
        )
        .subscribe({
          next: (value) => this.events.push(`${name}: next ${value}`),
          error: (error: unknown) => {
            handle.notified = true;
            this.setState(handle, 'done');
            if (error instanceof TestError) this.events.push(`${name}: error TestError ${error.message}`);
            else this.events.push(`${name}: error ${error instanceof Error ? error.name : String(error)}`);
            if (error instanceof TestError && error.message !== name) {
              this.problems.push(`${name}: received ${error.message}'s error`);
            }
            if (
              error instanceof PermitTimeoutError &&
              (error.timeout !== spec.timeout || error.primitive !== 'RLock')
            ) {
              this.problems.push(`${name}: ${error.message} does not match the request`);
            }
          },
          complete: () => {
            handle.notified = true;
            this.setState(handle, 'done');
            this.events.push(`${name}: complete`);
          },
        }),
    );
  }

  releaseHeld(name: string): void {
    const handle = this.handles.get(name)!;
    this.setState(handle, 'done');
    this.lock.release(this.owners[handle.spec.owner]);
  }

  unsubscribe(name: string): void {
    const handle = this.handles.get(name)!;
    this.setState(handle, 'done');
    handle.subscription!.unsubscribe();
  }

  finish(name: string, how: 'complete' | 'error'): void {
    const handle = this.handles.get(name)!;
    const source = handle.source!;
    // Done from now on: the grants its release makes run before its subscriber is told (rule 8).
    this.setState(handle, 'done');
    if (how === 'complete') source.complete();
    else source.error(new TestError(name));
    if (!handle.tornDown) this.problems.push(`${name}: source not torn down after ${how}`);
    if (!handle.notified && !handle.subscription!.closed) {
      this.problems.push(`${name}: ${how} did not reach the subscriber`);
    }
  }

  cut(name: string): void {
    const handle = this.handles.get(name)!;
    this.setState(handle, 'done');
    handle.subscription!.unsubscribe();
  }

  advance(ms: number): void {
    advanceScheduler(this.scheduler, ms);
  }

  subscribeValue(): void {
    const listener = { id: this.listeners.length + 1, last: undefined as number | undefined };
    this.listeners.push(listener);
    this.lock.subscribe((value) => {
      listener.last = value;
    });
  }

  get waiting(): number {
    let waiting = 0;
    for (const handle of this.handles.values()) if (handle.state === 'waiting') waiting++;
    return waiting;
  }
}

const STATE_SEEN: Record<LockRequestState, HandleState> = {
  queued: 'waiting',
  assigned: 'waiting',
  holding: 'holding',
  closing: 'waiting',
  done: 'done',
};

export function compareLockWorlds(model: RLockModel, real: RLockWorld): void {
  const lock = real.lock;
  const owner = real.ownerName(lock.owner);
  // Invariants, from the real system alone.
  real.settleTurn();
  same(real.problems.splice(0), [], 'problems seen by subscribers');
  holds(Number.isInteger(lock.count) && lock.count >= 0, `count ${lock.count} is negative`);
  same(lock.locked(), lock.count > 0, 'locked()');
  same(owner === null, lock.count === 0, 'owner is null exactly when count is 0');
  for (const name of ['A', 'B', 'C'] as const) {
    const held = real.heldBy(name);
    if (name === owner) same(held, lock.count, `levels held by the owner ${name} vs count`);
    else same(held, 0, `levels held by ${name}, which does not own the lock`);
    same(lock.isOwnedBy(real.owners[name]), name === owner, `isOwnedBy(${name})`);
  }
  same(lock.waiting, real.waiting, 'lock.waiting vs requests still waiting');
  for (const listener of real.listeners)
    same(listener.last, owner === null ? 1 : 0, `value seen by subscriber #${listener.id}`);
  // Against the reference model.
  same(real.events.splice(0), model.events.splice(0), 'notifications');
  same(real.valueLog.splice(0), model.valueLog.splice(0), 'lock observable emissions');
  same(owner, model.owner, 'owner');
  same(lock.count, model.count, 'count');
  same(lock.waiting, model.waiting, 'waiting');
  for (const [name, request] of model.requests) {
    same(real.handles.get(name)?.state, STATE_SEEN[request.state], `state of ${name}`);
  }
  same(real.scheduler.actions.length, model.clock.pending, 'timers scheduled');
}

// ----------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.Command<RLockModel, RLockWorld>;

abstract class Step implements Cmd {
  abstract check(model: Readonly<RLockModel>): boolean;
  protected abstract apply(model: RLockModel, real: RLockWorld): void;
  abstract toString(): string;

  run(model: RLockModel, real: RLockWorld): void {
    const label = `step ${++model.step} (${this.toString()})`;
    during(label, () => {
      this.apply(model, real);
      compareLockWorlds(model, real);
    });
  }
}

function optionsText(spec: LockRequestSpec, extra: string[]): string {
  const parts = [...extra];
  if (!spec.blocking) parts.push('blocking: false');
  if (spec.timeout !== null) parts.push(`timeout: ${spec.timeout}`);
  if (spec.fallback) parts.push('with: fallback');
  return parts.length === 0 ? '' : `{ ${parts.join(', ')} }`;
}

class AcquireStep extends Step {
  constructor(readonly spec: LockRequestSpec) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    return model.live(this.spec.name) === undefined;
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.acquire(this.spec);
    if (this.spec.kind === 'tryAcquire') real.tryAcquire(this.spec);
    else real.acquire(this.spec);
  }
  toString(): string {
    const { name, owner, kind } = this.spec;
    if (kind === 'tryAcquire') return `${name} = tryAcquire(${owner})`;
    const options = optionsText(this.spec, []);
    const reactions: string[] = [];
    if (this.spec.then !== null)
      reactions.push(actionText(this.spec.then.target, this.spec.then.action, this.spec.then.owner));
    if (this.spec.atOnce) reactions.push(`release`);
    const then = reactions.length === 0 ? '' : `, when granted: ${reactions.join(', then ')}`;
    return `${name} = acquire(${owner}${options === '' ? '' : `, ${options}`})${then}`;
  }
}

class GateStep extends Step {
  constructor(readonly spec: LockRequestSpec) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    return model.live(this.spec.name) === undefined;
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.gate(this.spec);
    real.gate(this.spec);
  }
  toString(): string {
    const source = this.spec.atOnce
      ? `of('${this.spec.name}1') re-entering through reentrant(lock)`
      : 'open source';
    return `${this.spec.name} = ${source} through reentrant(lock, ${optionsText(this.spec, [`owner: ${this.spec.owner}`])})`;
  }
}

class ReleaseStep extends Step {
  constructor(readonly name: string) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    const request = model.live(this.name);
    return request !== undefined && request.spec.kind !== 'gate' && request.state === 'holding';
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.releaseHeld(this.name);
    real.releaseHeld(this.name);
  }
  toString(): string {
    return `release ${this.name}`;
  }
}

class ForeignReleaseStep extends Step {
  constructor(readonly owner: OwnerName) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    return model.owner !== this.owner;
  }
  protected apply(_model: RLockModel, real: RLockWorld): void {
    const before = [real.lock.owner, real.lock.count, real.lock.waiting];
    const error = throwsA(
      LockOwnershipError,
      () => real.lock.release(real.owners[this.owner]),
      'release by a non-owner',
    );
    same(error.caller === real.owners[this.owner], true, 'LockOwnershipError.caller');
    same(error.owner === real.lock.owner, true, 'LockOwnershipError.owner');
    holds(
      before[0] === real.lock.owner && before[1] === real.lock.count && before[2] === real.lock.waiting,
      'a refused release changed the lock',
    );
  }
  toString(): string {
    return `release(${this.owner}), which does not hold the lock`;
  }
}

class UnsubscribeStep extends Step {
  constructor(readonly name: string) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    const request = model.live(this.name);
    return request !== undefined && request.spec.kind === 'acquire' && request.state === 'queued';
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.unsubscribe(this.name);
    real.unsubscribe(this.name);
  }
  toString(): string {
    return `unsubscribe ${this.name}`;
  }
}

class FinishStep extends Step {
  constructor(
    readonly name: string,
    readonly how: 'complete' | 'error' | 'cut',
  ) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    const request = model.live(this.name);
    if (request === undefined || request.spec.kind !== 'gate') return false;
    return this.how === 'cut' || (request.state === 'holding' && !request.spec.atOnce);
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    if (this.how === 'cut') {
      model.cut(this.name);
      real.cut(this.name);
    } else {
      model.finish(this.name, this.how);
      real.finish(this.name, this.how);
    }
  }
  toString(): string {
    return this.how === 'cut' ? `unsubscribe ${this.name} (cut off)` : `${this.name}'s source: ${this.how}`;
  }
}

/** An action on the request alive now, `ms` from now, racing timeouts of the same frame (rule 6). */
class LaterStep extends Step {
  constructor(
    readonly ms: number,
    readonly name: string,
    readonly action: LockAction,
    readonly owner: OwnerName,
  ) {
    super();
  }
  check(model: Readonly<RLockModel>): boolean {
    return model.can(this.name, this.action);
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    const { name, action, owner } = this;
    const request = model.requests.get(name);
    model.clock.schedule(this.ms, () => {
      if (model.requests.get(name) === request && model.can(name, action)) model.perform(name, action, owner);
    });
    const handle = real.handles.get(name);
    real.scheduler.schedule(() => {
      if (real.handles.get(name) === handle && real.can(name, action)) real.perform(name, action, owner);
    }, this.ms);
  }
  toString(): string {
    return `in ${this.ms} ms: ${actionText(this.name, this.action, this.owner)}`;
  }
}

function actionText(name: string, action: LockAction, owner: OwnerName): string {
  if (name === NEXT_WAITING) return 'unsubscribe the next request still waiting';
  switch (action) {
    case 'release':
    case 'unsubscribe':
      return `${action} ${name}`;
    case 'acquire':
      return `${name} = acquire(${owner})`;
    case 'cut':
      return `unsubscribe ${name} (cut off)`;
    default:
      return `${name}'s source: ${action}`;
  }
}

class AdvanceStep extends Step {
  constructor(readonly ms: number) {
    super();
  }
  check(): boolean {
    return true;
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.advance(this.ms);
    real.advance(this.ms);
  }
  toString(): string {
    return `advance ${this.ms} ms`;
  }
}

class SubscribeValueStep extends Step {
  check(model: Readonly<RLockModel>): boolean {
    return model.listeners < 2;
  }
  protected apply(model: RLockModel, real: RLockWorld): void {
    model.listeners++;
    real.subscribeValue();
  }
  toString(): string {
    return 'subscribe to the lock observable';
  }
}

// ----------------------------------------------------------------------------------------------

const nameArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const ownerArb = fc.constantFrom<OwnerName>('A', 'B', 'C');
const timeoutArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 4 },
  { arbitrary: fc.constantFrom(0, -1), weight: 1 },
);
const rarely = (weight: number) =>
  fc.oneof({ arbitrary: fc.constant(false), weight }, { arbitrary: fc.constant(true), weight: 1 });

const actionArb = fc.constantFrom<LockAction>(
  'release',
  'unsubscribe',
  'complete',
  'error',
  'cut',
  'acquire',
);
const reactionArb: fc.Arbitrary<LockReaction> = fc.oneof(
  fc.record({ action: actionArb, target: nameArb, owner: ownerArb }),
  fc.record({
    action: fc.constantFrom<LockAction>('unsubscribe', 'cut'),
    target: fc.constant(NEXT_WAITING),
    owner: ownerArb,
  }),
);

const acquireArb = fc
  .record({
    name: nameArb,
    owner: ownerArb,
    timeout: timeoutArb,
    nonBlocking: rarely(5),
    atOnce: rarely(3),
    tryAcquire: rarely(6),
    then: fc.option(reactionArb, { freq: 3 }),
  })
  .map(
    ({ name, owner, timeout, nonBlocking, atOnce, tryAcquire, then }) =>
      new AcquireStep({
        name,
        owner,
        kind: tryAcquire ? 'tryAcquire' : 'acquire',
        timeout: tryAcquire ? 0 : timeout,
        blocking: tryAcquire || !nonBlocking,
        atOnce: !tryAcquire && atOnce,
        fallback: false,
        then: tryAcquire ? null : then,
      }),
  );

const gateArb = fc
  .record({ name: nameArb, owner: ownerArb, timeout: timeoutArb, atOnce: rarely(3), fallback: fc.boolean() })
  .map(
    ({ name, owner, timeout, atOnce, fallback }) =>
      new GateStep({ name, owner, kind: 'gate', timeout, blocking: true, atOnce, fallback, then: null }),
  );

export const rlockCommands: Array<fc.Arbitrary<Cmd>> = [
  fc.oneof({ arbitrary: acquireArb, weight: 1 }, { arbitrary: gateArb, weight: 1 }),
  fc.oneof(
    { arbitrary: nameArb.map((name) => new ReleaseStep(name)), weight: 4 },
    { arbitrary: nameArb.map((name) => new UnsubscribeStep(name)), weight: 2 },
    {
      arbitrary: fc
        .tuple(nameArb, fc.constantFrom('complete' as const, 'error' as const, 'cut' as const))
        .map(([name, how]) => new FinishStep(name, how)),
      weight: 5,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: 8 }), nameArb, actionArb, ownerArb)
        .map(([ms, name, action, owner]) => new LaterStep(ms, name, action, owner)),
      weight: 3,
    },
  ),
  fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 6 }).map((ms) => new AdvanceStep(ms)), weight: 4 },
    { arbitrary: ownerArb.map((owner) => new ForeignReleaseStep(owner)), weight: 1 },
    { arbitrary: fc.constant(new SubscribeValueStep()), weight: 1 },
  ),
];

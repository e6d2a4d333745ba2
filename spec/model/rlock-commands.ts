import fc from 'fast-check';
import { Observable, VirtualTimeScheduler, defer, of, type Subscriber } from 'rxjs';
import { LockOwnershipError, PermitTimeoutError, RLock, reentrant } from '../../src/index.js';
import { holds, same, throwsA } from './check.js';
import { advanceScheduler } from '../helpers/index.js';
import {
  RLockModel,
  plainLockAcquire,
  type LockAction,
  type LockReaction,
  type LockRequestSpec,
  type OwnerName,
} from './rlock-model.js';
import {
  NEXT_WAITING,
  STATE_SEEN,
  TestError,
  acquireObserver,
  actionText,
  addListener,
  afterSubscribe,
  appliesTo,
  describeError,
  finishArb,
  finishSource,
  handleActionable,
  isWaiting,
  nameArb,
  openHandle,
  optionsText,
  performOn,
  rarely,
  recordValues,
  resolveTarget,
  sharedSteps,
  timeoutArb,
  whenGrantedText,
  type BaseHandle,
  type HandleState,
  type Listener,
} from './shared.js';

/**
 * The real side of the RLock model-based test, and its fast-check commands (see
 * semaphore-commands.ts for the approach). Owners are three objects, A, B and C; a gated stream
 * names its owner explicitly, and a gated source that completes at once re-enters the lock itself
 * through a nested `reentrant(lock)` whose owner is inferred from the subscription chain.
 */

interface Handle extends BaseHandle<LockRequestSpec> {
  source: Subscriber<string> | null;
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
  readonly listeners: Listener[] = [];
  private seq = 0;

  constructor() {
    recordValues(this.lock, this.valueLog);
  }

  ownerName(owner: object | null): OwnerName | null {
    if (owner === null) return null;
    for (const name of ['A', 'B', 'C'] as const) if (this.owners[name] === owner) return name;
    return `stranger ${String((owner as { name?: unknown }).name)}` as OwnerName;
  }

  private open(spec: LockRequestSpec): Handle {
    const handle: Handle = openHandle(spec, ++this.seq, this.scheduler.now());
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
  /**
   * For each owner with requests waiting, its place: the first of its waiting requests in queue
   * order (priority desc, arrival), as [-priority, seq], compared in that order.
   */
  private readonly waitingSince = new Map<OwnerName, Place>();

  private waitingHandlesOf(owner: OwnerName): Handle[] {
    return [...this.handles.values()].filter(
      (handle) => handle.state === 'waiting' && handle.spec.owner === owner,
    );
  }

  /** Keeps {@link waitingSince} up to date after `owner`'s handles changed state. */
  private noteWaiting(owner: OwnerName): void {
    const waiting = this.waitingHandlesOf(owner);
    // An owner's place is that of its first request still waiting in queue order: a withdrawn one
    // keeps none.
    if (waiting.length === 0) this.waitingSince.delete(owner);
    else
      this.waitingSince.set(
        owner,
        waiting.map(placeOf).reduce((a, b) => (before(a, b) ? a : b)),
      );
  }

  setState(handle: Handle, state: HandleState): void {
    handle.state = state;
    this.noteWaiting(handle.spec.owner);
  }

  /**
   * Order of owners, checked without the model: an owner whose turn begins must have had the first
   * place, in (priority, arrival) order, among the owners still waiting (unless that one is timing
   * out right now). Only places held before the owner's own request arrived are compared: a request
   * of higher priority may come after the turn was assigned and before it was told.
   */
  granted(handle: Handle, what: string): void {
    const { name, owner } = handle.spec;
    if (handle.state !== 'waiting') this.problems.push(`${name}: ${what} while ${handle.state}`);
    if (this.lock.owner !== this.owners[owner]) {
      this.problems.push(`${name}: ${what} but the lock is held by ${this.ownerName(this.lock.owner)}`);
    }
    if (this.turnOwner !== owner) {
      const since = this.waitingSince.get(owner) ?? placeOf(handle);
      for (const [other, otherSince] of this.waitingSince) {
        if (other === owner || !before(otherSince, since) || otherSince[1] > since[1]) continue;
        const live = this.waitingHandlesOf(other).filter(
          (candidate) => candidate.deadline > this.scheduler.now(),
        );
        if (live.length > 0) {
          this.problems.push(
            `${name}: ${what} for ${owner} (place ${since.join()}) while ${other}, at place ${otherSince.join()}, still waits`,
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
    const owner = this.owners[spec.owner];
    const options: { timeout: number | null; blocking?: boolean; priority?: number } = {
      timeout: spec.timeout,
      ...priorityOption(spec),
    };
    if (!spec.blocking) options.blocking = false;
    afterSubscribe(handle, () => this.lock.acquire(owner, options).subscribe(acquireObserver(this, handle)));
  }

  /** What the observer of `handle` does when granted (resolved as RLockModel.resolve does). */
  react(handle: Handle): void {
    const then = handle.spec.then;
    if (then === null) return;
    const target = resolveTarget(then.target, handle, this.handles.values(), this.scheduler.now(), isWaiting);
    if (target !== null && this.can(target, then.action)) this.perform(target, then.action, then.owner);
  }

  giveBack(handle: Handle): void {
    this.lock.release(this.owners[handle.spec.owner]);
  }

  tryAcquire(spec: LockRequestSpec): void {
    const handle = this.open(spec);
    if (this.lock.tryAcquire(this.owners[spec.owner])) this.granted(handle, 'tryAcquire succeeded');
    else this.setState(handle, 'done');
    handle.settling = false;
  }

  /** Whether `action` applies to `name` now (the same rule as RLockModel.can, from what was seen). */
  can(name: string, action: LockAction): boolean {
    const handle = this.handles.get(name);
    if (action === 'acquire') return handle === undefined || handle.state === 'done';
    if (!handleActionable(handle, this.scheduler.now())) return false;
    const { kind, atOnce } = handle.spec;
    return appliesTo(action, kind, atOnce, handle.state === 'holding', handle.state === 'waiting');
  }

  perform(name: string, action: LockAction, owner: OwnerName): void {
    performOn(this, name, action, () => this.acquire(plainLockAcquire(name, owner)));
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
    afterSubscribe(handle, () =>
      source
        .pipe(
          reentrant(lock, {
            owner: this.owners[spec.owner],
            timeout: spec.timeout,
            with: spec.fallback ? (error) => of(`fallback for ${error.name}`) : undefined,
            ...priorityOption(spec),
          }),
        )
        .subscribe({
          next: (value) => this.events.push(`${name}: next ${value}`),
          error: (error: unknown) => {
            handle.notified = true;
            this.setState(handle, 'done');
            this.events.push(`${name}: error ${describeError(error)}`);
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
    finishSource(handle, how, () => this.setState(handle, 'done'), this.problems);
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
    addListener(this.listeners, this.lock);
  }

  get waiting(): number {
    let waiting = 0;
    for (const handle of this.handles.values()) if (handle.state === 'waiting') waiting++;
    return waiting;
  }
}

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
  same(lock.stats(), { name: undefined, ...model.snapshot() }, 'stats()');
  for (const [name, request] of model.requests) {
    same(real.handles.get(name)?.state, STATE_SEEN[request.state], `state of ${name}`);
  }
  same(real.scheduler.actions.length, model.clock.pending, 'timers scheduled');
}

/** A waiting request's place in the queue: [-priority, arrival]; the smaller comes first. */
type Place = readonly [number, number];

function placeOf(handle: Handle): Place {
  return [-handle.spec.priority, handle.seq];
}

function before(a: Place, b: Place): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** The `priority` option of a request: left out when it is the default, 0. */
function priorityOption(spec: LockRequestSpec): { priority?: number } {
  return spec.priority === 0 ? {} : { priority: spec.priority };
}

/** How a counterexample shows a request's options. */
function lockOptionsText(lead: string[], spec: LockRequestSpec): string {
  return optionsText(spec.priority === 0 ? lead : [...lead, `priority: ${spec.priority}`], spec);
}

// ----------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.Command<RLockModel, RLockWorld>;

const { Step, UnsubscribeStep, FinishStep, LaterStep, AdvanceStep, SubscribeValueStep } = sharedSteps<
  LockAction,
  RLockModel,
  RLockWorld
>(compareLockWorlds);

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
    const { name, owner, kind, then, atOnce } = this.spec;
    if (kind === 'tryAcquire') return `${name} = tryAcquire(${owner})`;
    const options = lockOptionsText([], this.spec);
    const reaction = then === null ? null : actionText(then.target, then.action, then.owner);
    const when = whenGrantedText(reaction, atOnce ? 'release' : null);
    return `${name} = acquire(${owner}${options === '' ? '' : `, ${options}`})${when}`;
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
    return `${this.spec.name} = ${source} through reentrant(lock, ${lockOptionsText([`owner: ${this.spec.owner}`], this.spec)})`;
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

/** Unsubscribes a queued `acquire()` (one already assigned its turn is left alone). */
class LockUnsubscribeStep extends UnsubscribeStep {
  override check(model: Readonly<RLockModel>): boolean {
    const request = model.live(this.name);
    return request !== undefined && request.spec.kind === 'acquire' && request.state === 'queued';
  }
}

/** Ends a gated stream: cut off in any state, or its source completes or errors while it runs. */
class LockFinishStep extends FinishStep {
  override check(model: Readonly<RLockModel>): boolean {
    const request = model.live(this.name);
    if (request === undefined || request.spec.kind !== 'gate') return false;
    return this.how === 'cut' || (request.state === 'holding' && !request.spec.atOnce);
  }
}

// ----------------------------------------------------------------------------------------------

const ownerArb = fc.constantFrom<OwnerName>('A', 'B', 'C');

/** Priorities: mostly the default, 0; some lower, some higher (rule 19). */
const priorityArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.constantFrom(-1, 2), weight: 2 },
);

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
    priority: priorityArb,
  })
  .map(
    ({ name, owner, timeout, nonBlocking, atOnce, tryAcquire, then, priority }) =>
      new AcquireStep({
        name,
        owner,
        kind: tryAcquire ? 'tryAcquire' : 'acquire',
        timeout: tryAcquire ? 0 : timeout,
        blocking: tryAcquire || !nonBlocking,
        atOnce: !tryAcquire && atOnce,
        fallback: false,
        then: tryAcquire ? null : then,
        priority: tryAcquire ? 0 : priority,
      }),
  );

const gateArb = fc
  .record({
    name: nameArb,
    owner: ownerArb,
    timeout: timeoutArb,
    atOnce: rarely(3),
    fallback: fc.boolean(),
    priority: priorityArb,
  })
  .map(
    ({ name, owner, timeout, atOnce, fallback, priority }) =>
      new GateStep({
        name,
        owner,
        kind: 'gate',
        timeout,
        blocking: true,
        atOnce,
        fallback,
        then: null,
        priority,
      }),
  );

export const rlockCommands: Array<fc.Arbitrary<Cmd>> = [
  fc.oneof({ arbitrary: acquireArb, weight: 1 }, { arbitrary: gateArb, weight: 1 }),
  fc.oneof(
    { arbitrary: nameArb.map((name) => new ReleaseStep(name)), weight: 4 },
    { arbitrary: nameArb.map((name) => new LockUnsubscribeStep(name)), weight: 2 },
    {
      arbitrary: fc.tuple(nameArb, finishArb).map(([name, how]) => new LockFinishStep(name, how)),
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
    { arbitrary: fc.constant(new SubscribeValueStep(2, 'lock')), weight: 1 },
  ),
];

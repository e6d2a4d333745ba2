import fc from 'fast-check';
import { Observable, Subject, VirtualTimeScheduler, map, of, timer, type Subscriber } from 'rxjs';
import {
  BoundedSemaphore,
  OverReleaseError,
  PermitRejectedError,
  PermitTimeoutError,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  withPermit,
} from '../../src/index.js';
import { advanceScheduler } from '../helpers/index.js';
import { holds, same, throwsA } from './check.js';
import {
  SemaphoreModel,
  plainAcquire,
  requestSpec,
  type Action,
  type Reaction,
  type RequestSpec,
} from './semaphore-model.js';
import {
  NEXT_WAITING,
  STATE_SEEN,
  TestError,
  acquireObserver,
  actionText,
  addListener,
  adjustDelta,
  afterSubscribe,
  appliesTo,
  appliesToMerge,
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
 * The real side of the semaphore model-based test, and its fast-check commands.
 *
 * {@link SemaphoreWorld} drives a real `Semaphore` / `BoundedSemaphore` on a `VirtualTimeScheduler`
 * and records what its subscribers see, in the same vocabulary as {@link SemaphoreModel}. After
 * every command {@link compareWorlds} checks the real primitive against the model and, on its own,
 * against the invariants the issue names (value never negative unless `adjust` removed permits,
 * held + available = initial + deliberate over-releases + adjustments, grants in (priority, arrival)
 * order, `tryAcquire` never succeeding while anything is queued, nothing granted after a withdrawal
 * or a timeout, the permit observable equal to `value`, no stray timer), and `stats()` against the
 * model's counters.
 */

interface Handle extends BaseHandle<RequestSpec> {
  source: Subscriber<string> | null;
  /** merge: its source and what it has seen. */
  merge: RealMerge | null;
}

interface RealMerge {
  readonly subject: Subject<number>;
  emitted: number;
  projected: number;
  fallbacks: number;
  /** Inners returned by `project` still subscribed (each holds the permits). */
  liveInners: number;
  sourceDone: boolean;
}

export class SemaphoreWorld {
  readonly scheduler = new VirtualTimeScheduler();
  readonly semaphore: Semaphore;
  readonly handles = new Map<string, Handle>();
  readonly events: string[] = [];
  readonly valueLog: number[] = [];
  readonly readyLog: string[] = [];
  /** Invariant violations noticed inside callbacks; reported after the step. */
  readonly problems: string[] = [];
  readonly listeners: Listener[] = [];
  extra = 0;
  /** The sum of every `adjust` delta that was applied. */
  adjusted = 0;
  /** Permits removed by `adjust` calls with a negative delta. */
  removed = 0;
  private seq = 0;
  private readyCount = 0;

  constructor(
    readonly initial: number,
    readonly bounded: boolean,
  ) {
    const options = { scheduler: this.scheduler };
    this.semaphore = bounded ? new BoundedSemaphore(initial, options) : new Semaphore(initial, options);
    recordValues(this.semaphore, this.valueLog);
  }

  private open(spec: RequestSpec): Handle {
    const handle: Handle = { ...openHandle(spec, ++this.seq, this.scheduler.now()), merge: null };
    this.handles.set(spec.name, handle);
    return handle;
  }

  /**
   * Serving order, checked without the model: a request granted while an older one of equal or
   * higher priority still waited is a suspect pair; if that one still waits when the step is over,
   * it was overtaken. (Within a step it may legitimately be told of its grant later: rule 5 grants a
   * new request synchronously inside a running grant loop. A newer request of higher priority is
   * not checked here: it may have come after the grant was assigned, before it was told; the model
   * checks that order.) A `tryAcquire` must not overtake anyone: it is checked against every
   * waiting request.
   */
  private readonly suspects: Array<[granted: Handle, ahead: Handle]> = [];

  granted(handle: Handle, what: string): void {
    if (handle.state !== 'waiting') this.problems.push(`${handle.spec.name}: ${what} while ${handle.state}`);
    const { priority } = handle.spec;
    const anyone = handle.spec.kind === 'tryAcquire';
    for (const other of this.handles.values()) {
      if (other.state !== 'waiting' || other === handle) continue;
      const ahead = anyone || (other.spec.priority >= priority && other.seq < handle.seq);
      if (ahead) this.suspects.push([handle, other]);
    }
    handle.state = 'holding';
  }

  /** Called after every step. */
  checkOvertaking(): void {
    for (const [granted, ahead] of this.suspects.splice(0)) {
      if (ahead.state === 'waiting' && this.handles.get(ahead.spec.name) === ahead) {
        this.problems.push(
          `${granted.spec.name} (priority ${granted.spec.priority}) was granted while ${ahead.spec.name} (priority ${ahead.spec.priority}), ahead of it, still waits`,
        );
      }
    }
  }

  /** What the observer of `handle` does when granted (resolved as SemaphoreModel.resolve does). */
  react(handle: Handle): void {
    const then = handle.spec.then;
    if (then === null) return;
    const target = resolveTarget(then.target, handle, this.handles.values(), this.scheduler.now(), isWaiting);
    if (target !== null && this.can(target, then.action)) this.perform(target, then.action);
  }

  setState(handle: Handle, state: HandleState): void {
    handle.state = state;
  }

  giveBack(handle: Handle): void {
    this.semaphore.release(handle.spec.permits);
  }

  /** The bound of a BoundedSemaphore, moved by `adjust`; `Infinity` for a Semaphore. */
  get bound(): number {
    return this.bounded ? this.initial + this.adjusted : Infinity;
  }

  can(name: string, action: Action): boolean {
    const delta = adjustDelta(action);
    if (delta !== null) return this.bound + delta >= 0;
    const handle = this.handles.get(name);
    if (action === 'acquire') return (handle === undefined || handle.state === 'done') && this.bound >= 1;
    if (!handleActionable(handle, this.scheduler.now())) return false;
    const { kind, atOnce } = handle.spec;
    if (kind === 'merge') return appliesToMerge(action, handle.merge!.sourceDone);
    return appliesTo(action, kind, atOnce, handle.state === 'holding', handle.state === 'waiting');
  }

  perform(name: string, action: Action): void {
    performOn(this, name, action, () => this.acquire(plainAcquire(name)));
  }

  mergeStart(spec: RequestSpec): void {
    const handle = this.open(spec);
    handle.state = 'holding';
    const merge: RealMerge = {
      subject: new Subject<number>(),
      emitted: 0,
      projected: 0,
      fallbacks: 0,
      liveInners: 0,
      sourceDone: false,
    };
    handle.merge = merge;
    const { name, innerDelay } = spec;
    const project = (value: number): Observable<number> => {
      this.events.push(`${name}: project ${value}`);
      merge.projected++;
      const inner =
        innerDelay === 0
          ? of(value)
          : timer(innerDelay, this.scheduler).pipe(
              map(() => {
                if (spec.innerErrors) throw new TestError(`${name}.${value}`);
                return value;
              }),
            );
      return new Observable<number>((subscriber) => {
        merge.liveInners++;
        const subscription = inner.subscribe(subscriber);
        return () => {
          merge.liveInners--;
          subscription.unsubscribe();
        };
      });
    };
    const options = {
      permits: spec.permits,
      timeout: spec.timeout,
      with: spec.fallback
        ? (error: PermitTimeoutError | PermitRejectedError) => of(`fallback for ${error.name}`)
        : undefined,
      ...priorityOption(spec),
    };
    afterSubscribe(handle, () =>
      merge.subject
        .pipe(mergeMapWithPermit<number, number | string>(this.semaphore, project, options))
        .subscribe({
          next: (value) => {
            if (typeof value === 'string') merge.fallbacks++;
            this.events.push(`${name}: next ${value}`);
          },
          error: (error: unknown) => {
            handle.state = 'done';
            this.events.push(`${name}: error ${describeError(error)}`);
            if (
              error instanceof TestError &&
              error.message !== name &&
              !error.message.startsWith(`${name}.`)
            ) {
              this.problems.push(`${name}: received someone else's error`);
            }
          },
          complete: () => {
            handle.state = 'done';
            this.events.push(`${name}: complete`);
          },
        }),
    );
  }

  emit(name: string): void {
    const merge = this.handles.get(name)!.merge!;
    merge.subject.next(++merge.emitted);
  }

  acquire(spec: RequestSpec): void {
    const handle = this.open(spec);
    const options: { permits: number; timeout: number | null; blocking?: boolean; priority?: number } = {
      permits: spec.permits,
      timeout: spec.timeout,
      ...priorityOption(spec),
    };
    if (!spec.blocking) options.blocking = false;
    afterSubscribe(handle, () => this.semaphore.acquire(options).subscribe(acquireObserver(this, handle)));
  }

  tryAcquire(spec: RequestSpec): void {
    const handle = this.open(spec);
    const waiting = this.semaphore.waiting;
    if (this.semaphore.tryAcquire(spec.permits)) {
      this.granted(handle, 'tryAcquire succeeded');
      if (waiting > 0) this.problems.push(`${spec.name}: tryAcquire succeeded with ${waiting} queued`);
    } else handle.state = 'done';
    handle.settling = false;
  }

  adjust(delta: number): number {
    const value = this.semaphore.adjust(delta);
    this.adjusted += delta;
    if (delta < 0) this.removed -= delta;
    return value;
  }

  gate(spec: RequestSpec): void {
    const handle = this.open(spec);
    const { name } = spec;
    const source = new Observable<string>((subscriber) => {
      this.granted(handle, 'source subscribed');
      this.events.push(`${name}: source subscribed`);
      if (spec.atOnce) {
        subscriber.next(`${name}1`);
        subscriber.complete();
        return;
      }
      handle.source = subscriber;
      return () => {
        handle.tornDown = true;
      };
    });
    const options = {
      permits: spec.permits,
      timeout: spec.timeout,
      with: spec.fallback
        ? (error: PermitTimeoutError | PermitRejectedError) => of(`fallback for ${error.name}`)
        : undefined,
      ...priorityOption(spec),
    };
    const gated =
      spec.maxWaiting === null
        ? source.pipe(withPermit(this.semaphore, options))
        : source.pipe(boundedPermit(this.semaphore, { ...options, maxWaiting: spec.maxWaiting }));
    afterSubscribe(handle, () =>
      gated.subscribe({
        next: (value) => this.events.push(`${name}: next ${value}`),
        error: (error: unknown) => {
          handle.state = 'done';
          handle.notified = true;
          this.events.push(`${name}: error ${describeError(error)}`);
          if (error instanceof PermitTimeoutError) {
            if (error.permits !== spec.permits || error.timeout !== spec.timeout) {
              this.problems.push(`${name}: ${error.message} does not match the request`);
            }
          } else if (error instanceof PermitRejectedError) {
            const never = error.bound !== undefined && error.bound < spec.permits;
            if (
              error.permits !== spec.permits ||
              error.maxWaiting !== (spec.maxWaiting ?? Infinity) ||
              (error.bound !== undefined && !never)
            ) {
              this.problems.push(`${name}: ${error.message} does not match the request`);
            }
          } else if (!(error instanceof TestError && error.message === name)) {
            this.problems.push(`${name}: received someone else's error ${String(error)}`);
          }
        },
        complete: () => {
          handle.state = 'done';
          handle.notified = true;
          this.events.push(`${name}: complete`);
        },
      }),
    );
  }

  releaseHeld(name: string): number {
    const handle = this.handles.get(name)!;
    handle.state = 'done';
    return this.semaphore.release(handle.spec.permits);
  }

  unsubscribe(name: string): void {
    const handle = this.handles.get(name)!;
    handle.state = 'done';
    handle.subscription!.unsubscribe();
  }

  finish(name: string, how: 'complete' | 'error'): void {
    const handle = this.handles.get(name)!;
    if (handle.merge !== null) {
      handle.merge.sourceDone = true;
      if (how === 'complete') handle.merge.subject.complete();
      else handle.merge.subject.error(new TestError(name));
      return;
    }
    finishSource(handle, how, () => this.setState(handle, 'done'), this.problems);
  }

  cut(name: string): void {
    const handle = this.handles.get(name)!;
    if (handle.merge !== null) handle.merge.sourceDone = true;
    const wasHolding = handle.state === 'holding';
    handle.state = 'done';
    handle.subscription!.unsubscribe();
    if (wasHolding && handle.spec.kind === 'gate' && !handle.spec.atOnce && !handle.tornDown) {
      this.problems.push(`${name}: source not torn down`);
    }
  }

  overRelease(permits: number): number {
    const value = this.semaphore.release(permits);
    this.extra += permits;
    return value;
  }

  advance(ms: number): void {
    advanceScheduler(this.scheduler, ms);
  }

  wait(timeout: number | null): void {
    const id = `wait#${++this.readyCount}`;
    let emitted = 0;
    this.semaphore.wait({ timeout }).subscribe({
      next: (value) => {
        emitted++;
        this.readyLog.push(`${id} -> ${value}`);
      },
      complete: () => {
        if (emitted !== 1) this.problems.push(`${id} completed after ${emitted} values`);
      },
    });
  }

  rawlink(): void {
    const id = `rawlink#${++this.readyCount}`;
    this.semaphore.rawlink(() => {
      this.readyLog.push(`${id} called`);
    });
  }

  subscribeValue(): void {
    const listener = addListener(this.listeners, this.semaphore);
    if (listener.last !== this.semaphore.value) {
      this.problems.push(
        `value subscriber #${listener.id} got ${listener.last} on subscribe, value is ${this.semaphore.value}`,
      );
    }
  }

  /** Permits held, as the subscribers saw them (a merge holds them for each inner it runs). */
  get held(): number {
    let held = 0;
    for (const handle of this.handles.values()) {
      if (handle.merge !== null) held += handle.merge.liveInners * handle.spec.permits;
      else if (handle.state === 'holding') held += handle.spec.permits;
    }
    return held;
  }

  /** Requests waiting, as the subscribers saw them (a live merge's values not yet projected). */
  get waiting(): number {
    let waiting = 0;
    for (const handle of this.handles.values()) {
      const merge = handle.merge;
      if (merge !== null) {
        if (handle.state !== 'done') waiting += merge.emitted - merge.projected - merge.fallbacks;
      } else if (handle.state === 'waiting') waiting++;
    }
    return waiting;
  }
}

/** The checks run after every step. */
export function compareWorlds(model: SemaphoreModel, real: SemaphoreWorld): void {
  const semaphore = real.semaphore;
  // Invariants, from the real system alone.
  real.checkOvertaking();
  same(real.problems.splice(0), [], 'problems seen by subscribers');
  holds(Number.isInteger(semaphore.value), `value ${semaphore.value} is not an integer`);
  holds(
    semaphore.value >= 0 || real.removed > 0,
    `value ${semaphore.value} is negative, but adjust never removed permits`,
  );
  same(
    real.held + semaphore.value,
    real.initial + real.extra + real.adjusted,
    `held ${real.held} + value ${semaphore.value} = initial ${real.initial} + over-released ${real.extra} + adjusted ${real.adjusted}`,
  );
  same(semaphore.waiting, real.waiting, 'semaphore.waiting vs requests still waiting');
  same(semaphore.locked(), semaphore.value <= 0, 'locked()');
  same(semaphore.ready(), semaphore.value > 0, 'ready()');
  for (const listener of real.listeners) {
    same(listener.last, semaphore.value, `last value seen by value subscriber #${listener.id}`);
  }
  if (real.valueLog.length > 0)
    same(real.valueLog[real.valueLog.length - 1], semaphore.value, 'last value emitted');
  // Against the reference model.
  same(real.events.splice(0), model.events.splice(0), 'notifications');
  same(real.valueLog.splice(0), model.valueLog.splice(0), 'permit observable emissions');
  same(real.readyLog.splice(0), model.readyLog.splice(0), 'wait/rawlink results');
  same(semaphore.value, model.value, 'value');
  same(semaphore.waiting, model.queue.length, 'waiting');
  same(real.extra, model.extra, 'over-released');
  same(semaphore.stats(), { name: undefined, ...model.snapshot() }, 'stats()');
  for (const [name, request] of model.requests) {
    same(real.handles.get(name)?.state, STATE_SEEN[request.state], `state of ${name}`);
  }
  same(real.scheduler.actions.length, model.clock.pending, 'timers scheduled');
}

// ----------------------------------------------------------------------------------------------
// Commands

type Cmd = fc.Command<SemaphoreModel, SemaphoreWorld>;

const { Step, UnsubscribeStep, FinishStep, LaterStep, AdvanceStep, SubscribeValueStep } = sharedSteps<
  Action,
  SemaphoreModel,
  SemaphoreWorld
>(compareWorlds);

/** The `priority` option of a request: left out when it is the default, 0. */
function priorityOption(spec: RequestSpec): { priority?: number } {
  return spec.priority === 0 ? {} : { priority: spec.priority };
}

function semaphoreOptionsText(spec: RequestSpec): string {
  const lead: string[] = [];
  if (spec.permits !== 1) lead.push(`permits: ${spec.permits}`);
  if (spec.priority !== 0) lead.push(`priority: ${spec.priority}`);
  if (spec.maxWaiting !== null) lead.push(`maxWaiting: ${spec.maxWaiting}`);
  return optionsText(lead, spec);
}

/** Creating a request that exceeds a BoundedSemaphore's bound throws RangeError and creates nothing. */
function refusedByBound(
  model: SemaphoreModel,
  real: SemaphoreWorld,
  spec: RequestSpec,
  make: () => void,
): boolean {
  if (!(model.bounded && spec.permits > model.bound)) return false;
  const previous = real.handles.get(spec.name);
  throwsA(RangeError, make, `${spec.name} asks for ${spec.permits} of a bound of ${model.bound}`);
  if (previous === undefined) real.handles.delete(spec.name);
  else real.handles.set(spec.name, previous);
  return true;
}

/** Starts a new request under a free name, on both sides (unless the bound refuses it). */
abstract class StartStep extends Step {
  constructor(readonly spec: RequestSpec) {
    super();
  }
  check(model: Readonly<SemaphoreModel>): boolean {
    return model.live(this.spec.name) === undefined;
  }
  protected abstract startModel(model: SemaphoreModel): void;
  protected abstract startReal(real: SemaphoreWorld): void;
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    if (refusedByBound(model, real, this.spec, () => this.startReal(real))) return;
    this.startModel(model);
    this.startReal(real);
  }
}

class AcquireStep extends StartStep {
  protected startModel(model: SemaphoreModel): void {
    model.acquire(this.spec);
  }
  protected startReal(real: SemaphoreWorld): void {
    real.acquire(this.spec);
  }
  toString(): string {
    const { name, then, atOnce, permits } = this.spec;
    const reaction = then === null ? null : actionText(then.target, then.action);
    const when = whenGrantedText(reaction, atOnce ? `release ${permits}` : null);
    return `${name} = acquire(${semaphoreOptionsText(this.spec)})${when}`;
  }
}

class TryAcquireStep extends StartStep {
  protected startModel(model: SemaphoreModel): void {
    model.acquire(this.spec);
  }
  protected startReal(real: SemaphoreWorld): void {
    real.tryAcquire(this.spec);
  }
  toString(): string {
    return `${this.spec.name} = tryAcquire(${this.spec.permits})`;
  }
}

class GateStep extends StartStep {
  protected startModel(model: SemaphoreModel): void {
    model.gate(this.spec);
  }
  protected startReal(real: SemaphoreWorld): void {
    real.gate(this.spec);
  }
  toString(): string {
    const operator = this.spec.maxWaiting === null ? 'withPermit' : 'boundedPermit';
    const source = this.spec.atOnce ? `of('${this.spec.name}1')` : 'open source';
    return `${this.spec.name} = ${source} through ${operator}(${semaphoreOptionsText(this.spec)})`;
  }
}

class MergeStep extends StartStep {
  protected startModel(model: SemaphoreModel): void {
    model.mergeStart(this.spec);
  }
  protected startReal(real: SemaphoreWorld): void {
    real.mergeStart(this.spec);
  }
  toString(): string {
    const { name, innerDelay } = this.spec;
    const inner =
      innerDelay === 0
        ? 'of(v)'
        : this.spec.innerErrors
          ? `timer(${innerDelay}) then error`
          : `timer(${innerDelay})`;
    const options = semaphoreOptionsText(this.spec);
    return `${name} = source.pipe(mergeMapWithPermit(v => ${inner}${options === '' ? '' : `, ${options}`}))`;
  }
}

class EmitStep extends Step {
  constructor(readonly name: string) {
    super();
  }
  check(model: Readonly<SemaphoreModel>): boolean {
    return model.can(this.name, 'emit');
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    model.emit(this.name);
    real.emit(this.name);
  }
  toString(): string {
    return `${this.name}'s source emits`;
  }
}

class ReleaseStep extends Step {
  constructor(readonly name: string) {
    super();
  }
  check(model: Readonly<SemaphoreModel>): boolean {
    return model.can(this.name, 'release');
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    const expected = model.releaseHeld(this.name);
    same(real.releaseHeld(this.name), expected, 'release() returned');
  }
  toString(): string {
    return `release ${this.name}`;
  }
}

class OverReleaseStep extends Step {
  constructor(readonly permits: number) {
    super();
  }
  check(model: Readonly<SemaphoreModel>): boolean {
    // A BoundedSemaphore is only over-released above its bound (which must throw): a release within
    // the bound by someone holding nothing would make a later, rightful release throw.
    return !model.bounded || model.value + this.permits > model.bound;
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    if (model.bounded) {
      const value = real.semaphore.value;
      const error = throwsA(OverReleaseError, () => real.overRelease(this.permits), 'over-release');
      same(error.bound, model.bound, 'OverReleaseError.bound');
      same(real.semaphore.value, value, 'value after a refused release');
      return;
    }
    const expected = model.overRelease(this.permits);
    same(real.overRelease(this.permits), expected, 'release() returned');
  }
  toString(): string {
    return `release(${this.permits}) by no holder (over-release)`;
  }
}

/**
 * `adjust(delta)` (rule 20): returns the value the model expects; on a BoundedSemaphore whose bound
 * would fall below 0 it throws RangeError and changes nothing.
 */
class AdjustStep extends Step {
  constructor(readonly delta: number) {
    super();
  }
  check(): boolean {
    return true;
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    if (model.bounded && model.bound + this.delta < 0) {
      const before = [real.semaphore.value, real.semaphore.waiting];
      throwsA(
        RangeError,
        () => real.adjust(this.delta),
        `adjust(${this.delta}) of a bound of ${model.bound}`,
      );
      same(
        [real.semaphore.value, real.semaphore.waiting],
        before,
        'value and waiting after a refused adjust',
      );
      return;
    }
    const expected = model.adjust(this.delta);
    same(real.adjust(this.delta), expected, 'adjust() returned');
  }
  toString(): string {
    return `adjust(${this.delta})`;
  }
}

class WaitStep extends Step {
  constructor(readonly timeout: number | null) {
    super();
  }
  check(): boolean {
    return true;
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    model.wait(this.timeout);
    real.wait(this.timeout);
  }
  toString(): string {
    return this.timeout === null ? 'wait()' : `wait({ timeout: ${this.timeout} })`;
  }
}

class RawlinkStep extends Step {
  check(): boolean {
    return true;
  }
  protected apply(model: SemaphoreModel, real: SemaphoreWorld): void {
    model.rawlink();
    real.rawlink();
  }
  toString(): string {
    return 'rawlink(callback)';
  }
}

// ----------------------------------------------------------------------------------------------
// Arbitraries

/** Priorities: mostly the default, 0; some lower, some higher (rule 19). */
const priorityArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.constantFrom(-1, 2), weight: 2 },
);

const permitsArb = fc.oneof(
  { arbitrary: fc.constant(1), weight: 3 },
  { arbitrary: fc.integer({ min: 2, max: 3 }), weight: 2 },
);

const actionArb = fc.constantFrom<Action>(
  'release',
  'unsubscribe',
  'complete',
  'error',
  'cut',
  'acquire',
  'emit',
  'adjust+1',
  'adjust-1',
);
const reactionArb: fc.Arbitrary<Reaction> = fc.oneof(
  fc.record({ action: actionArb, target: nameArb }),
  fc.record({ action: fc.constantFrom<Action>('unsubscribe', 'cut'), target: fc.constant(NEXT_WAITING) }),
);

const acquireArb = fc
  .record({
    name: nameArb,
    permits: permitsArb,
    timeout: timeoutArb,
    blocking: fc.oneof(
      { arbitrary: fc.constant(true), weight: 5 },
      { arbitrary: fc.constant(false), weight: 1 },
    ),
    atOnce: rarely(3),
    then: fc.option(reactionArb, { freq: 3 }),
    priority: priorityArb,
  })
  .map(
    ({ name, permits, timeout, blocking, atOnce, then, priority }) =>
      new AcquireStep(requestSpec(name, 'acquire', { permits, timeout, blocking, atOnce, then, priority })),
  );

const tryAcquireArb = fc
  .record({ name: nameArb, permits: permitsArb })
  .map(
    ({ name, permits }) =>
      new TryAcquireStep(requestSpec(name, 'tryAcquire', { permits, timeout: 0, blocking: false })),
  );

const gateArb = fc
  .record({
    name: nameArb,
    permits: permitsArb,
    timeout: timeoutArb,
    atOnce: rarely(3),
    fallback: fc.boolean(),
    maxWaiting: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      { arbitrary: fc.integer({ min: 0, max: 2 }), weight: 1 },
    ),
    priority: priorityArb,
  })
  .map(
    ({ name, permits, timeout, atOnce, fallback, maxWaiting, priority }) =>
      new GateStep(requestSpec(name, 'gate', { permits, timeout, atOnce, fallback, maxWaiting, priority })),
  );

const mergeArb = fc
  .record({
    name: nameArb,
    permits: permitsArb,
    timeout: timeoutArb,
    fallback: fc.boolean(),
    innerDelay: fc.integer({ min: 0, max: 3 }),
    innerErrors: rarely(3),
    priority: priorityArb,
  })
  .map(
    ({ name, permits, timeout, fallback, innerDelay, innerErrors, priority }) =>
      new MergeStep(
        requestSpec(name, 'merge', {
          permits,
          timeout,
          fallback,
          innerDelay,
          innerErrors: innerErrors && innerDelay > 0,
          priority,
        }),
      ),
  );

/** The commands of the semaphore model-based test, weighted towards what moves permits. */
export const semaphoreCommands: Array<fc.Arbitrary<Cmd>> = [
  fc.oneof(
    { arbitrary: acquireArb, weight: 5 },
    { arbitrary: gateArb, weight: 5 },
    { arbitrary: mergeArb, weight: 4 },
    { arbitrary: tryAcquireArb, weight: 1 },
  ),
  fc.oneof(
    { arbitrary: nameArb.map((name) => new ReleaseStep(name)), weight: 4 },
    { arbitrary: nameArb.map((name) => new UnsubscribeStep(name)), weight: 2 },
    { arbitrary: nameArb.map((name) => new EmitStep(name)), weight: 6 },
    {
      arbitrary: fc.tuple(nameArb, finishArb).map(([name, how]) => new FinishStep(name, how)),
      weight: 5,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: 8 }), nameArb, actionArb)
        .map(([ms, name, action]) => new LaterStep(ms, name, action)),
      weight: 3,
    },
  ),
  fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 6 }).map((ms) => new AdvanceStep(ms)), weight: 4 },
    { arbitrary: permitsArb.map((permits) => new OverReleaseStep(permits)), weight: 1 },
    { arbitrary: fc.integer({ min: -2, max: 2 }).map((delta) => new AdjustStep(delta)), weight: 2 },
    { arbitrary: timeoutArb.map((timeout) => new WaitStep(timeout)), weight: 1 },
    { arbitrary: fc.constant(new RawlinkStep()), weight: 1 },
    { arbitrary: fc.constant(new SubscribeValueStep(3, 'permit')), weight: 1 },
  ),
];

/** What the test starts from: the primitive and its initial value. */
export class SemaphoreSetup {
  constructor(
    readonly initial: number,
    readonly bounded: boolean,
  ) {}
  [fc.toStringMethod](): string {
    return `new ${this.bounded ? 'BoundedSemaphore' : 'Semaphore'}(${this.initial})`;
  }
}

export const semaphoreSetupArb = fc
  .record({ initial: fc.integer({ min: 0, max: 3 }), bounded: fc.boolean() })
  .filter(({ initial, bounded }) => !(bounded && initial === 0))
  .map(({ initial, bounded }) => new SemaphoreSetup(initial, bounded));

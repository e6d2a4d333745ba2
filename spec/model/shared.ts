import fc from 'fast-check';
import type { Observer, Subscription } from 'rxjs';
import { PermitRejectedError } from '../../src/index.js';
import { during } from './check.js';
import type { ModelTimer } from './clock.js';

/**
 * What the semaphore and the RLock model-based tests share: the rules both the reference models and
 * the real worlds apply to named requests (which request a reaction targets, which actions apply),
 * the way both sides dispatch an action, how a request's state is seen by its subscriber, and the
 * fast-check steps that are the same for both primitives.
 */

/**
 * Where src deviates from the reading of the SPEC the models take (each reported with its
 * counterexample). By default the models follow src there, so that the properties check everything
 * else; `PERMITS_MODEL_STRICT=1` makes them follow the SPEC reading, and then fail until src is
 * changed (or the switch is dropped, if the SPEC settles the other way).
 */
const STRICT = typeof process !== 'undefined' && process.env.PERMITS_MODEL_STRICT === '1';
export const SRC_DEVIATIONS = {
  /**
   * §5 rule 19 ("higher is served first ... A request never overtakes one of its own or a higher
   * priority"): when an RLock owner's turn comes, the SPEC reading tells its queued requests in
   * queue order (priority, then arrival). src (src/core/lock-core.ts grantNextOwner, walking the
   * owner's list, which WaitingOwner.add keeps in arrival order) tells them in arrival order, and
   * spec/rlock.spec.ts ("an owner's place is that of its first still-queued request in queue
   * order: ...") pins that. The SPEC says only "granted together"; the order they are told in is
   * for its owner to settle.
   */
  lockOwnerRequestsToldInArrivalOrder: !STRICT,
};

export class TestError extends Error {
  override readonly name = 'TestError';
}

/**
 * How a gated stream's subscriber names an error in the notification log; a `PermitRejectedError`
 * for a request that can never fit under a lowered bound names that bound.
 */
export function describeError(error: unknown): string {
  if (error instanceof TestError) return `TestError ${error.message}`;
  if (error instanceof PermitRejectedError && error.bound !== undefined) {
    return `PermitRejectedError (bound ${error.bound})`;
  }
  return error instanceof Error ? error.name : String(error);
}

/** A reaction's target meaning "the earliest request still waiting that subscribed after me". */
export const NEXT_WAITING = '(next waiting)';

/**
 * What can be done to a named request (or, for `acquire`, under a free name); `emit`: merges only;
 * `adjust+1` / `adjust-1`: `adjust(±1)` on a semaphore (the name plays no part).
 */
export type AnyAction =
  'release' | 'unsubscribe' | 'complete' | 'error' | 'cut' | 'acquire' | 'emit' | 'adjust+1' | 'adjust-1';

/** The delta of an `adjust` action, or `null` for any other action. */
export function adjustDelta(action: AnyAction): number | null {
  return action === 'adjust+1' ? 1 : action === 'adjust-1' ? -1 : null;
}

/** The part of a request spec the shared rules read. */
export interface BaseSpec {
  readonly name: string;
  readonly kind: string;
  /** `null`: wait for ever; `<= 0`: do not wait. */
  readonly timeout: number | null;
  readonly atOnce: boolean;
}

/** What both sides know of a request: its order, its deadline and whether it is still subscribing. */
export interface Entry<S extends BaseSpec = BaseSpec> {
  readonly spec: S;
  readonly seq: number;
  /** When a timed request gives up. */
  readonly deadline: number;
  /** Inside its own subscribe call. */
  settling: boolean;
}

/** When a request gives up: `now + timeout` for a timed, waiting request, else never. */
export function deadlineOf(spec: BaseSpec, now: number): number {
  return spec.kind !== 'tryAcquire' && spec.timeout !== null && spec.timeout > 0
    ? now + spec.timeout
    : Infinity;
}

// ------------------------------------------------------------------------------------------------
// The reference models' side

/** `closing`: withdrawn by its timeout (or refused), its subscriber not yet told. */
export type RequestState = 'queued' | 'assigned' | 'holding' | 'closing' | 'done';

/** A request of a reference model. */
export interface ModelEntry<S extends BaseSpec = BaseSpec> extends Entry<S> {
  state: RequestState;
  timer: ModelTimer | null;
}

/** A new request of a reference model, queued and inside its subscribe call. */
export function openModelRequest<S extends BaseSpec>(spec: S, seq: number, now: number): ModelEntry<S> {
  return { spec, state: 'queued', timer: null, deadline: deadlineOf(spec, now), settling: true, seq };
}

export function isModelWaiting(request: ModelEntry): boolean {
  return request.state === 'queued' || request.state === 'assigned';
}

/**
 * Whether a model request may be acted upon at all: not inside its own subscribe, not closing, nor
 * waiting with its deadline come (its timeout is firing, or about to in this frame).
 */
export function modelActionable<R extends ModelEntry>(request: R | undefined, now: number): request is R {
  if (request === undefined || request.settling || request.state === 'closing') return false;
  return !(isModelWaiting(request) && request.deadline <= now);
}

/** The counters `stats()` must show (rule 21). */
export interface ModelStats {
  value: number;
  waiting: number;
  granted: number;
  timedOut: number;
  rejected: number;
  withdrawn: number;
  peakWaiting: number;
  waitMs: { count: number; total: number; max: number };
}

/** A fresh set of counters. */
export function emptyStats(value: number): ModelStats {
  return {
    value,
    waiting: 0,
    granted: 0,
    timedOut: 0,
    rejected: 0,
    withdrawn: 0,
    peakWaiting: 0,
    waitMs: { count: 0, total: 0, max: 0 },
  };
}

/** Counts a grant after `waited` ms in the queue (0: granted at once). */
export function countGrant(stats: ModelStats, waited: number): void {
  stats.granted++;
  stats.waitMs.count++;
  stats.waitMs.total += waited;
  if (waited > stats.waitMs.max) stats.waitMs.max = waited;
}

/**
 * Where a request of priority `priority` joins `queue`: after every request of equal or higher
 * priority (rule 19: FIFO within a priority, higher first).
 */
export function queueIndex(
  queue: ReadonlyArray<{ readonly spec: { readonly priority: number } }>,
  priority: number,
): number {
  let index = queue.length;
  while (index > 0 && queue[index - 1].spec.priority < priority) index--;
  return index;
}

// ------------------------------------------------------------------------------------------------
// The real worlds' side

/** What a subscriber has seen of its request. */
export type HandleState = 'waiting' | 'holding' | 'done';

/** How a subscriber sees a model request in each state. */
export const STATE_SEEN: Record<RequestState, HandleState> = {
  queued: 'waiting',
  assigned: 'waiting',
  holding: 'holding',
  closing: 'waiting',
  done: 'done',
};

/** A request of the real world, as its subscriber sees it. */
export interface BaseHandle<S extends BaseSpec = BaseSpec> extends Entry<S> {
  state: HandleState;
  /** Its subscriber saw complete or error. */
  notified: boolean;
  subscription: Subscription | null;
  source: { complete(): void; error(error: unknown): void } | null;
  tornDown: boolean;
}

/** A new request of the real world: waiting, inside its subscribe call. */
export function openHandle<S extends BaseSpec>(spec: S, seq: number, now: number) {
  return {
    spec,
    seq,
    deadline: deadlineOf(spec, now),
    state: 'waiting' as HandleState,
    settling: true,
    notified: false,
    subscription: null as Subscription | null,
    source: null,
    tornDown: false,
  };
}

/** Subscribes, then marks the handle as out of its subscribe call (even if subscribing threw). */
export function afterSubscribe(handle: BaseHandle, subscribe: () => Subscription): void {
  try {
    handle.subscription = subscribe();
  } finally {
    handle.settling = false;
  }
}

/** What {@link acquireObserver} needs of a world. */
export interface AcquiringWorld<H extends BaseHandle> {
  readonly events: string[];
  /** Invariant violations noticed inside callbacks; reported after the step. */
  readonly problems: string[];
  setState(handle: H, state: HandleState): void;
  /** Records that `handle` was granted (`what` says how), checking the grant order. */
  granted(handle: H, what: string): void;
  /** What the observer of `handle` does as soon as it is granted (its reaction), if anything. */
  react(handle: H): void;
  /** Releases what `handle` holds. */
  giveBack(handle: H): void;
}

/**
 * The observer of an `acquire()` request: logs what it sees, which must be one value then complete;
 * when granted, reacts, then releases at once if its spec says so; `false` only while waiting.
 */
export function acquireObserver<H extends BaseHandle>(
  world: AcquiringWorld<H>,
  handle: H,
): Observer<boolean> {
  const { name, atOnce } = handle.spec;
  let emitted = 0;
  return {
    next: (ok) => {
      emitted++;
      world.events.push(`${name}: ${ok}`);
      if (!ok) {
        if (handle.state !== 'waiting') world.problems.push(`${name}: false while ${handle.state}`);
        world.setState(handle, 'done');
        return;
      }
      world.granted(handle, 'granted');
      try {
        world.react(handle);
        if (atOnce && handle.state === 'holding') {
          world.setState(handle, 'done');
          world.giveBack(handle);
        }
      } catch (error) {
        world.problems.push(`${name}: its observer threw ${String(error)}`);
      }
    },
    error: (error: unknown) => world.problems.push(`${name}: acquire() errored: ${String(error)}`),
    complete: () => {
      if (emitted !== 1) world.problems.push(`${name}: acquire() completed after ${emitted} values`);
    },
  };
}

/** Whether a real request's subscriber is still waiting for it. */
export function isWaiting(handle: BaseHandle): boolean {
  return handle.state === 'waiting';
}

/** Whether a real request may be acted upon at all (the same rule as {@link modelActionable}). */
export function handleActionable<H extends BaseHandle>(handle: H | undefined, now: number): handle is H {
  if (handle === undefined || handle.state === 'done' || handle.settling) return false;
  return !(handle.state === 'waiting' && handle.deadline <= now);
}

/**
 * The source of a running gated stream completes or errors; it must be torn down, and its
 * subscriber told unless it was unsubscribed. `done` marks the handle done first: the grants its
 * permits make run before its subscriber is told (rule 8).
 */
export function finishSource(
  handle: BaseHandle,
  how: 'complete' | 'error',
  done: () => void,
  problems: string[],
): void {
  const { name } = handle.spec;
  const source = handle.source!;
  done();
  if (how === 'complete') source.complete();
  else source.error(new TestError(name));
  if (!handle.tornDown) problems.push(`${name}: source not torn down after ${how}`);
  if (!handle.notified && !handle.subscription!.closed) {
    problems.push(`${name}: ${how} did not reach the subscriber`);
  }
}

/** A subscriber of the primitive's value observable, beyond the one each world keeps from the start. */
export interface Listener {
  readonly id: number;
  last: number | undefined;
}

/** Subscribes a new {@link Listener} to `values`, which records the last value it sees. */
export function addListener(
  listeners: Listener[],
  values: { subscribe(next: (value: number) => void): unknown },
): Listener {
  const listener: Listener = { id: listeners.length + 1, last: undefined };
  listeners.push(listener);
  values.subscribe((value) => {
    listener.last = value;
  });
  return listener;
}

/** Logs every value `values` emits after the one it replays on subscribe. */
export function recordValues(
  values: { subscribe(next: (value: number) => void): unknown },
  log: number[],
): void {
  let first = true;
  values.subscribe((value) => {
    if (first) first = false;
    else log.push(value);
  });
}

// ------------------------------------------------------------------------------------------------
// Rules both sides apply

/**
 * The name `target` designates for the reaction of `me`: itself, or for {@link NEXT_WAITING} the
 * earliest request still waiting (not subscribing, its deadline not come) that subscribed after it.
 */
export function resolveTarget<E extends Entry>(
  target: string,
  me: E,
  entries: Iterable<E>,
  now: number,
  waiting: (entry: E) => boolean,
): string | null {
  if (target !== NEXT_WAITING) return target;
  let next: E | null = null;
  for (const other of entries) {
    if (!waiting(other) || other.settling || other.deadline <= now || other.seq <= me.seq) continue;
    if (next === null || other.seq < next.seq) next = other;
  }
  return next === null ? null : next.spec.name;
}

/** Whether `action` applies to a request of `kind` (not a merge) that may be acted upon. */
export function appliesTo(
  action: AnyAction,
  kind: string,
  atOnce: boolean,
  holding: boolean,
  waiting: boolean,
): boolean {
  switch (action) {
    case 'release':
      return (kind === 'acquire' || kind === 'tryAcquire') && holding;
    case 'unsubscribe':
      return kind === 'acquire' && waiting;
    case 'cut':
      return kind === 'gate';
    case 'emit':
    case 'adjust+1':
    case 'adjust-1':
      return false;
    default:
      return kind === 'gate' && holding && !atOnce;
  }
}

/** Whether `action` applies to a `mergeMapWithPermit` subscription that may be acted upon. */
export function appliesToMerge(action: AnyAction, sourceDone: boolean): boolean {
  if (action === 'cut') return true;
  return (action === 'emit' || action === 'complete' || action === 'error') && !sourceDone;
}

/** What every side (model or world) can do to a named request. */
export interface Performer {
  releaseHeld(name: string): unknown;
  unsubscribe(name: string): void;
  cut(name: string): void;
  finish(name: string, how: 'complete' | 'error'): void;
  emit?(name: string): void;
  adjust?(delta: number): unknown;
}

/** Does `action` to `name` on `side`; `acquire` starts a plain request under that name. */
export function performOn(side: Performer, name: string, action: AnyAction, acquire: () => void): void {
  switch (action) {
    case 'release':
      side.releaseHeld(name);
      return;
    case 'unsubscribe':
      side.unsubscribe(name);
      return;
    case 'cut':
      side.cut(name);
      return;
    case 'acquire':
      acquire();
      return;
    case 'emit':
      side.emit!(name);
      return;
    case 'adjust+1':
    case 'adjust-1':
      side.adjust!(adjustDelta(action)!);
      return;
    default:
      side.finish(name, action);
  }
}

/** How a counterexample shows an action on `name` (`owner`: the RLock owner an `acquire` names). */
export function actionText(name: string, action: AnyAction, owner = ''): string {
  if (name === NEXT_WAITING) return 'unsubscribe the next request still waiting';
  switch (action) {
    case 'release':
    case 'unsubscribe':
      return `${action} ${name}`;
    case 'acquire':
      return `${name} = acquire(${owner})`;
    case 'emit':
      return `${name}'s source emits`;
    case 'adjust+1':
    case 'adjust-1':
      return `adjust(${adjustDelta(action)})`;
    case 'cut':
      return `unsubscribe ${name} (cut off)`;
    default:
      return `${name}'s source: ${action}`;
  }
}

/** How a counterexample shows a request's options: `lead` first, then the options both primitives take. */
export function optionsText(
  lead: string[],
  spec: { readonly blocking: boolean; readonly timeout: number | null; readonly fallback: boolean },
): string {
  const parts = [...lead];
  if (!spec.blocking) parts.push('blocking: false');
  if (spec.timeout !== null) parts.push(`timeout: ${spec.timeout}`);
  if (spec.fallback) parts.push('with: fallback');
  return parts.length === 0 ? '' : `{ ${parts.join(', ')} }`;
}

/** How a counterexample shows what an `acquire()` observer does when granted. */
export function whenGrantedText(reaction: string | null, release: string | null): string {
  const reactions: string[] = [];
  if (reaction !== null) reactions.push(reaction);
  if (release !== null) reactions.push(release);
  return reactions.length === 0 ? '' : `, when granted: ${reactions.join(', then ')}`;
}

// ------------------------------------------------------------------------------------------------
// fast-check steps

/** The reference model, as the shared steps use it. */
export interface ModelSide<A extends AnyAction> extends Performer {
  step: number;
  listeners: number;
  readonly requests: ReadonlyMap<string, unknown>;
  readonly clock: { schedule(delay: number, fire: () => void): unknown };
  can(name: string, action: A): boolean;
  perform(name: string, action: A, owner?: string): void;
  advance(ms: number): void;
}

/** The real world, as the shared steps use it. */
export interface WorldSide<A extends AnyAction> extends Performer {
  readonly handles: ReadonlyMap<string, unknown>;
  readonly scheduler: { schedule(work: () => void, delay: number): unknown };
  can(name: string, action: A): boolean;
  perform(name: string, action: A, owner?: string): void;
  advance(ms: number): void;
  subscribeValue(): void;
}

/** Runs a step on both sides, then compares them; a failure names the step. */
export abstract class ModelStep<M extends { step: number }, R> implements fc.Command<M, R> {
  abstract check(model: Readonly<M>): boolean;
  protected abstract apply(model: M, real: R): void;
  /** The checks run after every step. */
  protected abstract compare(model: M, real: R): void;
  abstract toString(): string;

  run(model: M, real: R): void {
    const label = `step ${++model.step} (${this.toString()})`;
    during(label, () => {
      this.apply(model, real);
      this.compare(model, real);
    });
  }
}

/** The steps both primitives' tests take, given how to compare the two sides. */
export function sharedSteps<A extends AnyAction, M extends ModelSide<A>, R extends WorldSide<A>>(
  compare: (model: M, real: R) => void,
) {
  abstract class Step extends ModelStep<M, R> {
    protected compare(model: M, real: R): void {
      compare(model, real);
    }
  }

  class UnsubscribeStep extends Step {
    constructor(readonly name: string) {
      super();
    }
    check(model: Readonly<M>): boolean {
      return model.can(this.name, 'unsubscribe' as A);
    }
    protected apply(model: M, real: R): void {
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
    check(model: Readonly<M>): boolean {
      return model.can(this.name, this.how as A);
    }
    protected apply(model: M, real: R): void {
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

  /**
   * Schedules an action on the request alive now, `ms` from now, on the primitive's scheduler: so
   * that releases, unsubscriptions and completions race timeouts due in the same frame (rule 6).
   * When it fires it acts only if that same request is still in a state where the action applies.
   * `owner`: the RLock owner an `acquire` names.
   */
  class LaterStep extends Step {
    constructor(
      readonly ms: number,
      readonly name: string,
      readonly action: A,
      readonly owner?: string,
    ) {
      super();
    }
    check(model: Readonly<M>): boolean {
      return model.can(this.name, this.action);
    }
    protected apply(model: M, real: R): void {
      const { name, action, owner } = this;
      const request = model.requests.get(name);
      model.clock.schedule(this.ms, () => {
        if (model.requests.get(name) === request && model.can(name, action))
          model.perform(name, action, owner);
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

  class AdvanceStep extends Step {
    constructor(readonly ms: number) {
      super();
    }
    check(): boolean {
      return true;
    }
    protected apply(model: M, real: R): void {
      model.advance(this.ms);
      real.advance(this.ms);
    }
    toString(): string {
      return `advance ${this.ms} ms`;
    }
  }

  /** Subscribes one more listener to the value observable (`what` names it), up to `most`. */
  class SubscribeValueStep extends Step {
    constructor(
      readonly most: number,
      readonly what: string,
    ) {
      super();
    }
    check(model: Readonly<M>): boolean {
      return model.listeners < this.most;
    }
    protected apply(model: M, real: R): void {
      model.listeners++;
      real.subscribeValue();
    }
    toString(): string {
      return `subscribe to the ${this.what} observable`;
    }
  }

  return { Step, UnsubscribeStep, FinishStep, LaterStep, AdvanceStep, SubscribeValueStep };
}

// ------------------------------------------------------------------------------------------------
// Arbitraries

export const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

export const nameArb = fc.constantFrom(...NAMES);

/** Request timeouts: none, a few ms, or none to wait (0 and negative). */
export const timeoutArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 4 },
  { arbitrary: fc.constantFrom(0, -1), weight: 1 },
);

/** `true` once for every `weight` times `false`. */
export const rarely = (weight: number) =>
  fc.oneof({ arbitrary: fc.constant(false), weight }, { arbitrary: fc.constant(true), weight: 1 });

/** How a gated stream ends: its source completes or errors, or its subscriber unsubscribes. */
export const finishArb = fc.constantFrom('complete' as const, 'error' as const, 'cut' as const);

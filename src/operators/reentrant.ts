import type { MonoTypeOperatorFunction, Subscriber } from 'rxjs';
import type { LockCore } from '../core/lock-core.js';
import type { Lease, PermitBackend } from '../core/permit-backend.js';
import { demandFor } from '../internal/permit-request.js';
import { findDownstream } from '../internal/subscription-chain.js';
import {
  checkOptionalFunction,
  checkOptions,
  checkOwner,
  checkPriority,
  checkScheduler,
  checkTimeout,
} from '../internal/validate.js';
import { lockTargetOf, type RLock } from '../rlock.js';
import type { PermitOptions } from './options.js';
import { gate, type GateConfig, type PermitFallback } from './permit-gate.js';
import { PermitHolder } from './permit-holder.js';

/** Options of {@link reentrant}. */
export interface ReentrantOptions<T> extends Omit<PermitOptions<T>, 'permits'> {
  /**
   * The owner the stream holds the lock as. By default it is inferred: the owner of the nearest
   * stream downstream (in the subscription chain) that holds this lock, else a new owner.
   */
  owner?: object | undefined;
}

/**
 * Gates a stream by an {@link RLock}: the source is subscribed once the lock is held, and holds it
 * for exactly the life of its subscription (given back on complete or error, before forwarding
 * them, or on unsubscribe).
 *
 * Ownership follows the data: a stream whose output flows into a stream that holds the lock is the
 * same owner, and re-enters at once instead of deadlocking — whether it is subscribed synchronously
 * inside the holder, later from a `mergeMap`/`switchMap`/`concatMap` inner (after a timer, say), or
 * by a recursive `expand`; concurrent inners of one holder all share its ownership. A stream
 * reached only through a `Subject` or `share()` is a different owner and waits its turn: a
 * multicast source has many consumers, so its output cannot be said to flow into one of them.
 * `owner` overrides the inference.
 *
 * @example
 * ```ts
 * import { RLock, reentrant } from 'rxjs-permits';
 *
 * const tokenLock = new RLock();
 *
 * // One refresh at a time; a refresh started inside a locked request re-enters.
 * const refresh$ = http.post('/token/refresh', {}).pipe(reentrant(tokenLock));
 * const request$ = http.get('/data').pipe(
 *   catchError(() => refresh$.pipe(switchMap(() => http.get('/data')))),
 *   reentrant(tokenLock),
 * );
 * ```
 *
 * @param lock The lock.
 * @param options `owner`, `timeout` in ms, `scheduler`, `with` (fallback stream on timeout).
 * @return A function that returns an Observable mirroring the source, holding the lock.
 * @throws `TypeError` when `lock` is not an RLock, `owner` is not an object, or an option has the
 * wrong type or an unknown key.
 * @throws `RangeError` when `timeout` is NaN.
 */
export function reentrant<T>(lock: RLock, options?: ReentrantOptions<T>): MonoTypeOperatorFunction<T> {
  const where = 'reentrant';
  const { core, scheduler } = lockTargetOf(where, lock);
  const opts = checkOptions<ReentrantOptions<T>>(where, options, [
    'owner',
    'priority',
    'timeout',
    'scheduler',
    'with',
  ]);
  const owner = opts.owner === undefined ? undefined : checkOwner(where, 'options.owner', opts.owner);
  const priority = checkPriority(where, 'options.priority', opts.priority);
  const timeout = checkTimeout(where, 'options.timeout', opts.timeout);
  const config: GateConfig<T> = {
    permits: 1,
    priority,
    timeout,
    maxWaiting: Infinity,
    demand: demandFor(1, priority, timeout, Infinity),
    scheduler: checkScheduler(where, 'options.scheduler', opts.scheduler) ?? scheduler,
    fallback: checkOptionalFunction<PermitFallback<T>>(where, 'options.with', opts.with),
    holderFor: (downstream: Subscriber<T>, lease: Lease): PermitHolder<T> =>
      new LockHolder(downstream, lease, core, (lease as Lease & { readonly owner: object }).owner),
  };
  const backendFor = (downstream: Subscriber<T>): PermitBackend =>
    core.backendFor(owner ?? inferOwner(core, downstream) ?? new Owner());
  return (source) => gate(source, backendFor, config);
}

// Holders are recognised by a registered symbol rather than `instanceof`, so that an app that loads
// both the ESM and the CommonJS build still infers owners across them (see gate-target.ts).
const LOCK_HOLDER = Symbol.for('rxjs-permits.lockHolder');

/** Holds the lock for the life of one gated subscription, and marks the chain with its owner. */
class LockHolder<T> extends PermitHolder<T> {
  readonly [LOCK_HOLDER] = true;
  readonly core: LockCore;
  readonly owner: object;

  constructor(destination: Subscriber<T>, lease: Lease, core: LockCore, owner: object) {
    super(destination, lease);
    this.core = core;
    this.owner = owner;
  }
}

/** The owner of the nearest holder of this lock downstream of `subscriber`, if any. */
function inferOwner(core: LockCore, subscriber: Subscriber<unknown>): object | null {
  const holder = findDownstream(
    subscriber,
    (candidate): candidate is LockHolder<unknown> =>
      (candidate as Partial<LockHolder<unknown>>)[LOCK_HOLDER] === true &&
      (candidate as LockHolder<unknown>).core === core &&
      (candidate as LockHolder<unknown>).holding,
  );
  return holder === null ? null : holder.owner;
}

let ownersMade = 0;

/** An inferred owner: one per gated subscription that found no holder downstream. */
class Owner {
  /** Names the owner in a {@link LockOwnershipError}. */
  readonly name = `stream owner #${++ownersMade}`;
}

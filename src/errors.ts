/**
 * Errors of rxjs-permits. Every class sets `name`, works with `instanceof`, carries the numbers
 * involved as fields, and has a message that names the primitive and those numbers.
 *
 * @module
 */

/**
 * A request waited `timeout` ms without being granted its permits.
 *
 * Raised by {@link withPermit}, {@link boundedPermit}, {@link mergeMapWithPermit} and
 * {@link reentrant} when their `timeout` passes (unless a `with` fallback takes over).
 * `acquire()` does not raise it: it emits `false` instead.
 *
 * @example
 * ```ts
 * import { Semaphore, withPermit, PermitTimeoutError } from 'rxjs-permits';
 * import { NEVER, catchError, of } from 'rxjs';
 *
 * const semaphore = new Semaphore(0);
 * NEVER.pipe(
 *   withPermit(semaphore, { timeout: 100 }),
 *   catchError((error) => of(error instanceof PermitTimeoutError ? error.timeout : -1)),
 * ).subscribe(console.log); // 100, after 100 ms
 * ```
 */
export class PermitTimeoutError extends Error {
  /** Always `'PermitTimeoutError'`. */
  override readonly name = 'PermitTimeoutError';
  /** The name of the primitive waited on (`Semaphore`, `BoundedSemaphore`, `RLock`, ...). */
  readonly primitive: string;
  /** How long the request waited, in milliseconds. */
  readonly timeout: number;
  /** How many permits it asked for. */
  readonly permits: number;

  /**
   * Made by the operators; `info` gives the fields (missing ones default to `'Semaphore'`, 0 ms and
   * 1 permit, so tests can build an expected error).
   */
  constructor(fields: Partial<{ primitive: string; timeout: number; permits: number }> = {}) {
    const info = { primitive: 'Semaphore', timeout: 0, permits: 1, ...fields };
    super(
      `${info.primitive}: no permit within ${info.timeout} ms ` +
        `(${info.permits} ${info.permits === 1 ? 'permit' : 'permits'} requested)`,
    );
    this.primitive = info.primitive;
    this.timeout = info.timeout;
    this.permits = info.permits;
  }
}

/**
 * {@link boundedPermit} found no permit free and `maxWaiting` requests already queued, so it
 * refused the stream at once instead of queueing it (a bulkhead).
 *
 * @example
 * ```ts
 * import { Semaphore, boundedPermit, PermitRejectedError } from 'rxjs-permits';
 * import { of } from 'rxjs';
 *
 * const semaphore = new Semaphore(0);
 * of('work').pipe(boundedPermit(semaphore)).subscribe({
 *   error: (error) => console.log(error instanceof PermitRejectedError, error.maxWaiting), // true 0
 * });
 * ```
 */
export class PermitRejectedError extends Error {
  /** Always `'PermitRejectedError'`. */
  override readonly name = 'PermitRejectedError';
  /** The name of the primitive that refused. */
  readonly primitive: string;
  /** How many permits the refused stream asked for. */
  readonly permits: number;
  /** Requests queued on the primitive when it refused. */
  readonly waiting: number;
  /** The `maxWaiting` limit that was reached. */
  readonly maxWaiting: number;
  /**
   * Set when the request was refused because it asks more than the primitive could ever grant (a
   * bound lowered by `adjust` below it): that bound. `undefined` for a full bulkhead.
   */
  readonly bound: number | undefined;

  /**
   * Made by `boundedPermit`; `info` gives the fields (missing ones default to `'Semaphore'`,
   * 1 permit, 0 waiting and `maxWaiting` 0).
   */
  constructor(
    fields: Partial<{
      primitive: string;
      permits: number;
      waiting: number;
      maxWaiting: number;
      bound: number | undefined;
    }> = {},
  ) {
    const info = {
      primitive: 'Semaphore',
      permits: 1,
      waiting: 0,
      maxWaiting: 0,
      bound: undefined,
      ...fields,
    };
    super(
      info.bound !== undefined
        ? `${info.primitive}: rejected a request for ${info.permits} permits, more than its bound of ` +
            `${info.bound}: it could never be granted`
        : `${info.primitive}: rejected a request for ${info.permits} ` +
            `${info.permits === 1 ? 'permit' : 'permits'}: none free and ${info.waiting} ` +
            `already waiting (maxWaiting ${info.maxWaiting})`,
    );
    this.primitive = info.primitive;
    this.permits = info.permits;
    this.waiting = info.waiting;
    this.maxWaiting = info.maxWaiting;
    this.bound = info.bound;
  }
}

/**
 * A `BoundedSemaphore` was released above its initial value. The release changed nothing.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore, OverReleaseError } from 'rxjs-permits';
 *
 * const semaphore = new BoundedSemaphore(2);
 * try {
 *   semaphore.release();
 * } catch (error) {
 *   console.log(error instanceof OverReleaseError, semaphore.value); // true 2
 * }
 * ```
 */
export class OverReleaseError extends Error {
  /** Always `'OverReleaseError'`. */
  override readonly name = 'OverReleaseError';
  /** The name of the primitive. */
  readonly primitive: string;
  /** The bound: the initial value. */
  readonly bound: number;
  /** The value before the refused release. */
  readonly value: number;
  /** The permits the refused release tried to give back. */
  readonly permits: number;

  /**
   * Made by `BoundedSemaphore.release`; `info` gives the fields (missing ones default to
   * `'BoundedSemaphore'`, bound 1, value 1 and 1 permit).
   */
  constructor(fields: Partial<{ primitive: string; bound: number; value: number; permits: number }> = {}) {
    const info = { primitive: 'BoundedSemaphore', bound: 1, value: 1, permits: 1, ...fields };
    super(
      `${info.primitive}: releasing ${info.permits} would raise the value from ${info.value} ` +
        `to ${info.value + info.permits}, above its bound of ${info.bound}`,
    );
    this.primitive = info.primitive;
    this.bound = info.bound;
    this.value = info.value;
    this.permits = info.permits;
  }
}

/**
 * An `RLock` was released by an owner that does not hold it, or while nobody holds it.
 * The release changed nothing.
 *
 * @example
 * ```ts
 * import { RLock, LockOwnershipError } from 'rxjs-permits';
 *
 * const lock = new RLock();
 * try {
 *   lock.release({});
 * } catch (error) {
 *   console.log(error instanceof LockOwnershipError); // true
 * }
 * ```
 */
export class LockOwnershipError extends Error {
  /** Always `'LockOwnershipError'`. */
  override readonly name = 'LockOwnershipError';
  /** The name of the primitive. */
  readonly primitive: string;
  /** The owner that tried to release. */
  readonly caller: object;
  /** The owner holding the lock at that moment, or `null` when it was free. */
  readonly owner: object | null;

  /**
   * Made by `RLock.release`; `info` gives the fields (missing ones default to `'RLock'`, an
   * anonymous caller and no owner).
   */
  constructor(fields: Partial<{ primitive: string; caller: object; owner: object | null }> = {}) {
    const info = { primitive: 'RLock', caller: {}, owner: null, ...fields };
    super(
      info.owner === null
        ? `${info.primitive}: released by ${describeOwner(info.caller)} while not held`
        : `${info.primitive}: released by ${describeOwner(info.caller)}, ` +
            `but it is held by ${describeOwner(info.owner)}`,
    );
    this.primitive = info.primitive;
    this.caller = info.caller;
    this.owner = info.owner;
  }
}

function describeOwner(owner: object): string {
  const name = (owner as { name?: unknown }).name;
  if (typeof name === 'string' && name !== '') return `owner "${name}"`;
  const constructorName = (owner as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof constructorName === 'string' && constructorName !== '' && constructorName !== 'Object'
    ? `an owner of class ${constructorName}`
    : 'another owner';
}

/**
 * The backend that keeps a primitive's permits failed while a request waited (unreachable, its state
 * lost): the request is gone and holds nothing. `cause` is what the backend reported.
 *
 * @example
 * ```ts
 * import { PermitBackendError } from 'rxjs-permits';
 * import { SimulatedRemoteSemaphore } from 'rxjs-permits/testing';
 * import { NEVER, asyncScheduler } from 'rxjs';
 * import { withPermit } from 'rxjs-permits';
 *
 * const remote = new SimulatedRemoteSemaphore(0, { latency: 5, scheduler: asyncScheduler });
 * NEVER.pipe(withPermit(remote)).subscribe({
 *   error: (error) => console.log(error instanceof PermitBackendError), // true
 * });
 * remote.failPending(new Error('connection lost'));
 * ```
 */
export class PermitBackendError extends Error {
  /** Always `'PermitBackendError'`. */
  override readonly name = 'PermitBackendError';
  /** The name of the primitive whose backend failed. */
  readonly primitive: string;

  /**
   * Made by a backend; `fields` gives the primitive (default `'Semaphore'`) and the cause.
   */
  constructor(fields: Partial<{ primitive: string; cause: unknown }> = {}) {
    const primitive = fields.primitive ?? 'Semaphore';
    const cause = fields.cause;
    const why =
      cause instanceof Error ? cause.message : cause === undefined ? 'no cause given' : String(cause);
    super(`${primitive}: the permit backend failed (${why})`, { cause });
    this.primitive = primitive;
  }
}

/**
 * A held lease was lost: it expired, or the backend's state was lost, so the holder no longer holds
 * its permits. `regrantable` says whether they may already have been granted to someone else
 * meanwhile (then the work done under the lease may overlap another holder's: its fencing `token`
 * lets a resource refuse the stale holder).
 *
 * @example
 * ```ts
 * import { PermitLostError } from 'rxjs-permits';
 *
 * function onError(error: unknown) {
 *   if (error instanceof PermitLostError && error.regrantable) console.log('stop writing', error.token);
 * }
 * ```
 */
export class PermitLostError extends Error {
  /** Always `'PermitLostError'`. */
  override readonly name = 'PermitLostError';
  /** The name of the primitive. */
  readonly primitive: string;
  /** The fencing token of the lost lease. */
  readonly token: number;
  /** Whether the permits may already be held by someone else. */
  readonly regrantable: boolean;

  /**
   * Made by a backend; `fields` gives the fields (missing ones default to `'Semaphore'`, token 0 and
   * regrantable `true`).
   */
  constructor(
    fields: Partial<{ primitive: string; token: number; regrantable: boolean; cause: unknown }> = {},
  ) {
    const info = { primitive: 'Semaphore', token: 0, regrantable: true, ...fields };
    super(
      `${info.primitive}: the lease with token ${info.token} was lost` +
        (info.regrantable ? '; its permits may already be held by someone else' : ''),
      fields.cause === undefined ? undefined : { cause: fields.cause },
    );
    this.primitive = info.primitive;
    this.token = info.token;
    this.regrantable = info.regrantable;
  }
}

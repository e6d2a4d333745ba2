import { from, type Observable, type ObservableInput } from 'rxjs';
import type { Lease } from '../core/permit-backend.js';
import { checkFunction } from '../internal/validate.js';
import type { PermitPool } from '../types.js';
import { gateConfig, type PermitOptions } from './options.js';
import { gate } from './permit-gate.js';

/**
 * A stream built from a lease: RxJS's `using`, for permits. Each subscription requests the permits
 * (as {@link withPermit} does: the same queue, options and timeouts); once they are held, `factory`
 * is called with the {@link Lease} and its stream is subscribed; the lease is released exactly as
 * `withPermit` releases — when that stream completes, errors or is unsubscribed, before the
 * notification goes downstream. The lease's fencing `token` lets the stream prove to a resource
 * that it is the current holder; releasing the lease early ends the hold (and is not done again).
 *
 * @example
 * ```ts
 * import { Semaphore, usingLease } from 'rxjs-permits';
 * import { of } from 'rxjs';
 *
 * const writers = new Semaphore(1);
 * usingLease(writers, (lease) => of(`write with token ${lease.token}`)).subscribe(console.log);
 * ```
 *
 * @param semaphore Any {@link PermitPool}.
 * @param factory Makes the stream once the lease is held; called once per subscription.
 * @param options `permits`, `priority`, `timeout`, `scheduler`, `with`, as in `withPermit`.
 * @return An Observable of the factory's stream (or the fallback's), run while holding the lease.
 * @throws `TypeError` when `semaphore` is not a PermitPool, `factory` is not a function, or an
 * option has the wrong type or an unknown key.
 * @throws `RangeError` when `permits` is not a positive integer or exceeds a bound, `priority` is
 * not a safe integer, or `timeout` is NaN.
 * @see {@link withPermit}
 */
export function usingLease<T, R = T>(
  semaphore: PermitPool,
  factory: (lease: Lease) => ObservableInput<T>,
  options?: PermitOptions<R>,
): Observable<T | R> {
  checkFunction('usingLease', 'factory', factory);
  const { target, config } = gateConfig<T | R>('usingLease', semaphore, options, Infinity);
  const backend = target.backend;
  return gate<T | R>((lease) => from(factory(lease)), backend, config);
}

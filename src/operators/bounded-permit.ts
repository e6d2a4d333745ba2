import type { OperatorFunction } from 'rxjs';
import type { PermitPool } from '../types.js';
import { gateConfig, type BoundedPermitOptions } from './options.js';
import { gate } from './permit-gate.js';

/**
 * A bulkhead: {@link withPermit} with a bound on waiting. When no permit is free and `maxWaiting`
 * requests are already queued on the semaphore (by anyone), the stream is refused at once with
 * {@link PermitRejectedError} — or switched to the `with` fallback — instead of queueing.
 *
 * With the default `maxWaiting: 0` a stream runs now or is rejected now: the classic bulkhead in
 * front of a slow dependency, which sheds load instead of letting a queue grow. Otherwise it behaves
 * as `withPermit`, `timeout` included.
 *
 * @example
 * ```ts
 * import { Semaphore, boundedPermit } from 'rxjs-permits';
 * import { of } from 'rxjs';
 *
 * const reports = new Semaphore(2);
 *
 * const report$ = fetchReport().pipe(
 *   boundedPermit(reports, { maxWaiting: 10, with: () => of(cachedReport) }),
 * );
 * ```
 *
 * @param semaphore The shared limit: any {@link PermitPool} (a `Semaphore`, `BoundedSemaphore` or
 * `DummySemaphore`).
 * @param options `maxWaiting` (default 0), and `permits`, `timeout`, `scheduler`, `with` as in
 * `withPermit`.
 * @return A function that returns an Observable mirroring the source, gated by the semaphore.
 * @throws `TypeError` when `semaphore` is not one of this library's semaphores or an option has the
 * wrong type or an unknown key.
 * @throws `RangeError` when `maxWaiting` is negative or not an integer, `permits` is not a positive
 * integer or exceeds a bound, or `timeout` is NaN.
 * @see {@link withPermit}
 */
export function boundedPermit<T, R = T>(
  semaphore: PermitPool,
  options?: BoundedPermitOptions<R>,
): OperatorFunction<T, T | R> {
  const { target, config } = gateConfig<T | R>('boundedPermit', semaphore, options, 0);
  const backend = target.backend;
  if (backend.unlimited === true) return (source) => source; // rule 14: untouched
  return (source) => gate<T | R>(source, backend, config);
}

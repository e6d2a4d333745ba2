import type { OperatorFunction } from 'rxjs';
import type { PermitPool } from '../types.js';
import { gateConfig, type PermitOptions } from './options.js';
import { gate } from './permit-gate.js';

/**
 * Gates a stream by a semaphore shared with other streams: the source is subscribed only once it
 * holds its permits, and gives them back the moment it completes, errors or is unsubscribed.
 *
 * Each subscription is one request in the semaphore's FIFO queue, shared with every other user of
 * the semaphore, so several pipelines that gate with one semaphore of N never run more than N gated
 * streams at once, and waiting streams start in the order they subscribed. When nobody is queued
 * and the permits are free, the source is subscribed synchronously. The permits are given back
 * *before* the source's complete or error is forwarded downstream, so a downstream handler already
 * sees them free; unsubscribing a stream that still waits withdraws its request and consumes
 * nothing. With a `DummySemaphore` the stream passes through untouched.
 *
 * Mind the size of a request: `withPermit(new Semaphore(2), { permits: 3 })` is not an error (a
 * plain Semaphore may be released above its initial value, and then it can be granted), but until
 * then it waits, and as the head of the queue it holds back every smaller request behind it
 * (requests are served strictly in order). `semaphore.waiting` shows it. Use a `BoundedSemaphore`
 * (such a request is a RangeError at once) or a `timeout` where that must not happen.
 *
 * A `with` fallback may emit another type than the source: the output is then their union, as with
 * RxJS's `timeout({ with })`.
 *
 * @example
 * ```ts
 * import { Semaphore, withPermit } from 'rxjs-permits';
 * import { ajax } from 'rxjs/ajax';
 *
 * const uploads = new Semaphore(4); // at most 4 uploads across the whole app
 *
 * function upload(file: File) {
 *   return ajax.post('/upload', file).pipe(withPermit(uploads, { timeout: 30_000 }));
 * }
 * ```
 *
 * @param semaphore The shared limit: any {@link PermitPool} (a `Semaphore`, `BoundedSemaphore` or
 * `DummySemaphore`).
 * @param options `permits` (default 1), `timeout` in ms, `scheduler`, `with` (fallback stream).
 * @return A function that returns an Observable mirroring the source (or the fallback), gated by
 * the semaphore.
 * @throws `TypeError` when `semaphore` is not one of this library's semaphores or an option has the
 * wrong type or an unknown key (thrown by `withPermit` itself, not at subscribe).
 * @throws `RangeError` when `permits` is not a positive integer or exceeds a bound, or `timeout`
 * is NaN.
 * @see {@link boundedPermit}, {@link mergeMapWithPermit}
 */
export function withPermit<T, R = T>(
  semaphore: PermitPool,
  options?: PermitOptions<R>,
): OperatorFunction<T, T | R> {
  const { target, config } = gateConfig<T | R>('withPermit', semaphore, options, Infinity);
  const backend = target.backend;
  if (backend.unlimited === true) return (source) => source; // rule 14: untouched
  return (source) => gate<T | R>(source, backend, config);
}

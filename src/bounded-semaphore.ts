import { Semaphore } from './semaphore.js';

/**
 * A {@link Semaphore} that may never be released above its initial value, after gevent's
 * `BoundedSemaphore`: an over-release is nearly always a bug (a permit given back twice), so it
 * throws {@link OverReleaseError} and changes nothing. A request for more permits than the bound
 * could never be granted, so it is a RangeError thrown by the call that makes it.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore } from 'rxjs-permits';
 *
 * const uploads = new BoundedSemaphore(4);
 * uploads.tryAcquire(); // true
 * uploads.release();    // 4
 * uploads.release();    // throws OverReleaseError: the bound is 4
 * ```
 *
 * @throws `RangeError` from the constructor when `value` is not an integer >= 0.
 * @see {@link Semaphore}
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */
  protected static override readonly bounded: boolean = true;
  /** @internal */
  protected static override readonly primitiveName: string = 'BoundedSemaphore';
}

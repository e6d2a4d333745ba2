import { BackendSemaphore } from './backend-semaphore.js';
import { DummyBackend } from './core/dummy-backend.js';
import { checkFunction, checkPrimitiveOptions } from './internal/validate.js';
import type { PrimitiveOptions } from './types.js';

const KIND = 'DummySemaphore';

/**
 * A semaphore that never blocks, after gevent's `DummySemaphore`: its value is `Infinity`,
 * `acquire` is granted at once, `release`, `rawlink` and `unlink` do nothing, and the operators
 * pass streams through untouched. Use it where a limit is optional: code written against
 * `Semaphore | DummySemaphore` needs no branch for "unlimited".
 *
 * It is an `Observable<number>` that emits `Infinity` on subscribe and never completes. Arguments
 * are checked as by {@link Semaphore}, so code that is wrong with a real semaphore fails here too.
 *
 * @example
 * ```ts
 * import { DummySemaphore, Semaphore, withPermit } from 'rxjs-permits';
 *
 * const limit = config.unlimited ? new DummySemaphore() : new Semaphore(4);
 * upload$.pipe(withPermit(limit)).subscribe();
 * ```
 *
 * @throws `RangeError` / `TypeError` from its methods for bad arguments, as `Semaphore`'s (its
 * constructor accepts any value, but checks its options).
 * @see {@link Semaphore}
 */
export class DummySemaphore extends BackendSemaphore {
  /**
   * Creates a semaphore that never blocks.
   *
   * @param _value Accepted and ignored, for compatibility with `Semaphore`.
   * @param options `name`: named in messages; `scheduler`: checked, then unused (nothing waits).
   */
  constructor(_value?: number | null, options?: PrimitiveOptions) {
    const { scheduler, name, label } = checkPrimitiveOptions(KIND, options);
    super(new DummyBackend(label), { scheduler, name });
  }

  /**
   * Does nothing (as gevent's): a dummy semaphore never changes, so there is nothing to be told of.
   * @throws `TypeError` when `callback` is not a function.
   */
  override rawlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.rawlink`, 'callback', callback);
  }

  /**
   * Does nothing.
   * @throws `TypeError` when `callback` is not a function.
   */
  override unlink(callback: (semaphore: this) => void): void {
    checkFunction(`${this.label}.unlink`, 'callback', callback);
  }
}

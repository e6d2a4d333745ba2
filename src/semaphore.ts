import { statsClock } from './internal/clock.js';
import { BackendSemaphore } from './backend-semaphore.js';
import { SemaphoreCore } from './core/semaphore-core.js';
import { reportUnhandledError } from './internal/report-error.js';
import { checkCount, checkPrimitiveOptions } from './internal/validate.js';
import type { PrimitiveOptions } from './types.js';

/**
 * A counting semaphore, after gevent's `gevent.lock.Semaphore`: a counter of permits that
 * `acquire` takes and `release` gives back, shared by every stream that uses it.
 *
 * It is an `Observable<number>` of its `value` (permits not taken): a subscriber receives the
 * current value at once, then every settled change; it never completes.
 *
 * Unlike gevent, waiters are always served first come, first served: a request is granted at once
 * only when nobody is queued, and `tryAcquire` never overtakes a queued request. Permits released
 * while requests wait go straight to them (the hand-off is synchronous, so `TestScheduler` sees it
 * in the frame of the release). Like gevent's, it does not track ownership: anyone may release,
 * even above the initial value (use {@link BoundedSemaphore} to forbid that).
 *
 * Most code does not call `acquire`/`release` itself but gates streams with {@link withPermit},
 * {@link boundedPermit} or {@link mergeMapWithPermit}.
 *
 * @example
 * ```ts
 * import { Semaphore } from 'rxjs-permits';
 *
 * const semaphore = new Semaphore(2);
 * semaphore.subscribe((value) => console.log('free:', value)); // free: 2
 * semaphore.tryAcquire();                                       // free: 1
 * semaphore.acquire().subscribe((granted) => console.log(granted)); // true, then free: 0
 * semaphore.release(2);                                         // free: 2
 * ```
 *
 * @throws `RangeError` from the constructor when `value` is not an integer >= 0.
 * @throws `TypeError` from the constructor when `value` is not a number, `options.scheduler`
 * is not a scheduler, `options.name` is not a non-empty string, or an option key is unknown.
 * @see {@link BoundedSemaphore}, {@link DummySemaphore}, {@link withPermit}
 */
export class Semaphore extends BackendSemaphore {
  /** @internal Whether releases may not lift the value above the initial value. */
  protected static readonly bounded: boolean = false;
  /** @internal The name used in messages. */
  protected static readonly primitiveName: string = 'Semaphore';

  /**
   * Creates a semaphore with `value` permits.
   *
   * @param value The initial number of permits: an integer >= 0 (0 starts locked).
   * @param options `scheduler`: the default scheduler for this semaphore's timeouts; `name`: named
   * in messages and errors.
   */
  constructor(value: number = 1, options?: PrimitiveOptions) {
    const kind = (new.target as unknown as typeof Semaphore).primitiveName;
    const bounded = (new.target as unknown as typeof Semaphore).bounded;
    const initial = checkCount(kind, 'value', value);
    const { scheduler, name, label } = checkPrimitiveOptions(kind, options);
    const core = new SemaphoreCore(initial, bounded, label, reportUnhandledError, statsClock(scheduler));
    super(core, { scheduler, name });
  }
}

import { DestroyRef, Injector, assertInInjectionContext, inject, signal, type Signal } from '@angular/core';
import type { Subscription } from 'rxjs';
import type { PermitPool } from '../types.js';
import { gateTargetOf } from '../internal/gate-target.js';
import { checkOptions, describeValue } from '../internal/validate.js';

/** Options of {@link permitsSignal}. */
export interface PermitsSignalOptions {
  /**
   * The injector whose destruction stops the signal from following the pool. Needed when
   * `permitsSignal` is called outside an injection context (a constructor, a field initialiser, a
   * provider's factory).
   * @default the current injection context's injector
   */
  injector?: Injector | undefined;
}

/**
 * The permits free in `pool`, as a read-only `Signal<number>` for templates and `computed()`: it
 * holds `pool.value` at once and then every settled change of the pool (the pool's own observable),
 * so a template shows, for example, how many requests may still start.
 *
 * It follows the pool until its injector is destroyed (the component's, when called in one), then
 * unsubscribes and keeps its last value. The pool itself is not touched: it may outlive the signal.
 *
 * @example
 * ```ts
 * import { Component, inject } from '@angular/core';
 * import { permitsSignal } from 'rxjs-permits/angular';
 * import { API_PERMITS } from './app.config';
 *
 * @Component({
 *   selector: 'app-status',
 *   template: `<span>{{ free() }} of 4 request slots free</span>`,
 * })
 * export class StatusComponent {
 *   readonly free = permitsSignal(inject(API_PERMITS));
 * }
 * ```
 *
 * @param pool Any {@link index!PermitPool}: a `Semaphore`, `BoundedSemaphore`, `DummySemaphore`
 * (`Infinity`) or another backend's pool.
 * @param options `injector`, when not called in an injection context.
 * @return A read-only signal of the pool's free permits.
 * @throws `TypeError` when `pool` is not a PermitPool, `options.injector` is not an injector, or an
 * option is unknown.
 * @throws `Error` (Angular's NG0203) when called outside an injection context without `injector`.
 */
export function permitsSignal(pool: PermitPool, options?: PermitsSignalOptions): Signal<number> {
  const where = 'permitsSignal';
  gateTargetOf(where, 'pool', pool);
  const opts = checkOptions<PermitsSignalOptions>(where, options, ['injector']);
  const given = opts.injector;
  if (given !== undefined && (given === null || typeof (given as Injector).get !== 'function')) {
    throw new TypeError(
      `${where}: options.injector must be an Angular Injector, got ${describeValue(given)}`,
    );
  }
  if (given === undefined) assertInInjectionContext(permitsSignal);
  const injector = given ?? inject(Injector);
  const free = signal(pool.value);
  // Registered before subscribing: an injector already destroyed throws here and nothing leaks.
  let following: Subscription | undefined;
  let destroyed = false;
  injector.get(DestroyRef).onDestroy(() => {
    destroyed = true;
    following?.unsubscribe();
  });
  if (!destroyed) following = pool.subscribe((value) => free.set(value));
  return free.asReadonly();
}

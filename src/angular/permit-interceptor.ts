import { InjectionToken, inject } from '@angular/core';
import type { HttpEvent, HttpInterceptorFn, HttpRequest } from '@angular/common/http';
import { defer, type Observable } from 'rxjs';
import type { PermitRejectedError, PermitTimeoutError } from '../errors.js';
import { boundedPermit } from '../operators/bounded-permit.js';
import type { BoundedPermitOptions } from '../operators/options.js';
import type { PermitPool } from '../types.js';
import { gateTargetOf } from '../internal/gate-target.js';
import {
  checkBoolean,
  checkLimit,
  checkOptionalFunction,
  checkOptions,
  checkPermits,
  checkPriority,
  checkScheduler,
  checkTimeout,
  describeValue,
} from '../internal/validate.js';
import { PERMIT_CONTEXT, type PermitRequestOptions } from './permit-context.js';

/**
 * Where {@link permitInterceptor} finds its pool: the pool itself, an `InjectionToken` of one
 * (injected for each request, so every injector — every SSR render — may have its own), or a
 * selector that picks a pool for each request, `null` for a request that is not gated. A selector
 * runs in the interceptor's injection context, so it may call `inject()`.
 */
export type PermitPoolSource =
  PermitPool | InjectionToken<PermitPool> | ((req: HttpRequest<unknown>) => PermitPool | null);

type Fallback = (error: PermitTimeoutError | PermitRejectedError) => Observable<HttpEvent<unknown>>;

const WHERE = 'permitInterceptor';
const OPTIONS = ['permits', 'priority', 'timeout', 'scheduler', 'with', 'maxWaiting'] as const;
const CONTEXT_FIELDS = ['bypass', 'permits', 'priority', 'timeout'] as const;

/**
 * A functional `HttpInterceptorFn` that gates requests by a shared {@link index!PermitPool}: at most
 * as many requests are in flight as the pool has permits, and the others wait in its FIFO queue
 * (by `priority`, then arrival), shared with every other user of the pool.
 *
 * The rest of the chain — the interceptors after this one, and the backend — runs only once the
 * request holds its permits, and they are held until the response completes, errors or is
 * cancelled. Unsubscribing from a request that still waits withdraws it (it consumes nothing);
 * unsubscribing from one in flight cancels it and hands its permit to the next request at once.
 *
 * Options are those of {@link index!boundedPermit}, for every gated request, except that without
 * `maxWaiting` requests queue without limit (`boundedPermit` defaults to 0). With `maxWaiting` the
 * gate is a bulkhead: a request that finds no permit free and that many requests already queued on
 * the pool is shed at once with {@link index!PermitRejectedError}. With `timeout`, a request that
 * waited that long fails with {@link index!PermitTimeoutError}. `with` may answer a shed or timed-out
 * request instead, e.g. with a 503 `HttpResponse` or by throwing an `HttpErrorResponse`. Each request
 * may override `permits`, `priority` and `timeout`, or skip the gate, through {@link PERMIT_CONTEXT}.
 *
 * Order matters: put this interceptor after (inside) the one that adds credentials and refreshes
 * them, or let the refresh request bypass the gate. Before it, a refresh made while every permit is
 * held by requests that wait for that refresh queues behind them for ever.
 *
 * `HttpClient` counts each request, from the moment it is subscribed until it settles, as one of
 * Angular's `PendingTasks`, so a request that waits in this gate keeps the app unstable:
 * `ApplicationRef.whenStable()` (and server-side rendering) waits for it.
 *
 * @example
 * ```ts
 * import { InjectionToken, type ApplicationConfig } from '@angular/core';
 * import { HttpResponse, provideHttpClient, withInterceptors } from '@angular/common/http';
 * import { Semaphore, type PermitPool } from 'rxjs-permits';
 * import { permitInterceptor } from 'rxjs-permits/angular';
 * import { of } from 'rxjs';
 *
 * // One pool per injector: a server renders each request with its own.
 * export const API_PERMITS = new InjectionToken<PermitPool>('API_PERMITS', {
 *   providedIn: 'root',
 *   factory: () => new Semaphore(4),
 * });
 *
 * export const appConfig: ApplicationConfig = {
 *   providers: [
 *     provideHttpClient(
 *       withInterceptors([
 *         authInterceptor, // first: adds the token and refreshes it
 *         permitInterceptor(API_PERMITS, {
 *           maxWaiting: 50,
 *           with: () => of(new HttpResponse({ status: 503, statusText: 'Too many requests queued' })),
 *         }),
 *       ]),
 *     ),
 *   ],
 * };
 * ```
 *
 * @param pool The shared limit: a {@link index!PermitPool}, an `InjectionToken` of one, or a
 * selector `(req) => PermitPool | null`.
 * @param options `maxWaiting` (default: no limit), `permits`, `priority`, `timeout`, `scheduler`,
 * `with`, as in {@link index!boundedPermit}.
 * @return The interceptor, for `withInterceptors([...])`.
 * @throws `TypeError` when `pool` is neither a PermitPool, an `InjectionToken` nor a function (an
 * `RLock` is refused with a message that says so), or an option has the wrong type or an unknown
 * key. A selector that returns something else than a PermitPool or `null`, or a
 * {@link PERMIT_CONTEXT} with a bad field, fails that request with a `TypeError` or `RangeError`.
 * @throws `RangeError` when `permits` is not a positive integer (or exceeds a `BoundedSemaphore`'s
 * bound), `priority` is not a safe integer, `maxWaiting` is negative or not an integer, or
 * `timeout` is NaN.
 */
export function permitInterceptor(
  pool: PermitPoolSource,
  options?: BoundedPermitOptions<HttpEvent<unknown>>,
): HttpInterceptorFn {
  const poolFor = poolResolver(pool);
  const base = interceptorOptions(options);
  // A pool given as it is: check the options against it now (a permits count above its bound).
  if (!(pool instanceof InjectionToken) && typeof pool !== 'function') boundedPermit(pool, base);
  return (req, next) => {
    const context = requestOptions(req.context.get(PERMIT_CONTEXT));
    if (context?.bypass === true) return next(req);
    const chosen = poolFor(req);
    if (chosen === null) return next(req);
    const gated = context === null ? base : withRequestOptions(base, context);
    return defer(() => next(req)).pipe(boundedPermit(chosen, gated));
  };
}

function poolResolver(pool: PermitPoolSource): (req: HttpRequest<unknown>) => PermitPool | null {
  if (pool instanceof InjectionToken) return () => injectedPool(pool);
  if (typeof pool === 'function') {
    return (req) => {
      const chosen = pool(req);
      if (chosen === null) return null;
      gateTargetOf(WHERE, "the selector's result (a PermitPool or null)", chosen);
      return chosen;
    };
  }
  gateTargetOf(WHERE, 'pool (a PermitPool, an InjectionToken of one, or a selector)', pool);
  return () => pool;
}

function injectedPool(token: InjectionToken<PermitPool>): PermitPool {
  const pool = inject(token);
  gateTargetOf(WHERE, `the value of ${token.toString()}`, pool);
  return pool;
}

function interceptorOptions(
  options: BoundedPermitOptions<HttpEvent<unknown>> | undefined,
): BoundedPermitOptions<HttpEvent<unknown>> {
  const opts = checkOptions<BoundedPermitOptions<HttpEvent<unknown>>>(WHERE, options, OPTIONS);
  const checked: BoundedPermitOptions<HttpEvent<unknown>> = {
    permits: checkPermits(WHERE, 'options.permits', opts.permits ?? 1),
    priority: checkPriority(WHERE, 'options.priority', opts.priority),
    timeout: checkTimeout(WHERE, 'options.timeout', opts.timeout),
    // Unlike boundedPermit's default of 0: an interceptor queues unless told to shed.
    maxWaiting:
      opts.maxWaiting === undefined ? Infinity : checkLimit(WHERE, 'options.maxWaiting', opts.maxWaiting),
  };
  const scheduler = checkScheduler(WHERE, 'options.scheduler', opts.scheduler);
  if (scheduler !== undefined) checked.scheduler = scheduler;
  const fallback = checkOptionalFunction<Fallback>(WHERE, 'options.with', opts.with);
  if (fallback !== undefined) checked.with = fallback;
  return checked;
}

function requestOptions(value: unknown): PermitRequestOptions | null {
  const where = `${WHERE}: PERMIT_CONTEXT`;
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object or null, got ${describeValue(value)}`);
  }
  const opts = checkOptions<PermitRequestOptions>(where, value, CONTEXT_FIELDS);
  const checked: PermitRequestOptions = {};
  const bypass = checkBoolean(where, 'bypass', opts.bypass);
  if (bypass !== undefined) checked.bypass = bypass;
  if (opts.permits !== undefined) checked.permits = checkPermits(where, 'permits', opts.permits);
  if (opts.priority !== undefined) checked.priority = checkPriority(where, 'priority', opts.priority);
  // `null` is kept: it overrides the interceptor's timeout with "wait for ever".
  if (opts.timeout !== undefined) checked.timeout = checkTimeout(where, 'timeout', opts.timeout);
  return checked;
}

function withRequestOptions(
  base: BoundedPermitOptions<HttpEvent<unknown>>,
  context: PermitRequestOptions,
): BoundedPermitOptions<HttpEvent<unknown>> {
  const merged = { ...base };
  if (context.permits !== undefined) merged.permits = context.permits;
  if (context.priority !== undefined) merged.priority = context.priority;
  if (context.timeout !== undefined) merged.timeout = context.timeout;
  return merged;
}

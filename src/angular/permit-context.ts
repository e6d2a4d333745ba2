import { HttpContextToken } from '@angular/common/http';

/**
 * The per-request options of {@link permitInterceptor}, set through {@link PERMIT_CONTEXT}. Each
 * field left `undefined` keeps the interceptor's own option.
 */
export interface PermitRequestOptions {
  /**
   * Sends this request ungated: it takes no permit and never waits. For a request that must not
   * queue behind the requests it serves, such as a token refresh made from an interceptor that
   * runs after the gate.
   * @default false
   */
  bypass?: boolean | undefined;
  /**
   * Permits this request holds while in flight: a positive integer (a heavy upload may count as
   * several requests).
   * @default the interceptor's `permits`, else 1
   */
  permits?: number | undefined;
  /**
   * Higher is served first: a safe integer. Within a priority, first come, first served.
   * @default the interceptor's `priority`, else 0
   */
  priority?: number | undefined;
  /**
   * Milliseconds this request may wait for its permits; then it fails with `PermitTimeoutError`
   * (or is answered by the interceptor's `with`). `0` fails at once when no permit is free; `null`
   * waits for ever, whatever the interceptor says.
   * @default the interceptor's `timeout`, else for ever
   */
  timeout?: number | null | undefined;
}

/**
 * Per-request options of {@link permitInterceptor}: `bypass`, `permits`, `priority`, `timeout`. A
 * request without it (the default, `null`) is gated with the interceptor's options.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpContext } from '@angular/common/http';
 * import { inject } from '@angular/core';
 * import { PERMIT_CONTEXT } from 'rxjs-permits/angular';
 *
 * const http = inject(HttpClient);
 * // Ahead of the queue, and failing at once rather than waiting more than 2 s.
 * http.get('/api/search', { context: new HttpContext().set(PERMIT_CONTEXT, { priority: 10, timeout: 2000 }) });
 * // Not gated at all.
 * http.get('/api/health', { context: new HttpContext().set(PERMIT_CONTEXT, { bypass: true }) });
 * ```
 */
export const PERMIT_CONTEXT: HttpContextToken<PermitRequestOptions | null> =
  new HttpContextToken<PermitRequestOptions | null>(() => null);

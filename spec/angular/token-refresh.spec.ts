// First: it loads @angular/compiler, which Angular's partially compiled classes need as they load.
import { configureZoneless, initAngularTestBed } from './testbed.js';
import {
  HttpClient,
  HttpContext,
  HttpErrorResponse,
  provideHttpClient,
  withInterceptors,
  type HttpInterceptorFn,
} from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
  type TestRequest,
} from '@angular/common/http/testing';
import { inject } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import {
  VirtualTimeScheduler,
  catchError,
  defer,
  of,
  switchMap,
  tap,
  throwError,
  type Observable,
} from 'rxjs';
import { PermitTimeoutError, RLock, Semaphore, reentrant } from '../../src/index.js';
import { PERMIT_CONTEXT, permitInterceptor } from '../../src/angular/index.js';

// The token-refresh interceptor of a real app: on a 401, one refresh (under an RLock, so three
// 401s at once make one refresh), then a retry with the new token. The refresh goes through the
// app's own HttpClient, so through every interceptor again, the gate included.
function tokenRefresh(options: { bypassGate: boolean }) {
  const state = { token: 'expired', refreshes: 0 };
  const tokenLock = new RLock();
  const interceptor: HttpInterceptorFn = (req, next) => {
    if (req.url === '/refresh') return next(req);
    const http = inject(HttpClient);
    const send = (token: string) => next(req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }));
    const context = options.bypassGate
      ? new HttpContext().set(PERMIT_CONTEXT, { bypass: true })
      : new HttpContext();
    const refresh$: Observable<unknown> = http
      .post<{ token: string }>('/refresh', null, { context })
      .pipe(tap((answer) => ((state.token = answer.token), state.refreshes++)));
    return defer(() => {
      const sent = state.token;
      return send(sent).pipe(
        catchError((error: unknown) =>
          !(error instanceof HttpErrorResponse) || error.status !== 401
            ? throwError(() => error)
            : // Checked under the lock: the first 401 refreshes, the others find a new token.
              defer(() => (state.token === sent ? refresh$ : of(null))).pipe(
                reentrant(tokenLock),
                switchMap(() => send(state.token)),
              ),
        ),
      );
    });
  };
  return { interceptor, state, tokenLock };
}

describe('permitInterceptor and a token-refresh interceptor', () => {
  let http: HttpClient;
  let backend: HttpTestingController;

  beforeAll(initAngularTestBed);
  let configured = false; // specs of bad arguments make no TestBed module
  afterEach(() => {
    if (configured) backend.verify({ ignoreCancelled: true });
    configured = false;
  });

  function setup(interceptors: HttpInterceptorFn[]): void {
    configureZoneless([provideHttpClient(withInterceptors(interceptors)), provideHttpClientTesting()]);
    http = TestBed.inject(HttpClient);
    backend = TestBed.inject(HttpTestingController);
    configured = true;
  }

  function threeRequests() {
    const outcomes = ['/a', '/b', '/c'].map((url) => {
      const outcome: { values: unknown[]; error: unknown } = { values: [], error: undefined };
      http.get(url).subscribe({
        next: (value) => outcome.values.push(value),
        error: (error: unknown) => (outcome.error = error),
      });
      return outcome;
    });
    const sent = backend.match(() => true);
    expect(sent.map((req) => req.request.headers.get('Authorization'))).toEqual([
      'Bearer expired',
      'Bearer expired',
      'Bearer expired',
    ]);
    for (const req of sent) req.flush('expired', { status: 401, statusText: 'Unauthorized' });
    return outcomes;
  }

  function answerRefreshAndRetries(): void {
    backend.expectOne('/refresh').flush({ token: 'fresh' });
    const retries: TestRequest[] = backend.match(() => true);
    expect(retries.map((req) => `${req.request.url} ${req.request.headers.get('Authorization')}`)).toEqual([
      '/a Bearer fresh',
      '/b Bearer fresh',
      '/c Bearer fresh',
    ]);
    for (const req of retries) req.flush(`${req.request.url} ok`);
  }

  it('right order (auth, then the gate): three 401s make exactly one refresh, then all succeed', () => {
    const pool = new Semaphore(3);
    const auth = tokenRefresh({ bypassGate: false });
    setup([auth.interceptor, permitInterceptor(pool)]);
    const outcomes = threeRequests();
    answerRefreshAndRetries();
    expect(auth.state.refreshes).toBe(1);
    expect(outcomes.map((o) => o.values)).toEqual([['/a ok'], ['/b ok'], ['/c ok']]);
    expect(pool.value).toBe(3);
    expect(auth.tokenLock.locked()).toBeFalse();
  });

  it('wrong order (the gate, then auth): the refresh queues behind the requests that wait for it', () => {
    // The timeout only makes the deadlock end, in virtual time: no wall-clock wait.
    const clock = new VirtualTimeScheduler();
    const pool = new Semaphore(3);
    const auth = tokenRefresh({ bypassGate: false });
    setup([permitInterceptor(pool, { timeout: 60_000, scheduler: clock }), auth.interceptor]);
    const outcomes = threeRequests();

    // Deadlocked: every permit is held by a request waiting for the refresh, which waits for a permit.
    backend.expectNone('/refresh');
    expect(pool.value).toBe(0);
    expect(pool.waiting).toBe(1);
    expect(auth.state.refreshes).toBe(0);
    expect(outcomes.every((o) => o.values.length === 0 && o.error === undefined)).toBeTrue();

    // A minute of virtual time later the refresh gives up, and so does the request that made it:
    // only its failure frees a permit, and only then can the next request's refresh be sent.
    clock.flush();
    expect(clock.now()).toBe(60_000);
    expect(outcomes[0].error).toBeInstanceOf(PermitTimeoutError);
    expect(auth.state.refreshes).toBe(0);
    backend.expectOne('/refresh').flush({ token: 'fresh' });
    for (const req of backend.match(() => true)) req.flush(`${req.request.url} ok`);
    expect(outcomes.map((o) => o.values)).toEqual([[], ['/b ok'], ['/c ok']]);
    expect(pool.value).toBe(3);
  });

  it('wrong order, but the refresh bypasses the gate: exactly one refresh, all succeed', () => {
    const pool = new Semaphore(3);
    const auth = tokenRefresh({ bypassGate: true });
    setup([permitInterceptor(pool), auth.interceptor]);
    const outcomes = threeRequests();
    answerRefreshAndRetries();
    expect(auth.state.refreshes).toBe(1);
    expect(outcomes.map((o) => o.values)).toEqual([['/a ok'], ['/b ok'], ['/c ok']]);
    expect(pool.value).toBe(3);
  });
});

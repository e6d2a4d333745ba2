// First: it loads @angular/compiler, which Angular's partially compiled classes need as they load.
import { configureZoneless, initAngularTestBed } from './testbed.js';
import {
  HttpClient,
  HttpContext,
  HttpErrorResponse,
  HttpResponse,
  provideHttpClient,
  withInterceptors,
  type HttpEvent,
  type HttpInterceptorFn,
} from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
  type TestRequest,
} from '@angular/common/http/testing';
import { InjectionToken, inject } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { VirtualTimeScheduler, of, throwError, type Observable, type Subscription } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  type PermitPool,
} from '../../src/index.js';
import { PERMIT_CONTEXT, permitInterceptor, type PermitRequestOptions } from '../../src/angular/index.js';

interface Outcome {
  values: unknown[];
  error: unknown;
  done: boolean;
}

function track<T>(request$: Observable<T>): Outcome & { subscription: Subscription } {
  const outcome: Outcome = { values: [], error: undefined, done: false };
  const subscription = request$.subscribe({
    next: (value) => outcome.values.push(value),
    error: (error: unknown) => (outcome.error = error),
    complete: () => (outcome.done = true),
  });
  return Object.assign(outcome, { subscription });
}

function withContext(options: PermitRequestOptions): { context: HttpContext } {
  return { context: new HttpContext().set(PERMIT_CONTEXT, options) };
}

describe('permitInterceptor (TestBed, HttpTestingController)', () => {
  let http: HttpClient;
  let backend: HttpTestingController;

  beforeAll(initAngularTestBed);

  function setup(interceptors: HttpInterceptorFn[], providers: unknown[] = []): void {
    configureZoneless([
      provideHttpClient(withInterceptors(interceptors)),
      provideHttpClientTesting(),
      ...(providers as never[]),
    ]);
    http = TestBed.inject(HttpClient);
    backend = TestBed.inject(HttpTestingController);
    configured = true;
  }

  /** Requests that reached the backend since the last call, oldest first. */
  function arrived(): TestRequest[] {
    return backend.match(() => true);
  }

  let configured = false; // specs of bad arguments make no TestBed module
  afterEach(() => {
    if (configured) backend.verify({ ignoreCancelled: true });
    configured = false;
  });

  it('lets 10 requests through a pool of 3, one more per response, in FIFO order', () => {
    const pool = new Semaphore(3);
    setup([permitInterceptor(pool)]);
    const calls = Array.from({ length: 10 }, (_, i) => track(http.get(`/item/${i}`)));

    const inFlight: TestRequest[] = arrived();
    const order = inFlight.map((req) => req.request.url);
    expect(order).toEqual(['/item/0', '/item/1', '/item/2']);
    expect(pool.value).toBe(0);
    expect(pool.waiting).toBe(7);
    let most = inFlight.length;
    while (inFlight.length > 0) {
      const oldest = inFlight.shift()!;
      oldest.flush({ url: oldest.request.url });
      const next = arrived();
      expect(next.length).toBeLessThanOrEqual(1); // one response frees one permit
      inFlight.push(...next);
      order.push(...next.map((req) => req.request.url));
      most = Math.max(most, inFlight.length);
    }
    expect(order).toEqual(Array.from({ length: 10 }, (_, i) => `/item/${i}`));
    expect(most).toBe(3);
    expect(calls.every((call) => call.done && call.values.length === 1)).toBeTrue();
    expect(pool.value).toBe(3);
    expect(pool.waiting).toBe(0);
  });

  it('runs later interceptors only once the permit is held', () => {
    const pool = new Semaphore(1);
    const seen: string[] = [];
    const after: HttpInterceptorFn = (req, next) => {
      seen.push(req.url);
      return next(req);
    };
    setup([permitInterceptor(pool), after]);
    track(http.get('/a'));
    track(http.get('/b'));
    expect(seen).toEqual(['/a']);
    arrived()[0].flush('a');
    expect(seen).toEqual(['/a', '/b']);
    arrived()[0].flush('b');
  });

  it('gives the permit back when a request errors', () => {
    const pool = new Semaphore(1);
    setup([permitInterceptor(pool)]);
    const failed = track(http.get('/fails'));
    const next = track(http.get('/next'));
    arrived()[0].flush('no', { status: 500, statusText: 'Server Error' });
    expect(failed.error).toBeInstanceOf(HttpErrorResponse);
    const [second] = arrived();
    expect(second.request.url).toBe('/next');
    second.flush('ok');
    expect(next.done).toBeTrue();
    expect(pool.value).toBe(1);
  });

  describe('per-request options (PERMIT_CONTEXT)', () => {
    it('serves a higher priority first', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      track(http.get('/first'));
      track(http.get('/low'));
      track(http.get('/high', withContext({ priority: 5 })));
      const order: string[] = [];
      for (let i = 0; i < 3; i++) {
        const [req] = arrived();
        order.push(req.request.url);
        req.flush('');
      }
      expect(order).toEqual(['/first', '/high', '/low']);
    });

    it('takes `permits` permits for a heavy request', () => {
      const pool = new Semaphore(3);
      setup([permitInterceptor(pool)]);
      track(http.get('/light'));
      track(http.post('/upload', 'big', withContext({ permits: 3 })));
      const [light] = arrived();
      expect(light.request.url).toBe('/light'); // 2 free, the upload needs 3
      expect(pool.waiting).toBe(1);
      light.flush('');
      const [upload] = arrived();
      expect(upload.request.url).toBe('/upload');
      expect(pool.value).toBe(0);
      upload.flush('');
      expect(pool.value).toBe(3);
    });

    it('fails at once with timeout 0 when no permit is free, and sends it when one is', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      track(http.get('/holder'));
      const impatient = track(http.get('/now-or-never', withContext({ timeout: 0 })));
      expect(impatient.error).toBeInstanceOf(PermitTimeoutError);
      expect(pool.waiting).toBe(0);
      arrived()[0].flush('');
      const lucky = track(http.get('/free-now', withContext({ timeout: 0 })));
      const [req] = arrived();
      expect(req.request.url).toBe('/free-now');
      req.flush('ok');
      expect(lucky.values).toEqual(['ok']);
    });

    it('times out in virtual time, and `timeout: null` in the context waits for ever', () => {
      const clock = new VirtualTimeScheduler();
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool, { timeout: 100, scheduler: clock })]);
      track(http.get('/holder'));
      const bounded = track(http.get('/bounded'));
      const patient = track(http.get('/patient', withContext({ timeout: null })));
      const shorter = track(http.get('/shorter', withContext({ timeout: 30 })));
      clock.flush();
      expect(clock.now()).toBe(100);
      expect(shorter.error).toBeInstanceOf(PermitTimeoutError);
      expect(bounded.error).toBeInstanceOf(PermitTimeoutError);
      expect(patient.error).toBeUndefined();
      expect(pool.waiting).toBe(1);
      arrived()[0].flush('');
      const [req] = arrived();
      expect(req.request.url).toBe('/patient');
      req.flush('at last');
      expect(patient.values).toEqual(['at last']);
    });

    it('sends a `bypass` request ungated, even with no permit free', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      track(http.get('/holder'));
      track(http.get('/health', withContext({ bypass: true })));
      expect(arrived().map((req) => req.request.url)).toEqual(['/holder', '/health']);
      expect(pool.value).toBe(0);
      expect(pool.waiting).toBe(0);
    });

    it('fails the request on a bad context, with an error that names it', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      const bad = track(http.get('/x', withContext({ permits: 0 })));
      const typo = track(http.get('/y', withContext({ priorty: 1 } as PermitRequestOptions)));
      expect(bad.error).toBeInstanceOf(RangeError);
      expect(String(bad.error)).toContain('PERMIT_CONTEXT');
      expect(typo.error).toBeInstanceOf(TypeError);
      expect(String(typo.error)).toContain('"priorty"');
      expect(arrived()).toEqual([]);
      expect(pool.value).toBe(1);
    });
  });

  describe('bulkhead (maxWaiting) and fallback (with)', () => {
    it('sheds a request when maxWaiting are queued, with PermitRejectedError', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool, { maxWaiting: 1 })]);
      track(http.get('/running'));
      const queued = track(http.get('/queued'));
      const shed = track(http.get('/shed'));
      expect(shed.error).toBeInstanceOf(PermitRejectedError);
      expect(pool.waiting).toBe(1);
      arrived()[0].flush('');
      arrived()[0].flush('second');
      expect(queued.values).toEqual(['second']);
    });

    it('answers a shed request with a 503 HttpResponse from `with`', () => {
      const pool = new Semaphore(1);
      const answered: unknown[] = [];
      setup([
        permitInterceptor(pool, {
          maxWaiting: 0,
          with: (error): Observable<HttpEvent<unknown>> => {
            answered.push(error);
            return of(new HttpResponse({ status: 503, statusText: 'Service Unavailable', body: null }));
          },
        }),
      ]);
      track(http.get('/running'));
      const shed = track(http.get('/shed', { observe: 'response' }));
      expect(answered.length).toBe(1);
      expect(answered[0]).toBeInstanceOf(PermitRejectedError);
      expect(shed.done).toBeTrue();
      expect((shed.values[0] as HttpResponse<unknown>).status).toBe(503);
      arrived()[0].flush('');
    });

    it('or fails it with an HttpErrorResponse, as a server would', () => {
      const pool = new Semaphore(1);
      setup([
        permitInterceptor(pool, {
          maxWaiting: 0,
          with: () => throwError(() => new HttpErrorResponse({ status: 503, url: '/shed' })),
        }),
      ]);
      track(http.get('/running'));
      const shed = track(http.get('/shed'));
      expect(shed.error).toBeInstanceOf(HttpErrorResponse);
      expect((shed.error as HttpErrorResponse).status).toBe(503);
      arrived()[0].flush('');
    });

    it('queues without limit when maxWaiting is not given (unlike boundedPermit)', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      const calls = Array.from({ length: 50 }, (_, i) => track(http.get(`/q/${i}`)));
      expect(pool.waiting).toBe(49);
      for (let i = 0; i < 50; i++) arrived()[0].flush(i);
      expect(calls.map((call) => call.values[0])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });
  });

  describe('cancellation', () => {
    it('withdraws a queued request that is unsubscribed: it never reaches the backend', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      track(http.get('/running'));
      const cancelled = track(http.get('/cancelled'));
      track(http.get('/after'));
      expect(pool.waiting).toBe(2);
      cancelled.subscription.unsubscribe();
      expect(pool.waiting).toBe(1);
      expect(pool.stats().withdrawn).toBe(1);
      arrived()[0].flush('');
      expect(arrived().map((req) => req.request.url)).toEqual(['/after']);
    });

    it('frees the permit of an in-flight request that is unsubscribed, for the next one', () => {
      const pool = new Semaphore(1);
      setup([permitInterceptor(pool)]);
      const running = track(http.get('/running'));
      track(http.get('/next'));
      const [first] = arrived();
      running.subscription.unsubscribe();
      expect(first.cancelled).toBeTrue();
      const [second] = arrived();
      expect(second.request.url).toBe('/next');
      expect(pool.value).toBe(0);
      second.flush('');
      expect(pool.value).toBe(1);
    });
  });

  describe('where the pool comes from', () => {
    it('injects an InjectionToken for each request: each injector has its own pool', () => {
      const API_PERMITS = new InjectionToken<PermitPool>('API_PERMITS', {
        providedIn: 'root',
        factory: () => new Semaphore(2),
      });
      setup([permitInterceptor(API_PERMITS)]);
      const pool = TestBed.inject(API_PERMITS);
      track(http.get('/1'));
      track(http.get('/2'));
      track(http.get('/3'));
      expect(pool.value).toBe(0);
      expect(pool.waiting).toBe(1);
      for (const req of arrived()) req.flush('');
      arrived()[0].flush('');
    });

    it('lets a selector choose a pool per request, or none (null)', () => {
      const uploads = new Semaphore(1);
      setup([permitInterceptor((req) => (req.method === 'POST' ? uploads : null))]);
      track(http.post('/upload/1', 'a'));
      track(http.post('/upload/2', 'b'));
      track(http.get('/list'));
      track(http.get('/list'));
      expect(arrived().map((req) => req.request.url)).toEqual(['/upload/1', '/list', '/list']);
      expect(uploads.waiting).toBe(1);
    });

    it('runs the selector in the injection context: it may inject() a pool', () => {
      const UPLOADS = new InjectionToken<PermitPool>('UPLOADS', {
        providedIn: 'root',
        factory: () => new Semaphore(1),
      });
      setup([permitInterceptor((req) => (req.url.startsWith('/upload') ? inject(UPLOADS) : null))]);
      track(http.post('/upload/1', 'a'));
      track(http.post('/upload/2', 'b'));
      expect(arrived().map((req) => req.request.url)).toEqual(['/upload/1']);
      expect(TestBed.inject(UPLOADS).waiting).toBe(1);
    });

    it('fails the request when a selector returns something else than a pool', () => {
      setup([permitInterceptor(() => new RLock() as unknown as PermitPool)]);
      const call = track(http.get('/x'));
      expect(call.error).toBeInstanceOf(TypeError);
      expect(String(call.error)).toContain('reentrant');
    });

    it('passes requests through a DummySemaphore untouched', () => {
      setup([permitInterceptor(new DummySemaphore())]);
      for (let i = 0; i < 5; i++) track(http.get(`/${i}`));
      expect(arrived().length).toBe(5);
    });
  });

  describe('bad arguments', () => {
    it('throws a TypeError for a pool that is not one, and names an RLock', () => {
      expect(() => permitInterceptor({} as PermitPool)).toThrowError(TypeError, /permitInterceptor: pool/);
      expect(() => permitInterceptor(new RLock() as unknown as PermitPool)).toThrowError(
        TypeError,
        /reentrant/,
      );
    });

    it('checks the options when the interceptor is made', () => {
      const pool = new Semaphore(1);
      expect(() => permitInterceptor(pool, { maxWaiting: -1 })).toThrowError(RangeError, /maxWaiting/);
      expect(() => permitInterceptor(pool, { permits: 1.5 })).toThrowError(RangeError, /permits/);
      expect(() => permitInterceptor(pool, { timeout: NaN })).toThrowError(RangeError, /timeout/);
      expect(() => permitInterceptor(pool, { timout: 5 } as never)).toThrowError(TypeError, /"timout"/);
      expect(() => permitInterceptor(pool, { with: 503 } as never)).toThrowError(TypeError, /with/);
      expect(() => permitInterceptor(new BoundedSemaphore(2), { permits: 3 })).toThrowError(
        RangeError,
        /bound/,
      );
    });
  });
});

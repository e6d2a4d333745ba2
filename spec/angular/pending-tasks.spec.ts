// First: it loads @angular/compiler, which Angular's partially compiled classes need as they load.
import { configureZoneless, initAngularTestBed } from './testbed.js';
import {
  HttpBackend,
  HttpClient,
  HttpResponse,
  provideHttpClient,
  withInterceptors,
  type HttpEvent,
  type HttpRequest,
} from '@angular/common/http';
import { ApplicationRef } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { Subject, type Observable } from 'rxjs';
import { Semaphore } from '../../src/index.js';
import { permitInterceptor } from '../../src/angular/index.js';

// HttpClientTesting opts requests out of stability; a backend of our own keeps Angular's default,
// as in an app and in server-side rendering: every request is a pending task until it settles.
class AnsweringBackend implements HttpBackend {
  readonly open: { req: HttpRequest<unknown>; answer: Subject<HttpEvent<unknown>> }[] = [];
  handle(req: HttpRequest<unknown>): Observable<HttpEvent<unknown>> {
    const answer = new Subject<HttpEvent<unknown>>();
    this.open.push({ req, answer });
    return answer;
  }
  respond(): void {
    const { req, answer } = this.open.shift()!;
    answer.next(new HttpResponse({ status: 200, body: req.url, url: req.url }));
    answer.complete();
  }
}

describe('permitInterceptor and pending tasks (whenStable, SSR)', () => {
  beforeAll(initAngularTestBed);

  it('keeps the app unstable while a request waits in the gate, until it is answered', async () => {
    const pool = new Semaphore(1);
    const backend = new AnsweringBackend();
    configureZoneless([
      provideHttpClient(withInterceptors([permitInterceptor(pool)])),
      { provide: HttpBackend, useValue: backend },
    ]);
    const http = TestBed.inject(HttpClient);
    const appRef = TestBed.inject(ApplicationRef);
    // isStable reports each change synchronously: no waiting needed to see it stay false.
    const stable: boolean[] = [];
    const watching = appRef.isStable.subscribe((isStable) => stable.push(isStable));
    const isStableNow = () => stable[stable.length - 1];

    await appRef.whenStable();
    expect(isStableNow()).toBeTrue();

    pool.tryAcquire(); // held by something else: the request below can only wait
    const answers: unknown[] = [];
    http.get('/queued').subscribe((body) => answers.push(body));
    expect(pool.waiting).toBe(1);
    expect(backend.open.length).toBe(0);
    expect(isStableNow()).toBeFalse(); // queued, not sent: already a pending task

    pool.release();
    expect(backend.open.map((o) => o.req.url)).toEqual(['/queued']);
    expect(isStableNow()).toBeFalse(); // in flight

    const stableAgain = appRef.whenStable();
    backend.respond();
    expect(answers).toEqual(['/queued']);
    await stableAgain; // a broken count would leave this pending, and the spec would time out
    expect(isStableNow()).toBeTrue();
    watching.unsubscribe();
  });

  it('a withdrawn request stops counting at once', async () => {
    const pool = new Semaphore(0);
    configureZoneless([
      provideHttpClient(withInterceptors([permitInterceptor(pool)])),
      { provide: HttpBackend, useValue: new AnsweringBackend() },
    ]);
    const http = TestBed.inject(HttpClient);
    const appRef = TestBed.inject(ApplicationRef);
    const stable: boolean[] = [];
    const watching = appRef.isStable.subscribe((isStable) => stable.push(isStable));
    const subscription = http.get('/never').subscribe();
    expect(stable[stable.length - 1]).toBeFalse();
    subscription.unsubscribe();
    expect(pool.waiting).toBe(0);
    await appRef.whenStable();
    expect(stable[stable.length - 1]).toBeTrue();
    watching.unsubscribe();
  });
});

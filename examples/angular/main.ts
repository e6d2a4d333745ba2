// The Angular demo (`npm run demo:angular`): a standalone, zoneless app whose button fires 12
// requests at a slow `/api`; `permitInterceptor` lets at most LIMIT of them be in flight, FIFO, and
// `permitsSignal` shows the free permits as they change. `?gate=off` turns the gate off, to compare.
//
// Built by esbuild (examples/angular/server.js) with Angular's JIT compiler, which must load first.
import '@angular/compiler';
import { Component, InjectionToken, inject, provideZonelessChangeDetection, signal } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import {
  HttpClient,
  provideHttpClient,
  withInterceptors,
  type HttpInterceptorFn,
} from '@angular/common/http';
import { Semaphore, type PermitPool } from 'rxjs-permits';
import { permitInterceptor, permitsSignal } from 'rxjs-permits/angular';

export const LIMIT = 3;
export const REQUESTS = 12;

// One pool per injector (tree-shakable, no module-level semaphore).
export const API_PERMITS = new InjectionToken<PermitPool>('API_PERMITS', {
  providedIn: 'root',
  factory: () => new Semaphore(LIMIT, { name: 'api' }),
});

const gated = new URLSearchParams(location.search).get('gate') !== 'off';

// After the gate: numbers the requests in the order they leave it, for the server to record.
let leftTheGate = 0;
const stampOrder: HttpInterceptorFn = (req, next) =>
  next(req.clone({ setHeaders: { 'X-Gate-Order': String(leftTheGate++) } }));

interface Item {
  id: number;
  inFlight: number;
}

class AppComponent {
  readonly limit = LIMIT;
  readonly gated = gated;
  readonly free = permitsSignal(inject(API_PERMITS));
  readonly done = signal<Item[]>([]);
  private readonly http = inject(HttpClient);

  fire(): void {
    for (let id = 0; id < REQUESTS; id++) {
      this.http
        .get<Item>(`/api/item/${id}`)
        .subscribe((item) => this.done.update((items) => [...items, item]));
    }
  }
}
// The decorator, called as a function: the example is compiled by esbuild and type-checked by tsc
// without `experimentalDecorators`; JIT compiles the component from this metadata all the same.
Component({
  selector: 'app-root',
  template: `
    <h1>rxjs-permits/angular</h1>
    <p>Gate {{ gated ? 'on' : 'off' }}: at most {{ limit }} requests in flight.</p>
    <button id="fire" (click)="fire()">Fire 12 requests</button>
    <p>Free permits: <strong id="free">{{ free() }}</strong> of {{ limit }}</p>
    <p id="count">{{ done().length }} done</p>
    <ol id="done">
      @for (item of done(); track item.id) {
        <li>item {{ item.id }} (server saw {{ item.inFlight }} in flight)</li>
      }
    </ol>
  `,
})(AppComponent);

bootstrapApplication(AppComponent, {
  providers: [
    provideZonelessChangeDetection(),
    provideHttpClient(withInterceptors(gated ? [permitInterceptor(API_PERMITS), stampOrder] : [stampOrder])),
  ],
}).catch((error: unknown) => console.error(error));

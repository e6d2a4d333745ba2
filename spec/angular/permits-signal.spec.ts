// First: it loads @angular/compiler, which Angular's partially compiled classes need as they load.
import { configureZoneless, initAngularTestBed } from './testbed.js';
import {
  Component,
  EnvironmentInjector,
  InjectionToken,
  Injector,
  createEnvironmentInjector,
  inject,
  type Signal,
} from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { DummySemaphore, RLock, Semaphore, type PermitPool } from '../../src/index.js';
import { permitsSignal } from '../../src/angular/index.js';

const POOL = new InjectionToken<PermitPool>('POOL', { providedIn: 'root', factory: () => new Semaphore(3) });

// A standalone component, declared without decorator syntax (the specs are compiled by esbuild and
// ts-node, not by Angular's compiler; JIT compiles the component from this metadata).
class PermitsStatusComponent {
  readonly free: Signal<number> = permitsSignal(inject(POOL));
}
Component({
  selector: 'app-permits-status',
  template: '<p>{{ free() }} of 3 free</p>',
})(PermitsStatusComponent);

describe('permitsSignal', () => {
  beforeAll(initAngularTestBed);

  it('renders the free permits in a standalone component as they change', async () => {
    configureZoneless([]);
    const fixture = TestBed.createComponent(PermitsStatusComponent);
    const pool = TestBed.inject(POOL);
    const text = () => (fixture.nativeElement as HTMLElement).textContent!.trim();
    await fixture.whenStable();
    expect(text()).toBe('3 of 3 free');
    pool.tryAcquire(2);
    await fixture.whenStable();
    expect(text()).toBe('1 of 3 free');
    pool.release(2);
    await fixture.whenStable();
    expect(text()).toBe('3 of 3 free');
  });

  it("stops following the pool when the component is destroyed (the component's injector)", async () => {
    configureZoneless([]);
    const fixture = TestBed.createComponent(PermitsStatusComponent);
    const pool = TestBed.inject(POOL);
    const free = fixture.componentInstance.free;
    await fixture.whenStable();
    pool.tryAcquire();
    expect(free()).toBe(2);
    fixture.destroy();
    pool.release();
    expect(free()).toBe(2);
    expect(pool.value).toBe(3);
  });

  it('holds the value at once, follows each change, and stops when its injector is destroyed', () => {
    configureZoneless([]);
    const pool = new Semaphore(2);
    const injector = createEnvironmentInjector([], TestBed.inject(EnvironmentInjector));
    const free = permitsSignal(pool, { injector });
    expect(free()).toBe(2);
    pool.tryAcquire();
    expect(free()).toBe(1);
    injector.destroy();
    pool.release();
    expect(free()).toBe(1); // its last value; the pool goes on
    expect(pool.value).toBe(2);
  });

  it('is read-only', () => {
    configureZoneless([]);
    const free = TestBed.runInInjectionContext(() => permitsSignal(new Semaphore(1)));
    expect((free as unknown as { set?: unknown }).set).toBeUndefined();
  });

  it('shows Infinity for a DummySemaphore', () => {
    configureZoneless([]);
    expect(TestBed.runInInjectionContext(() => permitsSignal(new DummySemaphore()))()).toBe(Infinity);
  });

  it('needs an injection context or an injector', () => {
    expect(() => permitsSignal(new Semaphore(1))).toThrowError(/NG0203|injection context/);
  });

  it('throws a TypeError for a pool that is not one, a bad injector or an unknown option', () => {
    const injector = Injector.create({ providers: [] });
    expect(() => permitsSignal({} as PermitPool, { injector })).toThrowError(
      TypeError,
      /permitsSignal: pool/,
    );
    expect(() => permitsSignal(new RLock() as unknown as PermitPool, { injector })).toThrowError(
      TypeError,
      /reentrant/,
    );
    expect(() => permitsSignal(new Semaphore(1), { injector: {} as Injector })).toThrowError(
      TypeError,
      /injector/,
    );
    expect(() => permitsSignal(new Semaphore(1), { injektor: injector } as never)).toThrowError(
      TypeError,
      /"injektor"/,
    );
  });
});

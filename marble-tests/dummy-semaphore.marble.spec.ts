import type { TestScheduler } from 'rxjs/testing';
import { DummySemaphore, withPermit } from '../src/index.js';
import { createTestScheduler, granted } from '../spec/helpers/index.js';

// DummySemaphore never blocks (SPEC rule 14): everything happens in the frame it is asked for.
describe('DummySemaphore timing (marbles)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('acquire() emits true and completes in the frame it is subscribed, whatever the options', () => {
    testScheduler.run(({ expectObservable }) => {
      const dummy = new DummySemaphore();
      expectObservable(dummy.acquire()).toBe('(t|)', granted);
      expectObservable(dummy.acquire({ timeout: 5, permits: 1000 })).toBe('(t|)', granted);
      expectObservable(dummy.acquire({ blocking: false }), '---^').toBe('---(t|)', granted);
    });
  });

  it('wait() emits Infinity and completes in the frame it is subscribed, whatever the timeout', () => {
    testScheduler.run(({ expectObservable }) => {
      const dummy = new DummySemaphore();
      const values = { i: Infinity };
      expectObservable(dummy.wait()).toBe('(i|)', values);
      expectObservable(dummy.wait({ timeout: 4 })).toBe('(i|)', values);
      expectObservable(dummy.wait({ timeout: 0 }), '--^').toBe('--(i|)', values);
    });
  });

  it('the permit observable emits Infinity once on subscribe and never completes, whatever is taken or released', () => {
    testScheduler.run(({ expectObservable }) => {
      const dummy = new DummySemaphore(3);
      const values = { i: Infinity };
      expectObservable(dummy).toBe('i', values);
      expectObservable(dummy, '--^').toBe('--i', values);
      testScheduler.schedule(() => dummy.tryAcquire(), 1);
      testScheduler.schedule(() => dummy.acquire().subscribe(), 3);
      testScheduler.schedule(() => dummy.release(), 4);
      testScheduler.schedule(() => expect([dummy.value, dummy.waiting]).toEqual([Infinity, 0]), 5);
    });
  });

  it('rawlink() never calls the callback', () => {
    testScheduler.run(() => {
      const dummy = new DummySemaphore();
      const calls: number[] = [];
      const callback = (): void => {
        calls.push(testScheduler.now());
      };
      dummy.rawlink(callback);
      testScheduler.schedule(() => dummy.release(), 2);
      testScheduler.schedule(() => expect(calls).toEqual([]), 3);
    });
  });

  it('withPermit passes a stream through untouched, in the same frames', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const dummy = new DummySemaphore();
      const source = cold('-a-b|');
      expectObservable(source.pipe(withPermit(dummy)), '-^').toBe('--a-b|');
      expectObservable(source.pipe(withPermit(dummy, { timeout: 1 })), '-^-!').toBe('--a');
      expectSubscriptions(source.subscriptions).toBe(['-^---!', '-^-!']);
    });
  });
});

import { Observable } from 'rxjs';
import { DummySemaphore } from '../src/index.js';
import { badInputChecks, record, type BadInputTarget, type LooseApi } from './helpers/index.js';

// DummySemaphore's API and bad input. That it never blocks is its conformance suite
// (spec/conformance/semaphore-conformance.spec.ts); timing is in
// marble-tests/dummy-semaphore.marble.spec.ts.

describe('DummySemaphore', () => {
  it('is an Observable of Infinity', () => {
    const semaphore = new DummySemaphore();
    expect(semaphore instanceof Observable).toBe(true);
    expect(record(semaphore).events).toEqual([Infinity]);
  });

  for (const value of [0, 1, 5, undefined]) {
    it(`accepts and ignores a constructor value of ${value}`, () => {
      const semaphore = new DummySemaphore(value);
      expect([semaphore.value, semaphore.locked(), semaphore.ready(), semaphore.waiting]).toEqual([
        Infinity,
        false,
        true,
        0,
      ]);
      expect(record(semaphore.acquire()).events).toEqual([true, 'complete']);
      expect(record(semaphore.acquire()).events).toEqual([true, 'complete']);
    });
  }

  it('release returns Infinity, the unchanged value', () => {
    const semaphore = new DummySemaphore();
    expect(semaphore.release()).toBe(Infinity);
    expect(semaphore.release(3)).toBe(Infinity);
  });

  it('acquire emits true synchronously, and unsubscribing after it changes nothing', () => {
    const semaphore = new DummySemaphore();
    const { events, subscription } = record(semaphore.acquire());
    expect(events).toEqual([true, 'complete']);
    subscription.unsubscribe();
    expect(semaphore.value).toBe(Infinity);
  });

  it('wait emits Infinity synchronously and completes', () => {
    expect(record(new DummySemaphore().wait()).events).toEqual([Infinity, 'complete']);
  });

  it('rawlink does not call the callback and unlink does nothing', () => {
    const semaphore = new DummySemaphore();
    const calls: unknown[] = [];
    const callback = (linked: DummySemaphore) => calls.push(linked);
    semaphore.rawlink(callback);
    semaphore.unlink(callback);
    semaphore.rawlink(callback);
    semaphore.release();
    expect(calls).toEqual([]);
  });

  describe('bad input', () => {
    const dummy: BadInputTarget = {
      name: 'DummySemaphore',
      make: () => new DummySemaphore() as unknown as LooseApi,
    };
    for (const { title, check } of badInputChecks(dummy)) it(title, check);

    it("acquire(false) hints at { blocking: false }, gevent's acquire(False)", () => {
      expect(() => new DummySemaphore().acquire(false as never)).toThrowError(
        TypeError,
        `DummySemaphore.acquire: options must be an object, got false: gevent's acquire(False) is acquire({ blocking: false }) here`,
      );
    });

    it('acquire(5) hints at { timeout } and { permits }', () => {
      expect(() => new DummySemaphore().acquire(5 as never)).toThrowError(
        TypeError,
        `DummySemaphore.acquire: options must be an object, got 5: for a timeout write acquire({ timeout: 5 }), for several permits acquire({ permits: 5 })`,
      );
    });

    it('the constructor: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new DummySemaphore(1, { value: 2 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`DummySemaphore: unknown option "`) &&
          error.message.endsWith(`; the options are scheduler, name`),
      );
    });
  });
});

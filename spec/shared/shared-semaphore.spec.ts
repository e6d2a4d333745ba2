import { of } from 'rxjs';
import {
  OverReleaseError,
  PermitRejectedError,
  SharedSemaphore,
  withPermit,
  type Lease,
} from '../../src/index.js';
import { checkSharedMemory } from '../../src/shared/environment.js';

// SharedSemaphore in one thread (SPEC §8): what its constructor, handle, capacity and checks do.
// The behaviour it shares with every semaphore runs in the conformance suites (spec/conformance);
// several threads: shared-semaphore-threads.node.spec.ts (Node) and the Web Worker spec (browser).

describe('SharedSemaphore', () => {
  describe('constructor', () => {
    it('starts with `value` permits, unbounded, with a capacity of 4096 by default', () => {
      const semaphore = new SharedSemaphore(3);
      expect([semaphore.value, semaphore.waiting, semaphore.capacity, semaphore.bounded]).toEqual([
        3,
        0,
        4096,
        false,
      ]);
    });

    it('takes capacity, bounded and name', () => {
      const semaphore = new SharedSemaphore(1, { capacity: 2, bounded: true, name: 'gpu' });
      expect([semaphore.capacity, semaphore.bounded, semaphore.name]).toEqual([2, true, 'gpu']);
      expect(semaphore.handle.name).toBe('gpu');
    });

    it('rejects bad arguments with RangeError or TypeError', () => {
      const make = (value: unknown, options?: unknown) => () =>
        new SharedSemaphore(value as number, options as never);
      expect(make(-1)).toThrowError(RangeError, /SharedSemaphore: value must be an integer >= 0, got -1/);
      expect(make(1.5)).toThrowError(RangeError);
      expect(make(2 ** 31)).toThrowError(RangeError, /at most 2147483647/);
      expect(make('1')).toThrowError(TypeError);
      expect(make(1, { capacity: -1 })).toThrowError(RangeError, /options.capacity/);
      expect(make(1, { capacity: 2 ** 21 })).toThrowError(RangeError, /at most 1048576/);
      expect(make(1, { bounded: 'yes' })).toThrowError(TypeError, /options.bounded/);
      expect(make(1, { capcity: 3 })).toThrowError(TypeError, /unknown option "capcity"/);
    });
  });

  describe('handle and from()', () => {
    it('is structured-cloneable, and attaching again in the same thread shares its state', () => {
      const semaphore = new SharedSemaphore(2, { name: 'pool' });
      const again = SharedSemaphore.from(structuredClone(semaphore.handle));
      expect(again.name).toBe('pool');
      expect(again.tryAcquire()).toBe(true);
      expect(semaphore.value).toBe(1);
      semaphore.release();
      expect(again.value).toBe(2);
    });

    it('rejects what is not a handle with a TypeError', () => {
      expect(() => SharedSemaphore.from({} as never)).toThrowError(
        TypeError,
        /must be a SharedSemaphore's handle/,
      );
      expect(() => SharedSemaphore.from({ buffer: new SharedArrayBuffer(64), name: undefined })).toThrowError(
        TypeError,
      );
      expect(() => SharedSemaphore.from(null as never)).toThrowError(TypeError);
    });
  });

  describe('a full queue (capacity)', () => {
    it('fails one more gated stream and lease() with PermitRejectedError; acquire() emits false', async () => {
      const semaphore = new SharedSemaphore(1, { capacity: 2 });
      semaphore.tryAcquire();
      const queued = [semaphore.lease(), semaphore.lease()];
      expect(semaphore.waiting).toBe(2);
      let error: unknown;
      of(1)
        .pipe(withPermit(semaphore))
        .subscribe({ error: (e: unknown) => (error = e) });
      expect(error).toBeInstanceOf(PermitRejectedError);
      await expectAsync(semaphore.lease()).toBeRejectedWithError(PermitRejectedError);
      const granted: boolean[] = [];
      semaphore.acquire().subscribe((g) => granted.push(g));
      expect(granted).toEqual([false]);
      expect(semaphore.stats().rejected).toBe(3);
      semaphore.release();
      (await queued[0]).release();
      (await queued[1]).release();
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });
  });

  it('serves any priority: higher first, FIFO within one', async () => {
    const semaphore = new SharedSemaphore(1);
    semaphore.tryAcquire();
    const order: string[] = [];
    const take = (label: string, priority: number) =>
      semaphore.lease({ priority }).then((lease: Lease) => {
        order.push(label);
        lease.release();
      });
    const all = [take('a', 0), take('b', 7), take('c', -3), take('d', 7), take('e', 2 ** 40)];
    semaphore.release();
    await Promise.all(all);
    expect(order).toEqual(['e', 'b', 'd', 'a', 'c']);
  });

  it('throws OverReleaseError above the bound of a bounded one, and changes nothing', () => {
    const semaphore = new SharedSemaphore(1, { bounded: true });
    expect(() => semaphore.release()).toThrowError(OverReleaseError);
    expect(semaphore.value).toBe(1);
  });

  it('adjusts its number of permits', () => {
    const semaphore = new SharedSemaphore(1, { bounded: true });
    expect(semaphore.adjust(2)).toBe(3);
    expect(semaphore.tryAcquire(3)).toBe(true);
    expect(semaphore.adjust(-1)).toBe(-1);
    semaphore.release(3);
    expect(semaphore.value).toBe(2);
  });

  describe('watch()', () => {
    it('rejects what is not a worker, or a worker that exited, with a TypeError', () => {
      const semaphore = new SharedSemaphore(1);
      expect(() => semaphore.watch({} as never)).toThrowError(TypeError, /must be a Worker/);
      expect(() => semaphore.watch({ threadId: 'x', once() {} } as never)).toThrowError(
        TypeError,
        /threadId/,
      );
      expect(() => semaphore.watch({ threadId: -1, once() {} })).toThrowError(TypeError, /exited already/);
    });
  });

  describe('without shared memory', () => {
    it('names the requirement: a cross-origin-isolated page (COOP and COEP headers)', () => {
      expect(() =>
        checkSharedMemory('SharedSemaphore', { Atomics, crossOriginIsolated: false }),
      ).toThrowError(
        TypeError,
        /SharedSemaphore needs SharedArrayBuffer, which a browser gives only to a cross-origin-isolated page: .*Cross-Origin-Opener-Policy: same-origin .*Cross-Origin-Embedder-Policy: require-corp/,
      );
      expect(() =>
        checkSharedMemory('SharedSemaphore', { SharedArrayBuffer, Atomics: {}, crossOriginIsolated: true }),
      ).toThrowError(TypeError, /Atomics.waitAsync/);
      expect(() => checkSharedMemory('SharedSemaphore', { SharedArrayBuffer, Atomics })).not.toThrow();
    });
  });
});

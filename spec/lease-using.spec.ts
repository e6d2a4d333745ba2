import { BoundedSemaphore, DummySemaphore, RLock, Semaphore, type Lease } from '../src/index.js';
import { failOnUnhandledRejections } from './helpers/index.js';

// `using lease = await semaphore.lease()` (rule 22 with TC39's explicit resource management): the
// lease is released when the block that declared it ends, however it ends. The `using` syntax is
// compiled down (TypeScript under ts-node in Node; esbuild, target es2022, in the browser run), and
// `Symbol.dispose` is native in Node 20 and Chromium: nothing is polyfilled.

describe('using a lease (rule 22)', () => {
  failOnUnhandledRejections();

  it('runs where Symbol.dispose is native, and the block below is compiled, not skipped', () => {
    expect(typeof Symbol.dispose).toBe('symbol');
    const log: string[] = [];
    {
      using first = { [Symbol.dispose]: () => log.push('first disposed') };
      using second = { [Symbol.dispose]: () => log.push('second disposed') };
      log.push(`in the block with ${typeof first} and ${typeof second}`);
    }
    expect(log).toEqual(['in the block with object and object', 'second disposed', 'first disposed']);
  });

  it('releases the lease at the end of the block', async () => {
    const semaphore = new Semaphore(1);
    const seen: Lease[] = [];
    {
      using lease = await semaphore.lease();
      seen.push(lease);
      expect([semaphore.value, lease.released, lease.token]).toEqual([0, false, 1]);
    }
    expect([semaphore.value, seen[0].released]).toEqual([1, true]);
  });

  it('releases it when the block throws, and the error goes on', async () => {
    const semaphore = new Semaphore(1);
    const error = new Error('inside');
    const body = async () => {
      using lease = await semaphore.lease();
      expect(lease.released).toBe(false);
      throw error;
    };
    await expectAsync(body()).toBeRejectedWith(error);
    expect(semaphore.value).toBe(1);
  });

  it('releases it on an early return, to the next waiter', async () => {
    const semaphore = new Semaphore(1);
    const log: string[] = [];
    const worker = async (name: string, early: boolean) => {
      using lease = await semaphore.lease();
      log.push(`${name} holds token ${lease.token}`);
      if (early) return 'early';
      await Promise.resolve();
      log.push(`${name} done`);
      return 'late';
    };
    const a = worker('a', true);
    const b = worker('b', false);
    expect(semaphore.waiting).toBe(1);
    await expectAsync(a).toBeResolvedTo('early');
    expect(semaphore.waiting).toBe(0);
    await expectAsync(b).toBeResolvedTo('late');
    expect(log).toEqual(['a holds token 1', 'b holds token 2', 'b done']);
    expect(semaphore.value).toBe(1);
  });

  it('a lease released inside the block is not released again: no over-release', async () => {
    const bounded = new BoundedSemaphore(1);
    {
      using lease = await bounded.lease();
      lease.release();
      expect(bounded.value).toBe(1);
    } // a second release would throw OverReleaseError
    expect(bounded.value).toBe(1);
  });

  it('several leases in one block are released in reverse order (RLock re-entries)', async () => {
    const lock = new RLock();
    const me = {};
    const counts: number[] = [];
    {
      using outer = await lock.lease(me);
      using inner = await lock.lease(me);
      counts.push(lock.count);
      expect(inner.token).toBe(outer.token);
    }
    counts.push(lock.count);
    expect(counts).toEqual([2, 0]);
    expect(lock.locked()).toBe(false);
  });

  it('await using works too: a lease has no async dispose, so Symbol.dispose is used', async () => {
    const semaphore = new Semaphore(2);
    {
      await using lease = await semaphore.lease({ permits: 2 });
      expect([semaphore.value, lease.permits]).toEqual([0, 2]);
    }
    expect(semaphore.value).toBe(2);
  });

  it('a DummySemaphore lease: released at the end of the block, giving nothing back', async () => {
    const dummy = new DummySemaphore();
    const seen: Lease[] = [];
    {
      using lease = await dummy.lease();
      seen.push(lease);
    }
    expect([seen[0].released, dummy.value]).toEqual([true, Infinity]);
  });
});

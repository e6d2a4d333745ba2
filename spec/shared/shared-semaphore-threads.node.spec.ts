import { SharedSemaphore } from '../../src/index.js';
import { HOLDERS, LOG, LOGGED, MAX_HOLDERS } from './worker-thread.js';
import { TestWorker, sharedCounters } from './worker-host.js';

// SharedSemaphore across real worker_threads (SPEC §8): each spec starts workers attached to one
// semaphore, tells them what to do by message and waits for their reports (never for time). The
// workers count holders and log grants in shared memory (see worker-thread.ts).

/** The stress run's cycles per worker: PERMITS_SHARED_STRESS, default the 10^5. */
const STRESS_CYCLES = Number(process.env.PERMITS_SHARED_STRESS ?? 100_000);

describe('SharedSemaphore across worker_threads', () => {
  let workers: TestWorker[] = [];
  let counters: Int32Array;

  async function start(semaphore: SharedSemaphore, n: number): Promise<TestWorker[]> {
    const started = await Promise.all(
      Array.from({ length: n }, (_, i) => TestWorker.start(semaphore, counters, i + 1)),
    );
    workers.push(...started);
    for (const w of started) semaphore.watch(w.worker);
    return started;
  }

  /** The grant log: which worker (1-based index) was granted, in order. */
  function grantOrder(): number[] {
    return Array.from(counters.subarray(LOG, LOG + Atomics.load(counters, LOGGED)), (entry) => entry >> 20);
  }

  beforeEach(() => {
    counters = sharedCounters();
    workers = [];
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('grants in order of arrival across threads, with tokens increasing across threads', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b, c] = await start(semaphore, 3);
    expect(semaphore.tryAcquire()).toBe(true);
    const ids = [await c.lease(), await a.lease(), await b.lease()];
    expect(semaphore.waiting).toBe(3);
    semaphore.release();
    const tokens: number[] = [];
    for (const [worker, id] of [
      [c, ids[0]],
      [a, ids[1]],
      [b, ids[2]],
    ] as const) {
      tokens.push((await worker.next(id, 'granted')).token);
      await worker.call({ cmd: 'release', id });
    }
    expect(grantOrder()).toEqual([3, 1, 2]);
    expect(tokens).toEqual([2, 3, 4]);
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
  });

  it('serves a higher priority first, FIFO within a priority', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b, c] = await start(semaphore, 3);
    semaphore.tryAcquire();
    const low = await a.lease({ priority: 0 });
    const high = await b.lease({ priority: 5 });
    const high2 = await c.lease({ priority: 5 });
    semaphore.release();
    for (const [worker, id] of [
      [b, high],
      [c, high2],
      [a, low],
    ] as const) {
      await worker.next(id, 'granted');
      await worker.call({ cmd: 'release', id });
    }
    expect(grantOrder()).toEqual([2, 3, 1]);
  });

  it('keeps strict head-of-line for a weighted request across threads', async () => {
    const semaphore = new SharedSemaphore(2);
    const [a, b] = await start(semaphore, 2);
    expect(semaphore.tryAcquire(2)).toBe(true);
    const big = await a.lease({ permits: 2 });
    const small = await b.lease({ permits: 1 });
    semaphore.release(1);
    // The hand-off is decided inside the release: one permit free, the head (2) does not fit, and
    // the request behind it (1) may not overtake it.
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 2]);
    semaphore.release(1);
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    await a.next(big, 'granted');
    await a.call({ cmd: 'release', id: big });
    await b.next(small, 'granted');
    expect(grantOrder()).toEqual([1, 2]);
    await b.call({ cmd: 'release', id: small });
    expect(semaphore.value).toBe(2);
  });

  it('withdraws a request aborted in its thread, and the queue moves on', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b] = await start(semaphore, 2);
    semaphore.tryAcquire();
    const first = await a.lease();
    const second = await b.lease();
    expect(semaphore.waiting).toBe(2);
    a.send({ cmd: 'abort', id: first });
    expect((await a.next(first, 'rejected')).message).toBe('aborted');
    expect(semaphore.waiting).toBe(1);
    semaphore.release();
    await b.next(second, 'granted');
    expect(grantOrder()).toEqual([2]);
  });

  it("times a request out in its thread, on its scheduler's clock", async () => {
    const semaphore = new SharedSemaphore(1);
    const [a] = await start(semaphore, 1);
    semaphore.tryAcquire();
    const id = await a.lease({ timeout: 20 });
    expect(semaphore.waiting).toBe(1);
    const report = await a.next(id, 'rejected');
    expect(report.name).toBe('PermitTimeoutError');
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    semaphore.release();
    expect(semaphore.value).toBe(1);
  });

  it('a worker terminated while holding gives its permits back, and the waiter is granted', async () => {
    const semaphore = new SharedSemaphore(2);
    const [a, b] = await start(semaphore, 2);
    const held = await a.lease({ permits: 2 });
    await a.next(held, 'granted');
    const waiter = await b.lease({ permits: 1 });
    const mine = semaphore.lease();
    expect(semaphore.waiting).toBe(2);
    await a.terminate();
    await b.next(waiter, 'granted');
    const lease = await mine;
    expect(lease.token).toBeGreaterThan(0);
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    lease.release();
    expect(semaphore.value).toBe(1);
  });

  it('a worker terminated while queued leaves the queue', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b] = await start(semaphore, 2);
    semaphore.tryAcquire();
    await a.lease();
    const second = await b.lease();
    expect(semaphore.waiting).toBe(2);
    await a.terminate();
    expect(semaphore.waiting).toBe(1);
    semaphore.release();
    await b.next(second, 'granted');
    expect(grantOrder()).toEqual([2]);
  });

  it('recovers a worker that died inside the critical section', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b] = await start(semaphore, 2);
    const held = await b.lease();
    await b.next(held, 'granted');
    expect(await a.call({ cmd: 'lockAndHang' })).toBe('inside');
    // Nothing in this thread touches the semaphore until the dead thread's exit was handled.
    await a.terminate();
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    expect(semaphore.tryAcquire()).toBe(false);
    const mine = semaphore.lease();
    await b.call({ cmd: 'release', id: held });
    (await mine).release();
    expect(semaphore.value).toBe(1);
  });

  it(`never lets more threads hold than the limit: 4 workers x ${STRESS_CYCLES} cycles, every grant accounted for`, async () => {
    const semaphore = new SharedSemaphore(1);
    counters = sharedCounters(0);
    const four = await start(semaphore, 4);
    const results = (await Promise.all(
      four.map((w) => w.call({ cmd: 'stress', cycles: STRESS_CYCLES })),
    )) as { grants: number; stats: { granted: number } }[];
    expect(results.map((r) => r.grants)).toEqual([
      STRESS_CYCLES,
      STRESS_CYCLES,
      STRESS_CYCLES,
      STRESS_CYCLES,
    ]);
    expect(results.map((r) => r.stats.granted)).toEqual(results.map((r) => r.grants));
    expect(Atomics.load(counters, LOGGED)).toBe(4 * STRESS_CYCLES);
    expect(Atomics.load(counters, MAX_HOLDERS)).toBe(1);
    expect(Atomics.load(counters, HOLDERS)).toBe(0);
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    // One token per grant, across threads: the next grant draws the one after them all.
    expect((await semaphore.lease()).token).toBe(4 * STRESS_CYCLES + 1);
  }, 600_000);
});

import { SharedSemaphore } from '../../src/index.js';

// SharedSemaphore across real Web Workers in Chromium (SPEC §8), on a cross-origin-isolated page
// (karma.conf.js serves every file with COOP and COEP). The workers run ./browser-worker.ts, served
// by karma as its own bundle; the spec waits on their messages, never on time. In Node (no global
// Worker) the specs are pending: shared-semaphore-threads.node.spec.ts covers worker_threads.

interface Report {
  id: number;
  event: 'done' | 'queued' | 'granted' | 'rejected';
  result?: unknown;
  token?: number;
  name?: string;
}

const inBrowser = typeof Worker === 'function' && typeof window === 'object';

class WebWorker {
  readonly worker = new Worker('/base/spec/shared/browser-worker.js'); // karma-esbuild serves the bundle as .js;
  private readonly backlog: Report[] = [];
  private readonly waiters: { match: (r: Report) => boolean; resolve: (r: Report) => void }[] = [];
  private nextId = 1;

  constructor() {
    this.worker.onerror = (event: ErrorEvent) => {
      const report: Report = { id: -1, event: 'rejected', name: `worker error: ${event.message}` };
      for (const w of this.waiters.splice(0)) w.resolve(report);
      fail(report.name);
    };
    this.worker.onmessage = (event: MessageEvent<Report>) => {
      const i = this.waiters.findIndex((w) => w.match(event.data));
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(event.data);
      else this.backlog.push(event.data);
    };
  }

  next(id: number, event: Report['event']): Promise<Report> {
    const match = (r: Report) => r.id === id && r.event === event;
    const i = this.backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  send(message: Record<string, unknown>): number {
    const id = (message.id as number | undefined) ?? this.nextId++;
    this.worker.postMessage({ ...message, id });
    return id;
  }

  async call(message: Record<string, unknown>): Promise<unknown> {
    return (await this.next(this.send(message), 'done')).result;
  }
}

describe('SharedSemaphore across Web Workers (Chromium, cross-origin isolated)', () => {
  let workers: WebWorker[] = [];
  let counters: Int32Array;

  beforeEach(() => {
    if (!inBrowser) pending('needs Web Workers (a browser)');
    counters = new Int32Array(new SharedArrayBuffer(4 * (3 + 1024)));
    workers = [];
  });

  afterEach(() => {
    for (const w of workers) w.worker.terminate();
  });

  async function start(semaphore: SharedSemaphore, n: number): Promise<WebWorker[]> {
    const started = Array.from({ length: n }, () => new WebWorker());
    workers.push(...started);
    await Promise.all(
      started.map((w, i) =>
        w.call({ cmd: 'attach', handle: semaphore.handle, counters: counters.buffer, index: i + 1 }),
      ),
    );
    return started;
  }

  it('runs on a cross-origin-isolated page', () => {
    expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(true);
  });

  it('grants in order of arrival across workers, tokens increasing', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a, b] = await start(semaphore, 2);
    expect(semaphore.tryAcquire()).toBe(true);
    const first = b.send({ cmd: 'lease' });
    await b.next(first, 'queued');
    const second = a.send({ cmd: 'lease' });
    await a.next(second, 'queued');
    expect(semaphore.waiting).toBe(2);
    semaphore.release();
    expect((await b.next(first, 'granted')).token).toBe(2);
    await b.call({ cmd: 'release', id: first });
    expect((await a.next(second, 'granted')).token).toBe(3);
    await a.call({ cmd: 'release', id: second });
    expect(Array.from(counters.subarray(3, 5), (e) => e >> 20)).toEqual([2, 1]);
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
  });

  it('never lets more workers hold than the limit: 4 workers x 2000 cycles on 2 permits', async () => {
    const semaphore = new SharedSemaphore(2);
    const four = await start(semaphore, 4);
    const done = await Promise.all(four.map((w) => w.call({ cmd: 'stress', cycles: 2000 })));
    expect(done).toEqual([2000, 2000, 2000, 2000]);
    expect(Atomics.load(counters, 2)).toBe(8000);
    expect(Atomics.load(counters, 1)).toBeLessThanOrEqual(2);
    expect(Atomics.load(counters, 0)).toBe(0);
    expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
  });

  it('a terminated worker gives its permits back (its Web Lock is let go), and the waiter is granted', async () => {
    const semaphore = new SharedSemaphore(1);
    const [a] = await start(semaphore, 1);
    const held = a.send({ cmd: 'lease' });
    await a.next(held, 'granted');
    const mine = semaphore.lease();
    expect(semaphore.waiting).toBe(1);
    a.worker.terminate();
    const lease = await mine;
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    lease.release();
    expect(semaphore.value).toBe(1);
  });
});

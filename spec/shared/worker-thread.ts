// The worker side of spec/shared/*.node.spec.ts: a thread attached to a SharedSemaphore that does
// what the spec tells it by message and reports what happened. Every report is a message, so the
// specs wait on messages, never on time. Grants are also counted in shared memory (`counters`):
//   [0] holders now, [1] the most holders ever seen at once, [2] grants logged so far,
//   [3 ...] the grant log: (worker index << 20 | request id) in the order grants happened.
import { parentPort, threadId, workerData } from 'worker_threads';
import { SharedSemaphore, type Lease } from '../../src/index.js';

export const HOLDERS = 0;
export const MAX_HOLDERS = 1;
export const LOGGED = 2;
export const LOG = 3;

interface Data {
  handle: SharedSemaphore['handle'];
  counters: SharedArrayBuffer;
  index: number;
}

export type Command =
  | { cmd: 'lease'; id: number; permits?: number; timeout?: number; priority?: number }
  | { cmd: 'release'; id: number }
  | { cmd: 'abort'; id: number }
  | { cmd: 'tryAcquire'; id: number; permits?: number }
  | { cmd: 'releasePermits'; id: number; permits: number }
  | { cmd: 'lockAndHang'; id: number }
  | { cmd: 'stress'; id: number; cycles: number }
  | { cmd: 'state'; id: number };

export type Report =
  | { id: number; event: 'ready'; threadId: number }
  | { id: number; event: 'queued'; waiting: number; value: number }
  | { id: number; event: 'granted'; token: number }
  | { id: number; event: 'rejected'; name: string; message: string }
  | { id: number; event: 'done'; result: unknown };

if (parentPort !== null && workerData?.handle !== undefined) {
  const port = parentPort;
  const data = workerData as Data;
  const semaphore = SharedSemaphore.from(data.handle);
  const counters = new Int32Array(data.counters);
  const leases = new Map<number, Lease>();
  const aborts = new Map<number, AbortController>();
  const post = (report: Report) => port.postMessage(report);

  const hold = (id: number) => {
    const holders = Atomics.add(counters, HOLDERS, 1) + 1;
    let max = Atomics.load(counters, MAX_HOLDERS);
    while (holders > max) {
      const seen = Atomics.compareExchange(counters, MAX_HOLDERS, max, holders);
      if (seen === max) break;
      max = seen;
    }
    const at = Atomics.add(counters, LOGGED, 1);
    if (LOG + at < counters.length) counters[LOG + at] = (data.index << 20) | id;
  };
  const unhold = () => Atomics.sub(counters, HOLDERS, 1);

  const handlers: { [K in Command['cmd']]: (command: Extract<Command, { cmd: K }>) => void } = {
    lease({ id, permits, timeout, priority }) {
      const controller = new AbortController();
      aborts.set(id, controller);
      const leased = semaphore.lease({ permits, timeout, priority, signal: controller.signal });
      post({ id, event: 'queued', waiting: semaphore.waiting, value: semaphore.value });
      leased.then(
        (lease) => {
          hold(id);
          leases.set(id, lease);
          post({ id, event: 'granted', token: lease.token });
        },
        (error: Error) => post({ id, event: 'rejected', name: error.name, message: error.message }),
      );
    },
    release({ id }) {
      unhold();
      leases.get(id)!.release();
      leases.delete(id);
      post({ id, event: 'done', result: semaphore.value });
    },
    abort({ id }) {
      aborts.get(id)!.abort(new Error('aborted'));
    },
    tryAcquire({ id, permits }) {
      const taken = semaphore.tryAcquire(permits);
      if (taken) hold(id);
      post({ id, event: 'done', result: taken });
    },
    releasePermits({ id, permits }) {
      unhold();
      post({ id, event: 'done', result: semaphore.release(permits) });
    },
    lockAndHang({ id }) {
      // Dies inside the critical section: takes the lock, starts a step (a logged write, as a
      // hand-off does), tells the spec, and spins until it is terminated.
      const backend = (semaphore as unknown as Record<symbol, { backend: InternalBackend }>)[
        Symbol.for('rxjs-permits.gateTarget')
      ].backend;
      backend.memory.lock(backend.me);
      backend.memory.write(4 /* H_VALUE */, -12345);
      post({ id, event: 'done', result: 'inside' });
      for (;;) {
        // spins until terminate()
      }
    },
    stress({ id, cycles }) {
      let grants = 0;
      let maxWait = 0;
      const loop = async () => {
        for (let i = 0; i < cycles; i++) {
          const asked = performance.now();
          const lease = await semaphore.lease();
          const waited = performance.now() - asked;
          if (waited > maxWait) maxWait = waited;
          hold(i & 0xfffff);
          grants++;
          unhold();
          lease.release();
        }
      };
      loop().then(
        () => post({ id, event: 'done', result: { grants, maxWait, stats: semaphore.stats() } }),
        (error: Error) => post({ id, event: 'rejected', name: error.name, message: error.message }),
      );
    },
    state({ id }) {
      post({ id, event: 'done', result: { value: semaphore.value, waiting: semaphore.waiting } });
    },
  };

  port.on('message', (command: Command) => {
    (handlers[command.cmd] as (command: Command) => void)(command);
  });
  post({ id: -1, event: 'ready', threadId });
}

interface InternalBackend {
  me: number;
  memory: { lock(me: number): void; write(index: number, value: number): void };
}

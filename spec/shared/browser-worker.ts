// A Web Worker for spec/shared/shared-semaphore-web-workers.spec.ts: bundled on its own by karma's
// esbuild preprocessor (karma.conf.js serves it, not included in the page), it attaches to the
// SharedSemaphore whose handle it is sent, then does what the spec tells it by message and reports
// what happened (the spec waits on messages, never on time). `counters` as in worker-thread.ts:
// [0] holders now, [1] the most holders seen at once, [2] grants logged, [3...] the grant log.
import { SharedSemaphore, type Lease } from '../../src/index.js';

interface Scope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

let semaphore: SharedSemaphore | null = null;
let counters: Int32Array | null = null;
let index = 0;
const leases = new Map<number, Lease>();

function hold(id: number): void {
  const c = counters!;
  const holders = Atomics.add(c, 0, 1) + 1;
  let max = Atomics.load(c, 1);
  while (holders > max) {
    const seen = Atomics.compareExchange(c, 1, max, holders);
    if (seen === max) break;
    max = seen;
  }
  const at = Atomics.add(c, 2, 1);
  if (3 + at < c.length) c[3 + at] = (index << 20) | id;
}

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as {
    cmd: string;
    id: number;
    handle?: SharedSemaphore['handle'];
    counters?: SharedArrayBuffer;
    index?: number;
    cycles?: number;
  };
  const { id } = message;
  switch (message.cmd) {
    case 'attach':
      semaphore = SharedSemaphore.from(message.handle!);
      counters = new Int32Array(message.counters!);
      index = message.index!;
      // Attached once its life lock is held (from then on its death is detected): an internal.
      void (
        (semaphore as unknown as Record<symbol, { backend: { lifeLockHeld: Promise<void> | null } }>)[
          Symbol.for('rxjs-permits.gateTarget')
        ].backend.lifeLockHeld ?? Promise.resolve()
      ).then(() => scope.postMessage({ id, event: 'done', result: true }));
      break;
    case 'lease': {
      const leased = semaphore!.lease();
      scope.postMessage({ id, event: 'queued', waiting: semaphore!.waiting });
      leased.then(
        (lease) => {
          hold(id);
          leases.set(id, lease);
          scope.postMessage({ id, event: 'granted', token: lease.token });
        },
        (error: Error) => scope.postMessage({ id, event: 'rejected', name: error.name }),
      );
      break;
    }
    case 'release':
      Atomics.sub(counters!, 0, 1);
      leases.get(id)!.release();
      leases.delete(id);
      scope.postMessage({ id, event: 'done', result: semaphore!.value });
      break;
    case 'stress': {
      const run = async () => {
        for (let i = 0; i < message.cycles!; i++) {
          const lease = await semaphore!.lease();
          hold(i & 0xfffff);
          Atomics.sub(counters!, 0, 1);
          lease.release();
        }
      };
      run().then(
        () => scope.postMessage({ id, event: 'done', result: message.cycles }),
        (error: Error) => scope.postMessage({ id, event: 'rejected', name: error.name }),
      );
      break;
    }
  }
};

'use strict';
// W6 (issue #14): SharedSemaphore, one limit across worker_threads.
//
//   W6-uncontended  tryAcquire(1) + release(1) on a SharedSemaphore nobody else uses, against the
//                   in-process Semaphore (target ≤ 3x): the price of the critical section. Two
//                   floors, bare atomics and nothing else: today's two lock-guarded sections, and
//                   the cheapest lock-free fast path (value and "queued" bit in one word, one CAS
//                   each way, plus the CAS that advances the token counter: every grant draws one).
//   W6-hand-off     one permit passed back and forth between the main thread and a worker: the
//                   main thread releases it to the worker's queued `lease()`, the worker releases
//                   it back; time per hand-off, against a MessagePort round trip (post the
//                   "permit" to the worker, which posts it back: what a lock kept by one thread
//                   costs a worker per hand-off — ask, be told) (target: lower).
//   W6-4-threads    4 workers × 10^5 `await lease()` + `release()` on one permit: throughput, and
//                   the longest wait of any request (reported).
//
// The workers load the library from an esbuild bundle of src/index.ts made once per run in a
// temporary folder (a worker that loaded ts-node would take seconds to start).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const { mark, since, formatN } = require('../harness.js');

const ROOT = path.resolve(__dirname, '..', '..');

let bundle = null;
function libraryBundle() {
  if (bundle !== null) return bundle;
  const esbuild = require('esbuild');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-bench-'));
  bundle = path.join(dir, 'rxjs-permits.js');
  esbuild.buildSync({
    entryPoints: [path.join(ROOT, 'src', 'index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
  });
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return bundle;
}

// The worker: attaches, answers 'ready', then runs the loop it is told to run.
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const { SharedSemaphore } = require(workerData.bundle);
const sem = workerData.handle ? SharedSemaphore.from(workerData.handle) : null;
parentPort.on('message', async (msg) => {
  if (msg.cmd === 'ping-pong') {
    // The MessagePort baseline: every message received is the permit, sent straight back.
    let left = msg.n;
    parentPort.removeAllListeners('message');
    parentPort.on('message', () => {
      parentPort.postMessage(0);
      if (--left === 0) parentPort.removeAllListeners('message');
    });
    parentPort.postMessage('ready');
  } else if (msg.cmd === 'hand-off') {
    // Queue first, then tell the main thread; each grant is given straight back, after queueing
    // the next request (so that the main thread's next release hands it over again).
    let pending = sem.lease();
    parentPort.postMessage('queued');
    for (let i = 0; i < msg.n; i++) {
      const lease = await pending;
      pending = i + 1 < msg.n ? sem.lease() : null;
      lease.release();
    }
    parentPort.postMessage('done');
  } else if (msg.cmd === 'cycles') {
    let maxWait = 0;
    let grants = 0;
    for (let i = 0; i < msg.n; i++) {
      const asked = performance.now();
      const lease = await sem.lease();
      const waited = performance.now() - asked;
      if (waited > maxWait) maxWait = waited;
      grants++;
      lease.release();
    }
    parentPort.postMessage({ grants, maxWait });
  }
});
parentPort.postMessage('attached');
`;

function startWorker(handle) {
  const worker = new Worker(WORKER, { eval: true, workerData: { bundle: libraryBundle(), handle } });
  const messages = [];
  const waiters = [];
  worker.on('message', (m) => {
    if (waiters.length) waiters.shift()(m);
    else messages.push(m);
  });
  worker.on('error', (e) => {
    throw e;
  });
  const next = () =>
    messages.length ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r));
  return { worker, next };
}

module.exports = function w6(libs, { scale }) {
  const build = libs.builds[0];
  const { Semaphore, SharedSemaphore } = build.permits;
  const nUncontended = Math.round(1e6 * scale);
  const nHandOff = Math.round(2e4 * scale);
  const nCycles = Math.round(1e5 * scale);
  const fourThreads = { maxWait: [], throughput: [] };

  const shared = { current: null };
  const keep = (sem) => (shared.current = sem);
  const NOT_ACQUIRED = new Error('W6: an uncontended tryAcquire failed');

  const uncontended = (name, make) => ({
    name,
    run(n) {
      const sem = keep(make());
      const t0 = mark();
      for (let i = 0; i < n; i++) {
        if (!sem.tryAcquire(1)) throw NOT_ACQUIRED;
        sem.release(1);
      }
      const r = since(t0);
      if (sem.value !== 1) throw new Error(`W6 ${name}: value ${sem.value}`);
      return r;
    },
  });

  return {
    id: 'W6',
    title: 'SharedSemaphore across worker_threads (issue #14)',
    description:
      'Uncontended `tryAcquire` + `release` against the in-process Semaphore; one permit handed back and ' +
      "forth between the main thread and a worker (`release()` → the other thread's queued `lease()` is " +
      'granted on its doorbell) against a MessagePort round trip carrying the permit as a message; 4 workers ' +
      `× ${formatN(nCycles)} \`await lease()\` + \`release()\` on one permit.`,
    groups: [
      {
        id: 'W6-uncontended',
        n: nUncontended,
        unit: 'ns / cycle',
        baseline: `${build.name} Semaphore: tryAcquire(1) + release(1)`,
        contenders: [
          uncontended(`${build.name} Semaphore: tryAcquire(1) + release(1)`, () => new Semaphore(1)),
          uncontended(
            `${build.name} SharedSemaphore: tryAcquire(1) + release(1)`,
            () => new SharedSemaphore(1),
          ),
          {
            // What any lock-guarded shared counter pays: two critical sections per cycle, each a
            // compare-and-swap to enter and a sequentially consistent store to leave.
            name: 'floor: Atomics.compareExchange + Atomics.store, twice (two critical sections)',
            run(n) {
              const a = keep(new Int32Array(new SharedArrayBuffer(64)));
              a[4] = 1;
              const t0 = mark();
              for (let i = 0; i < n; i++) {
                if (Atomics.compareExchange(a, 2, 0, 1) !== 0) throw NOT_ACQUIRED;
                a[4] -= 1;
                Atomics.store(a, 2, 0);
                if (Atomics.compareExchange(a, 2, 0, 1) !== 0) throw NOT_ACQUIRED;
                a[4] += 1;
                Atomics.store(a, 2, 0);
              }
              const r = since(t0);
              if (a[4] !== 1) throw new Error('W6 floor: wrong count');
              return r;
            },
          },
          {
            // The lock-free fast path proposed for #14, at its cheapest: no lock, the free value and
            // a "queued" bit in one word changed by one compare-and-swap each way (the expected
            // word cached, so no load before it), and one compare-and-swap that advances the
            // fencing-token counter for the tryAcquire grant (SPEC: every grant draws a token).
            // Three atomic read-modify-writes per cycle, against the four atomics of the row above.
            name: 'floor: lock-free fast path (CAS value word, CAS token counter, CAS value word)',
            run(n) {
              const a = keep(new Int32Array(new SharedArrayBuffer(64)));
              let word = 1 << 1; // one free permit, "queued" bit (bit 0) clear
              a[4] = word;
              let token = 0;
              const t0 = mark();
              for (let i = 0; i < n; i++) {
                if (Atomics.compareExchange(a, 4, word, word - 2) !== word) throw NOT_ACQUIRED;
                word -= 2;
                if (Atomics.compareExchange(a, 12, token, token + 1) !== token) throw NOT_ACQUIRED;
                token = (token + 1) | 0;
                if (Atomics.compareExchange(a, 4, word, word + 2) !== word) throw NOT_ACQUIRED;
                word += 2;
              }
              const r = since(t0);
              if (a[4] !== 2 || a[12] !== (n | 0)) throw new Error('W6 floor: wrong count');
              return r;
            },
          },
        ],
      },
      {
        id: 'W6-hand-off',
        n: nHandOff,
        unit: 'ns / hand-off (round trip)',
        baseline: 'MessagePort round trip: post the permit, the worker posts it back',
        contenders: [
          {
            name: 'MessagePort round trip: post the permit, the worker posts it back',
            async run(n) {
              const { worker, next } = startWorker(null);
              await next(); // attached
              const rounds = n;
              worker.postMessage({ cmd: 'ping-pong', n: rounds });
              await next(); // ready
              let left = rounds;
              const t0 = mark();
              const done = new Promise((resolve) => {
                worker.on('message', () => {
                  if (--left === 0) resolve();
                  else worker.postMessage(0);
                });
              });
              worker.postMessage(0);
              await done;
              const r = since(t0);
              await worker.terminate();
              return r;
            },
          },
          {
            name: `${build.name} SharedSemaphore: release() → other thread's lease() granted`,
            async run(n) {
              const sem = new SharedSemaphore(1);
              const { worker, next } = startWorker(sem.handle);
              sem.watch(worker);
              await next(); // attached
              if (!sem.tryAcquire()) throw new Error('W6 hand-off: not free');
              const rounds = n / 2;
              worker.postMessage({ cmd: 'hand-off', n: rounds });
              await next(); // queued
              const t0 = mark();
              let held = null;
              for (let i = 0; i < rounds; i++) {
                const mine = sem.lease(); // queued behind the worker's request
                if (held === null) sem.release();
                else held.release(); // hand-off to the worker, which gives it straight back
                held = await mine;
              }
              const r = since(t0);
              held.release();
              await next(); // done
              await worker.terminate();
              return r;
            },
          },
        ],
      },
      {
        id: 'W6-4-threads',
        n: 4 * nCycles,
        unit: 'ns / grant',
        baseline: `${build.name} SharedSemaphore(1): 4 workers, await lease() + release()`,
        contenders: [
          {
            name: `${build.name} SharedSemaphore(1): 4 workers, await lease() + release()`,
            async run(n) {
              const sem = new SharedSemaphore(1);
              const workers = [0, 1, 2, 3].map(() => startWorker(sem.handle));
              for (const w of workers) sem.watch(w.worker);
              await Promise.all(workers.map((w) => w.next())); // attached
              const t0 = mark();
              for (const w of workers) w.worker.postMessage({ cmd: 'cycles', n: n / 4 });
              const results = await Promise.all(workers.map((w) => w.next()));
              const r = since(t0);
              await Promise.all(workers.map((w) => w.worker.terminate()));
              const grants = results.reduce((a, x) => a + x.grants, 0);
              if (grants !== n || sem.value !== 1 || sem.waiting !== 0) {
                throw new Error(
                  `W6 4 threads: ${grants} grants of ${n}, value ${sem.value}, waiting ${sem.waiting}`,
                );
              }
              fourThreads.maxWait.push(Math.max(...results.map((x) => x.maxWait)));
              fourThreads.throughput.push(n / (r.ns / 1e9));
              return r;
            },
          },
        ],
      },
    ],
    notes() {
      const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
      if (fourThreads.throughput.length === 0) return ''; // not run (--filter)
      return (
        `4 threads × ${formatN(nCycles)}: throughput ${formatN(Math.round(med(fourThreads.throughput)))} grants/s ` +
        `(median over rounds), longest wait of one request ${med(fourThreads.maxWait).toFixed(1)} ms ` +
        `(median over rounds of each round's maximum; worst ${Math.max(...fourThreads.maxWait).toFixed(1)} ms).`
      );
    },
    fourThreads,
  };
};

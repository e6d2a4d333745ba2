'use strict';
// The heap side of the leak check (issue #6). Runs the workload of 'nothing leaks' in
// spec/with-permit.spec.ts — 10^5 gated streams on one Semaphore and one RLock that complete,
// error, time out (with and without a fallback), are rejected, are cut off while waiting or
// running, or are inners of mergeMapWithPermit — twice on the same primitives and virtual
// scheduler: once to warm up, once measured. Prints the live heap before and after (each after
// full collections) and exits non-zero when it did not return to within 1 MB of its baseline, or
// when anything was left queued, held, subscribed or scheduled.
//
//   node --expose-gc bench/leaks.js
//
// PERMITS_LEAK_STREAMS overrides the number of streams (default 100000).

require('ts-node').register({
  transpileOnly: true,
  experimentalResolver: true,
  compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
});

const { TestScheduler } = require('rxjs/testing');
const { RLock, Semaphore } = require('../src/index.ts');
const { CLEAN, LeakWorkload } = require('../spec/model/leak-workload.ts');

const STREAMS = Number(process.env.PERMITS_LEAK_STREAMS || 100000);
const BATCH = 1000;
const CAPACITY = 4;
const LIMIT_BYTES = 1024 * 1024;
const STEADY_BYTES = 0.1 * 1024 * 1024;

if (typeof globalThis.gc !== 'function') {
  console.error('bench/leaks.js: run with --expose-gc (node --expose-gc bench/leaks.js)');
  process.exit(2);
}

/** Bytes of live heap after full collections. */
function heapUsed() {
  for (let i = 0; i < 6; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(3)} MB`;

const scheduler = new TestScheduler(() => {});
scheduler.maxFrames = Infinity;
const semaphore = new Semaphore(CAPACITY, { scheduler });
const lock = new RLock({ scheduler });

/** Runs the workload; returns how the streams ended, or throws if anything was left behind. */
function run() {
  const workload = new LeakWorkload(semaphore, CAPACITY, lock, scheduler);
  for (let started = 0; started < STREAMS; started += BATCH)
    workload.batch(Math.min(BATCH, STREAMS - started));
  const residue = workload.residue();
  if (JSON.stringify(residue) !== JSON.stringify(CLEAN)) {
    throw new Error(`left behind after ${STREAMS} streams: ${JSON.stringify(residue)}`);
  }
  return workload.outcomes;
}

run(); // warm-up: code compiled, lazy structures created
// More warm-ups until the heap is steady: after the first runs it still drops once, by about 1.1-1.3
// MB (a one-time settling of V8's structures, seen in the third run and, on a fresh machine, in the
// fourth). The baseline is taken once two runs in a row leave it within 0.1 MB (at most 8 runs).
let baseline = heapUsed();
for (let runs = 0; runs < 8; runs++) {
  run();
  const now = heapUsed();
  const settled = Math.abs(now - baseline) <= STEADY_BYTES;
  baseline = now;
  if (settled) break;
}
const started = process.hrtime.bigint();
const outcomes = run();
const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
const after = heapUsed();
const delta = after - baseline;

console.log(`leaks: ${STREAMS} gated streams in ${elapsed.toFixed(0)} ms: ${JSON.stringify(outcomes)}`);
console.log(`leaks: left queued 0, held 0, subscribed 0, scheduled ${scheduler.actions.length}`);
console.log(
  `leaks: heap baseline ${mb(baseline)}, after ${mb(after)}, delta ${delta >= 0 ? '+' : ''}${mb(delta)} (limit ${mb(LIMIT_BYTES)})`,
);
if (scheduler.actions.length !== 0 || Math.abs(delta) > LIMIT_BYTES) {
  console.log('leaks: FAILED');
  process.exit(1);
}
console.log('leaks: ok');

'use strict';
// `npm run bench`: every contender on the same workloads, in one Node process, in interleaved rounds
// (one warm-up round, then ROUNDS measured ones), then the targets of issues #5 and #12, then
// bench/RESULTS.md.
// With PERMITS_BENCH_BASELINE=/path/to/other/src/index.ts, that build's rxjs-permits contenders run
// too, labelled "(baseline)", and every rxjs-permits figure is compared with it (issue #11).
//
//   node --expose-gc --max-old-space-size=8192 bench/run.js [options]
//     --rounds N     measured rounds per workload (default 5, at least 5 for RESULTS.md)
//     --only W1,W3   run only these workloads (RESULTS.md is then not written)
//     --scale F      multiply every n by F (quick checks; RESULTS.md is then not written)
//     --filter RE    run only the contenders whose name matches RE (for profiling; no targets)
//     --no-write     do not write RESULTS.md
//     --permits-only run only the rxjs-permits contenders and each table's baseline (for bench/ab.js)
//     --skip RE      leave out the contenders whose name matches RE (after --filter)
//     --json FILE    also write every measured row to FILE as JSON (for bench/ab.js)
// W7 (RedisSemaphore vs redis-semaphore, bench/workloads/w7-redis.js) runs in a child process with a
// redis-server of its own when one can be found or installed (scripts/system-deps.js); otherwise it
// is skipped with one line. `npm run bench:redis` runs W7 alone.
//
// Profile one workload (profiles go to /tmp, never into the repository):
//   node --cpu-prof --cpu-prof-dir=/tmp/permits-prof --expose-gc --max-old-space-size=8192 \
//     bench/run.js --only W5 --no-write
//   node bench/top-self.js /tmp/permits-prof/*.cpuprofile

const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadLibraries, versionOf } = require('./libs.js');
const {
  runGroup,
  groupTable,
  pairRatio,
  table,
  formatRatio,
  formatBytes,
  formatNs,
  formatN,
} = require('./harness.js');

const WORKLOADS = {
  W1: require('./workloads/w1-uncontended.js'),
  W2: require('./workloads/w2-microtask-tasks.js'),
  W3: require('./workloads/w3-queued.js'),
  W4: require('./workloads/w4-withdraw.js'),
  W5: require('./workloads/w5-sync-inners.js'),
  W6: require('./workloads/w6-shared.js'),
};

function parseArgs(argv) {
  const options = {
    rounds: 5,
    only: null,
    scale: 1,
    write: true,
    filter: null,
    permitsOnly: false,
    json: null,
    skip: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--rounds') options.rounds = Number(argv[++i]);
    else if (arg === '--only') options.only = argv[++i].split(',').map((s) => s.trim().toUpperCase());
    else if (arg === '--scale') options.scale = Number(argv[++i]);
    else if (arg === '--no-write') options.write = false;
    else if (arg === '--filter') options.filter = new RegExp(argv[++i]);
    else if (arg === '--permits-only') options.permitsOnly = true;
    else if (arg === '--json') options.json = argv[++i];
    else if (arg === '--skip') options.skip = new RegExp(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!(options.rounds >= 1)) throw new Error('--rounds must be >= 1');
  return options;
}

const log = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line) => process.stderr.write(`${line}\n`);

/**
 * Each target of issues #5 and #12 (async/await: `lease()`, `run()`): the measured figure, the
 * limit, met or missed; with a baseline build (PERMITS_BENCH_BASELINE), also that build's figure
 * (`absent` when it lacks the API) and this build's time over the baseline's, as the median over
 * rounds of the ratio within each round (wall clock and CPU time).
 */
function evaluateTargets(results, builds) {
  const [self, base] = builds;
  const group = (id) => {
    for (const w of Object.values(results)) for (const g of w.groups) if (g.id === id) return g;
    return null;
  };
  const row = (g, name) => g.rows.find((r) => r.name === name);
  const targets = [];
  /**
   * `figure(build)` gives { measured, met, detail } for one build; `versus()` gives this build
   * against the baseline build: { text, wall?, cpu? }.
   */
  const add = (id, what, limit, figure, versus) => {
    const f = figure(self);
    // null: this build lacks the rows (an older build measured through PERMITS_BENCH_SRC).
    if (f === null) return;
    const target = { id, what, limit, measured: f.measured, met: f.met, detail: f.detail };
    if (base) {
      // `figure(base)` is null when the baseline build has no such API (lease()/run() before #12).
      const b = figure(base);
      target.baseMeasured = b === null ? 'absent' : b.measured;
      target.versus = versus && b !== null ? versus() : { text: '–' };
    }
    targets.push(target);
  };
  /** This build's time over the baseline build's, per round, for the rows `<build name><suffix>`. */
  const vs = (g, suffix) => {
    const wall = pairRatio(g, self.name + suffix, base.name + suffix);
    const cpu = pairRatio(g, self.name + suffix, base.name + suffix, 'cpuPerOp');
    return { wall, cpu, text: `${formatRatio(wall)} (CPU ${formatRatio(cpu)})` };
  };
  const cpuNote = (r) => `CPU-time ratio ${formatRatio(r.cpuRatio)}`;
  const engineNote = (g, name) => {
    const e = row(g, name);
    return e ? `; the engine alone (src/core, no RxJS): ${formatRatio(e.ratio)}` : '';
  };

  const w1 = group('W1');
  if (w1) {
    add(
      'W1',
      '`tryAcquire` + `release` vs lower bound',
      '≤ 1.5x',
      (b) => {
        const r = row(w1, `${b.name}: tryAcquire + release`);
        const engine = row(w1, `${b.name} engine (src/core, no checks): tryAcquire(1) + release(1)`);
        return {
          measured: formatRatio(r.ratio),
          met: r.ratio <= 1.5,
          detail:
            cpuNote(r) +
            (engine ? `; the engine alone (src/core, no argument checks): ${formatRatio(engine.ratio)}` : ''),
        };
      },
      () => vs(w1, ': tryAcquire + release'),
    );
    add(
      'W1',
      'Observable `acquire()` path vs async-mutex (the faster of its Mutex and Semaphore)',
      '≤ 1.0x',
      (b) => {
        const a = `${b.name}: acquire().subscribe(release)`;
        const mutex = pairRatio(w1, a, 'async-mutex Mutex: await acquire(), release()');
        const sem = pairRatio(w1, a, 'async-mutex Semaphore(1): await acquire(), release()');
        const worst = Math.max(mutex, sem);
        return {
          measured: formatRatio(worst),
          met: worst <= 1,
          detail: `vs Mutex ${formatRatio(mutex)}, vs Semaphore(1) ${formatRatio(sem)}`,
        };
      },
      () => vs(w1, ': acquire().subscribe(release)'),
    );
    add(
      'W1',
      'issue #12: `await sem.lease()` + `lease.release()` vs async-sema `await acquire()` + `release()`',
      '≤ 1.0x',
      (b) => {
        const r = row(w1, `${b.name}: await lease() + release()`);
        if (!r) return null;
        const sema = 'async-sema: await acquire(), release()';
        const wall = pairRatio(w1, r.name, sema);
        const cpu = pairRatio(w1, r.name, sema, 'cpuPerOp');
        const others = [
          ['async-mutex Semaphore(1)', 'async-mutex Semaphore(1): await acquire(), release()'],
          ['async-mutex Mutex', 'async-mutex Mutex: await acquire(), release()'],
        ]
          .map(([label, name]) => `vs ${label} ${formatRatio(pairRatio(w1, r.name, name))}`)
          .join(', ');
        return {
          measured: formatRatio(wall),
          met: wall <= 1,
          detail: `CPU time ${formatRatio(cpu)}; ${formatNs(r.median)} vs ${formatNs(row(w1, sema).median)}; ${others}`,
        };
      },
    );
    add(
      'W1',
      "issue #12: `await sem.run(() => x)` vs p-limit(1) `await limit(fn)` and async-mutex's `runExclusive`",
      'reported',
      (b) => {
        const r = row(w1, `${b.name}: await run(() => x)`);
        if (!r) return null;
        const vsOf = (name) =>
          `${formatRatio(pairRatio(w1, r.name, name))} (CPU ${formatRatio(pairRatio(w1, r.name, name, 'cpuPerOp'))})`;
        return {
          measured: formatNs(r.median),
          met: null,
          detail:
            `vs p-limit(1) ${vsOf('p-limit(1): await limit(fn)')}; ` +
            `vs async-mutex Semaphore(1) runExclusive ${vsOf('async-mutex Semaphore(1): await runExclusive(() => x)')}; ` +
            `vs its own \`await lease()\` + \`release()\` ${vsOf(`${b.name}: await lease() + release()`)}`,
        };
      },
    );
  }
  const w2 = group('W2');
  if (w2) {
    const small = group('W2-withPermit-10^4');
    add(
      'W2',
      `\`mergeMapWithPermit(sem, task)\` vs \`mergeMap(task, 8)\` at ${formatN(w2.n)}`,
      '≤ 1.2x',
      (b) => {
        const r = row(w2, `${b.name}: mergeMapWithPermit(sem, task)`);
        const atSmall = small && row(small, `${b.name}: mergeMapWithPermit(sem, task)`);
        return {
          measured: formatRatio(r.ratio),
          met: r.ratio <= 1.2,
          detail:
            cpuNote(r) +
            (atSmall
              ? `; at ${formatN(small.n)}: ${formatRatio(atSmall.ratio)} (CPU ${formatRatio(atSmall.cpuRatio)})`
              : ''),
        };
      },
      () => {
        const v = vs(w2, ': mergeMapWithPermit(sem, task)');
        return small
          ? {
              ...v,
              text: `${v.text}; at ${formatN(small.n)}: ${vs(small, ': mergeMapWithPermit(sem, task)').text}`,
            }
          : v;
      },
    );
  }
  if (w2) {
    const lb = 'lower bound: acquire(cb) → task → release';
    add(
      'W2',
      `issue #12: \`sem.run(task)\` vs the hand-written Promise lower bound (\`${lb}\`) at ${formatN(w2.n)}`,
      '≤ 1.2x',
      (b) => {
        const r = row(w2, `${b.name}: run(task)`);
        if (!r) return null;
        const wall = pairRatio(w2, r.name, lb);
        const cpu = pairRatio(w2, r.name, lb, 'cpuPerOp');
        const vsOf = (name, self = r.name) =>
          `${formatRatio(pairRatio(w2, self, name))} (CPU ${formatRatio(pairRatio(w2, self, name, 'cpuPerOp'))})`;
        const small = row(w2, `${b.name}: run(task), at async-mutex's n`);
        const mutex = 'async-mutex Semaphore(8): runExclusive(task)';
        return {
          measured: formatRatio(wall),
          met: wall <= 1.2,
          detail:
            `CPU time ${formatRatio(cpu)}; ${formatNs(r.median)} vs ${formatNs(row(w2, lb).median)} per task; ` +
            `vs p-limit(8) ${vsOf('p-limit(8): limit(task)')}; ` +
            `vs async-sema(8) ${vsOf('async-sema(8): await acquire(); await task; release()')}; ` +
            (small
              ? `vs async-mutex Semaphore(8) \`runExclusive\`, both at ${formatN(small.n)}: ${vsOf(mutex, small.name)}`
              : ''),
        };
      },
    );
  }
  for (const id of ['W2-withPermit-10^4', 'W2-withPermit-10^5']) {
    const g = group(id);
    if (!g) continue;
    const suffix = ': mergeMap(x => task(x).pipe(withPermit(sem)))';
    add(
      'W2',
      `\`mergeMap(x => task(x).pipe(withPermit(sem)))\` at ${formatN(g.n)} vs \`mergeMap(task, 8)\``,
      'reported',
      (b) => {
        const r = row(g, b.name + suffix);
        return { measured: formatRatio(r.ratio), met: null, detail: `${formatNs(r.median)} per task` };
      },
      () => vs(g, suffix),
    );
  }
  const w3 = group('W3');
  if (w3) {
    const sema = row(w3, 'async-sema: acquire().then(cb)');
    const floor = row(w3, 'RxJS floor: lower bound as an Observable, acquire$().subscribe(cb)');
    add(
      'W3',
      'heap per queued `acquire()` request',
      '≤ 450 B',
      (b) => {
        const permits = row(w3, `${b.name}: acquire().subscribe(cb)`);
        return {
          measured: formatBytes(permits.heap),
          met: permits.heap <= 450,
          detail: `async-sema: ${formatBytes(sema.heap)}; ${b.name} with a shared observer object: ${formatBytes(
            row(w3, `${b.name}: acquire().subscribe(observer)`).heap,
          )}; RxJS floor: ${formatBytes(floor.heap)}`,
        };
      },
      () => {
        const a = row(w3, `${self.name}: acquire().subscribe(cb)`).heap;
        const c = row(w3, `${base.name}: acquire().subscribe(cb)`).heap;
        return { text: `${a - c >= 0 ? '+' : '−'}${formatBytes(Math.abs(a - c))} (×${(a / c).toFixed(2)})` };
      },
    );
    add(
      'W3',
      'drain per waiter vs lower bound',
      '≤ 2x',
      (b) => {
        const permits = row(w3, `${b.name}: acquire().subscribe(cb)`);
        return {
          measured: formatRatio(permits.ratio),
          met: permits.ratio <= 2,
          detail:
            `${cpuNote(permits)}; the RxJS floor alone is ${formatRatio(floor.ratio)}; ${b.name} / RxJS floor ${formatRatio(
              pairRatio(w3, permits.name, floor.name),
            )}` + engineNote(w3, `${b.name} engine (src/core, no RxJS): request(1, grantee)`),
        };
      },
      () => vs(w3, ': acquire().subscribe(cb)'),
    );
  }
  const w4 = results.W4;
  if (w4 && w4.groups.length === 2) {
    const [g4, g5] = w4.groups;
    const lb = 'lower bound: withdraw(waiter)';
    const floor = 'RxJS floor: lower bound as an Observable, acquire$() subscription.unsubscribe()';
    const suffix = ': acquire() subscription.unsubscribe()';
    const growthOf = (b) => row(g5, b.name + suffix).median / row(g4, b.name + suffix).median;
    add(
      'W4',
      `cost per withdrawal does not grow with the queue (${formatN(g4.n)} → ${formatN(g5.n)})`,
      "growth ≤ 1.25 × the O(1) RxJS floor's",
      (b) => {
        const name = b.name + suffix;
        const growth = growthOf(b);
        const lbGrowth = row(g5, lb).median / row(g4, lb).median;
        const floorGrowth = row(g5, floor).median / row(g4, floor).median;
        const ratioGrowth = row(g5, name).ratio / row(g4, name).ratio;
        // Every contender's time per withdrawal grows from 10^4 to 10^5 in random order: the larger
        // heap misses cache. The RxJS floor (the lower bound's O(1) list behind an RxJS subscription,
        // a similar object graph per waiter) measures that effect; an O(n) withdrawal would grow ~10x
        // more.
        return {
          measured: `${formatRatio(growth)} (RxJS floor ${formatRatio(floorGrowth)})`,
          met: growth <= 1.25 * floorGrowth,
          detail: `per withdrawal ${formatNs(row(g4, name).median)} → ${formatNs(row(g5, name).median)}; lower bound ${formatRatio(
            lbGrowth,
          )} (${formatNs(row(g4, lb).median)} → ${formatNs(row(g5, lb).median)}); ratio to lower bound ${formatRatio(
            row(g4, name).ratio,
          )} → ${formatRatio(row(g5, name).ratio)} (×${ratioGrowth.toFixed(2)}): random order over a 10x larger heap misses cache`,
        };
      },
      () => ({ text: `growth ×${(growthOf(self) / growthOf(base)).toFixed(2)} the baseline build's` }),
    );
    add(
      'W4',
      'withdrawal vs lower bound (worse of both sizes)',
      '≤ 2x',
      (b) => {
        const name = b.name + suffix;
        const worst = Math.max(row(g4, name).ratio, row(g5, name).ratio);
        const engine = `${b.name} engine (src/core, no RxJS): ticket.withdraw()`;
        return {
          measured: formatRatio(worst),
          met: worst <= 2,
          detail:
            `RxJS floor ${formatRatio(row(g4, floor).ratio)} / ${formatRatio(row(g5, floor).ratio)}; ${b.name} / RxJS floor ${formatRatio(
              pairRatio(g4, name, floor),
            )} / ${formatRatio(pairRatio(g5, name, floor))}` +
            engineNote(g4, engine) +
            (row(g5, engine) ? ` / ${formatRatio(row(g5, engine).ratio)}` : ''),
        };
      },
      () => {
        const a = vs(g4, suffix);
        const c = vs(g5, suffix);
        const worse = a.wall >= c.wall ? a : c;
        return { ...worse, text: `${formatN(g4.n)}: ${a.text}; ${formatN(g5.n)}: ${c.text}` };
      },
    );
  }
  const w5 = group('W5');
  if (w5) {
    const floor = row(
      w5,
      'RxJS floor: mergeMap(x => of(x).pipe(g)), g a Subscriber-holder withPermit on the lower bound',
    );
    add(
      'W5',
      `${formatN(w5.n)} sync \`withPermit\` inners under \`mergeMap\` vs \`mergeMap(x => of(x), 1)\``,
      '≤ 1.5x',
      (b) => {
        const a = row(w5, `${b.name}: mergeMap(x => of(x).pipe(withPermit(sem)))`);
        return {
          measured: formatRatio(a.ratio),
          met: a.ratio <= 1.5,
          detail: `${cpuNote(a)}; RxJS floor ${formatRatio(floor.ratio)}; withPermit(sem) created once: ${formatRatio(
            row(w5, `${b.name}: same, withPermit(sem) created once`).ratio,
          )}`,
        };
      },
      () => vs(w5, ': mergeMap(x => of(x).pipe(withPermit(sem)))'),
    );
    const queued = ': mergeMapWithPermit(sem, x => of(x)), all queued behind a held permit, one release';
    add(
      'W5',
      `${formatN(w5.n)} values queued by \`mergeMapWithPermit\`, drained by one release, vs \`mergeMap(x => of(x), 1)\``,
      '≤ 1.5x',
      (b) => {
        const r = row(w5, b.name + queued);
        return { measured: formatRatio(r.ratio), met: r.ratio <= 1.5, detail: cpuNote(r) };
      },
      () => vs(w5, queued),
    );
    add('W5', `no stack overflow at ${formatN(w5.n)}`, 'completes', () => ({
      measured: 'completed',
      met: true,
      detail: 'every run checks count, completion and value',
    }));
  }
  const w6u = group('W6-uncontended');
  if (w6u) {
    add(
      'W6',
      'issue #14: uncontended `SharedSemaphore` `tryAcquire` + `release` vs the in-process Semaphore',
      '≤ 3x',
      (b) => {
        const r = b === self && row(w6u, `${b.name} SharedSemaphore: tryAcquire(1) + release(1)`);
        if (!r) return null;
        return {
          measured: formatRatio(r.ratio),
          met: r.ratio <= 3,
          detail:
            `${cpuNote(r)}; ${formatNs(r.median)} vs ${formatNs(row(w6u, w6u.baseline).median)} per cycle; ` +
            `the floor of two critical sections (CAS + store, twice) alone is ${formatRatio(
              w6u.rows.find((x) => x.name.startsWith('floor:')).ratio,
            )}`,
        };
      },
    );
  }
  const w6h = group('W6-hand-off');
  if (w6h) {
    add(
      'W6',
      'issue #14: cross-thread hand-off (`release()` in one thread → `lease()` granted in another) vs a MessagePort round trip',
      '< 1x',
      (b) => {
        const r = b === self && w6h.rows.find((x) => x.name.startsWith(`${b.name} SharedSemaphore`));
        if (!r) return null;
        return {
          measured: formatRatio(r.ratio),
          met: r.ratio < 1,
          detail: `${cpuNote(r)}; ${formatNs(r.median)} per hand-off vs ${formatNs(row(w6h, w6h.baseline).median)} per round trip (${formatNs(row(w6h, w6h.baseline).median / 2)} per message)`,
        };
      },
    );
  }
  const w6t = group('W6-4-threads');
  if (w6t && results.W6 && results.W6.fourThreads) {
    const { throughput, maxWait } = results.W6.fourThreads;
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    add(
      'W6',
      `issue #14: 4 threads × ${formatN(w6t.n / 4)} \`await lease()\` + \`release()\` on one permit`,
      'reported',
      (b) =>
        b === self
          ? {
              measured: `${formatN(Math.round(med(throughput)))} grants/s`,
              met: null,
              detail: `${formatNs(w6t.rows[0].median)} per grant; longest wait of one request ${med(maxWait).toFixed(1)} ms (median over rounds), worst ${Math.max(...maxWait).toFixed(1)} ms; every grant accounted for`,
            }
          : null,
    );
  }
  return targets;
}

const SPEED_LIMIT = 1.05;

/** met / missed for a time ratio this build / baseline build, wall clock first, CPU time second. */
function speedStatus(wall, cpu) {
  if (wall <= SPEED_LIMIT) return 'met';
  if (cpu <= SPEED_LIMIT) return 'wall clock only (CPU time met)';
  return '**missed**';
}

function targetsTable(targets) {
  const withBase = targets.some((t) => t.versus);
  const headers = ['workload', 'target', 'measured', 'limit', 'status'];
  if (withBase) headers.push('baseline build', 'this / baseline build (≤ 1.05x)');
  headers.push('detail');
  return table(
    headers,
    targets.map((t) => {
      const cells = [t.id, t.what, t.measured, t.limit, t.met === null ? '–' : t.met ? 'met' : '**missed**'];
      if (withBase) {
        const v = t.versus;
        const status = v && v.wall !== undefined ? `: ${speedStatus(v.wall, v.cpu)}` : '';
        cells.push(t.baseMeasured ?? '–', v ? v.text + status : '–');
      }
      cells.push(t.detail);
      return cells;
    }),
    withBase ? ['l', 'l', 'r', 'l', 'l', 'r', 'l', 'l'] : ['l', 'l', 'r', 'l', 'l', 'l'],
  );
}

/**
 * Every measured row, for `--json` (bench/ab.js reads it): per group, each contender's median time
 * per operation (wall clock and CPU), its median ratio to the group's baseline, and heap per waiter.
 */
function rowsJson(builds, results) {
  return {
    builds: builds.map((b) => ({ name: b.name, index: b.index, commit: b.commit ?? null, dirty: !!b.dirty })),
    groups: Object.entries(results).flatMap(([workload, w]) =>
      w.groups.map((g) => ({
        workload,
        id: g.id,
        n: g.n,
        unit: g.unit,
        baseline: g.baseline,
        rows: g.rows.map((r) => ({
          name: r.name,
          n: r.n,
          rounds: r.rounds,
          median: r.median,
          cpu: r.cpu,
          ratio: r.ratio,
          heap: r.heap ?? null,
        })),
      })),
    ),
  };
}

/**
 * Issue #11, "speed is kept": every rxjs-permits row of every table, this build against the same row
 * of the baseline build — the median over rounds of this build's time / the baseline build's in the
 * same round (wall clock and CPU time) — and heap per waiter (W3) for both.
 */
function speedRows(results, builds) {
  const [self, base] = builds;
  const rows = [];
  for (const w of Object.values(results)) {
    for (const g of w.groups) {
      for (const r of g.rows) {
        if (!(r.name.startsWith(`${self.name}:`) || r.name.startsWith(`${self.name} engine`))) continue;
        const suffix = r.name.slice(self.name.length);
        const b = g.rows.find((x) => x.name === base.name + suffix);
        if (!b) continue;
        const engine = suffix.startsWith(' engine');
        const wall = pairRatio(g, r.name, b.name);
        const cpu = pairRatio(g, r.name, b.name, 'cpuPerOp');
        rows.push({
          group: g.id,
          what: suffix.replace(/^: /, '').trim() + (r.n !== g.n ? ` (at ${formatN(r.n)})` : ''),
          rounds: Math.min(r.samples.length, b.samples.length),
          self: `${formatRatio(r.ratio)} (${formatNs(r.median)})`,
          base: `${formatRatio(b.ratio)} (${formatNs(b.median)})`,
          wall,
          cpu,
          status: engine ? 'reported (internal)' : speedStatus(wall, cpu),
        });
        if (r.heap !== undefined && b.heap !== undefined) {
          rows.push({
            group: g.id,
            what: `${suffix.replace(/^: /, '').trim()}: heap / waiter`,
            rounds: Math.min(r.samples.length, b.samples.length),
            self: formatBytes(r.heap),
            base: formatBytes(b.heap),
            heap: r.heap / b.heap,
            status: 'reported',
          });
        }
      }
    }
  }
  return rows;
}

function speedTable(rows) {
  return table(
    [
      'table',
      'rxjs-permits contender',
      'this build (ratio to the table’s baseline, median time)',
      'baseline build',
      'this / baseline build',
      'CPU time this / baseline',
      'status (≤ 1.05x)',
    ],
    rows.map((r) => [
      r.group,
      r.what + (r.rounds === 1 ? ' (1 round)' : ''),
      r.self,
      r.base,
      r.heap !== undefined ? `×${r.heap.toFixed(2)} (heap)` : formatRatio(r.wall),
      r.heap !== undefined ? '–' : formatRatio(r.cpu),
      r.status,
    ]),
    ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
  );
}

function speedSection(builds, rows) {
  const [self, base] = builds;
  return [
    '## Speed is kept (issue #11): this build vs the baseline build',
    '',
    `This build: ${self.commit ?? self.index}${self.dirty ? ' with uncommitted changes in src/' : ''}. ` +
      `Baseline build (\`PERMITS_BENCH_BASELINE\`, labelled "(baseline)"): ${base.commit ?? base.index}. ` +
      'Both in the same process and rounds, interleaved with every other contender. "this / baseline build" is ' +
      "the median over rounds of this build's time per operation divided by the baseline build's in the same " +
      'round; status: met when ≤ 1.05x on the wall clock, "wall clock only" when only the CPU-time ratio is ≤ 1.05x ' +
      '(the machine was busy). Engine-alone rows measure an internal and are reported only.',
    '',
    speedTable(rows),
  ].join('\n');
}

function environment() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: `${cpus[0]?.model ?? 'unknown'} × ${cpus.length}`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    load: os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
    versions: ['rxjs', 'async-mutex', 'async-sema', 'p-limit', 'typescript', 'ts-node'].map(
      (n) => `${n} ${versionOf(n)}`,
    ),
  };
}

function resultsMarkdown(env, options, results, targets, speed, builds, seconds) {
  const out = [];
  out.push('# rxjs-permits benchmark results');
  out.push('');
  out.push('Generated by `npm run bench` (`bench/run.js`); do not edit by hand.');
  out.push('');
  out.push(`- Date: ${env.date}`);
  out.push(`- Node: ${env.node} (V8 ${env.v8}), flags \`--expose-gc --max-old-space-size=8192\``);
  out.push(`- CPU: ${env.cpu}`);
  out.push(
    `- OS: ${env.os}, ${env.memory}; load average at start ${env.load}, at end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  out.push(
    `- Libraries: ${env.versions.join(', ')}; rxjs-permits from \`src/\` through ts-node (transpile-only, ES2022)`,
  );
  for (const b of builds) {
    out.push(
      `- ${b.label ? `Baseline build (\`PERMITS_BENCH_BASELINE\`), rows "${b.name}"` : `This build, rows "${b.name}"`}: ` +
        `${b.commit ? `\`${b.commit}\`` : b.index}${b.dirty ? ' with uncommitted changes' : ''}` +
        (b.engine
          ? `; engine API ${b.engine.api}`
          : '; no engine-alone rows (src/core/semaphore-core.ts not found)'),
    );
  }
  out.push(
    `- Rounds: 1 warm-up (discarded) + ${options.rounds} measured per workload, contenders interleaved and rotated each round; total run ${seconds.toFixed(0)} s`,
  );
  out.push('');
  out.push(
    'Times are per operation: median, min and max over the measured rounds. A ratio is computed per round ' +
      "against that round's baseline, and the median of those ratios is shown; the CPU-time ratio is the same " +
      'from `process.cpuUsage()`, which a busy machine inflates less. Heap (W3) is `heapUsed` after full ' +
      'collections with the n requests queued, minus before, divided by n, in a separate untimed pass. ' +
      'Method and caveats: [README.md](README.md).',
  );
  out.push('');
  out.push('## Targets (issues #5, #12 and #14)');
  out.push('');
  out.push(targetsTable(targets));
  out.push('');
  if (speed) {
    out.push(speed);
    out.push('');
  }
  for (const w of Object.values(results)) {
    if (!w || !w.groups) continue;
    out.push(`## ${w.id}: ${w.title}`);
    out.push('');
    out.push(w.description);
    out.push('');
    for (const g of w.groups) {
      if (w.groups.length > 1) {
        out.push(`### ${g.id} (n = ${formatN(g.n)})`);
        out.push('');
      }
      out.push(groupTable(g));
      out.push('');
    }
    if (w.notes) {
      out.push(w.notes);
      out.push('');
    }
  }
  const w7 = w7Run ? w7Run.markdown : previousW7Section();
  if (w7) out.push(w7);
  out.push('## Reproduce');
  out.push('');
  out.push('```sh');
  out.push('npm ci');
  out.push('npm run bench            # all workloads, 5 measured rounds, rewrites bench/RESULTS.md');
  out.push(
    'npm run bench:redis      # W7 alone (needs redis-server), rewrites its section and docs/w7-redis.svg',
  );
  out.push(
    'git worktree add /tmp/bench-baseline 2819543 && ln -s "$PWD/node_modules" /tmp/bench-baseline/node_modules',
  );
  out.push('PERMITS_BENCH_BASELINE=/tmp/bench-baseline/src/index.ts npm run bench   # with a baseline build');
  out.push('node --expose-gc --max-old-space-size=8192 bench/run.js --only W2 --no-write   # one workload');
  out.push(
    'node --cpu-prof --cpu-prof-dir=/tmp/permits-prof --expose-gc --max-old-space-size=8192 bench/run.js --only W5 --no-write',
  );
  out.push('node bench/top-self.js /tmp/permits-prof/*.cpuprofile   # top self-time functions');
  out.push('```');
  out.push('');
  return out.join('\n');
}

const W2_NOTE =
  '`mergeMap(x => task(x).pipe(withPermit(sem)))` subscribes every inner at once: each waiting value is a ' +
  "live inner subscription, added to the outer subscriber's `_finalizers` array. When an inner finishes, " +
  'RxJS 7 removes it from that array with `arrRemove` (`indexOf` + `splice`), O(live inners) per ' +
  'completion, so the whole run is O(n²): compare its time per task at 10^4 and 10^5. ' +
  '`mergeMapWithPermit` queues a small request per waiting value instead and subscribes an inner only ' +
  'once it holds its permit (at most 8 live inners here). The baseline is not linear either: ' +
  '`mergeMap(task, 8)` keeps waiting values in an array and takes each with `buffer.shift()`, which ' +
  'V8 cannot do in O(1) once the array is large (profile at 10^5: 85% of its time in that loop), ' +
  'hence its 10x higher cost per task at 10^5 than at 10^4.';

/**
 * W7 in a child process (it starts and stops its own redis-server): resolves to its Markdown
 * section, or null when it was skipped (no redis-server to be had, or --filter leaves no contender).
 */
function runW7(options) {
  const systemDeps = require('../scripts/system-deps.js');
  const { found, missing } = systemDeps.ensure(['redis-server']);
  if (missing.length > 0) {
    const { debianPackage, env } = systemDeps.requirements['redis-server'];
    log(`## W7 skipped: no redis-server found (apt-get install ${debianPackage}, or set ${env})`);
    log();
    return null;
  }
  const json = path.join(os.tmpdir(), `rxjs-permits-w7-${process.pid}.json`);
  const args = [path.join(__dirname, 'workloads', 'w7-redis.js'), '--json', json];
  if (options.scale < 1) args.push('--quick');
  if (options.filter) args.push('--filter', options.filter.source);
  if (options.write && options.only === null && options.filter === null && options.scale === 1)
    args.push('--svg', path.join(__dirname, '..', 'docs', 'w7-redis.svg'));
  const t0 = Date.now();
  const child = require('child_process').spawnSync(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...found },
  });
  if (child.status !== 0) throw new Error(`W7 failed (exit ${child.status ?? child.signal})`);
  const w7 = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(json, { force: true });
  if (w7.skipped) {
    log(`## W7 skipped: ${w7.skipped}`);
    log();
    return null;
  }
  log(`## W7: ${w7.title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  log(w7.description);
  log();
  log(w7.table);
  log();
  return w7;
}

/** This run's W7 ({ markdown, ... }), kept out of `results` (it has no groups of contenders). */
let w7Run = null;

/** The W7 section of the RESULTS.md written before (kept when this run could not run W7). */
function previousW7Section() {
  const file = path.join(__dirname, 'RESULTS.md');
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf('\n## W7');
  if (start < 0) return null;
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start + 1, end < 0 ? undefined : end + 1);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const libs = await loadLibraries();
  const env = environment();
  log(`rxjs-permits benchmarks — ${env.date}`);
  log(`Node ${env.node}, ${env.cpu}, ${env.os}, load average ${env.load}`);
  log(`${env.versions.join(', ')}`);
  for (const b of libs.builds) {
    log(
      `${b.name} from ${b.index}${b.commit ? ` (${b.commit}${b.dirty ? ', with uncommitted changes' : ''})` : ''}` +
        (b.engine ? `, engine API ${b.engine.api}` : ', no engine-alone rows'),
    );
  }
  log(
    `1 warm-up + ${options.rounds} measured rounds per workload${options.scale !== 1 ? `, scale ${options.scale}` : ''}`,
  );
  log();

  const ids = options.only ?? [...Object.keys(WORKLOADS), 'W7'];
  const results = {};
  for (const id of ids) {
    if (id === 'W7') {
      w7Run = runW7(options);
      continue;
    }
    const define = WORKLOADS[id];
    if (!define) throw new Error(`unknown workload ${id}`);
    const workload = define(libs, { scale: options.scale });
    const t0 = Date.now();
    const groups = [];
    for (const group of workload.groups) {
      if (options.filter) {
        group.contenders = group.contenders.filter((c) => options.filter.test(c.name));
        if (group.contenders.length === 0) continue;
      }
      if (options.skip) group.contenders = group.contenders.filter((c) => !options.skip.test(c.name));
      if (options.permitsOnly) {
        const ours = (c) =>
          libs.builds.some((b) => c.name.startsWith(`${b.name}:`) || c.name.startsWith(`${b.name} engine`));
        group.contenders = group.contenders.filter((c) => c.name === group.baseline || ours(c));
        if (!group.contenders.some(ours)) continue;
      }
      groups.push(await runGroup(group, { rounds: options.rounds, log: progress }));
    }
    const notes = id === 'W2' ? W2_NOTE : workload.notes ? workload.notes() : undefined;
    results[id] = { ...workload, groups, notes };
    log(`## ${id}: ${workload.title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    log(workload.description);
    log();
    for (const g of groups) {
      if (groups.length > 1) log(`### ${g.id} (n = ${formatN(g.n)})`);
      log(groupTable(g));
      log();
    }
    if (notes) {
      log(notes);
      log();
    }
  }

  if (options.json) fs.writeFileSync(options.json, JSON.stringify(rowsJson(libs.builds, results)));
  const targets =
    options.filter || options.permitsOnly || options.skip ? [] : evaluateTargets(results, libs.builds);
  if (targets.length) {
    log('## Targets (issues #5, #12 and #14)');
    log(targetsTable(targets));
    log();
  }
  const speed = libs.builds.length > 1 ? speedSection(libs.builds, speedRows(results, libs.builds)) : null;
  if (speed) {
    log(speed);
    log();
  }
  const seconds = (Date.now() - started) / 1000;
  log(`total: ${seconds.toFixed(1)} s`);

  const complete =
    options.only === null &&
    options.filter === null &&
    !options.permitsOnly &&
    options.skip === null &&
    options.scale === 1 &&
    options.rounds >= 5 &&
    !process.env.PERMITS_BENCH_SRC;
  if (options.write && complete) {
    const file = path.join(__dirname, 'RESULTS.md');
    fs.writeFileSync(file, resultsMarkdown(env, options, results, targets, speed, libs.builds, seconds));
    log(`wrote ${path.relative(process.cwd(), file)}`);
  } else if (options.write) {
    log('RESULTS.md not written (partial run: --only, --scale or fewer than 5 rounds)');
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

'use strict';
// The measuring machinery: interleaved rounds, per-round ratios, medians, tables.
//
// A workload is a list of groups; a group is one problem size with one baseline and its
// contenders. Round r runs every contender of the group once, in an order rotated by r, so drift
// (JIT tiering, heap growth, CPU frequency) hits every contender alike; round 0 is a warm-up and is
// discarded. Each contender's time per operation is divided by the baseline's time per operation
// *of the same round*, and the figure reported is the median of those per-round ratios.

/** A point in time: wall clock (hrtime) and this process's CPU time (user + system). */
function mark() {
  const cpu = process.cpuUsage();
  return { wall: process.hrtime.bigint(), cpu: cpu.user + cpu.system };
}

/**
 * Time since `start`: `ns` of wall clock (the figure reported), and `cpu` ns of this process's CPU
 * time, which other processes on a loaded machine do not inflate (shown as a second ratio).
 */
function since(start) {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return { ns: Number(wall - start.wall), cpu: (cpu.user + cpu.system - start.cpu) * 1000 };
}

// A full, synchronous mark-compact. Not a bare `gc()`: that one is a memory-reducing collection
// which also throws away optimized code, so every contender would run its loop cold again after
// it (measured: the lower bound's W1 loop 4 ns/op warm, 10-15 ns/op after a bare `gc()`).
const FULL_GC = { type: 'major', execution: 'sync' };

function gc() {
  if (typeof global.gc !== 'function') {
    throw new Error('run with --expose-gc (npm run bench does)');
  }
  global.gc(FULL_GC);
  global.gc(FULL_GC);
}

/**
 * Bytes of live heap, exactly: after full, memory-reducing collections (a bare `gc()`). After the
 * `FULL_GC` kind, `heapUsed` sometimes still counts hundreds of MB of garbage (measured: heap per
 * waiter swinging from +465 to -2000 B between rounds). A bare `gc()` discards optimized code, so
 * run the code again before timing it.
 */
function heapUsedExact() {
  gc();
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

/** Lets pending microtasks, timers and I/O callbacks run before the next measurement. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function median(values) {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const min = (values) => Math.min(...values);
const max = (values) => Math.max(...values);

/** Deterministic PRNG (mulberry32), so every contender withdraws in the same random order. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutation(n, seed) {
  const random = prng(seed);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** `10^5`, `3·10^4`, or the plain number. */
function formatN(n) {
  const exp = Math.log10(n);
  if (Number.isInteger(exp)) return `10^${exp}`;
  const lead = n / 10 ** Math.floor(exp);
  if (Number.isInteger(lead)) return `${lead}·10^${Math.floor(exp)}`;
  return String(n);
}

function formatNs(ns) {
  if (!Number.isFinite(ns)) return '–';
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(1)} ns`;
}

const formatRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '–');
const formatBytes = (b) => (Number.isFinite(b) ? `${b.toFixed(0)} B` : '–');

/**
 * Runs one group for `rounds` measured rounds after one warm-up round.
 *
 * group: { id, n, unit, baseline: name, contenders: [{ name, n?, note?, rounds?, warmup?, run(n) }] }
 * `run(n)` does n operations and resolves to { ns, cpu, heap?, extra? } (`ns`: wall-clock total of
 * the timed part, `cpu`: CPU time of the same part, `heap`: bytes per operation). A contender with
 * `rounds: k` runs only in the first k measured rounds, and with `warmup: false` not in the warm-up
 * (for the quadratic ones, warmed up by a smaller size run before). With `group.minTime` (ns), a
 * run that took less is repeated and the figures averaged.
 */
async function runGroup(group, { rounds, log }) {
  const contenders = group.contenders;
  const samples = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round <= rounds; round++) {
    const offset = round % contenders.length;
    const order = contenders.slice(offset).concat(contenders.slice(0, offset));
    const sample = new Map();
    for (const contender of order) {
      if (round === 0 && contender.warmup === false) continue;
      if (round > 0 && contender.rounds !== undefined && round > contender.rounds) continue;
      const n = contender.n ?? group.n;
      // A run shorter than `minTime` is repeated (up to 20 times) and averaged, so that one
      // context switch on a loaded machine does not decide a few-millisecond measurement.
      let ns = 0;
      let cpu = 0;
      let reps = 0;
      const heaps = [];
      const extras = [];
      do {
        await settle();
        gc();
        const result = await contender.run(n);
        ns += result.ns;
        cpu += result.cpu;
        reps++;
        if (result.heap !== undefined) heaps.push(result.heap);
        if (result.extra !== undefined) extras.push(result.extra);
      } while (ns < (group.minTime ?? 0) && reps < 20);
      await settle();
      const extra = extras.length ? averageExtras(extras) : undefined;
      sample.set(contender.name, {
        perOp: ns / reps / n,
        cpuPerOp: cpu / reps / n,
        heap: heaps.length ? heaps.reduce((a, b) => a + b, 0) / heaps.length : undefined,
        extra,
        reps,
      });
    }
    if (round === 0) continue; // warm-up
    const base = sample.get(group.baseline);
    for (const [name, s] of sample) {
      s.ratio = base ? s.perOp / base.perOp : NaN;
      s.cpuRatio = base ? s.cpuPerOp / base.cpuPerOp : NaN;
      samples.get(name).push(s);
    }
    if (log) log(`  ${group.id} round ${round}/${rounds} done`);
  }
  const rows = contenders.map((c) => {
    const s = samples.get(c.name);
    const perOp = s.map((x) => x.perOp);
    const heaps = s.map((x) => x.heap).filter((h) => h !== undefined);
    return {
      name: c.name,
      note: c.note,
      n: c.n ?? group.n,
      rounds: s.length,
      median: median(perOp),
      min: min(perOp),
      max: max(perOp),
      cpu: median(s.map((x) => x.cpuPerOp)),
      ratio: median(s.map((x) => x.ratio)),
      cpuRatio: median(s.map((x) => x.cpuRatio)),
      heap: heaps.length ? median(heaps) : undefined,
      samples: s,
    };
  });
  return { ...group, rounds, rows };
}

function averageExtras(extras) {
  const out = {};
  for (const key of Object.keys(extras[0])) out[key] = extras.reduce((a, e) => a + e[key], 0) / extras.length;
  return out;
}

/** Median over rounds of contender `a`'s time per op divided by `b`'s, in the same round. */
function pairRatio(group, a, b, key = 'perOp') {
  const ra = group.rows.find((r) => r.name === a);
  const rb = group.rows.find((r) => r.name === b);
  const k = Math.min(ra.samples.length, rb.samples.length);
  const ratios = [];
  for (let i = 0; i < k; i++) ratios.push(ra.samples[i][key] / rb.samples[i][key]);
  return median(ratios);
}

function table(headers, rows, align) {
  const out = [];
  out.push(`| ${headers.join(' | ')} |`);
  out.push(`| ${headers.map((_, i) => (align[i] === 'r' ? '---:' : '---')).join(' | ')} |`);
  for (const row of rows) out.push(`| ${row.join(' | ')} |`);
  return out.join('\n');
}

/** The markdown table of one measured group. */
function groupTable(group) {
  const hasHeap = group.rows.some((r) => r.heap !== undefined);
  const headers = [
    'contender',
    'n',
    `median ${group.unit}`,
    'min',
    'max',
    `ratio to ${group.baselineLabel ?? group.baseline}`,
    'CPU-time ratio',
  ];
  if (hasHeap) headers.push('heap / waiter');
  const extra = group.extraColumn;
  if (extra) headers.push(extra.label);
  const rows = group.rows.map((r) => {
    const isBase = r.name === group.baseline;
    const cells = [
      r.name + (r.note ? ` (${r.note})` : ''),
      formatN(r.n) + (r.rounds !== group.rounds ? ` (${r.rounds} round${r.rounds === 1 ? '' : 's'})` : ''),
      formatNs(r.median),
      formatNs(r.min),
      formatNs(r.max),
      isBase ? '1.00x (baseline)' : formatRatio(r.ratio),
      isBase ? '1.00x' : formatRatio(r.cpuRatio),
    ];
    if (hasHeap) cells.push(r.heap === undefined ? '–' : formatBytes(r.heap));
    if (extra) {
      const values = r.samples.map((x) => x.extra && x.extra[extra.key]).filter((v) => v !== undefined);
      cells.push(values.length ? formatNs(median(values) / r.n) : '–');
    }
    return cells;
  });
  return table(headers, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
}

module.exports = {
  mark,
  since,
  gc,
  heapUsedExact,
  settle,
  median,
  permutation,
  formatN,
  formatNs,
  formatRatio,
  formatBytes,
  runGroup,
  pairRatio,
  table,
  groupTable,
};

'use strict';
// `npm run bench:speed -- --baseline /path/to/other/src/index.ts`: issue #11's "speed is kept", each
// build in Node processes of its own.
//
// `PERMITS_BENCH_BASELINE` puts two builds in one process: they share RxJS's call sites, the heap
// and the collector, so each build's figures depend on the other's. An A/A run (this build against a
// copy of itself) put identical code at 0.83x-1.20x in 5 rounds. Here, for each workload, pairs of
// processes run `bench/run.js --only W --permits-only`, one per build, in alternating order
// (this, baseline; baseline, this; ...), so drift hits both builds alike; each row's figure is the
// median over pairs of this build's median time / the baseline build's, with the range of the pairs.
// A second ratio divides each build's time by its own process's table baseline (the lower bound or
// RxJS's operator, measured in the same rounds) first, which cancels a process that ran on a busier
// machine.
//
//   node bench/ab.js --baseline /tmp/bench-baseline/src/index.ts [options]
//     --baseline P   the other build's src/index.ts (required; the build measured is this checkout's,
//                    or PERMITS_BENCH_SRC)
//     --pairs N      process pairs per workload (default 6)
//     --rounds N     measured rounds per process (default 3)
//     --only W1,W3   workloads (default W1-W5)
//     --write        also write bench/SPEED.md
//     --raw FILE     also write every process's figures to FILE (JSON)
// Check the method with an A/A run: `--baseline` a copy of this checkout's own src/.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { median, table, formatRatio, formatNs, formatN } = require('./harness.js');

function parseArgs(argv) {
  const options = {
    baseline: null,
    pairs: 6,
    rounds: 3,
    only: ['W1', 'W2', 'W3', 'W4', 'W5'],
    write: false,
    raw: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--baseline') options.baseline = path.resolve(argv[++i]);
    else if (arg === '--pairs') options.pairs = Number(argv[++i]);
    else if (arg === '--rounds') options.rounds = Number(argv[++i]);
    else if (arg === '--only') options.only = argv[++i].split(',').map((s) => s.trim().toUpperCase());
    else if (arg === '--write') options.write = true;
    else if (arg === '--raw') options.raw = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!options.baseline) throw new Error('--baseline /path/to/other/src/index.ts is required');
  if (!fs.existsSync(options.baseline)) throw new Error(`no such file: ${options.baseline}`);
  if (!(Number.isInteger(options.pairs) && options.pairs >= 1))
    throw new Error('--pairs must be an integer >= 1');
  if (!(Number.isInteger(options.rounds) && options.rounds >= 1))
    throw new Error('--rounds must be an integer >= 1');
  const known = ['W1', 'W2', 'W3', 'W4', 'W5'];
  for (const id of options.only)
    if (!known.includes(id)) throw new Error(`--only: ${id} is not one of ${known}`);
  return options;
}

const log = (line = '') => process.stdout.write(`${line}\n`);

/** One process of `bench/run.js` on one workload and one build; resolves to its `--json` rows. */
function measure(workload, index, rounds, tmp, skip) {
  const json = path.join(tmp, `${workload}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const args = [
    '--expose-gc',
    '--max-old-space-size=8192',
    path.join(__dirname, 'run.js'),
    '--only',
    workload,
    '--rounds',
    String(rounds),
    '--permits-only',
    '--no-write',
    '--json',
    json,
  ];
  if (skip) args.push('--skip', skip);
  const env = { ...process.env, PERMITS_BENCH_SRC: index };
  delete env.PERMITS_BENCH_BASELINE;
  const child = spawnSync(process.execPath, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (child.status !== 0) {
    throw new Error(`bench/run.js --only ${workload} on ${index} failed (${child.status}):\n${child.stderr}`);
  }
  const result = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.unlinkSync(json);
  return result;
}

/** The rxjs-permits rows of one process's result, by "group / contender" (the build's name dropped). */
function permitRows(result) {
  const [build] = result.builds;
  const rows = new Map();
  const names = new Set();
  for (const g of result.groups) {
    const base = g.rows.find((r) => r.name === g.baseline);
    for (const r of g.rows) {
      if (!(r.name.startsWith(`${build.name}:`) || r.name.startsWith(`${build.name} engine`))) continue;
      const suffix = r.name.slice(build.name.length);
      names.add(suffix);
      rows.set(`${g.id}\u0000${suffix}`, {
        group: g.id,
        what: suffix.replace(/^: /, '').trim() + (r.n !== g.n ? ` (at ${formatN(r.n)})` : ''),
        engine: suffix.startsWith(' engine'),
        median: r.median,
        relative: base ? r.median / base.median : NaN,
        heap: r.heap,
      });
    }
  }
  return { build, rows, names };
}

/** A `--skip` pattern for the rxjs-permits rows whose name, after the build's, is not in `suffixes`. */
function skipAllBut(name, suffixes) {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const known = [...suffixes].map(escape).join('|');
  return `^${escape(name)}(?=: | engine)(?!(?:${known})$)`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const self = path.resolve(process.env.PERMITS_BENCH_SRC || path.join(__dirname, '..', 'src', 'index.ts'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'permits-ab-'));
  const started = Date.now();
  log(
    `rxjs-permits: this build vs a baseline build, each in processes of its own — ${new Date().toISOString()}`,
  );
  log(`${options.pairs} pairs of processes per workload, 1 warm-up + ${options.rounds} measured rounds each`);
  const rows = new Map(); // key -> { group, what, engine, self: [], base: [] }
  const builds = {};
  try {
    for (const workload of options.only) {
      const t0 = Date.now();
      // This build's processes run only the rows the baseline build has (its first process tells
      // which): a row of this build alone (lease()/run() against a build before #12) would change
      // what the others share with it (type feedback, the heap), and could not be compared anyway.
      let skip = null;
      for (let p = 0; p < options.pairs; p++) {
        const order = p % 2 === 0 ? ['base', 'self'] : ['self', 'base'];
        for (const which of order) {
          const {
            build,
            rows: measured,
            names,
          } = permitRows(
            measure(
              workload,
              which === 'self' ? self : options.baseline,
              options.rounds,
              tmp,
              which === 'self' ? skip : null,
            ),
          );
          if (which === 'base' && skip === null) skip = skipAllBut(build.name, names);
          builds[which] = build;
          for (const [key, r] of measured) {
            if (!rows.has(key))
              rows.set(key, { group: r.group, what: r.what, engine: r.engine, self: [], base: [] });
            rows.get(key)[which][p] = r;
          }
        }
      }
      log(`  ${workload}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  if (options.raw)
    fs.writeFileSync(options.raw, JSON.stringify({ builds, rows: [...rows.values()] }, null, 1));
  const out = [];
  const label = (b) => (b ? `${b.commit ?? b.index}${b.dirty ? ' with uncommitted changes' : ''}` : '?');
  out.push('## Speed is kept (issue #11): each build in processes of its own');
  out.push('');
  out.push(
    `- Date: ${new Date().toISOString()}; Node ${process.version}; ${os.cpus().length} × ${os.cpus()[0].model.trim()}`,
  );
  out.push(`- This build: ${label(builds.self)}`);
  out.push(`- Baseline build: ${label(builds.base)}`);
  out.push(
    `- ${options.pairs} pairs of processes per workload (order alternating), each \`bench/run.js --only W --permits-only\` ` +
      `with 1 warm-up + ${options.rounds} measured rounds; ${((Date.now() - started) / 60000).toFixed(1)} min in all.`,
  );
  out.push(
    "- **this / baseline**: per pair, this build's median time per operation over the baseline build's; the median " +
      "over pairs, then the range. **relative**: the same with each time first divided by its own process's table " +
      'baseline (lower bound or RxJS operator), which cancels a process that ran on a busier machine. Status: met when ' +
      'this / baseline ≤ 1.05x, "relative only" when only the relative ratio is. Engine-alone rows measure an internal and are reported only.',
  );
  out.push('');
  const lines = [];
  for (const r of rows.values()) {
    const pairs = [];
    const relatives = [];
    for (let p = 0; p < options.pairs; p++) {
      const a = r.self[p];
      const b = r.base[p];
      if (!a || !b) continue;
      pairs.push(a.median / b.median);
      relatives.push(a.relative / b.relative);
    }
    if (pairs.length === 0) continue; // a row only one build has (lease()/run() before #12)
    const wall = median(pairs);
    const relative = median(relatives);
    const status = r.engine
      ? 'reported (internal)'
      : wall <= 1.05
        ? 'met'
        : relative <= 1.05
          ? 'relative only'
          : 'missed';
    lines.push([
      r.group,
      r.what,
      formatNs(median(r.self.filter(Boolean).map((x) => x.median))),
      formatNs(median(r.base.filter(Boolean).map((x) => x.median))),
      `${formatRatio(wall)} (${formatRatio(Math.min(...pairs))}–${formatRatio(Math.max(...pairs))})`,
      formatRatio(relative),
      status,
    ]);
    const heapA = median(r.self.filter((x) => x && x.heap !== null).map((x) => x.heap));
    const heapB = median(r.base.filter((x) => x && x.heap !== null).map((x) => x.heap));
    if (Number.isFinite(heapA) && Number.isFinite(heapB)) {
      lines.push([
        r.group,
        `${r.what}: heap / waiter`,
        `${heapA.toFixed(0)} B`,
        `${heapB.toFixed(0)} B`,
        `×${(heapA / heapB).toFixed(2)} (heap)`,
        '–',
        'reported',
      ]);
    }
  }
  out.push(
    table(
      [
        'table',
        'rxjs-permits contender',
        'this build (median)',
        'baseline build (median)',
        'this / baseline (range)',
        'relative',
        'status (≤ 1.05x)',
      ],
      lines,
      ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  const text = out.join('\n');
  log();
  log(text);
  if (options.write) {
    const file = path.join(__dirname, 'SPEED.md');
    fs.writeFileSync(
      file,
      `# rxjs-permits: speed against a baseline build\n\nWritten by \`npm run bench:speed -- --write\`.\n\n${text}\n`,
    );
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

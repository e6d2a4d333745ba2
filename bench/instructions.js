'use strict';
// `npm run bench:instructions -- --baseline <other checkout>/src/index.ts`: issue #11's "speed is
// kept" in instructions and simulated cache misses instead of time. Each rxjs-permits case of
// W1-W5 runs under valgrind's cachegrind, once per build, in a Node process of its own with V8's
// background threads off (`--single-threaded`) and its hash and random seeds fixed, so that a count
// is the same from one run to the next. What the machine's noise hides from the timed benchmarks
// (A/A runs of them put identical code at 0.82x-1.50x) shows here as a plain difference.
//
// A count per operation is the difference between two runs of the case, one of r1 and one of r2
// rounds of n operations, over (r2 - r1) * n: start-up, compilation and warm-up cancel out. W3
// counts a whole queued request, its enqueue and its grant (the timed W3 row times the drain alone;
// bench/README.md says how the two compare).
//
// It counts what the code does, not how long the machine takes to do it: cachegrind simulates a
// first-level and a last-level cache, not the hardware's prefetchers, its second level or its
// branch predictors. bench/README.md says how to read it next to `npm run bench`.
//
// Needs valgrind (Debian: `apt-get install valgrind`). Each build is compiled with its own
// tsconfig.build-cjs.json into one fixed directory under the system's temporary directory (so one
// run at a time); both resolve this checkout's `rxjs`.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, execFile } = require('child_process');

/** One case: `n` operations per round, `setup(permits, rxjs)` returns the round (maybe async). */
const CASES = [
  {
    id: 'W1',
    name: 'tryAcquire + release',
    n: 1000,
    setup({ Semaphore }) {
      const sem = new Semaphore(1);
      return () => {
        for (let i = 0; i < 1000; i++) {
          if (!sem.tryAcquire()) throw new Error('not acquired');
          sem.release();
        }
      };
    },
  },
  {
    id: 'W1',
    name: 'acquire().subscribe(release)',
    n: 1000,
    setup({ Semaphore }) {
      const sem = new Semaphore(1);
      let granted = 0;
      const onGrant = (ok) => {
        if (ok) granted++;
        sem.release();
      };
      return () => {
        granted = 0;
        for (let i = 0; i < 1000; i++) sem.acquire().subscribe(onGrant);
        if (granted !== 1000 || sem.value !== 1) throw new Error('not granted and released');
      };
    },
  },
  {
    id: 'W1',
    name: 'await lease() + release()',
    n: 200,
    requires: (permits) => typeof permits.Semaphore.prototype.lease === 'function',
    setup({ Semaphore }) {
      const sem = new Semaphore(1);
      return async () => {
        for (let i = 0; i < 200; i++) (await sem.lease()).release();
      };
    },
  },
  {
    id: 'W2',
    name: 'mergeMapWithPermit(sem, task), 8 permits',
    n: 1000,
    setup({ Semaphore, mergeMapWithPermit }, { range, defer }) {
      const sem = new Semaphore(8);
      const task = (x) => defer(() => Promise.resolve(x));
      return () => drained(range(0, 1000).pipe(mergeMapWithPermit(sem, task)), 1000);
    },
  },
  {
    id: 'W2',
    name: 'mergeMap(x => task(x).pipe(withPermit(sem))), 8 permits',
    n: 1000,
    setup({ Semaphore, withPermit }, { range, defer, mergeMap }) {
      const sem = new Semaphore(8);
      const gated = withPermit(sem);
      const task = (x) => defer(() => Promise.resolve(x));
      return () => drained(range(0, 1000).pipe(mergeMap((x) => task(x).pipe(gated))), 1000);
    },
  },
  ...[1000, 1e5].map((n) => ({
    id: 'W3',
    name: `acquire().subscribe(cb), queued then drained, n = ${n === 1000 ? '10^3' : '10^5'}`,
    n,
    rounds: n === 1000 ? undefined : [2, 5], // 3 rounds of 10^5 in the difference
    setup({ Semaphore }) {
      const sem = new Semaphore(1);
      sem.tryAcquire();
      let granted = 0;
      const onGrant = (ok) => {
        if (ok) granted++;
        sem.release();
      };
      return () => {
        granted = 0;
        for (let i = 0; i < n; i++) sem.acquire().subscribe(onGrant);
        sem.release(); // drains the queue: each grantee passes the permit on
        if (granted !== n || sem.waiting !== 0 || !sem.tryAcquire()) throw new Error('not drained');
      };
    },
  })),
  {
    id: 'W3',
    name: 'mergeMapWithPermit(sem, x => of(x)), queued then drained',
    n: 1000,
    setup({ Semaphore, mergeMapWithPermit }, { range, of }) {
      const sem = new Semaphore(1);
      const project = (x) => of(x);
      return () => {
        sem.tryAcquire();
        let count = 0;
        range(0, 1000)
          .pipe(mergeMapWithPermit(sem, project))
          .subscribe(() => count++);
        sem.release();
        if (count !== 1000 || sem.value !== 1) throw new Error('not drained');
      };
    },
  },
  {
    id: 'W4',
    name: 'acquire() subscription.unsubscribe(), random order',
    n: 1000,
    setup({ Semaphore }) {
      const order = permutation(1000, 0x5eed);
      const subscriptions = new Array(1000);
      const sem = new Semaphore(1);
      sem.tryAcquire();
      const onGrant = () => {
        throw new Error('granted');
      };
      return () => {
        for (let i = 0; i < 1000; i++) subscriptions[i] = sem.acquire().subscribe(onGrant);
        for (let i = 0; i < 1000; i++) subscriptions[order[i]].unsubscribe();
        if (sem.waiting !== 0) throw new Error('not withdrawn');
      };
    },
  },
  {
    id: 'W4',
    name: 'withPermit subscription.unsubscribe(), random order',
    n: 1000,
    setup({ Semaphore, withPermit }, { NEVER }) {
      const order = permutation(1000, 0x5eed);
      const subscriptions = new Array(1000);
      const sem = new Semaphore(1);
      sem.tryAcquire();
      const gated = NEVER.pipe(withPermit(sem));
      return () => {
        for (let i = 0; i < 1000; i++) subscriptions[i] = gated.subscribe();
        for (let i = 0; i < 1000; i++) subscriptions[order[i]].unsubscribe();
        if (sem.waiting !== 0) throw new Error('not withdrawn');
      };
    },
  },
  {
    id: 'W5',
    name: 'mergeMap(x => of(x).pipe(withPermit(sem)))',
    n: 1000,
    setup({ Semaphore, withPermit }, { range, of, mergeMap }) {
      const sem = new Semaphore(1);
      return () => {
        let count = 0;
        range(0, 1000)
          .pipe(mergeMap((x) => of(x).pipe(withPermit(sem))))
          .subscribe(() => count++);
        if (count !== 1000 || sem.value !== 1) throw new Error('not all values');
      };
    },
  },
  {
    id: 'W5',
    name: 'same, withPermit(sem) created once',
    n: 1000,
    setup({ Semaphore, withPermit }, { range, of, mergeMap }) {
      const sem = new Semaphore(1);
      const gated = withPermit(sem);
      return () => {
        let count = 0;
        range(0, 1000)
          .pipe(mergeMap((x) => of(x).pipe(gated)))
          .subscribe(() => count++);
        if (count !== 1000 || sem.value !== 1) throw new Error('not all values');
      };
    },
  },
];

/** Resolves once `observable` completed after `n` values. */
function drained(observable, n) {
  return new Promise((resolve, reject) => {
    let count = 0;
    observable.subscribe({
      next: () => count++,
      error: reject,
      complete: () => (count === n ? resolve() : reject(new Error(`${count} of ${n} values`))),
    });
  });
}

/** The same pseudo-random permutation of 0..n-1 in every run (xorshift32). */
function permutation(n, seed) {
  let x = seed >>> 0 || 1;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

// ---- the child: one case, one build, `rounds` rounds ----------------------------------------------

async function child(dir, index, rounds) {
  const permits = require(dir);
  const rxjs = require('rxjs');
  const round = CASES[index].setup(permits, rxjs);
  for (let r = 0; r < rounds; r++) await round();
}

// ---- the parent -----------------------------------------------------------------------------------

function usage(message) {
  if (message) console.error(message);
  console.error(
    'usage: node bench/instructions.js --baseline <other checkout>/src/index.ts [--only W1,W3] [--filter REGEX] [--ops N] [--write]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = { baseline: null, only: null, filter: null, ops: 3e5, write: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    if (argv[i] === '--baseline') options.baseline = path.resolve(value());
    else if (argv[i] === '--only') options.only = value().split(',');
    else if (argv[i] === '--filter') options.filter = new RegExp(value());
    else if (argv[i] === '--ops') options.ops = Number(value());
    else if (argv[i] === '--write') options.write = true;
    else usage(`unknown option ${argv[i]}`);
  }
  if (!options.baseline) usage('--baseline is required');
  if (!(options.ops > 0)) usage('--ops must be a positive number');
  return options;
}

/** Compiles the checkout whose entry point is `index` (…/src/index.ts) to CommonJS in `out`. */
function compile(index, out) {
  const root = path.dirname(path.dirname(index));
  const tsc = require.resolve('typescript/bin/tsc');
  fs.rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build-cjs.json'), '--outDir', out], {
    stdio: 'inherit',
  });
  fs.writeFileSync(path.join(out, 'package.json'), '{ "type": "commonjs" }\n');
  // Both builds resolve this checkout's rxjs.
  fs.symlinkSync(path.join(__dirname, '..', 'node_modules'), path.join(out, 'node_modules'), 'dir');
  return out;
}

/** Runs one case of one build for `rounds` rounds under cachegrind; resolves with its totals. */
function cachegrind(dir, index, rounds) {
  const args = [
    '--tool=cachegrind',
    '--cache-sim=yes',
    '--cachegrind-out-file=/dev/null',
    process.execPath,
    // No background threads, and V8's hash and random seeds fixed: two runs of one case then count
    // the same to a few dozen instructions in all (without the seeds: hundreds of thousands).
    '--single-threaded',
    '--hash-seed=1',
    '--random-seed=1',
    '--max-old-space-size=4096',
    module.filename,
    '--child',
    dir,
    String(index),
    String(rounds),
  ];
  return new Promise((resolve, reject) => {
    execFile('valgrind', args, { maxBuffer: 1 << 24 }, (error, _stdout, stderr) => {
      if (error) return reject(new Error(`cachegrind failed (${CASES[index].name}):\n${stderr}`));
      const number = (label) => {
        const match = stderr.match(
          new RegExp(`${label}:\\s+([\\d,]+)(?:\\s+\\(\\s*([\\d,]+) rd\\s+\\+\\s+([\\d,]+) wr\\))?`),
        );
        if (!match) throw new Error(`no "${label}" in cachegrind's output:\n${stderr}`);
        return match.slice(1).map((x) => Number(String(x).replace(/,/g, '')));
      };
      try {
        const [instructions] = number('I\\s+refs');
        const [, d1Read, d1Write] = number('D1\\s+misses');
        const [, llRead, llWrite] = number('LLd misses');
        resolve({ instructions, d1: d1Read + d1Write, ll: llRead + llWrite });
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}

/** Per operation: the difference of a run of r2 rounds and one of r1 (both at once: 2 cores). */
async function perOperation(dir, index, ops) {
  const { n, rounds } = CASES[index];
  const r1 = rounds ? rounds[0] : Math.max(20, Math.ceil(2e5 / n));
  const r2 = rounds ? rounds[1] : r1 + Math.ceil(ops / n);
  const [a, b] = await Promise.all([cachegrind(dir, index, r1), cachegrind(dir, index, r2)]);
  const count = (r2 - r1) * n;
  return {
    instructions: (b.instructions - a.instructions) / count,
    d1: (b.d1 - a.d1) / count,
    ll: (b.ll - a.ll) / count,
  };
}

/** "abc1234 (2026-12-01)" for the checkout holding `dir`, with "+ changes" when its tree is dirty. */
function describe(dir) {
  const git = (...args) =>
    execFileSync('git', ['-C', dir, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const dirty = git('status', '--porcelain', '--', '.') !== '';
    return `${git('log', '-1', '--format=%h (%cs)')}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let valgrind;
  try {
    valgrind = execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('bench/instructions.js needs valgrind (Debian: apt-get install valgrind)');
    process.exit(1);
  }
  const partial = options.only !== null || options.filter !== null;
  if (options.write && partial) usage('--write needs every case (no --only, no --filter)');
  const self = path.join(__dirname, '..', 'src', 'index.ts');
  const header = [
    `Date: ${new Date().toISOString().slice(0, 10)}; Node ${process.version}; ${valgrind}; ` +
      `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores.`,
    `This build: ${describe(path.dirname(self))}. Baseline build: ${describe(path.dirname(options.baseline))}.`,
    `Per operation: the difference of two runs of r1 and r2 rounds over (r2 - r1) × n operations ` +
      `(${options.ops} operations, W3 at 10^5: 3 rounds). W3 counts enqueue and grant together.`,
    '',
    '| table | rxjs-permits case | instructions / op, this build | baseline build | this / baseline | D1 misses / op, this build | baseline build | LL misses / op, this build | baseline build |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const line of header) console.log(line);
  const rows = [];
  // A fixed directory, and names of one length for both builds: the paths end up in the heap, and
  // a random temporary name moved heap addresses, and so the counts, from one run to the next.
  const work = path.join(os.tmpdir(), 'rxjs-permits-instructions');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work);
  try {
    const dirs = [compile(self, path.join(work, 'this')), compile(options.baseline, path.join(work, 'base'))];
    const fixed = (x, digits) => (Math.abs(x) < 0.005 ? '0' : x.toFixed(digits));
    for (const [index, testCase] of CASES.entries()) {
      if (options.only && !options.only.includes(testCase.id)) continue;
      if (options.filter && !options.filter.test(testCase.name)) continue;
      const results = [];
      for (const dir of dirs) {
        const permits = require(dir);
        const absent = testCase.requires && !testCase.requires(permits);
        results.push(absent ? null : await perOperation(dir, index, options.ops));
      }
      const [a, b] = results;
      const cell = (r, key, digits) => (r === null ? '–' : fixed(r[key], digits));
      const ratio = a && b ? `${(a.instructions / b.instructions).toFixed(3)}x` : '–';
      const row =
        `| ${testCase.id} | ${testCase.name} | ${cell(a, 'instructions', 0)} | ${cell(b, 'instructions', 0)} | ${ratio} | ` +
        `${cell(a, 'd1', 2)} | ${cell(b, 'd1', 2)} | ${cell(a, 'll', 2)} | ${cell(b, 'll', 2)} |`;
      console.log(row);
      rows.push(row);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (options.write) {
    const file = path.join(__dirname, 'INSTRUCTIONS.md');
    const text = [...header, ...rows].join('\n');
    fs.writeFileSync(
      file,
      `# rxjs-permits: instructions per operation against a baseline build\n\n` +
        `Written by \`npm run bench:instructions -- --baseline … --write\` (see README.md).\n\n${text}\n`,
    );
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}

if (process.argv[2] === '--child') {
  child(path.resolve(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

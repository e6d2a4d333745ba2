'use strict';
// Loads every contender once: rxjs-permits from its TypeScript sources (ts-node, transpile-only,
// CommonJS — as scripts/jasmine-node.js does), RxJS, async-mutex, async-sema, p-limit (ESM-only,
// hence the dynamic import) and the hand-written lower bound.
//
// rxjs-permits can be loaded twice: this checkout's build and a second one, the "baseline build"
// (`PERMITS_BENCH_BASELINE=/path/to/other/src/index.ts`), measured as contenders of their own in the
// same rounds. Each build is a `build` object ({ name, label, permits, SemaphoreCore, engine, copy }):
// its contenders are named after `build.name` ('rxjs-permits' or 'rxjs-permits (baseline)') and are
// made by `build.copy(file)`, a copy of the workload module compiled for that build alone.

const fs = require('fs');
const path = require('path');
const Module = require('module');
const { execFileSync } = require('child_process');

let loaded = null;

const GATE_TARGET = Symbol.for('rxjs-permits.gateTarget');

/**
 * The engine alone (src/core/semaphore-core.ts, no RxJS, no argument checks), behind one shape for
 * both of its APIs, so that a build from before engine v2 still has its engine-alone rows:
 *
 * - before v2: `new SemaphoreCore(value, bound, name, reportError)`, `request(permits, grantee)`,
 *   grantee `{ grant() }`;
 * - v2 (it has `adjust`): `new SemaphoreCore(value, bounded, name, reportError, now)`,
 *   `request({ permits, priority, maxWaiting }, grantee)`, grantee `{ grant(lease), refuse, fail, lose }`.
 *
 * `tryAcquire(permits)`, `release(permits)` and `ticket.withdraw()` are the same in both. The timed
 * loops call `core.request(demand, grantee)` with `demand = engine.demand(1)` made once, so the loop
 * is the same code for both APIs.
 */
function engineOf(SemaphoreCore, statsClock, rxjs) {
  if (typeof SemaphoreCore !== 'function') return null;
  const noReport = () => {};
  const unexpected = (what) => (detail) => {
    throw new Error(`the engine alone: unexpected ${what} (${JSON.stringify(detail)})`);
  };
  if (typeof SemaphoreCore.prototype.adjust === 'function') {
    // The clock a `Semaphore` gives its engine by default (`statsClock(undefined)`: asyncScheduler's,
    // read once per microtask for queued requests and once per hand-off batch), one per engine as a
    // Semaphore has; the raw `asyncScheduler.now()` where a build lacks it.
    const clock = () => (statsClock ? statsClock(undefined) : () => rxjs.asyncScheduler.now());
    return {
      api: 'v2',
      create: (value) => new SemaphoreCore(value, false, 'Semaphore', noReport, clock()),
      demand: (permits) => ({ permits, priority: 0, maxWaiting: Infinity }),
      grantee: (onGrant) => ({
        grant: onGrant,
        refuse: unexpected('refusal'),
        fail: unexpected('failure'),
        lose: unexpected('lost lease'),
      }),
    };
  }
  return {
    api: 'v1',
    create: (value) => new SemaphoreCore(value, Infinity, 'Semaphore', noReport),
    demand: (permits) => permits,
    grantee: (onGrant) => ({ grant: onGrant }),
  };
}

/** The commit of the checkout holding `dir` ("abc1234, 2025-01-31: subject…"), or null outside git. */
function commitOf(dir) {
  try {
    const line = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h, %cs: %s'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return line.length > 90 ? `${line.slice(0, 89)}…` : line;
  } catch {
    return null;
  }
}

/** Whether `dir` has uncommitted changes (the build measured is the working tree, not the commit). */
function dirtyOf(dir) {
  try {
    return (
      execFileSync('git', ['-C', dir, 'status', '--porcelain', '--', '.'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== ''
    );
  } catch {
    return false;
  }
}

/**
 * A copy of the module `file` compiled for one build (its own functions, hence its own type
 * feedback and optimized code). Contenders made by one function literal for both builds would share
 * type feedback — V8 keeps it per closure creation site — so the call `sem.tryAcquire()` in the loop
 * would see both builds' Semaphore classes and both builds would run polymorphic, slower code.
 */
function copyFor(tag) {
  const copies = new Map();
  return (filename) => {
    const file = filename.replace(/#[^#/]*$/, '');
    if (!copies.has(file)) {
      const copyName = `${file}#${tag}`;
      const copy = new Module(copyName, module);
      copy.filename = copyName;
      copy.paths = Module._nodeModulePaths(path.dirname(file));
      const source = fs.readFileSync(file, 'utf8');
      copy._compile(`${source}\n// the copy for the ${tag} build\n`, copyName);
      copies.set(file, copy.exports);
    }
    return copies.get(file);
  };
}

function loadBuild(index, label, rxjs) {
  const permits = require(index);
  // The permit engine alone: an internal, measured only to show how much of a figure is the engine
  // and how much is RxJS. Absent if the file moved.
  let SemaphoreCore = null;
  try {
    SemaphoreCore = require(path.join(path.dirname(index), 'core', 'semaphore-core.ts')).SemaphoreCore;
  } catch {
    SemaphoreCore = null;
  }
  let statsClock = null;
  try {
    statsClock = require(path.join(path.dirname(index), 'internal', 'clock.ts')).statsClock;
  } catch {
    statsClock = null;
  }
  const name = label ? `rxjs-permits (${label})` : 'rxjs-permits';
  return {
    name,
    label,
    index,
    commit: commitOf(path.dirname(index)),
    dirty: dirtyOf(path.dirname(index)),
    permits,
    SemaphoreCore,
    engine: engineOf(SemaphoreCore, statsClock, rxjs),
    copy: copyFor(label || 'this'),
  };
}

/**
 * The two builds must not share a module: ts-node loads each file path once, so two checkouts give
 * two sets of classes; but the gate targets are found through a registered symbol
 * (`Symbol.for('rxjs-permits.gateTarget')`), through which one build's operators WOULD accept the
 * other build's semaphores. The workloads keep each contender within its build; this checks that the
 * builds are really apart.
 */
function checkApart(a, b) {
  const fail = (what) => {
    throw new Error(`PERMITS_BENCH_BASELINE: ${a.name} and ${b.name} ${what}`);
  };
  const real = (file) => fs.realpathSync(require.resolve(file));
  if (real(a.index) === real(b.index)) fail(`are the same file, ${real(a.index)}`);
  const dirA = path.dirname(real(a.index)) + path.sep;
  const dirB = path.dirname(real(b.index)) + path.sep;
  if (dirA.startsWith(dirB) || dirB.startsWith(dirA)) fail(`have nested sources (${dirA}, ${dirB})`);
  // One RxJS for everyone: the workloads' `range`/`of` and both builds' operators.
  const rxjsOf = (dir) => fs.realpathSync(require.resolve('rxjs', { paths: [dir] }));
  if (rxjsOf(dirA) !== rxjsOf(dirB))
    fail(`resolve different copies of rxjs (${rxjsOf(dirA)}, ${rxjsOf(dirB)})`);
  for (const key of ['Semaphore', 'withPermit', 'mergeMapWithPermit', 'OverReleaseError']) {
    if (a.permits[key] === b.permits[key]) fail(`share ${key}`);
  }
  const sa = new a.permits.Semaphore(1);
  const sb = new b.permits.Semaphore(1);
  if (sa instanceof b.permits.Semaphore || sb instanceof a.permits.Semaphore)
    fail('share Semaphore instances');
  if (a.SemaphoreCore && b.SemaphoreCore) {
    if (a.SemaphoreCore === b.SemaphoreCore) fail('share SemaphoreCore');
    const ca = sa[GATE_TARGET] && sa[GATE_TARGET].backend;
    const cb = sb[GATE_TARGET] && sb[GATE_TARGET].backend;
    if (!(ca instanceof a.SemaphoreCore) || ca instanceof b.SemaphoreCore) fail('mix engines');
    if (!(cb instanceof b.SemaphoreCore) || cb instanceof a.SemaphoreCore) fail('mix engines');
  }
}

async function loadLibraries() {
  if (loaded) return loaded;
  require('ts-node').register({
    transpileOnly: true,
    experimentalResolver: true,
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
  });
  const rxjs = require('rxjs');
  // PERMITS_BENCH_SRC=/path/to/other/src/index.ts measures another checkout instead of this one.
  const index = path.resolve(process.env.PERMITS_BENCH_SRC || path.join(__dirname, '..', 'src', 'index.ts'));
  const builds = [loadBuild(index, '', rxjs)];
  // PERMITS_BENCH_BASELINE=/path/to/other/src/index.ts measures that build too, in the same rounds.
  if (process.env.PERMITS_BENCH_BASELINE) {
    const baseline = loadBuild(path.resolve(process.env.PERMITS_BENCH_BASELINE), 'baseline', rxjs);
    checkApart(builds[0], baseline);
    builds.push(baseline);
  }
  const asyncMutex = require('async-mutex');
  const { Sema } = require('async-sema');
  const pLimit = (await import('p-limit')).default;
  const { LowerBoundSemaphore } = require('./lower-bound.js');
  const { floorAcquire, floorWithPermit } = require('./rxjs-floor.js');
  loaded = {
    builds,
    rxjs,
    asyncMutex,
    Sema,
    pLimit,
    LowerBoundSemaphore,
    floorAcquire,
    floorWithPermit,
  };
  return loaded;
}

function versionOf(name) {
  try {
    const file = path.join(__dirname, '..', 'node_modules', name, 'package.json');
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    return '?';
  }
}

module.exports = { loadLibraries, versionOf };

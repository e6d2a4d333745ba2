'use strict';
// Loads every contender once: rxjs-permits from its TypeScript sources (ts-node, transpile-only,
// CommonJS — as scripts/jasmine-node.js does), RxJS, async-mutex, async-sema, p-limit (ESM-only,
// hence the dynamic import) and the hand-written lower bound.

let loaded = null;

async function loadLibraries() {
  if (loaded) return loaded;
  require('ts-node').register({
    transpileOnly: true,
    experimentalResolver: true,
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
  });
  // PERMITS_BENCH_SRC=/path/to/other/src/index.ts measures another checkout (an A/B of a change).
  const index = process.env.PERMITS_BENCH_SRC || require('path').join(__dirname, '..', 'src', 'index.ts');
  const permits = require(index);
  // The permit engine alone (src/core, no RxJS, no argument checks): an internal, measured only to
  // show how much of a figure is the engine and how much is RxJS. Absent if the file moved.
  let SemaphoreCore = null;
  try {
    SemaphoreCore = require(
      require('path').join(require('path').dirname(index), 'core', 'semaphore-core.ts'),
    ).SemaphoreCore;
  } catch {
    SemaphoreCore = null;
  }
  const rxjs = require('rxjs');
  const asyncMutex = require('async-mutex');
  const { Sema } = require('async-sema');
  const pLimit = (await import('p-limit')).default;
  const { LowerBoundSemaphore } = require('./lower-bound.js');
  const { floorAcquire, floorWithPermit } = require('./rxjs-floor.js');
  loaded = {
    permits,
    SemaphoreCore,
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
    const file = require('path').join(__dirname, '..', 'node_modules', name, 'package.json');
    return JSON.parse(require('fs').readFileSync(file, 'utf8')).version;
  } catch {
    return '?';
  }
}

module.exports = { loadLibraries, versionOf };

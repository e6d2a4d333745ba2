'use strict';
// `npm test`: type checks and lint, then spec/ and marble-tests/ in Node, then the same files in
// headless Chromium, then the package checks (build, publint, attw, pack-and-install smoke test)
// and the API docs (TypeDoc fails on a missing comment or a broken link). Each check counts as one
// test; the two suites report their own counts. Ends with one plain `N passed, N failed` line, and
// every failed step adds at least one to `failed`, whatever its results file says.
//
// Before any step, the programs the selected steps need (Chromium for the browser suites,
// redis-server for the node suites; see scripts/system-deps.js) are found, or installed with
// apt-get when running as root, and passed on (CHROME_BIN, REDIS_SERVER). When one is missing and
// cannot be installed, the run stops at once and says what to install. `node scripts/test.js
// <step name>...` runs only the named steps.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const systemDeps = require('./system-deps');

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(root, '.test-results');
const node = process.execPath;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const steps = [
  { name: 'typecheck', cmd: [bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']] },
  { name: 'eslint', cmd: [bin('eslint'), ['.']] },
  { name: 'prettier', cmd: [bin('prettier'), ['--check', '.']] },
  {
    // One redis-server for the whole step (scripts/redis-server.js), stopped after it.
    name: 'node suites',
    cmd: [node, [path.join(__dirname, 'redis-server.js'), node, path.join(__dirname, 'jasmine-node.js')]],
    results: 'node.json',
    needs: ['redis-server'],
  },
  {
    // spec/angular (TestBed) in Node, with jsdom's DOM; the browser suites run the same files.
    name: 'angular node suite',
    cmd: [
      node,
      [
        path.join(__dirname, 'jasmine-node.js'),
        '--helper=spec/angular/jsdom-setup.node.js',
        'spec/angular/**/*.spec.ts',
      ],
    ],
    results: 'angular-node.json',
  },
  // spec/angular against Angular 20 and 22 too, each installed in a temporary copy.
  { name: 'angular versions', cmd: [node, [path.join(__dirname, 'angular-versions.js')]] },
  {
    name: 'browser suites',
    cmd: [node, [require.resolve('karma/bin/karma'), 'start', 'karma.conf.js', '--single-run']],
    results: 'browser.json',
    needs: ['chromium'],
  },
  {
    // The Angular demo in Chromium (playwright-core): most requests in flight, FIFO, the page's count.
    name: 'angular e2e',
    cmd: [node, [path.join(__dirname, 'e2e-angular.js')]],
    results: 'angular-e2e.json',
    needs: ['chromium'],
  },
  { name: 'heap leak check', cmd: [node, ['--expose-gc', path.join(root, 'bench', 'leaks.js')]] },
  { name: 'build', cmd: [node, [path.join(__dirname, 'build.js')]] },
  { name: 'publint', cmd: [bin('publint'), []] },
  { name: 'attw', cmd: [bin('attw'), ['--pack', '.']] },
  { name: 'pack smoke test', cmd: [node, [path.join(__dirname, 'pack-smoke.js')]] },
  { name: 'api docs', cmd: [bin('typedoc'), []] },
];

function stop(lines, failed) {
  for (const line of lines) console.log(line);
  console.log(`\n0 passed, ${failed} failed`);
  process.exit(1);
}

const only = process.argv.slice(2);
const unknown = only.filter((name) => !steps.some((step) => step.name === name));
if (unknown.length > 0) {
  stop([`unknown step: ${unknown.join(', ')} (steps: ${steps.map((step) => step.name).join(', ')})`], 1);
}
const selected = steps.filter((step) => only.length === 0 || only.includes(step.name));

const needs = [...new Set(selected.flatMap((step) => step.needs || []))];
const { found, missing } = systemDeps.ensure(needs);
const missingLines = missing.map((key) => systemDeps.missingMessage(key));
if (missing.length > 0) stop(missingLines, missing.length);
for (const [variable, file] of Object.entries(found)) console.log(`${variable}=${file}`);

fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(resultsDir, { recursive: true });

const total = { passed: 0, failed: 0 };
const failedSteps = [];
for (const step of selected) {
  console.log(`\n== ${step.name} ==`);
  const env = { ...process.env, ...found };
  if (step.results) env.PERMITS_RESULTS_FILE = path.join(resultsDir, step.results);
  const run = spawnSync(step.cmd[0], step.cmd[1], { cwd: root, stdio: 'inherit', env });
  if (run.error) console.log(`${step.name}: ${run.error.message}`);
  let ok = run.status === 0;
  let failed = 0;
  if (step.results) {
    const file = env.PERMITS_RESULTS_FILE;
    let counts = null;
    try {
      counts = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      console.log(`${step.name}: no results were written`);
    }
    if (counts) {
      total.passed += counts.passed;
      failed += counts.failed;
      if (counts.passed === 0) ok = false;
    } else {
      ok = false;
    }
  } else if (ok) {
    total.passed += 1;
  }
  // A failed step counts as (at least) one failure, even when its results file reports none.
  if (!ok && failed === 0) failed = 1;
  total.failed += failed;
  if (failed > 0) failedSteps.push(step.name);
}
if (failedSteps.length > 0) console.log(`\nfailed: ${failedSteps.join(', ')}`);
console.log(`\n${total.passed} passed, ${total.failed} failed`);
process.exit(failedSteps.length === 0 && total.failed === 0 ? 0 : 1);

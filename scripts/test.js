'use strict';
// `npm test`: type checks and lint, then spec/ and marble-tests/ in Node, then the same files in
// headless Chromium, then the package checks (build, publint, attw, pack-and-install smoke test)
// and the API docs (TypeDoc fails on a missing comment or a broken link). Each check counts as one
// test; the two suites report their own counts. Ends with one plain `N passed, N failed` line.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(root, '.test-results');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const steps = [
  { name: 'typecheck', cmd: [bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']] },
  { name: 'eslint', cmd: [bin('eslint'), ['.']] },
  { name: 'prettier', cmd: [bin('prettier'), ['--check', '.']] },
  { name: 'node suites', cmd: ['node', [path.join(__dirname, 'jasmine-node.js')]], results: 'node.json' },
  {
    name: 'browser suites',
    cmd: ['node', [require.resolve('karma/bin/karma'), 'start', 'karma.conf.js', '--single-run']],
    results: 'browser.json',
  },
  { name: 'heap leak check', cmd: ['node', ['--expose-gc', path.join(root, 'bench', 'leaks.js')]] },
  { name: 'build', cmd: ['node', [path.join(__dirname, 'build.js')]] },
  { name: 'publint', cmd: [bin('publint'), []] },
  { name: 'attw', cmd: [bin('attw'), ['--pack', '.']] },
  { name: 'pack smoke test', cmd: ['node', [path.join(__dirname, 'pack-smoke.js')]] },
  { name: 'api docs', cmd: [bin('typedoc'), []] },
];

const only = process.argv.slice(2);
fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(resultsDir, { recursive: true });

const total = { passed: 0, failed: 0 };
const failedSteps = [];
for (const step of steps) {
  if (only.length > 0 && !only.includes(step.name)) continue;
  console.log(`\n== ${step.name} ==`);
  const env = { ...process.env };
  if (step.results) env.PERMITS_RESULTS_FILE = path.join(resultsDir, step.results);
  const run = spawnSync(step.cmd[0], step.cmd[1], { cwd: root, stdio: 'inherit', env });
  let ok = run.status === 0;
  if (step.results) {
    const file = env.PERMITS_RESULTS_FILE;
    if (fs.existsSync(file)) {
      const counts = JSON.parse(fs.readFileSync(file, 'utf8'));
      total.passed += counts.passed;
      total.failed += counts.failed;
      if (counts.passed === 0) ok = false;
    } else {
      console.log(`${step.name}: no results were written`);
      total.failed += 1;
      ok = false;
    }
  } else if (ok) {
    total.passed += 1;
  } else {
    total.failed += 1;
  }
  if (!ok) failedSteps.push(step.name);
}
if (failedSteps.length > 0) console.log(`\nfailed: ${failedSteps.join(', ')}`);
console.log(`\n${total.passed} passed, ${total.failed} failed`);
process.exit(failedSteps.length === 0 && total.failed === 0 ? 0 : 1);

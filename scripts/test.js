'use strict';
// `npm test`: type checks, then spec/ and marble-tests/ in Node, then the same files in headless
// Chromium. Ends with one plain `N passed, N failed` line summing both runs.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const resultsDir = path.join(root, '.test-results');
fs.rmSync(resultsDir, { recursive: true, force: true });
fs.mkdirSync(resultsDir, { recursive: true });

const steps = [
  { name: 'typecheck', cmd: ['node', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']] },
  { name: 'node', cmd: ['node', [path.join(__dirname, 'jasmine-node.js')]], results: 'node.json' },
  { name: 'browser', cmd: ['node', [require.resolve('karma/bin/karma'), 'start', 'karma.conf.js', '--single-run']], results: 'browser.json' },
];

const total = { passed: 0, failed: 0 };
let ok = true;
for (const step of steps) {
  console.log(`\n== ${step.name} ==`);
  const env = { ...process.env };
  if (step.results) env.PERMITS_RESULTS_FILE = path.join(resultsDir, step.results);
  const run = spawnSync(step.cmd[0], step.cmd[1], { cwd: root, stdio: 'inherit', env });
  if (run.status !== 0) ok = false;
  if (step.results) {
    const file = env.PERMITS_RESULTS_FILE;
    if (fs.existsSync(file)) {
      const counts = JSON.parse(fs.readFileSync(file, 'utf8'));
      total.passed += counts.passed;
      total.failed += counts.failed;
    } else {
      console.log(`${step.name}: no results were written`);
      total.failed += 1;
    }
  } else if (run.status !== 0) {
    total.failed += 1;
  }
}
if (total.passed === 0) ok = false;
console.log(`\n${total.passed} passed, ${total.failed} failed`);
process.exit(ok && total.failed === 0 ? 0 : 1);

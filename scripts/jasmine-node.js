'use strict';
// Runs spec/ and marble-tests/ in Node with jasmine + ts-node (CommonJS, transpile-only: types are
// checked separately by `tsc --noEmit`). Writes its counts for scripts/test.js and prints the plain
// `N passed, N failed` line that CI reads.
const path = require('path');
const fs = require('fs');

require('./register-ts');

const Jasmine = require('jasmine');

const root = path.resolve(__dirname, '..');
const jasmine = new Jasmine({ projectBaseDir: root });
// `--helper=<file>` loads a file before the specs (spec/angular's DOM); spec/angular runs in its
// own step ("angular node suite"), with jsdom, so the other suites keep Node without a DOM.
const args = process.argv.slice(2);
const helpers = args.filter((arg) => arg.startsWith('--helper=')).map((arg) => arg.slice('--helper='.length));
const files = args.filter((arg) => !arg.startsWith('--helper='));
jasmine.loadConfig({
  spec_dir: '.',
  helpers,
  spec_files: files.length ? files : ['spec/**/*.spec.ts', '!spec/angular/**', 'marble-tests/**/*.spec.ts'],
  jsLoader: 'require',
  env: { random: true },
});

const counts = { passed: 0, failed: 0, skipped: 0 };
jasmine.addReporter({
  specDone(result) {
    if (result.status === 'passed') counts.passed += 1;
    else if (result.status === 'failed') counts.failed += 1;
    else counts.skipped += 1;
  },
  jasmineDone(result) {
    if (result.overallStatus !== 'passed' && counts.failed === 0) counts.failed += 1;
    const out = process.env.PERMITS_RESULTS_FILE;
    if (out) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(counts));
    }
    console.log(`node: ${counts.passed} passed, ${counts.failed} failed`);
  },
});
jasmine.exitOnCompletion = true;
jasmine.execute();

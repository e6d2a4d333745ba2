'use strict';
// The browser run: the same spec/ and marble-tests/ files, bundled per file by esbuild, in Debian's
// headless Chromium. `singleBundle: false` because with one bundle `"sideEffects": false` in
// package.json lets esbuild drop every spec.
const fs = require('fs');
const path = require('path');
const { find, missingMessage } = require('./scripts/system-deps');

// `npm test` finds Chromium (or installs it) and passes CHROME_BIN; run directly
// (`npm run test:browser`), the same discovery: CHROME_BIN, else chromium, chromium-browser,
// google-chrome or google-chrome-stable on PATH.
const chromeBin = find('chromium');
if (!chromeBin) {
  console.error(missingMessage('chromium', 'npm run test:browser'));
  process.exit(1);
}
process.env.CHROME_BIN = chromeBin;

function plainCountReporter(baseReporterDecorator) {
  baseReporterDecorator(this);
  this.onRunComplete = (_browsers, results) => {
    const counts = {
      passed: results.success,
      failed: results.failed + (results.error ? 1 : 0),
      skipped: results.skipped,
    };
    const out = process.env.PERMITS_RESULTS_FILE;
    if (out) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(counts));
    }
    this.write(`browser: ${counts.passed} passed, ${counts.failed} failed\n`);
  };
}
plainCountReporter.$inject = ['baseReporterDecorator'];

module.exports = (config) => {
  config.set({
    frameworks: ['jasmine'],
    plugins: [
      'karma-jasmine',
      'karma-chrome-launcher',
      'karma-esbuild',
      { 'reporter:plain-count': ['type', plainCountReporter] },
    ],
    files: [
      { pattern: 'spec/**/*.spec.ts', watched: false },
      { pattern: 'marble-tests/**/*.spec.ts', watched: false },
      // A Web Worker's script, bundled on its own and loaded by the SharedSemaphore spec.
      { pattern: 'spec/shared/browser-worker.ts', watched: false, included: false, served: true },
    ],
    exclude: ['spec/**/*.node.spec.ts'],
    preprocessors: {
      'spec/**/*.ts': ['esbuild'],
      'marble-tests/**/*.ts': ['esbuild'],
    },
    esbuild: {
      singleBundle: false,
      target: 'es2022',
    },
    // Cross-origin isolation (COOP + COEP) on every page and file karma serves, so that
    // SharedSemaphore has SharedArrayBuffer in the page and in its Web Workers. `match` is tested
    // against the file's path on disk: '.*' covers the top page, context.html and every file.
    customHeaders: [
      { match: '.*', name: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
      { match: '.*', name: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
    ],
    reporters: ['dots', 'plain-count'],
    browsers: ['ChromiumHeadlessNoSandbox'],
    customLaunchers: {
      ChromiumHeadlessNoSandbox: {
        base: 'ChromeHeadless',
        flags: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      },
    },
    client: { jasmine: { random: true, timeoutInterval: 60000 } },
    browserNoActivityTimeout: 300000,
    browserDisconnectTimeout: 60000,
    captureTimeout: 120000,
    singleRun: true,
  });
};

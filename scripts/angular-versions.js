'use strict';
// Step "angular versions" of `npm test`: the Angular specs against the lowest and highest Angular of
// the peer range, besides the one the repo develops with (21, run by "angular node suite" and the
// browser suites). For each version: a temporary copy of src/ and spec/angular/ with its own
// node_modules (that Angular, pinned below, and the repo's own versions of everything else), where
// src/angular type-checks against that Angular's types and spec/angular runs in Node with jsdom.
// Angular 22 asks for Node >= 22.22 in its `engines`; it installs here with a warning and runs.
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ANGULAR_VERSIONS = ['20.3.35', '22.2.6']; // the newest 20.x and 22.x when this was written
const ANGULAR = ['@angular/core', '@angular/common', '@angular/compiler', '@angular/platform-browser'];
const ALSO = [
  'rxjs',
  'jasmine',
  'jasmine-core',
  'ts-node',
  'typescript',
  'jsdom',
  '@types/node',
  '@types/jasmine',
];

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const devVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

function copy(from, to) {
  fs.cpSync(path.join(root, from), path.join(to, from), { recursive: true });
}

const results = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-angular-versions-'));
try {
  for (const version of ANGULAR_VERSIONS) {
    const dir = path.join(work, version);
    fs.mkdirSync(dir);
    for (const item of [
      'src',
      'spec/angular',
      'scripts/jasmine-node.js',
      'scripts/register-ts.js',
      'README.md',
    ]) {
      copy(item, dir);
    }
    const dependencies = Object.fromEntries([
      ...ANGULAR.map((name) => [name, version]),
      ...ALSO.map((name) => [name, devVersion(name)]),
    ]);
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'angular-versions', private: true, type: 'commonjs', dependencies }, null, 2),
    );
    const started = Date.now();
    let ok = true;
    try {
      execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const installed = devVersionIn(dir, '@angular/core');
      if (installed !== version)
        throw new Error(`asked for @angular/core ${version}, npm installed ${installed}`);
    } catch (error) {
      console.log(`Angular ${version}: install FAILED: ${error.message.split('\n')[0]}`);
      results.push({ version, ok: false });
      continue;
    }
    const installMs = Date.now() - started;
    const tsc = spawnSync(
      process.execPath,
      [
        path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--noEmit',
        '--strict',
        '--exactOptionalPropertyTypes',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'node20',
        '--moduleResolution',
        'node16',
        '--lib',
        'es2022,esnext.disposable,dom',
        '--types',
        'node,jasmine',
        '--rootDir',
        '.',
        'src/angular/index.ts',
        ...fs
          .readdirSync(path.join(dir, 'spec', 'angular'))
          .filter((file) => file.endsWith('.ts'))
          .map((file) => `spec/angular/${file}`),
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    if (tsc.status !== 0) {
      ok = false;
      console.log(
        `Angular ${version}: type check FAILED\n${(tsc.stdout + tsc.stderr).trim().split('\n').slice(0, 10).join('\n')}`,
      );
    } else {
      console.log(`Angular ${version}: src/angular and spec/angular type-check`);
    }
    const specs = spawnSync(
      process.execPath,
      ['scripts/jasmine-node.js', '--helper=spec/angular/jsdom-setup.node.js', 'spec/angular/**/*.spec.ts'],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, PERMITS_RESULTS_FILE: '' } },
    );
    const counts = /node: (\d+) passed, (\d+) failed/.exec(specs.stdout);
    if (specs.status !== 0 || !counts || Number(counts[1]) === 0) {
      ok = false;
      console.log(
        `Angular ${version}: specs FAILED\n${specs.stdout.split('\n').slice(-40).join('\n')}${specs.stderr}`,
      );
    } else {
      console.log(
        `Angular ${version}: spec/angular ${counts[1]} passed, ${counts[2]} failed (install ${installMs} ms)`,
      );
    }
    results.push({ version, ok });
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

function devVersionIn(dir, name) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
}

const failed = results.filter((r) => !r.ok).length + ANGULAR_VERSIONS.length - results.length;
console.log(`angular versions: ${ANGULAR_VERSIONS.length - failed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

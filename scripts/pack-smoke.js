'use strict';
// Packs the library (`npm pack`, which builds it), installs the tarball into a fresh temporary
// project next to rxjs, and runs a small program through `import` and through `require`.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-smoke-'));

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const program = (load) => `${load}
const semaphore = new Semaphore(1);
const order = [];
semaphore.tryAcquire();
for (const name of ['a', 'b']) of(name).pipe(withPermit(semaphore)).subscribe((v) => order.push(v));
semaphore.release();
let overReleased = false;
try {
  new BoundedSemaphore(1).release();
} catch (error) {
  overReleased = error instanceof OverReleaseError;
}
const line = order.join(',') + ' ' + semaphore.value + ' ' + overReleased;
if (line !== 'a,b 1 true') { console.error('unexpected: ' + line); process.exit(1); }
console.log('ok: ' + line);
`;

let failed = false;
try {
  const tarball = run(npm, ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true }));
  const rxjsVersion = require(path.join(root, 'node_modules', 'rxjs', 'package.json')).version;
  run(
    npm,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--silent',
      path.join(work, tarball),
      `rxjs@${rxjsVersion}`,
    ],
    project,
  );
  fs.writeFileSync(
    path.join(project, 'smoke.mjs'),
    program(
      "import { Semaphore, BoundedSemaphore, OverReleaseError, withPermit } from 'rxjs-permits';\nimport { of } from 'rxjs';",
    ),
  );
  fs.writeFileSync(
    path.join(project, 'smoke.cjs'),
    program(
      "const { Semaphore, BoundedSemaphore, OverReleaseError, withPermit } = require('rxjs-permits');\nconst { of } = require('rxjs');",
    ),
  );
  for (const file of ['smoke.mjs', 'smoke.cjs']) {
    process.stdout.write(`${file}: ${run(process.execPath, [file], project)}`);
  }
} catch (error) {
  failed = true;
  console.error(`pack smoke test failed: ${error.message}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

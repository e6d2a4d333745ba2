'use strict';
// Packs the library (`npm pack`, which builds it) and installs the tarball into fresh temporary
// projects, once next to the rxjs the repo develops with and once next to the OLDEST rxjs that
// package.json's peer range allows (read from the range itself, so the two cannot drift). In each:
// a small program runs through `import` and through `require`, and a small `.ts` consumer
// type-checks against the emitted `.d.ts` files with the repo's own tsc, under
// `--module nodenext` (as `.mts` and `.cts`, so both `exports` conditions) and under
// `--module commonjs --moduleResolution node10` (the top-level `types`/`main` fields).
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { angularSmoke, noAngularInstalled } = require('./pack-smoke-angular');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rxjs-permits-smoke-'));

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

// The lowest version a peer range admits. Only the forms a peer range here should take are
// understood (`^x.y.z`, `~x.y.z`, `>=x.y.z`, `x.y.z`, alternatives joined by `||`); anything else
// stops the test rather than check the wrong version.
function minimumOf(range) {
  const versions = range.split('||').map((part) => {
    const match = /^\s*(?:\^|~|>=)?\s*(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`cannot read the minimum of the peer range "${range}"`);
    return match.slice(1).map(Number);
  });
  versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  return versions[0].join('.');
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
const clock = new VirtualTimeScheduler();
const remote = new SimulatedRemoteSemaphore(1, { latency: 5, scheduler: clock });
let remoteAt = -1;
of('r').pipe(withPermit(remote)).subscribe(() => (remoteAt = clock.now()));
clock.flush();
const line = order.join(',') + ' ' + semaphore.value + ' ' + overReleased + ' ' + remoteAt;
if (line !== 'a,b 1 true 5') { console.error('unexpected: ' + line); process.exit(1); }
console.log('ok: ' + line);
`;

// Types only: fails to compile if rxjs's or the library's declarations do not resolve (TS7016
// under --strict) or do not fit together (a Semaphore is an Observable<number> of rxjs's own).
const consumer = `import { Semaphore, BoundedSemaphore, OverReleaseError, withPermit, mergeMapWithPermit, type PermitPool } from 'rxjs-permits';
import { SimulatedRemoteSemaphore } from 'rxjs-permits/testing';
import type { RedisSemaphore } from 'rxjs-permits/redis';
import { of, type Observable } from 'rxjs';

export type RedisPool = RedisSemaphore extends PermitPool ? true : never;

export const remote: PermitPool = new SimulatedRemoteSemaphore(1, { latency: 5 });

const semaphore: Semaphore = new Semaphore(1);
const permits: Observable<number> = semaphore;
const gated: Observable<string> = of('a').pipe(withPermit(semaphore));
const mapped: Observable<number> = of(1, 2).pipe(mergeMapWithPermit(semaphore, (n: number) => of(n * 2)));
const bounded = new BoundedSemaphore(2);
export const checks: [Observable<number>, Observable<string>, Observable<number>, number, boolean] = [
  permits,
  gated,
  mapped,
  bounded.value,
  new OverReleaseError() instanceof Error,
];
`;

const tscRuns = [
  {
    name: 'tsc nodenext',
    files: ['consumer.mts', 'consumer.cts'],
    // Leases are `Disposable`: a consumer's lib has esnext.disposable (TS >= 5.2) or @types/node >= 20.
    flags: [
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--lib',
      'es2022,esnext.disposable,dom',
    ],
  },
  {
    name: 'tsc node10',
    files: ['consumer.ts'],
    // TS 6 deprecates node10 resolution; consumers on older compilers still use it.
    flags: [
      '--module',
      'commonjs',
      '--moduleResolution',
      'node10',
      '--ignoreDeprecations',
      '6.0',
      '--lib',
      'es2022,esnext.disposable,dom',
    ],
  },
];

function smoke(tarball, rxjsVersion, label) {
  const project = path.join(work, `rxjs-${rxjsVersion}`);
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true }));
  run(
    npm,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball, `rxjs@${rxjsVersion}`],
    project,
  );
  const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules/rxjs/package.json'), 'utf8'));
  if (installed.version !== rxjsVersion) {
    throw new Error(`asked for rxjs ${rxjsVersion}, npm installed ${installed.version}`);
  }
  fs.writeFileSync(
    path.join(project, 'smoke.mjs'),
    program(
      "import { Semaphore, BoundedSemaphore, OverReleaseError, withPermit } from 'rxjs-permits';\nimport { SimulatedRemoteSemaphore } from 'rxjs-permits/testing';\nimport { VirtualTimeScheduler, of } from 'rxjs';",
    ),
  );
  fs.writeFileSync(
    path.join(project, 'smoke.cjs'),
    program(
      "const { Semaphore, BoundedSemaphore, OverReleaseError, withPermit } = require('rxjs-permits');\nconst { SimulatedRemoteSemaphore } = require('rxjs-permits/testing');\nconst { VirtualTimeScheduler, of } = require('rxjs');",
    ),
  );
  for (const file of ['consumer.mts', 'consumer.cts', 'consumer.ts']) {
    fs.writeFileSync(path.join(project, file), consumer);
  }
  const { check, failures } = checker(label);
  check('optional peers', () => noAngularInstalled(project));
  for (const file of ['smoke.mjs', 'smoke.cjs']) check(file, () => run(process.execPath, [file], project));
  // rxjs-permits/redis loads without its optional peers (ioredis, redis) and checks its client.
  const redisCheck = (load) =>
    `${load}\ntry { new RedisSemaphore({}, 'k', { permits: 1 }); process.exit(1); } catch (e) { if (!(e instanceof TypeError)) throw e; }\nconsole.log('ok: redis entry point');`;
  fs.writeFileSync(
    path.join(project, 'redis.mjs'),
    redisCheck("import { RedisSemaphore } from 'rxjs-permits/redis';"),
  );
  fs.writeFileSync(
    path.join(project, 'redis.cjs'),
    redisCheck("const { RedisSemaphore } = require('rxjs-permits/redis');"),
  );
  for (const file of ['redis.mjs', 'redis.cjs']) check(file, () => run(process.execPath, [file], project));
  for (const { name, files, flags } of tscRuns) {
    check(name, () =>
      run(
        process.execPath,
        [tsc, ...flags, '--strict', '--noEmit', '--skipLibCheck', 'false', '--pretty', 'false', ...files],
        project,
      ),
    );
  }
  return failures();
}

/** `check(name, fn)` runs `fn` and prints one line for it; `failures()` counts the failed ones. */
function checker(label) {
  let failures = 0;
  const check = (name, fn) => {
    try {
      console.log(`${label}: ${name}: ${fn().trim() || 'ok'}`);
    } catch (error) {
      failures += 1;
      // stdout, like the passes, so the lines stay in order; tsc's first lines are the useful ones.
      console.log(`${label}: ${name} FAILED: ${error.message.split('\n')[0]}`);
      const lines = (error.stdout || '').trim().split('\n').filter(Boolean);
      for (const line of lines.slice(0, 8)) console.log(`  ${line}`);
      if (lines.length > 8) console.log(`  ... ${lines.length - 8} more lines`);
    }
  };
  return { check, failures: () => failures };
}

let failed = false;
try {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const devVersion = JSON.parse(
    fs.readFileSync(path.join(root, 'node_modules/rxjs/package.json'), 'utf8'),
  ).version;
  const range = pkg.peerDependencies.rxjs;
  const oldest = minimumOf(range);
  const name = run(npm, ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop();
  const tarball = path.join(work, name);
  const variants = [[devVersion, `rxjs ${devVersion} (dev)`]];
  if (oldest !== devVersion) variants.push([oldest, `rxjs ${oldest} (oldest of peer range ${range})`]);
  for (const [version, label] of variants) {
    try {
      if (smoke(tarball, version, label) > 0) failed = true;
    } catch (error) {
      failed = true;
      console.log(`${label}: FAILED: ${error.message}`);
    }
  }
  try {
    if (angularSmoke({ tarball, project: path.join(work, 'angular'), npm, run, checker }) > 0) failed = true;
  } catch (error) {
    failed = true;
    console.log(`Angular: FAILED: ${error.message}`);
  }
} catch (error) {
  failed = true;
  console.error(`pack smoke test failed: ${error.message}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
if (failed) console.error('pack smoke test failed');
process.exit(failed ? 1 : 0);

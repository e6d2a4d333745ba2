'use strict';
// The pack smoke test's Angular part (called by scripts/pack-smoke.js with the packed tarball):
// - in the projects without Angular (`npm install rxjs-permits rxjs`), npm installed no Angular
//   package: `@angular/core` and `@angular/common` are optional peers;
// - in a fresh project with Angular (the versions the repo develops with), `rxjs-permits/angular`
//   runs through `import` and through `require`, loading the root entry point does not load
//   Angular (the require cache and the ESM loader's resolutions are checked), and a `.ts` consumer
//   of the subpath type-checks as `.mts` and `.cts` under `--module nodenext`.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const ANGULAR = ['@angular/core', '@angular/common', '@angular/compiler'];

/** Throws when `project` (installed without Angular) has an Angular package in node_modules. */
function noAngularInstalled(project) {
  const found = ['core', 'common'].filter((name) =>
    fs.existsSync(path.join(project, 'node_modules', '@angular', name)),
  );
  if (found.length > 0) {
    throw new Error(`npm installed @angular/${found.join(', @angular/')} with rxjs-permits`);
  }
  return 'no @angular package installed';
}

// The root first, with Angular installed but not yet loaded: nothing of Angular may load with it.
// Then the subpath: an interceptor over a pool of 1 runs the second request only once the first has
// answered, and permitsSignal follows the pool until its injector is destroyed.
const program = (loadRoot, angularLoaded, loadAngular) => `${loadRoot}
const loadedWithRoot = ${angularLoaded};
if (loadedWithRoot.length > 0) { console.error('the root entry point loaded ' + loadedWithRoot.join(', ')); process.exit(1); }
${loadAngular}
const pool = new Semaphore(1);
const interceptor = permitInterceptor(pool);
const sent = [];
const answers = {};
const next = (req) => { sent.push(req.url); return (answers[req.url] = new Subject()); };
const injector = Injector.create({ providers: [] });
const call = (url) => runInInjectionContext(injector, () => interceptor(new HttpRequest('GET', url), next));
const free = permitsSignal(pool, { injector });
call('/a').subscribe();
call('/b').subscribe();
const before = sent.join(',') + ' ' + pool.waiting + ' ' + free();
answers['/a'].complete();
const after = sent.join(',') + ' ' + pool.waiting + ' ' + free();
injector.destroy();
answers['/b'].complete();
const line = before + ' | ' + after + ' | ' + free() + ' ' + pool.value + ' ' + (PERMIT_CONTEXT.defaultValue() === null);
if (line !== '/a 1 0 | /a,/b 0 0 | 0 1 true') { console.error('unexpected: ' + line); process.exit(1); }
console.log('ok: ' + line);
`;

const esm = program(
  "import { Semaphore } from 'rxjs-permits';\nimport { Subject } from 'rxjs';",
  // What the ES module loader loaded cannot be listed; the root's files are all static imports, so
  // none of them may name an Angular package.
  `await (async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const dir = path.dirname(fileURLToPath(import.meta.resolve('rxjs-permits')));
  const files = fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.js') && !f.startsWith('angular'));
  return files.filter((f) => /from ['"]@angular\\//.test(fs.readFileSync(path.join(dir, f), 'utf8')));
})()`,
  "import '@angular/compiler';\nimport { Injector, runInInjectionContext } from '@angular/core';\nimport { HttpRequest } from '@angular/common/http';\nimport { PERMIT_CONTEXT, permitInterceptor, permitsSignal } from 'rxjs-permits/angular';",
);

const cjs = program(
  "const { Semaphore } = require('rxjs-permits');\nconst { Subject } = require('rxjs');",
  "Object.keys(require.cache).filter((file) => file.includes(require('path').join('node_modules', '@angular')))",
  "require('@angular/compiler');\nconst { Injector, runInInjectionContext } = require('@angular/core');\nconst { HttpRequest } = require('@angular/common/http');\nconst { PERMIT_CONTEXT, permitInterceptor, permitsSignal } = require('rxjs-permits/angular');",
);

const consumer = `import { InjectionToken, type Signal } from '@angular/core';
import { HttpContext, HttpResponse, type HttpInterceptorFn } from '@angular/common/http';
import { Semaphore, type PermitPool } from 'rxjs-permits';
import { PERMIT_CONTEXT, permitInterceptor, permitsSignal, type PermitRequestOptions } from 'rxjs-permits/angular';
import { of } from 'rxjs';

const API_PERMITS = new InjectionToken<PermitPool>('API_PERMITS', { providedIn: 'root', factory: () => new Semaphore(4) });
const byToken: HttpInterceptorFn = permitInterceptor(API_PERMITS, {
  maxWaiting: 10,
  with: () => of(new HttpResponse({ status: 503 })),
});
const bySelector: HttpInterceptorFn = permitInterceptor((req) => (req.method === 'POST' ? new Semaphore(1) : null));
const options: PermitRequestOptions = { priority: 1, timeout: null };
const context: HttpContext = new HttpContext().set(PERMIT_CONTEXT, options);
export const checks: [HttpInterceptorFn, HttpInterceptorFn, HttpContext, (pool: PermitPool) => Signal<number>] = [
  byToken,
  bySelector,
  context,
  (pool) => permitsSignal(pool),
];
`;

/**
 * Installs the tarball with Angular into `project` and runs the checks, printing one line each;
 * returns the number of failures. `run(cmd, args, cwd)` and `checker(label)` are pack-smoke.js's.
 */
function angularSmoke({ tarball, project, npm, run, checker }) {
  const devVersion = (name) =>
    JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  const rxjs = devVersion('rxjs');
  const specs = ANGULAR.map((name) => `${name}@${devVersion(name)}`);
  fs.mkdirSync(project);
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'smoke-angular', private: true }),
  );
  run(
    npm,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball, `rxjs@${rxjs}`, ...specs],
    project,
  );
  fs.writeFileSync(path.join(project, 'smoke.mjs'), esm);
  fs.writeFileSync(path.join(project, 'smoke.cjs'), cjs);
  for (const file of ['consumer.mts', 'consumer.cts']) fs.writeFileSync(path.join(project, file), consumer);
  const { check, failures } = checker(`Angular ${devVersion('@angular/core')}`);
  for (const file of ['smoke.mjs', 'smoke.cjs']) check(file, () => run(process.execPath, [file], project));
  check('tsc nodenext', () =>
    run(
      process.execPath,
      [
        tsc,
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--lib',
        'es2022,esnext.disposable,dom',
        '--strict',
        '--noEmit',
        '--pretty',
        'false',
        'consumer.mts',
        'consumer.cts',
      ],
      project,
    ),
  );
  return failures();
}

module.exports = { angularSmoke, noAngularInstalled };

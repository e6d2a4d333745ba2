'use strict';
// The programs the test run needs besides Node and node_modules, found the same way by
// scripts/test.js (which installs a missing one when it can, before any step runs) and by
// karma.conf.js (for `npm run test:browser` run directly).
//
// To require another one (say `redis-server` for the Node suites): add one entry to
// `requirements` and name its key in the `needs` of the steps in scripts/test.js that use it.
//
// Environment:
// - each entry's `env` variable (CHROME_BIN for Chromium) picks the program: a path, or a command
//   on PATH. When it does not name an executable file, the usual names are looked for on PATH.
// - PERMITS_NO_INSTALL=1: never install, even as root with apt-get (to check the "missing" path
//   on a machine where the test run could install).
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const requirements = {
  chromium: {
    label: 'Chromium',
    purpose: 'the browser suites',
    env: 'CHROME_BIN', // what karma-chrome-launcher starts
    binaries: ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'],
    debianPackage: 'chromium',
  },
  'redis-server': {
    label: 'redis-server',
    purpose: 'the Redis specs of the node suites (RedisSemaphore)',
    env: 'REDIS_SERVER', // the program scripts/redis-server.js starts
    binaries: ['redis-server'],
    debianPackage: 'redis-server',
  },
};

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return file;
  }
  return null;
}

/**
 * The program for `key`: its env variable if that names an executable, else the first of its
 * names on PATH; null if none.
 */
function find(key, env = process.env) {
  const { env: variable, binaries } = requirements[key];
  const given = env[variable];
  if (given) {
    const file = given.includes(path.sep) ? path.resolve(given) : onPath(given, env);
    if (file && isExecutableFile(file)) return file;
    console.log(`${variable}=${given} is not an executable file; looking for ${binaries.join(', ')} on PATH`);
  }
  for (const name of binaries) {
    const file = onPath(name, env);
    if (file) return file;
  }
  return null;
}

/** The one line that says what to install. */
function missingMessage(key, command = 'npm test') {
  const { label, purpose, debianPackage, env } = requirements[key];
  return (
    `${command} needs ${label} for ${purpose}: install Debian's ${debianPackage} ` +
    `(apt-get install ${debianPackage}) or set ${env}`
  );
}

function aptGetIfAllowed(env) {
  if (env.PERMITS_NO_INSTALL) return null;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  return onPath('apt-get', env);
}

function install(key, aptGet, env) {
  const { label, debianPackage } = requirements[key];
  console.log(
    `${label} not found: installing Debian's ${debianPackage} ` +
      `(DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y ${debianPackage})`,
  );
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', debianPackage]]) {
    // apt's output is shown only when it fails, so a passing run keeps one line for the install.
    const run = spawnSync(aptGet, args, { env: aptEnv, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) {
      const output = `${run.stdout || ''}${run.stderr || ''}`.trim().split('\n').slice(-20).join('\n');
      console.log(`apt-get ${args.join(' ')} failed${run.error ? `: ${run.error.message}` : ''}\n${output}`);
      return false;
    }
  }
  return true;
}

/**
 * Finds each of `keys`, installing a missing one with apt-get when running as root (unless
 * PERMITS_NO_INSTALL is set). Returns the env variables to pass on (e.g. `{ CHROME_BIN: path }`)
 * and the keys still missing.
 */
function ensure(keys, env = process.env) {
  const found = {};
  const missing = [];
  for (const key of keys) {
    let file = find(key, env);
    if (!file) {
      const aptGet = aptGetIfAllowed(env);
      if (aptGet && install(key, aptGet, env)) {
        file = find(key, env);
        const { debianPackage, binaries } = requirements[key];
        if (!file)
          console.log(`apt-get installed ${debianPackage}, but none of ${binaries.join(', ')} is on PATH`);
      }
    }
    if (file) found[requirements[key].env] = file;
    else missing.push(key);
  }
  return { found, missing };
}

module.exports = { requirements, find, ensure, missingMessage };

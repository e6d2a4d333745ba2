'use strict';
// Starts a throwaway redis-server on a free port of 127.0.0.1, without persistence (`--save ''
// --appendonly no`), and stops it. Used by scripts/test.js (one server for the whole run, its URL
// passed to the specs as PERMITS_REDIS_URL) and by the Redis specs themselves (a server of their
// own for a spec that restarts it, or when they run without scripts/test.js).
const { spawn } = require('child_process');
const net = require('net');

/** A port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `binary` (a redis-server) on `port` (a free one when omitted) and resolves once it accepts
 * connections (it says so on stdout). Resolves to `{ port, url, stop() }`; `stop()` resolves when
 * the server has exited.
 */
async function startRedisServer(binary, port) {
  const chosen = port ?? (await freePort());
  const child = spawn(
    binary,
    [
      '--port',
      String(chosen),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve();
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output.trim()}`)),
    );
  });
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    pid: child.pid,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited.then(() => undefined);
    },
  };
}

module.exports = { startRedisServer, freePort };

// `node scripts/redis-server.js <command> [args...]`: runs the command with a redis-server of its
// own for its whole run, its URL in PERMITS_REDIS_URL (and the program in REDIS_SERVER, so a spec
// can start one more), then stops the server and exits as the command did. The node suites step of
// scripts/test.js runs that way; so can `node scripts/redis-server.js node scripts/jasmine-node.js
// 'spec/redis/**/*.spec.ts'`.
if (require.main === module) {
  const systemDeps = require('./system-deps');
  const [command, ...args] = process.argv.slice(2);
  const binary = systemDeps.find('redis-server');
  if (!binary) {
    console.log(systemDeps.missingMessage('redis-server', 'scripts/redis-server.js'));
    process.exit(1);
  }
  startRedisServer(binary).then(
    (server) => {
      console.log(`redis-server ${binary} on ${server.url} for this run`);
      const env = { ...process.env, PERMITS_REDIS_URL: server.url, REDIS_SERVER: binary };
      const run = spawn(command, args, { stdio: 'inherit', env });
      const forward = (signal) => run.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      run.once('exit', (code, signal) => {
        server.stop().then(() => process.exit(code ?? (signal ? 1 : 0)));
      });
    },
    (error) => {
      console.log(`could not start redis-server: ${error.message}`);
      process.exit(1);
    },
  );
}

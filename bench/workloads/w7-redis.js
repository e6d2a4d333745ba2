'use strict';
// W7 (issue #15): RedisSemaphore against redis-semaphore (the field's most used Redis semaphore),
// both on the same local redis-server, started here on a free port without persistence (`--save ''
// --appendonly no`, scripts/redis-server.js) and stopped at the end. The redis-server program is
// found by scripts/system-deps.js (REDIS_SERVER, else PATH).
//
//   node bench/workloads/w7-redis.js [--quick] [--filter RE] [--svg FILE] [--results FILE] [--json FILE]
//
//   --quick           shorter runs (fewer rounds, 200 idle waiters)
//   --filter RE       only the contenders whose name matches RE
//   --svg FILE        write the SVG chart (`npm run bench:redis` writes docs/w7-redis.svg)
//   --results FILE    replace the W7 section of FILE (bench/RESULTS.md) with this run's (full runs only)
//   --json FILE       write { title, description, markdown, results } to FILE (bench/run.js reads it)
//
// Measures, side by side:
//   1. uncontended acquire+release latency (sequential, one client), in interleaved rounds: the
//      median, and the ratio per round with its spread; and what a cycle costs the server
//      (commands sent and run, by MONITOR; redis-server CPU time, INFO cpu);
//   2. Redis commands per contended acquire (MONITOR, each command filed under the script that
//      called it), several requests of one instance waiting while another holds the permit for 50,
//      400 and 2000 ms, keep-alive commands (heartbeat, refresh) apart;
//   3. wake-up latency: from a release in process A to the grant in process B (forked children,
//      timed on the machine's one monotonic clock);
//   4. fairness: 8 processes x 1 permit for a fixed time: order inversions (a grant to a request made
//      after one still waiting) and the longest wait;
//   5. 1,000 waiters idle: Redis commands per second (INFO commandstats).
// The chart (made here, no service) shows the wake-up latency and wait-time distributions. `npm run
// bench` runs this script as its W7 when a redis-server can be found or installed. Not part of
// `npm test`.
const path = require('path');
const fs = require('fs');
const { performance } = require('perf_hooks');

require(path.resolve(__dirname, '..', '..', 'scripts', 'register-ts.js'));
const { startRedisServer } = require(path.resolve(__dirname, '..', '..', 'scripts', 'redis-server.js'));
const systemDeps = require(path.resolve(__dirname, '..', '..', 'scripts', 'system-deps.js'));
const { Redis } = require('ioredis');
const { Semaphore: RsSemaphore } = require('redis-semaphore');
const { RedisSemaphore } = require(path.resolve(__dirname, '..', '..', 'src', 'redis', 'index.ts'));
const { SCRIPTS } = require(path.resolve(__dirname, '..', '..', 'src', 'redis', 'scripts.ts'));
const { createHash } = require('crypto');

const HOLDS = [50, 400, 2000];
const WAITERS = 4;
const WAITERS_NOTE = `${WAITERS} requests of one instance wait behind another's; a round's commands over ${WAITERS}`;
const TITLE = 'RedisSemaphore against redis-semaphore, on one local redis-server (issue #15)';
const LEASE_MS = 3000;

let keyCount = 0;
const nextKey = (label) => `w7:${label}:${process.pid}:${++keyCount}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The two contenders, behind one interface: make(client, key, permits) -> { acquire, release, close }. */
const allContenders = {
  'rxjs-permits RedisSemaphore': (client, key, permits) => {
    const semaphore = new RedisSemaphore(client, key, { permits, leaseMs: LEASE_MS });
    return {
      async acquire() {
        return semaphore.lease();
      },
      release(lease) {
        lease.release();
      },
      close: () => semaphore.close(),
    };
  },
  'redis-semaphore Semaphore': (client, key, permits) => {
    return {
      async acquire() {
        const semaphore = new RsSemaphore(client, key, permits, {
          lockTimeout: LEASE_MS,
          acquireTimeout: 600_000,
          refreshInterval: LEASE_MS * 0.8,
        });
        await semaphore.acquire();
        return semaphore;
      },
      release(semaphore) {
        return semaphore.release();
      },
      close: async () => {},
    };
  },
};

/**
 * The time on one monotonic clock shared by every process of the machine (CLOCK_MONOTONIC on
 * Linux), in ms: what lets a release timed in one process be compared with a grant in another.
 */
const hrNow = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Forked processes (this script with `--child`), each with its own connection to the server and
 * both contenders; driven by messages. Used where the issue asks for processes: the wake-up
 * latency (release in process A, grant in process B) and fairness (8 processes x 1 permit).
 */
function startChildren(count, url) {
  const { fork } = require('child_process');
  return Promise.all(
    Array.from({ length: count }, () => {
      const child = fork(module.filename, ['--child', url], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const waiting = new Map();
      let nextId = 0;
      child.on('message', (message) => {
        const settle = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error) settle?.reject(new Error(message.error));
        else settle?.resolve(message);
      });
      const handle = {
        /** Sends a command; resolves with the child's answer to it. */
        ask(command) {
          const id = ++nextId;
          return new Promise((resolve, reject) => {
            waiting.set(id, { resolve, reject });
            child.send({ ...command, id });
          });
        },
        stop: () =>
          new Promise((resolve) => {
            child.once('exit', resolve);
            child.send({ cmd: 'exit' });
          }),
      };
      return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('message', (message) => (message.ready ? resolve(handle) : reject(new Error('child'))));
      });
    }),
  );
}

/** The child side of {@link startChildren}: one connection, one contender instance per key. */
function runChild(url) {
  const client = new Redis(url);
  const instances = new Map(); // `${contender}\n${key}` -> instance
  const leases = new Map(); // request id -> lease
  const instance = (contender, key) => {
    const id = `${contender}\n${key}`;
    if (!instances.has(id)) instances.set(id, allContenders[contender](client, key, 1));
    return instances.get(id);
  };
  const commands = {
    async acquire({ contender, key, id }) {
      const asked = hrNow();
      leases.set(id, await instance(contender, key).acquire());
      return { asked, at: hrNow() };
    },
    async release({ contender, key, of }) {
      const at = hrNow();
      await instance(contender, key).release(leases.get(of));
      leases.delete(of);
      return { at };
    },
    /** Acquire, hold `hold` ms, release, until `until` (hrNow): each request's ask and grant times. */
    async loop({ contender, key, until, hold }) {
      const w = instance(contender, key);
      const records = [];
      while (hrNow() < until) {
        const asked = hrNow();
        const lease = await w.acquire();
        records.push([asked, hrNow()]);
        await sleep(hold);
        await w.release(lease);
      }
      return { records };
    },
    async close({ contender, key }) {
      await instance(contender, key).close();
      instances.delete(`${contender}\n${key}`);
      return {};
    },
  };
  process.on('message', (message) => {
    if (message.cmd === 'exit') {
      client.disconnect();
      process.exit(0);
    }
    commands[message.cmd](message).then(
      (answer) => process.send({ ...answer, id: message.id }),
      (error) => process.send({ id: message.id, error: String(error?.stack ?? error) }),
    );
  });
  client.once('ready', () => process.send({ ready: true }));
}

/**
 * Commands the server ran (INFO commandstats): `all` counts the commands that scripts call too;
 * `scripts` counts the scripts run (EVALSHA, EVAL).
 */
async function commandCount(admin) {
  const info = await admin.info('commandstats');
  let all = 0;
  let scripts = 0;
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) {
    all += Number(match[2]);
    if (match[1] === 'evalsha' || match[1] === 'eval') scripts += Number(match[2]);
  }
  return { all, scripts };
}
const perSecond = (after, before, seconds) => ({
  all: (after.all - before.all - 1) / seconds, // minus INFO itself
  scripts: (after.scripts - before.scripts) / seconds,
});

/** redis-server's CPU time so far, in seconds (INFO cpu). */
async function serverCpu(admin) {
  const info = await admin.info('cpu');
  return ['used_cpu_sys', 'used_cpu_user'].reduce(
    (sum, field) => sum + Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? 0),
    0,
  );
}

/** The SHA1 of each script of redis-semaphore's Semaphore, by name, read from its files. */
function redisSemaphoreScripts() {
  const shas = new Map();
  const dir = path.dirname(require.resolve('redis-semaphore/lib/semaphore/acquire/lua.js'));
  for (const name of ['acquire', 'refresh']) {
    const text = fs.readFileSync(path.join(dir, '..', name, 'lua.js'), 'utf8');
    const source = /createEval\)\(`([\s\S]*?)`, \d+\)/.exec(text)?.[1];
    if (source) shas.set(createHash('sha1').update(source, 'utf8').digest('hex'), `redis-semaphore ${name}`);
  }
  return shas;
}

/** The scripts of both contenders by SHA1; the keep-alive ones (our heartbeat, their refresh). */
const SCRIPT_NAMES = new Map([
  ...Object.values(SCRIPTS).map((script) => [script.sha, `RedisSemaphore ${script.name}`]),
  ...redisSemaphoreScripts(),
]);
const KEEP_ALIVE = new Set(['RedisSemaphore heartbeat', 'redis-semaphore refresh']);

/**
 * Counts the commands the server runs, by MONITOR on `client` (a connection of its own; it costs
 * the server, so nothing is timed while one is open): each command a client sends, and each command
 * a script calls, filed under that script. `counts()` gives `{ work, keepAlive }`, each
 * `{ sent, inner }` (sent by a client: round trips; called by the scripts it sent), and `byName`.
 */
async function commandMonitor(client) {
  const monitor = await client.monitor();
  const byName = new Map();
  let current = null;
  monitor.on('monitor', (_time, args, source) => {
    if (source === 'lua') {
      if (current) current.inner++;
      return;
    }
    const command = String(args[0]).toLowerCase();
    let name = command;
    if (command === 'evalsha') name = SCRIPT_NAMES.get(String(args[1])) ?? 'other script';
    else if (command === 'eval')
      name = SCRIPT_NAMES.get(createHash('sha1').update(String(args[1])).digest('hex')) ?? 'other script';
    if (!byName.has(name)) byName.set(name, { sent: 0, inner: 0 });
    current = byName.get(name);
    current.sent++;
  });
  return {
    counts() {
      const work = { sent: 0, inner: 0 };
      const keepAlive = { sent: 0, inner: 0 };
      for (const [name, { sent, inner }] of byName) {
        const into = KEEP_ALIVE.has(name) ? keepAlive : work;
        into.sent += sent;
        into.inner += inner;
      }
      return { work, keepAlive, byName: Object.fromEntries(byName) };
    },
    close: () => monitor.disconnect(),
  };
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const both = ({ all, scripts }) => `${num(all)} / ${num(scripts)}`;
const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/**
 * Runs W7: `{ quick, filter, log }` (filter: a RegExp over the contenders' names; log: progress
 * lines). Resolves to `{ results, samples, server }` (results and samples per contender name).
 */
async function measure({ quick = false, filter = null, log = (line) => console.error(line) } = {}) {
  const binary = systemDeps.find('redis-server');
  if (!binary) throw new Error(systemDeps.missingMessage('redis-server', 'W7'));
  const chosen = Object.entries(allContenders).filter(([name]) => !filter || filter.test(name));
  if (chosen.length === 0) throw new Error(`no W7 contender matches ${filter}`);
  const contenders = Object.fromEntries(chosen);
  const load = require('os').loadavg()[0];
  const date = new Date().toISOString();
  const server = await startRedisServer(binary);
  const clients = [];
  const connect = () => {
    const client = new Redis(server.url);
    clients.push(client);
    return client;
  };
  const admin = connect();
  const results = {};
  const samples = {};
  let children = [];
  const serverVersion = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
  // Every script in the server's cache, as on a server in use: the first run of a script not
  // cached costs an EVALSHA refused (NOSCRIPT) and an EVAL, once per server
  for (const script of Object.values(SCRIPTS)) await admin.script('LOAD', script.source);
  try {
    // 1. uncontended latency: rounds of n sequential acquire+release per contender, interleaved (the
    // order alternates each round: the machine's load changes over a run); the ratio of the first
    // contender's time to the second's in each round, then medians and spread over the rounds. Then,
    // apart from the timed rounds, what one cycle costs the server: commands sent (round trips),
    // commands run including those the scripts call, and redis-server CPU time.
    {
      const ones = Object.entries(contenders).map(([name, make]) => [name, make(connect(), nextKey('u'), 1)]);
      const n = quick ? 200 : 500;
      const rounds = quick ? 7 : 21;
      const times = new Map(ones.map(([name]) => [name, []]));
      const cpus = new Map(ones.map(([name]) => [name, []])); // redis-server CPU s per cycle, per round
      for (let round = -2; round < rounds; round++) {
        for (const [name, one] of round % 2 === 0 ? ones : [...ones].reverse()) {
          const cpuBefore = await serverCpu(admin);
          const started = performance.now();
          for (let i = 0; i < n; i++) await one.release(await one.acquire());
          const took = performance.now() - started;
          const cpu = (await serverCpu(admin)) - cpuBefore;
          if (round >= 0) {
            times.get(name).push(took / n);
            cpus.get(name).push(cpu / n);
          }
        }
      }
      for (const [name, one] of ones) {
        // the commands of a few more cycles, by MONITOR (it costs the server: not while timing)
        const monitor = await commandMonitor(connect());
        for (let i = 0; i < 10; i++) await one.release(await one.acquire());
        await sleep(20); // the last release has reached the server
        const { work, keepAlive } = monitor.counts();
        await monitor.close();
        const sorted = [...times.get(name)].sort((x, y) => x - y);
        results[name] = {
          uncontendedMs: quantile(sorted, 0.5),
          uncontendedRangeMs: [sorted[0], sorted[sorted.length - 1]],
          uncontendedCost: {
            sent: (work.sent + keepAlive.sent) / 10,
            all: (work.sent + work.inner + keepAlive.sent + keepAlive.inner) / 10,
            cpuUs:
              quantile(
                [...cpus.get(name)].sort((x, y) => x - y),
                0.5,
              ) * 1e6,
          },
        };
        samples[name] = { wake: [], waits: [] };
        await one.close();
      }
      if (ones.length === 2) {
        const [first, second] = ones.map(([name]) => times.get(name));
        const ratios = first.map((t, i) => t / second[i]).sort((x, y) => x - y);
        results[ones[0][0]].uncontendedRatio = {
          median: quantile(ratios, 0.5),
          p25: quantile(ratios, 0.25),
          p75: quantile(ratios, 0.75),
          min: ratios[0],
          max: ratios[ratios.length - 1],
          rounds,
        };
      }
    }

    children = await startChildren(8, server.url);
    for (const [name, make] of Object.entries(contenders)) {
      const r = results[name];
      const s = samples[name];

      // 2. commands per contended acquire: instance A (a process of its own) holds the permit for
      // `hold` ms while WAITERS requests of instance B wait; A releases, and B's requests are granted
      // one after another, each released at once. Counted by MONITOR, each command with the script
      // that called it: all of a round (A's acquire and its hand-off release, B's queued requests
      // and their releases) over WAITERS, with the keep-alive scripts apart (our heartbeat: one per
      // instance every leaseMs / 3 however many tickets it has; redis-semaphore's refresh of a held
      // lock every 0.8 lockTimeout).
      r.contended = {};
      for (const hold of HOLDS) {
        const key = nextKey('c');
        const a = make(connect(), key, 1);
        const b = make(connect(), key, 1);
        const rounds = quick ? 2 : 4;
        await a.release(await a.acquire()); // registers
        await b.release(await b.acquire());
        await sleep(20); // the releases have reached the server
        const monitor = await commandMonitor(connect());
        for (let i = 0; i < rounds; i++) {
          const held = await a.acquire();
          const waiting = Array.from({ length: WAITERS }, () =>
            b.acquire().then((lease) => b.release(lease)),
          );
          await sleep(hold);
          await a.release(held);
          await Promise.all(waiting);
        }
        await sleep(20);
        const counted = monitor.counts();
        await monitor.close();
        const acquires = rounds * WAITERS;
        r.contended[hold] = {
          sent: counted.work.sent / acquires,
          all: (counted.work.sent + counted.work.inner) / acquires,
          keepAliveSent: counted.keepAlive.sent / acquires,
          keepAliveAll: (counted.keepAlive.sent + counted.keepAlive.inner) / acquires,
        };
        await a.close();
        await b.close();
      }

      // 3. wake-up latency: a release in process A, the grant in process B (one clock: hrNow)
      {
        const key = nextKey('w');
        const [a, b] = children;
        const n = quick ? 20 : 60;
        const on = (child, cmd, extra = {}) => child.ask({ cmd, contender: name, key, ...extra });
        await on(b, 'release', { of: (await on(b, 'acquire')).id });
        for (let i = 0; i < n; i++) {
          const held = await on(a, 'acquire');
          const granted = on(b, 'acquire');
          await sleep(15); // the waiter is queued (redis-semaphore: polling every 10 ms)
          const released = await on(a, 'release', { of: held.id });
          const grant = await granted;
          s.wake.push(grant.at - released.at);
          await on(b, 'release', { of: grant.id });
        }
        s.wake.sort((x, y) => x - y);
        r.wakeP50 = quantile(s.wake, 0.5);
        r.wakeP95 = quantile(s.wake, 0.95);
        await on(a, 'close');
        await on(b, 'close');
      }

      // 4. fairness: 8 processes x 1 permit, for a fixed time
      {
        const key = nextKey('f');
        const on = (child, cmd, extra = {}) => child.ask({ cmd, contender: name, key, ...extra });
        for (const child of children) await on(child, 'release', { of: (await on(child, 'acquire')).id });
        const until = hrNow() + (quick ? 1500 : 5000);
        const runs = await Promise.all(children.map((child) => on(child, 'loop', { until, hold: 5 })));
        const requests = runs.flatMap((run) => run.records).sort((x, y) => x[0] - y[0]); // by ask
        let inversions = 0;
        let inversionsApart = 0; // against a request made at least 1 ms earlier
        for (let i = 0; i < requests.length; i++) {
          const [asked, granted] = requests[i];
          s.waits.push(granted - asked);
          // Requests made before this one and still waiting when it was granted.
          for (let j = 0; j < i; j++) {
            if (requests[j][1] <= granted) continue;
            inversions++;
            if (requests[j][0] <= asked - 1) inversionsApart++;
          }
        }
        s.waits.sort((x, y) => x - y);
        r.fairGrants = requests.length;
        r.inversions = inversions;
        r.inversionsApart = inversionsApart;
        r.maxWaitMs = s.waits[s.waits.length - 1];
        for (const child of children) await on(child, 'close');
      }

      // 5. 1,000 idle waiters: commands per second
      {
        const key = nextKey('i');
        const holderSide = make(connect(), key, 1);
        const held = await holderSide.acquire();
        const shared = connect();
        const waiterSide = make(shared, key, 1);
        const count = quick ? 200 : 1000;
        // each waiter releases as soon as it is granted (whatever the order of grants)
        const pending = Array.from({ length: count }, () =>
          waiterSide.acquire().then((lease) => waiterSide.release(lease)),
        );
        await sleep(1000); // every waiter queued (or polling)
        const seconds = quick ? 3 : 10;
        const before = await commandCount(admin);
        await sleep(seconds * 1000);
        const after = await commandCount(admin);
        r.idleWaiters = count;
        r.idleCommandsPerSecond = perSecond(after, before, seconds);
        await holderSide.release(held);
        await Promise.all(pending);
        await holderSide.close();
        await waiterSide.close();
      }
      log(`W7 ${name}: done`);
    }
  } finally {
    for (const child of children) await child.stop();
    for (const client of clients) client.disconnect();
    await server.stop();
  }
  return { results, samples, serverVersion, quick, date, load: [load, require('os').loadavg()[0]] };
}

/** The W7 table (Markdown), the contenders side by side; a note column. */
function table({ results, quick }) {
  const names = Object.keys(results);
  const ours = names.length === 2 ? results[names[0]] : null;
  const first = results[names[0]];
  const holds = Object.keys(first.contended).map(Number);
  const perHold = (get) => (r) => holds.map((hold) => get(r.contended[hold])).join(' / ');
  const ratio = ours && ours.uncontendedRatio;
  const rows = [
    [
      `uncontended acquire + release, median of ${ratio ? ratio.rounds : '?'} interleaved rounds (ms)`,
      (r) => `${fmt(r.uncontendedMs)} (${fmt(r.uncontendedRangeMs[0])}–${fmt(r.uncontendedRangeMs[1])})`,
      ratio
        ? `**${ratio.median.toFixed(2)}x** (median of per-round ratios; middle half ` +
          `${ratio.p25.toFixed(2)}–${ratio.p75.toFixed(2)}x, all ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}x)`
        : '',
    ],
    [
      'uncontended: commands sent per acquire + release (round trips) / run incl. those scripts call',
      (r) => `${num(r.uncontendedCost.sent)} / ${num(r.uncontendedCost.all)}`,
      'MONITOR',
    ],
    [
      'uncontended: redis-server CPU time per acquire + release (median of the rounds)',
      (r) => `${r.uncontendedCost.cpuUs.toFixed(0)} µs`,
      'INFO cpu; includes reading and writing the sockets',
    ],
    [
      `commands sent per contended acquire (round trips), holder keeps it ${holds.join(' / ')} ms`,
      perHold((c) => num(c.sent)),
      `${WAITERS_NOTE}; keep-alive apart (below)`,
    ],
    [
      `commands run per contended acquire incl. those scripts call, ${holds.join(' / ')} ms`,
      perHold((c) => num(c.all)),
      'keep-alive apart (below)',
    ],
    [
      `keep-alive commands per contended acquire, sent (run), ${holds.join(' / ')} ms`,
      perHold((c) => `${num(c.keepAliveSent)} (${num(c.keepAliveAll)})`),
      'ours: one heartbeat per instance every leaseMs / 3 (1 s here), for all its tickets',
    ],
    [
      'wake-up latency, release in process A to grant in process B, p50 / p95 (ms)',
      (r) => `${fmt(r.wakeP50)} / ${fmt(r.wakeP95)}`,
      '',
    ],
    ['fairness, 8 processes × 1 permit: grants', (r) => String(r.fairGrants), ''],
    [
      'fairness: order inversions, against a request made ≥ 1 ms earlier (any)',
      (r) => `${r.inversionsApart} (${r.inversions})`,
      'requests sent within 1 ms on different connections may reach the server in either order',
    ],
    ['fairness: longest wait (ms)', (r) => fmt(r.maxWaitMs), ''],
    [
      `${first.idleWaiters} idle waiters: commands per second (all / scripts run)`,
      (r) => both(r.idleCommandsPerSecond),
      'INFO commandstats',
    ],
  ];
  const out = [`| W7 (${quick ? 'quick' : 'full'}) | ${names.join(' | ')} | note |`];
  out.push(`| --- | ${names.map(() => '---:').join(' | ')} | --- |`);
  for (const [label, get, note] of rows)
    out.push(`| ${label} | ${names.map((n) => get(results[n])).join(' | ')} | ${note} |`);
  return out.join('\n');
}

const num = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));

const DESCRIPTION =
  'Both contenders on one redis-server started for the run (no persistence), through ioredis; each ' +
  'client or instance has its own connection. The wake-up latency and fairness run in 8 forked ' +
  "processes (times on the machine's one monotonic clock); the rest in this one. The server counts the commands: " +
  'MONITOR where a row says so (each command filed under the script that called it; nothing is timed ' +
  'while it is open), else INFO commandstats. `npm run bench:redis` runs W7 alone and draws ' +
  'docs/w7-redis.svg.';

/** The W7 section of bench/RESULTS.md. */
function section(run) {
  return [
    `## W7: ${TITLE}`,
    '',
    `${DESCRIPTION} redis-server ${run.serverVersion}; redis-semaphore ${rsVersion()}. ` +
      `Run ${run.date}, load average ${run.load.map((l) => l.toFixed(1)).join(' -> ')}.`,
    '',
    table(run),
    '',
    targets(run),
    '',
  ].join('\n');
}

/** The targets of issue #15, met or missed, when both contenders ran. */
function targets({ results }) {
  const names = Object.keys(results);
  if (names.length !== 2) return '';
  const [ours, theirs] = names.map((n) => results[n]);
  const ratio = ours.uncontendedRatio;
  const holds = Object.keys(ours.contended);
  const sent = holds.map((hold) => ours.contended[hold].sent);
  const all = holds.map((hold) => ours.contended[hold].all);
  const constant = (xs) => Math.max(...xs) - Math.min(...xs) < 0.05 * Math.max(...xs);
  const rows = [
    [
      'uncontended acquire + release ≤ 1.2x redis-semaphore',
      `${ratio.median.toFixed(2)}x (middle half ${ratio.p25.toFixed(2)}–${ratio.p75.toFixed(2)}x)`,
      ratio.median <= 1.2,
    ],
    [
      `commands per contended acquire constant, whatever the wait (${holds.join(' / ')} ms; heartbeats apart)`,
      `${sent.map(num).join(' / ')} sent, ${all.map(num).join(' / ')} run`,
      constant(sent) && constant(all),
    ],
    [
      'wake-up latency lower than redis-semaphore’s (p50, p95)',
      `${fmt(ours.wakeP50)} / ${fmt(ours.wakeP95)} ms vs ${fmt(theirs.wakeP50)} / ${fmt(theirs.wakeP95)} ms`,
      ours.wakeP50 < theirs.wakeP50 && ours.wakeP95 < theirs.wakeP95,
    ],
    [
      'order inversions: 0 (against requests made ≥ 1 ms earlier)',
      `${ours.inversionsApart} (any: ${ours.inversions})`,
      ours.inversionsApart === 0,
    ],
  ];
  return [
    '| target (issue #15) | measured | met |',
    '| --- | --- | --- |',
    ...rows.map(([what, measured, met]) => `| ${what} | ${measured} | ${met ? 'yes' : '**no**'} |`),
  ].join('\n');
}

function rsVersion() {
  try {
    return require('redis-semaphore/package.json').version;
  } catch {
    return JSON.parse(
      fs.readFileSync(
        path.resolve(__dirname, '..', '..', 'node_modules', 'redis-semaphore', 'package.json'),
        'utf8',
      ),
    ).version;
  }
}

/** Replaces the W7 section of `file` (up to the next "## " heading) with `text`, or adds it before "## Reproduce". */
function spliceSection(file, text) {
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const lines = old.split('\n');
  let start = lines.findIndex((line) => line.startsWith('## W7'));
  let end;
  if (start >= 0) {
    end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
    if (end < 0) end = lines.length;
  } else {
    start = end = lines.findIndex((line) => line.startsWith('## Reproduce'));
    if (start < 0) start = end = lines.length;
  }
  fs.writeFileSync(
    file,
    [...lines.slice(0, start), ...text.replace(/\n$/, '').split('\n'), '', ...lines.slice(end)].join('\n'),
  );
}

/** Two panels of empirical CDFs (wake-up latency; wait time under contention), one line per contender. */
function chart(samples) {
  const names = Object.keys(samples);
  const colors = ['#1f77b4', '#d62728'];
  const width = 720;
  const height = 300;
  const panel = (title, key, x0) => {
    const w = 320;
    const h = 220;
    const top = 40;
    const all = names.flatMap((n) => samples[n][key]);
    const max = Math.max(1, ...all);
    const log = (v) => Math.log10(Math.max(0.1, v));
    const lo = log(0.1);
    const hi = log(max);
    const x = (v) => x0 + ((log(v) - lo) / (hi - lo || 1)) * w;
    const y = (p) => top + h - p * h;
    let out = `<text x="${x0}" y="${top - 12}" font-size="13">${title}</text>`;
    out += `<rect x="${x0}" y="${top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`;
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      const v = 10 ** d;
      out += `<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${top + h}" stroke="#eee"/>`;
      out += `<text x="${x(v)}" y="${top + h + 14}" font-size="10" text-anchor="middle">${v} ms</text>`;
    }
    for (const p of [0, 0.5, 1])
      out += `<text x="${x0 - 4}" y="${y(p) + 3}" font-size="10" text-anchor="end">${p}</text>`;
    names.forEach((n, i) => {
      const values = samples[n][key];
      const step = Math.max(1, Math.floor(values.length / 200)); // at most ~200 points a line
      const picked = values
        .map((v, k) => [v, k])
        .filter(([, k]) => k % step === 0 || k === values.length - 1);
      const points = picked.map(([v, k]) => `${x(v).toFixed(1)},${y((k + 1) / values.length).toFixed(1)}`);
      out += `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${points.join(' ')}"/>`;
    });
    return out;
  };
  let legend = '';
  names.forEach((n, i) => {
    legend += `<rect x="${40 + i * 260}" y="${height - 14}" width="10" height="10" fill="${colors[i]}"/>`;
    legend += `<text x="${55 + i * 260}" y="${height - 5}" font-size="11">${n}</text>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    panel('Wake-up latency, release to grant (CDF)', 'wake', 40) +
    panel('Wait time, 8 processes x 1 permit (CDF)', 'waits', 390) +
    legend +
    `</svg>\n`
  );
}

module.exports = { TITLE, DESCRIPTION, measure, table, section, chart, spliceSection };

if (require.main === module && process.argv[2] === '--child') {
  runChild(process.argv[3]);
} else if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : null;
  };
  const quick = args.includes('--quick');
  const filter = option('--filter') === null ? null : new RegExp(option('--filter'));
  const json = option('--json');
  if (filter && !Object.keys(allContenders).some((name) => filter.test(name))) {
    const skipped = `no W7 contender matches ${filter}`;
    console.log(skipped);
    if (json) fs.writeFileSync(json, JSON.stringify({ skipped }));
    process.exit(0);
  }
  measure({ quick, filter }).then(
    (run) => {
      const text = section(run);
      console.log(`${table(run)}\n\n${targets(run)}`);
      const svg = option('--svg');
      if (svg) {
        fs.writeFileSync(svg, chart(run.samples));
        console.log(`\nwrote ${svg}`);
      }
      const results = option('--results');
      if (results && !quick && filter === null) {
        spliceSection(results, text);
        console.log(`wrote the W7 section of ${results}`);
      } else if (results) console.log(`${results} not written (--quick or --filter)`);
      if (json)
        fs.writeFileSync(
          json,
          JSON.stringify({
            title: TITLE,
            description: DESCRIPTION,
            markdown: text,
            table: `${table(run)}\n\n${targets(run)}`,
          }),
        );
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}

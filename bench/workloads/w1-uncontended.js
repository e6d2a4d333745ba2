'use strict';
// W1: uncontended acquire + release, 10^6 times, on a semaphore of 1 nobody else uses.

const { mark, since } = require('../harness.js');

module.exports = function w1(libs, { scale }) {
  const { builds, asyncMutex, Sema, pLimit, LowerBoundSemaphore, floorAcquire } = libs;
  const n = Math.round(1e6 * scale);

  // Every semaphore is stored where the optimizing compiler can see it escape, as a shared one
  // does: a semaphore local to the timed function could otherwise be scalar-replaced away.
  const shared = { current: null };
  const keep = (sem) => {
    shared.current = sem;
    return sem;
  };

  // Thrown from inside the timed loops: allocated once, since even a never-taken `new Error(…)` in a
  // loop body slows the optimized loop (measured: +1 ns/op for the lower bound, +4 for rxjs-permits).
  const NOT_ACQUIRED = new Error('W1: an uncontended acquire failed');

  const check = (ok, what) => {
    if (!ok) throw new Error(`W1 ${what}: semaphore left in a wrong state`);
  };

  // Each build's rxjs-permits contenders, from that build's own copy of this module.
  const ctx = { keep, NOT_ACQUIRED, check };
  const perBuild = builds.map((build) => build.copy(module.filename).permitsContenders(build, ctx));
  const each = (key) => perBuild.map((c) => c[key]).filter(Boolean);

  const contenders = [
    {
      name: 'lower bound: tryAcquire + release',
      run(n) {
        const sem = keep(new LowerBoundSemaphore(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          if (!sem.tryAcquire()) throw NOT_ACQUIRED;
          sem.release();
        }
        const { ns, cpu } = since(t0);
        check(sem.value === 1, this.name);
        return { ns, cpu };
      },
    },
    ...each('tryAcquire'),
    ...each('engine'),
    {
      name: 'async-sema: tryAcquire + release',
      run(n) {
        const sem = keep(new Sema(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          const token = sem.tryAcquire();
          if (token === undefined) throw NOT_ACQUIRED;
          sem.release(token);
        }
        const { ns, cpu } = since(t0);
        check(sem.nrWaiting() === 0 && sem.tryAcquire() !== undefined, this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'lower bound: acquire(callback) + release',
      run(n) {
        const sem = keep(new LowerBoundSemaphore(1));
        let granted = 0;
        const onGrant = () => {
          granted++;
          sem.release();
        };
        const t0 = mark();
        for (let i = 0; i < n; i++) sem.acquire(onGrant);
        const { ns, cpu } = since(t0);
        check(granted === n && sem.value === 1, this.name);
        return { ns, cpu };
      },
    },
    ...each('acquire'),
    {
      name: 'RxJS floor: lower bound as an Observable, acquire$().subscribe(release)',
      run(n) {
        const sem = keep(new LowerBoundSemaphore(1));
        let granted = 0;
        const onGrant = (ok) => {
          if (ok) granted++;
          sem.release();
        };
        const t0 = mark();
        for (let i = 0; i < n; i++) floorAcquire(sem).subscribe(onGrant);
        const { ns, cpu } = since(t0);
        check(granted === n && sem.value === 1, this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'async-mutex Mutex: await acquire(), release()',
      async run(n) {
        const mutex = keep(new asyncMutex.Mutex());
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          const release = await mutex.acquire();
          release();
        }
        const { ns, cpu } = since(t0);
        check(!mutex.isLocked(), this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'async-mutex Semaphore(1): await acquire(), release()',
      async run(n) {
        const sem = keep(new asyncMutex.Semaphore(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          const [, release] = await sem.acquire();
          release();
        }
        const { ns, cpu } = since(t0);
        check(sem.getValue() === 1, this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'async-sema: await acquire(), release()',
      async run(n) {
        const sem = keep(new Sema(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          await sem.acquire();
          sem.release();
        }
        const { ns, cpu } = since(t0);
        check(sem.nrWaiting() === 0, this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'async-mutex Semaphore(1): await runExclusive(() => x)',
      async run(n) {
        const sem = keep(new asyncMutex.Semaphore(1));
        let ran = 0;
        const task = () => ++ran;
        const t0 = mark();
        for (let i = 0; i < n; i++) await sem.runExclusive(task);
        const { ns, cpu } = since(t0);
        check(ran === n && sem.getValue() === 1, this.name);
        return { ns, cpu };
      },
    },
    {
      name: 'p-limit(1): await limit(fn)',
      async run(n) {
        const limit = keep(pLimit(1));
        let ran = 0;
        const fn = () => {
          ran++;
        };
        const t0 = mark();
        for (let i = 0; i < n; i++) await limit(fn);
        const { ns, cpu } = since(t0);
        check(ran === n && limit.activeCount === 0, this.name);
        return { ns, cpu };
      },
    },
    // async/await (issue #12, SPEC rule 22): absent from a build without lease() and run().
    ...each('lease'),
    ...each('run'),
  ];

  return {
    id: 'W1',
    title: 'Uncontended acquire + release',
    description:
      'A semaphore of 1 that nobody else uses: take the permit and give it back, n times. ' +
      'Synchronous contenders loop; Promise-based ones `await` each acquire (one microtask hop each), ' +
      "or each run of a task returning a plain value (p-limit's `limit(fn)`, async-mutex's `runExclusive`, " +
      "rxjs-permits' `run`).",
    groups: [
      {
        id: 'W1',
        n,
        minTime: 2e7, // repeat runs shorter than 20 ms
        unit: 'ns / acquire+release',
        baseline: 'lower bound: tryAcquire + release',
        baselineLabel: 'lower bound',
        contenders,
      },
    ],
  };
};

/**
 * The rxjs-permits contenders of one build; called on that build's own copy of this module (see
 * `copyFor` in ../libs.js), so the loops below see one build's classes only.
 */
module.exports.permitsContenders = function permitsContenders(build, { keep, NOT_ACQUIRED, check }) {
  const { permits, engine } = build;
  return {
    tryAcquire: {
      name: `${build.name}: tryAcquire + release`,
      run(n) {
        const sem = keep(new permits.Semaphore(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          if (!sem.tryAcquire()) throw NOT_ACQUIRED;
          sem.release();
        }
        const { ns, cpu } = since(t0);
        check(sem.value === 1, this.name);
        return { ns, cpu };
      },
    },
    engine: engine && {
      name: `${build.name} engine (src/core, no checks): tryAcquire(1) + release(1)`,
      run(n) {
        const core = keep(engine.create(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          if (!core.tryAcquire(1)) throw NOT_ACQUIRED;
          core.release(1);
        }
        const { ns, cpu } = since(t0);
        check(core.value === 1, this.name);
        return { ns, cpu };
      },
    },
    lease: typeof permits.Semaphore.prototype.lease === 'function' && {
      name: `${build.name}: await lease() + release()`,
      async run(n) {
        const sem = keep(new permits.Semaphore(1));
        const t0 = mark();
        for (let i = 0; i < n; i++) {
          const lease = await sem.lease();
          lease.release();
        }
        const { ns, cpu } = since(t0);
        check(sem.value === 1 && sem.waiting === 0, this.name);
        return { ns, cpu };
      },
    },
    run: typeof permits.Semaphore.prototype.run === 'function' && {
      name: `${build.name}: await run(() => x)`,
      async run(n) {
        const sem = keep(new permits.Semaphore(1));
        let ran = 0;
        const task = () => ++ran;
        const t0 = mark();
        for (let i = 0; i < n; i++) await sem.run(task);
        const { ns, cpu } = since(t0);
        check(ran === n && sem.value === 1 && sem.waiting === 0, this.name);
        return { ns, cpu };
      },
    },
    acquire: {
      name: `${build.name}: acquire().subscribe(release)`,
      run(n) {
        const sem = keep(new permits.Semaphore(1));
        let granted = 0;
        const onGrant = (ok) => {
          if (ok) granted++;
          sem.release();
        };
        const t0 = mark();
        for (let i = 0; i < n; i++) sem.acquire().subscribe(onGrant);
        const { ns, cpu } = since(t0);
        check(granted === n && sem.value === 1, this.name);
        return { ns, cpu };
      },
    },
  };
};

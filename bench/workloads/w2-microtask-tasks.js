'use strict';
// W2: n tasks that each resolve on a microtask, at most 8 at once.
//
// The task is the same for every contender: `taskP(x) = Promise.resolve(x)`, wrapped for the
// RxJS contenders as `task(x) = defer(() => taskP(x))` (it starts when it is subscribed, i.e. once
// it holds its slot).

const { mark, since } = require('../harness.js');

const LIMIT = 8;

module.exports = function w2(libs, { scale }) {
  const { builds, rxjs, asyncMutex, Sema, pLimit, LowerBoundSemaphore } = libs;
  const { defer, range, mergeMap } = rxjs;

  const taskP = (x) => Promise.resolve(x);
  const task = (x) => defer(() => taskP(x));

  /** Subscribes `observable`, resolves with the time to completion; checks n values arrived. */
  function runRx(name, observable, n, after) {
    return new Promise((resolve, reject) => {
      let count = 0;
      const t0 = mark();
      observable.subscribe({
        next: () => {
          count++;
        },
        error: reject,
        complete: () => {
          const { ns, cpu } = since(t0);
          if (count !== n) reject(new Error(`W2 ${name}: ${count} of ${n} values`));
          else if (after && !after()) reject(new Error(`W2 ${name}: semaphore left in a wrong state`));
          else resolve({ ns, cpu });
        },
      });
    });
  }

  /** Starts n promise-returning jobs; resolves with the time until the last one settled. */
  function runPromises(name, n, start, after) {
    return new Promise((resolve, reject) => {
      let done = 0;
      const onDone = () => {
        if (++done === n) {
          const { ns, cpu } = since(t0);
          if (after && !after()) reject(new Error(`W2 ${name}: semaphore left in a wrong state`));
          else resolve({ ns, cpu });
        }
      };
      const t0 = mark();
      for (let i = 0; i < n; i++) start(i).then(onDone, reject);
    });
  }

  const baseline = {
    name: 'rxjs: mergeMap(task, 8)',
    run(n) {
      return runRx(this.name, range(0, n).pipe(mergeMap(task, LIMIT)), n);
    },
  };
  // Each build's rxjs-permits contenders, from that build's own copy of this module.
  const perBuild = builds.map((build) =>
    build.copy(module.filename).permitsContenders(build, { runRx, runPromises, task, taskP, range }),
  );
  // async/await (issue #12, SPEC rule 22): absent from a build without run().
  const runs = (n) => perBuild.map((c) => c.run && c.run(n)).filter(Boolean);
  const mergeMapWithPermits = perBuild.map((c) => c.mergeMapWithPermit);
  const withPermitInners = (rounds) => perBuild.map((c) => c.withPermitInner(rounds));
  const others = [
    {
      name: 'lower bound: acquire(cb) → task → release',
      run(n) {
        const sem = new LowerBoundSemaphore(LIMIT);
        return runPromises(
          this.name,
          n,
          (i) =>
            new Promise((resolve) => {
              sem.acquire(() =>
                taskP(i).then((v) => {
                  sem.release();
                  resolve(v);
                }),
              );
            }),
          () => sem.value === LIMIT,
        );
      },
    },
    {
      name: 'async-mutex Semaphore(8): runExclusive(task)',
      n: Math.round(1e4 * scale),
      note: 'at 10^4: its queue is an array emptied with Array#shift, O(queue) per task at 10^5',
      run(n) {
        const sem = new asyncMutex.Semaphore(LIMIT);
        return runPromises(
          this.name,
          n,
          (i) => sem.runExclusive(() => taskP(i)),
          () => sem.getValue() === LIMIT,
        );
      },
    },
    {
      name: 'async-sema(8): await acquire(); await task; release()',
      run(n) {
        const sem = new Sema(LIMIT);
        const job = async (i) => {
          await sem.acquire();
          try {
            return await taskP(i);
          } finally {
            sem.release();
          }
        };
        return runPromises(this.name, n, job, () => sem.nrWaiting() === 0);
      },
    },
    {
      name: 'p-limit(8): limit(task)',
      run(n) {
        const limit = pLimit(LIMIT);
        return runPromises(
          this.name,
          n,
          (i) => limit(taskP, i),
          () => limit.activeCount === 0,
        );
      },
    },
    ...runs(),
    // At async-mutex's n, to compare with it at the same size.
    ...runs(Math.round(1e4 * scale)),
  ];

  const big = Math.round(1e5 * scale);
  const small = Math.round(1e4 * scale);
  return {
    id: 'W2',
    title: 'Tasks that resolve on a microtask, limit 8',
    description:
      'n tasks, each `Promise.resolve(x)` (as `defer(() => Promise.resolve(x))` for RxJS), at most 8 at ' +
      'once; time until the last one finished. Baseline: RxJS `mergeMap(task, 8)` in the same round.',
    groups: [
      {
        id: 'W2',
        n: big,
        unit: 'ns / task',
        baseline: baseline.name,
        baselineLabel: 'mergeMap(task, 8)',
        contenders: [baseline, ...mergeMapWithPermits, ...others],
      },
      {
        id: 'W2-withPermit-10^4',
        n: small,
        unit: 'ns / task',
        baseline: baseline.name,
        baselineLabel: 'mergeMap(task, 8)',
        contenders: [baseline, ...mergeMapWithPermits, ...withPermitInners()],
      },
      {
        id: 'W2-withPermit-10^5',
        n: big,
        unit: 'ns / task',
        baseline: baseline.name,
        baselineLabel: 'mergeMap(task, 8)',
        contenders: [baseline, ...withPermitInners(1)],
      },
    ],
  };
};

/**
 * The rxjs-permits contenders of one build; called on that build's own copy of this module (see
 * `copyFor` in ../libs.js), so each build's operators meet only that build's semaphores.
 */
module.exports.permitsContenders = function permitsContenders(
  build,
  { runRx, runPromises, task, taskP, range },
) {
  const { Semaphore, withPermit, mergeMapWithPermit } = build.permits;
  const { mergeMap } = require('rxjs');
  return {
    run:
      typeof Semaphore.prototype.run === 'function' &&
      ((n) => ({
        name: `${build.name}: run(task)${n === undefined ? '' : ", at async-mutex's n"}`,
        n,
        run(n) {
          const sem = new Semaphore(LIMIT);
          return runPromises(
            this.name,
            n,
            (i) => sem.run(() => taskP(i)),
            () => sem.value === LIMIT && sem.waiting === 0,
          );
        },
      })),
    mergeMapWithPermit: {
      name: `${build.name}: mergeMapWithPermit(sem, task)`,
      run(n) {
        const sem = new Semaphore(LIMIT);
        return runRx(
          this.name,
          range(0, n).pipe(mergeMapWithPermit(sem, task)),
          n,
          () => sem.value === LIMIT,
        );
      },
    },
    withPermitInner: (rounds) => ({
      name: `${build.name}: mergeMap(x => task(x).pipe(withPermit(sem)))`,
      note: rounds === undefined ? undefined : 'quadratic in RxJS 7: one round, warmed up at 10^4',
      rounds,
      warmup: rounds === undefined,
      run(n) {
        const sem = new Semaphore(LIMIT);
        const gated = withPermit(sem);
        return runRx(
          this.name,
          range(0, n).pipe(mergeMap((x) => task(x).pipe(gated))),
          n,
          () => sem.value === LIMIT,
        );
      },
    }),
  };
};

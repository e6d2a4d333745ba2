'use strict';
// W5: 10^6 gated streams that complete synchronously, through one semaphore, in constant stack
// depth (SPEC rule 4). Baseline: `range(0, n).pipe(mergeMap(x => of(x), 1))` in the same round.

const { mark, since } = require('../harness.js');

module.exports = function w5(libs, { scale }) {
  const { builds, rxjs, LowerBoundSemaphore, floorWithPermit } = libs;
  const { formatN } = require('../harness.js');
  const { of, range, mergeMap } = rxjs;
  const n = Math.round(1e6 * scale);

  function run(name, observable, n, before, after) {
    let count = 0;
    let completed = false;
    let failure = null;
    const t0 = mark();
    observable.subscribe({
      next: () => {
        count++;
      },
      error: (error) => {
        failure = error;
      },
      complete: () => {
        completed = true;
      },
    });
    const subscribeNs = since(t0).ns;
    if (before) before();
    const { ns, cpu } = since(t0);
    if (failure) throw failure; // a RangeError here would be a stack overflow
    if (!completed || count !== n)
      throw new Error(`W5 ${name}: ${count} of ${n} values, completed: ${completed}`);
    if (after && !after()) throw new Error(`W5 ${name}: semaphore left in a wrong state`);
    return { ns, cpu, extra: before ? { queueNs: subscribeNs } : undefined };
  }

  const project = (x) => of(x);

  // Each build's rxjs-permits contenders, from that build's own copy of this module.
  const perBuild = builds.map((build) => build.copy(module.filename).permitsContenders(build, { run }));
  const each = (key) => perBuild.map((c) => c[key]);

  const contenders = [
    {
      name: 'rxjs: range(0, n).pipe(mergeMap(x => of(x), 1))',
      run(n) {
        return run(this.name, range(0, n).pipe(mergeMap(project, 1)), n);
      },
    },
    {
      name: 'RxJS floor: mergeMap(x => of(x).pipe(g)), g a Subscriber-holder withPermit on the lower bound',
      run(n) {
        const sem = new LowerBoundSemaphore(1);
        const gated = floorWithPermit(sem);
        return run(
          this.name,
          range(0, n).pipe(mergeMap((x) => of(x).pipe(gated))),
          n,
          null,
          () => sem.value === 1,
        );
      },
    },
    ...each('withPermit'),
    ...each('withPermitOnce'),
    ...each('mergeMapWithPermit'),
  ];

  /**
   * For the notes: RxJS's own `mergeMap(…, 1)` with its first inner held and n sync inners buffered
   * behind it. On release it drains the buffer recursively (each inner's completion subscribes the
   * next), and the stack overflow that follows is swallowed: it stops, with neither error nor
   * completion.
   */
  function rxjsBufferedDrain(n) {
    const { Subject } = rxjs;
    const gate = new Subject();
    let count = 0;
    let outcome = 'neither completed nor errored';
    range(0, n)
      .pipe(mergeMap((x) => (x === 0 ? gate : of(x)), 1))
      .subscribe({
        next: () => {
          count++;
        },
        error: (error) => {
          outcome = `errored (${error && error.name})`;
        },
        complete: () => {
          outcome = 'completed';
        },
      });
    try {
      gate.complete();
    } catch (error) {
      outcome = `threw (${error && error.name})`;
    }
    return `${count} of ${n - 1} buffered values emitted, ${outcome}`;
  }

  function notes() {
    const small = Math.round(1e4 * scale);
    return (
      "Stack safety, for comparison: RxJS 7's own `mergeMap(x => x === 0 ? held$ : of(x), 1)` over " +
      `\`range(0, ${formatN(small)})\`, with the first inner held and then completed (its buffer drains ` +
      `recursively): ${rxjsBufferedDrain(small)}. \`mergeMapWithPermit\` above queues and drains ` +
      `${formatN(n)} values in constant stack depth (every run checks count, completion and the semaphore's value).`
    );
  }

  return {
    notes,
    id: 'W5',
    title: 'Synchronously completing gated streams',
    description:
      'n inners that complete synchronously: under `mergeMap` gated by `withPermit`, and queued by ' +
      '`mergeMapWithPermit` behind a held permit, then drained by one release (time from subscribe to ' +
      'completion). Baseline: `range(0, n).pipe(mergeMap(x => of(x), 1))` in the same round.',
    groups: [
      {
        id: 'W5',
        n,
        unit: 'ns / item',
        extraColumn: { key: 'queueNs', label: 'of which queueing' },
        baseline: contenders[0].name,
        baselineLabel: 'mergeMap(x => of(x), 1)',
        contenders,
      },
    ],
  };
};

/**
 * The rxjs-permits contenders of one build; called on that build's own copy of this module (see
 * `copyFor` in ../libs.js), so each build's operators meet only that build's semaphores.
 */
module.exports.permitsContenders = function permitsContenders(build, { run }) {
  const { of, range, mergeMap } = require('rxjs');
  const { Semaphore, withPermit, mergeMapWithPermit } = build.permits;
  const project = (x) => of(x);
  return {
    withPermit: {
      name: `${build.name}: mergeMap(x => of(x).pipe(withPermit(sem)))`,
      run(n) {
        const sem = new Semaphore(1);
        return run(
          this.name,
          range(0, n).pipe(mergeMap((x) => of(x).pipe(withPermit(sem)))),
          n,
          null,
          () => sem.value === 1,
        );
      },
    },
    withPermitOnce: {
      name: `${build.name}: same, withPermit(sem) created once`,
      run(n) {
        const sem = new Semaphore(1);
        const gated = withPermit(sem);
        return run(
          this.name,
          range(0, n).pipe(mergeMap((x) => of(x).pipe(gated))),
          n,
          null,
          () => sem.value === 1,
        );
      },
    },
    mergeMapWithPermit: {
      name: `${build.name}: mergeMapWithPermit(sem, x => of(x)), all queued behind a held permit, one release`,
      run(n) {
        const sem = new Semaphore(1);
        sem.tryAcquire();
        return run(
          this.name,
          range(0, n).pipe(mergeMapWithPermit(sem, project)),
          n,
          () => {
            if (sem.waiting !== n) throw new Error(`W5: ${sem.waiting} of ${n} queued`);
            sem.release();
          },
          () => sem.value === 1 && sem.waiting === 0,
        );
      },
    },
  };
};

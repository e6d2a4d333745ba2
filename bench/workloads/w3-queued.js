'use strict';
// W3: n requests queued on a held semaphore (heap per queued request), then drained by one release
// whose permit every grantee passes on (time per waiter).
//
// Every contender's grantee is one shared callback that counts and releases, so the heap figure is
// the cost of the queued request itself: for rxjs-permits `sem.acquire().subscribe(onGrant)`, for
// async-sema `sema.acquire().then(onGrant)`, for the lower bound `sem.acquire(onGrant)`.

const { mark, since, gc, heapUsedExact } = require('../harness.js');

module.exports = function w3(libs, { scale }) {
  const { builds, asyncMutex, Sema, pLimit, LowerBoundSemaphore, floorAcquire } = libs;
  const n = Math.round(1e5 * scale);

  const fail = (name, what) => {
    throw new Error(`W3 ${name}: ${what}`);
  };

  /**
   * The measurement shared by every contender. `setup(n)` makes a held semaphore and returns
   * `[enqueue, granted, after]`: `enqueue(n)` queues n requests and returns `drain()`, which
   * releases the held permit and resolves once all n were granted.
   *
   * Two passes on two fresh setups. The heap pass measures with full, memory-reducing collections
   * (`gc()` without options: the only kind after which `heapUsed` is exact here) and drains
   * untimed; that collection also discards optimized code, so the untimed drain re-warms it. The
   * timed pass then enqueues and drains with nothing in between.
   */
  async function measure(name, n, setup) {
    const [enqueueA, grantedA, afterA] = setup(n);
    const before = heapUsedExact();
    const drainA = enqueueA(n);
    const heap = (heapUsedExact() - before) / n;
    if (grantedA() !== 0) fail(name, 'granted while held');
    await drainA();
    if (grantedA() !== n) fail(name, `${grantedA()} of ${n} granted`);
    if (afterA && !afterA()) fail(name, 'semaphore left in a wrong state');

    gc();
    const [enqueue, granted, after] = setup(n);
    const t0 = mark();
    const drain = enqueue(n);
    const enqueueNs = since(t0).ns;
    if (granted() !== 0) fail(name, 'granted while held');
    const t1 = mark();
    await drain();
    const { ns, cpu } = since(t1);
    if (granted() !== n) fail(name, `${granted()} of ${n} granted`);
    if (after && !after()) fail(name, 'semaphore left in a wrong state');
    return { ns, cpu, heap, extra: { enqueueNs } };
  }

  // Each build's rxjs-permits contenders, from that build's own copy of this module.
  const perBuild = builds.map((build) => build.copy(module.filename).permitsContenders(build, { scale }));
  const each = (key) => perBuild.map((c) => c[key]).filter(Boolean);

  const contenders = [
    {
      name: 'lower bound: acquire(cb)',
      setup(n) {
        const sem = new LowerBoundSemaphore(1);
        sem.tryAcquire();
        let granted = 0;
        const onGrant = () => {
          granted++;
          sem.release();
        };
        return [
          (n) => {
            for (let i = 0; i < n; i++) sem.acquire(onGrant);
            return () => sem.release();
          },
          () => granted,
          () => sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
    ...each('engine'),
    {
      name: 'RxJS floor: lower bound as an Observable, acquire$().subscribe(cb)',
      setup(n) {
        const sem = new LowerBoundSemaphore(1);
        sem.tryAcquire();
        let granted = 0;
        const onGrant = (ok) => {
          if (ok) granted++;
          sem.release();
        };
        return [
          (n) => {
            for (let i = 0; i < n; i++) floorAcquire(sem).subscribe(onGrant);
            return () => sem.release();
          },
          () => granted,
          () => sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
    ...each('callback'),
    ...each('observer'),
    ...each('mergeMapWithPermit'),
    ...each('withPermitInner'),
    {
      name: 'async-sema: acquire().then(cb)',
      setup(n) {
        const sem = new Sema(1);
        sem.tryAcquire();
        let granted = 0;
        let finished = null;
        const onGrant = () => {
          granted++;
          sem.release();
          if (granted === n) finished();
        };
        return [
          (n) => {
            for (let i = 0; i < n; i++) sem.acquire().then(onGrant);
            return () =>
              new Promise((resolve) => {
                finished = resolve;
                sem.release();
              });
          },
          () => granted,
          () => sem.nrWaiting() === 0,
        ];
      },
    },
    {
      name: 'async-mutex Semaphore(1): acquire().then(cb)',
      n: Math.round(1e4 * scale),
      note: 'at 10^4: its queue is emptied with Array#shift, O(queue) per grant',
      setup(n) {
        const sem = new asyncMutex.Semaphore(1);
        let granted = 0;
        let finished = null;
        const onGrant = ([, release]) => {
          granted++;
          release();
          if (granted === n) finished();
        };
        return [
          (n) => {
            let releaseHeld = null;
            sem.acquire().then(([, release]) => {
              releaseHeld = release;
            });
            for (let i = 0; i < n; i++) sem.acquire().then(onGrant);
            return async () => {
              while (releaseHeld === null) await null; // the holder runs a microtask later
              await new Promise((resolve) => {
                finished = resolve;
                releaseHeld();
              });
            };
          },
          () => granted,
          () => sem.getValue() === 1,
        ];
      },
    },
    {
      name: 'p-limit(1): limit(cb)',
      setup(n) {
        const limit = pLimit(1);
        let granted = 0;
        let finished = null;
        const onGrant = () => {
          granted++;
          if (granted === n) finished();
        };
        return [
          (n) => {
            let releaseHeld = null;
            limit(() => new Promise((resolve) => (releaseHeld = resolve)));
            for (let i = 0; i < n; i++) limit(onGrant);
            return async () => {
              while (releaseHeld === null) await null; // the holder runs a few microtasks later
              await new Promise((resolve) => {
                finished = resolve;
                releaseHeld();
              });
            };
          },
          () => granted,
          () => limit.pendingCount === 0,
        ];
      },
    },
  ];

  for (const contender of contenders) contender.run = (n) => measure(contender.name, n, contender.setup);

  return {
    id: 'W3',
    title: 'Queued on a held semaphore, then drained',
    description:
      'n requests queue on a semaphore of 1 whose permit is held; heap per queued request is measured ' +
      'after a full GC; then one release is passed from grantee to grantee until all n ran (time per waiter). ' +
      'Every grantee is one shared callback.',
    groups: [
      {
        id: 'W3',
        n,
        minTime: 2e7, // repeat runs shorter than 20 ms
        unit: 'drain ns / waiter',
        extraColumn: { key: 'enqueueNs', label: 'enqueue / waiter' },
        baseline: 'lower bound: acquire(cb)',
        baselineLabel: 'lower bound',
        contenders,
      },
    ],
  };
};

/**
 * The rxjs-permits contenders of one build; called on that build's own copy of this module (see
 * `copyFor` in ../libs.js), so each build's operators meet only that build's semaphores.
 */
module.exports.permitsContenders = function permitsContenders(build, { scale }) {
  const { of, range, mergeMap } = require('rxjs');
  const { Semaphore, withPermit, mergeMapWithPermit } = build.permits;
  const { engine } = build;
  return {
    engine: engine && {
      name: `${build.name} engine (src/core, no RxJS): request(1, grantee)`,
      setup() {
        const core = engine.create(1);
        core.tryAcquire(1);
        let granted = 0;
        const grantee = engine.grantee(() => {
          granted++;
          core.release(1);
        });
        const demand = engine.demand(1);
        return [
          (n) => {
            for (let i = 0; i < n; i++) core.request(demand, grantee);
            return () => core.release(1);
          },
          () => granted,
          () => core.value === 1 && core.waiting === 0,
        ];
      },
    },
    callback: {
      name: `${build.name}: acquire().subscribe(cb)`,
      setup() {
        const sem = new Semaphore(1);
        sem.tryAcquire();
        let granted = 0;
        const onGrant = (ok) => {
          if (ok) granted++;
          sem.release();
        };
        return [
          (n) => {
            for (let i = 0; i < n; i++) sem.acquire().subscribe(onGrant);
            return () => sem.release();
          },
          () => granted,
          () => sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
    observer: {
      name: `${build.name}: acquire().subscribe(observer)`,
      setup() {
        const sem = new Semaphore(1);
        sem.tryAcquire();
        let granted = 0;
        const observer = {
          next(ok) {
            if (ok) granted++;
            sem.release();
          },
        };
        return [
          (n) => {
            for (let i = 0; i < n; i++) sem.acquire().subscribe(observer);
            return () => sem.release();
          },
          () => granted,
          () => sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
    mergeMapWithPermit: {
      name: `${build.name}: mergeMapWithPermit(sem, x => of(x)), per queued value`,
      setup() {
        const sem = new Semaphore(1);
        sem.tryAcquire();
        let granted = 0;
        let completed = false;
        const project = (x) => of(x);
        return [
          (n) => {
            range(0, n)
              .pipe(mergeMapWithPermit(sem, project))
              .subscribe({
                next: () => {
                  granted++;
                },
                complete: () => {
                  completed = true;
                },
              });
            return () => sem.release();
          },
          () => granted,
          () => completed && sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
    withPermitInner: {
      name: `${build.name}: mergeMap(x => of(x).pipe(withPermit(sem))), per waiting inner`,
      n: Math.round(1e4 * scale),
      note: 'a live inner subscription per waiter; at 10^4: RxJS 7 removes each finished inner in O(live inners)',
      setup() {
        const sem = new Semaphore(1);
        sem.tryAcquire();
        const gated = withPermit(sem);
        let granted = 0;
        let completed = false;
        return [
          (n) => {
            range(0, n)
              .pipe(mergeMap((x) => of(x).pipe(gated)))
              .subscribe({
                next: () => {
                  granted++;
                },
                complete: () => {
                  completed = true;
                },
              });
            return () => sem.release();
          },
          () => granted,
          () => completed && sem.value === 1 && sem.waiting === 0,
        ];
      },
    },
  };
};

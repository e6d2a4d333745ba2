'use strict';
// W4: n requests queued on a held semaphore, then each withdrawn, in one random order (the same
// permutation for every contender). Time per withdrawal at 10^4 and at 10^5: it must not grow
// with the queue.
//
// async-mutex, async-sema and p-limit cannot withdraw one queued request (only cancel or clear
// all of them), so they do not take part.

const { mark, since, permutation } = require('../harness.js');

module.exports = function w4(libs, { scale }) {
  const { builds, LowerBoundSemaphore, floorAcquire } = libs;

  const fail = (name, what) => {
    throw new Error(`W4 ${name}: ${what}`);
  };

  const orders = new Map();
  const orderFor = (n) => {
    if (!orders.has(n)) orders.set(n, permutation(n, 0x5eed + n));
    return orders.get(n);
  };

  function contenders() {
    // Each build's rxjs-permits contenders, from that build's own copy of this module.
    const perBuild = builds.map((build) =>
      build.copy(module.filename).permitsContenders(build, { orderFor, fail }),
    );
    const each = (key) => perBuild.map((c) => c[key]).filter(Boolean);
    return [
      {
        name: 'lower bound: withdraw(waiter)',
        run(n) {
          const order = orderFor(n);
          const sem = new LowerBoundSemaphore(1);
          sem.tryAcquire();
          let granted = 0;
          const onGrant = () => {
            granted++;
          };
          const waiters = new Array(n);
          for (let i = 0; i < n; i++) waiters[i] = sem.acquire(onGrant);
          const t0 = mark();
          for (let i = 0; i < n; i++) sem.withdraw(waiters[order[i]]);
          const { ns, cpu } = since(t0);
          if (sem.waiting !== 0 || granted !== 0) fail(this.name, 'queue not empty or a permit granted');
          sem.release();
          if (sem.value !== 1) fail(this.name, 'value not restored');
          return { ns, cpu };
        },
      },
      ...each('engine'),
      {
        name: 'RxJS floor: lower bound as an Observable, acquire$() subscription.unsubscribe()',
        run(n) {
          const order = orderFor(n);
          const sem = new LowerBoundSemaphore(1);
          sem.tryAcquire();
          let granted = 0;
          const onGrant = () => {
            granted++;
          };
          const subscriptions = new Array(n);
          for (let i = 0; i < n; i++) subscriptions[i] = floorAcquire(sem).subscribe(onGrant);
          const t0 = mark();
          for (let i = 0; i < n; i++) subscriptions[order[i]].unsubscribe();
          const { ns, cpu } = since(t0);
          if (sem.waiting !== 0 || granted !== 0) fail(this.name, 'queue not empty or a permit granted');
          sem.release();
          if (sem.value !== 1) fail(this.name, 'value not restored');
          return { ns, cpu };
        },
      },
      ...each('acquire'),
      ...each('withPermit'),
    ];
  }

  const group = (n) => ({
    id: `W4-${n}`,
    n,
    minTime: 2e7, // repeat runs shorter than 20 ms
    unit: 'ns / withdrawal',
    baseline: 'lower bound: withdraw(waiter)',
    baselineLabel: 'lower bound',
    contenders: contenders(),
  });

  return {
    id: 'W4',
    title: 'Withdraw queued requests in random order',
    description:
      'n requests queued on a held semaphore of 1, then every one withdrawn (unsubscribed) in a random ' +
      'order; time per withdrawal. async-mutex, async-sema and p-limit cannot withdraw a single request.',
    groups: [group(Math.round(1e4 * scale)), group(Math.round(1e5 * scale))],
  };
};

/**
 * The rxjs-permits contenders of one build; called on that build's own copy of this module (see
 * `copyFor` in ../libs.js), so each build's operators meet only that build's semaphores.
 */
module.exports.permitsContenders = function permitsContenders(build, { orderFor, fail }) {
  const { of } = require('rxjs');
  const { Semaphore, withPermit } = build.permits;
  const { engine } = build;
  return {
    engine: engine && {
      name: `${build.name} engine (src/core, no RxJS): ticket.withdraw()`,
      run(n) {
        const order = orderFor(n);
        const core = engine.create(1);
        core.tryAcquire(1);
        let granted = 0;
        const grantee = engine.grantee(() => {
          granted++;
        });
        const demand = engine.demand(1);
        const tickets = new Array(n);
        for (let i = 0; i < n; i++) tickets[i] = core.request(demand, grantee);
        const t0 = mark();
        for (let i = 0; i < n; i++) tickets[order[i]].withdraw();
        const { ns, cpu } = since(t0);
        if (core.waiting !== 0 || granted !== 0) fail(this.name, 'queue not empty or a permit granted');
        if (core.release(1) !== 1) fail(this.name, 'value not restored');
        return { ns, cpu };
      },
    },
    acquire: {
      name: `${build.name}: acquire() subscription.unsubscribe()`,
      run(n) {
        const order = orderFor(n);
        const sem = new Semaphore(1);
        sem.tryAcquire();
        let granted = 0;
        const onGrant = () => {
          granted++;
        };
        const subscriptions = new Array(n);
        for (let i = 0; i < n; i++) subscriptions[i] = sem.acquire().subscribe(onGrant);
        const t0 = mark();
        for (let i = 0; i < n; i++) subscriptions[order[i]].unsubscribe();
        const { ns, cpu } = since(t0);
        if (sem.waiting !== 0 || granted !== 0) fail(this.name, 'queue not empty or a permit granted');
        if (sem.release() !== 1) fail(this.name, 'value not restored');
        return { ns, cpu };
      },
    },
    withPermit: {
      name: `${build.name}: withPermit subscription.unsubscribe()`,
      note: 'a waiting gated stream',
      run(n) {
        const order = orderFor(n);
        const sem = new Semaphore(1);
        sem.tryAcquire();
        const gated = withPermit(sem);
        let granted = 0;
        const onValue = () => {
          granted++;
        };
        const subscriptions = new Array(n);
        for (let i = 0; i < n; i++) subscriptions[i] = of(i).pipe(gated).subscribe(onValue);
        const t0 = mark();
        for (let i = 0; i < n; i++) subscriptions[order[i]].unsubscribe();
        const { ns, cpu } = since(t0);
        if (sem.waiting !== 0 || granted !== 0) fail(this.name, 'queue not empty or a stream started');
        if (sem.release() !== 1) fail(this.name, 'value not restored');
        return { ns, cpu };
      },
    },
  };
};

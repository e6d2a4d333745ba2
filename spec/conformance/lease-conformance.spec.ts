import {
  BoundedSemaphore,
  DummySemaphore,
  PermitBackendError,
  PermitLostError,
  RLock,
  Semaphore,
  SharedSemaphore,
  reentrant,
  type Lease,
  type LeaseOptions,
} from '../../src/index.js';
import { SimulatedRemoteSemaphore } from '../../src/testing/index.js';
import { failOnUnhandledRejections, nextTask, unhandledErrorsOfEachSpec } from '../helpers/index.js';
import {
  Clock,
  N,
  counts,
  describeLeaseConformance,
  leaseOf,
  semaphorePool,
  track,
  type LeaseSubject,
  type Pool,
} from './lease-suite.js';

// Rule 22 (SPEC §6, docs/semantics.md#rule-22): the suite of ./lease-suite.ts, `lease(options)` and
// `run(task, options)`, run against every primitive of the package through one adapter each —
// Semaphore, BoundedSemaphore, RLock (`lease(owner)`, a fresh owner per request), SharedSemaphore
// in one thread, and SimulatedRemoteSemaphore, whose answers arrive `latency` ms later — then what
// is particular to RLock, to a backend that fails or loses, and DummySemaphore's variant (resolves
// at once, release does nothing). No spec may leave an unhandled rejection.

function lockPool(lock: RLock): Pool {
  const test = { test: true };
  return {
    lease: (options) => lock.lease({}, options),
    run: (task, options) => lock.run({}, task, options),
    leaseLoosely: (options) => lock.lease({}, options as LeaseOptions),
    runLoosely: (task, options) => lock.run({}, task as (lease: Lease) => unknown, options as LeaseOptions),
    get value() {
      return lock.locked() ? 0 : 1;
    },
    get waiting() {
      return lock.waiting;
    },
    stats: () => lock.stats(),
    take: (permits = 1) => {
      expect(permits).withContext('an RLock has one permit').toBe(1);
      return lock.tryAcquire(test);
    },
    isFree: () => {
      const other = {};
      const taken = lock.tryAcquire(other);
      if (taken) lock.release(other);
      return taken;
    },
    giveBack: () => lock.release(test),
    gate: (source, options = {}) => source.pipe(reentrant(lock, { owner: {}, priority: options.priority })),
  };
}

const LATENCY = 5;

const subjects: readonly LeaseSubject[] = [
  {
    title: 'Semaphore',
    label: 'Semaphore',
    latency: 0,
    weighted: true,
    synchronousGrant: true,
    create: (permits, scheduler) => semaphorePool(new Semaphore(permits, { scheduler })),
  },
  {
    title: 'BoundedSemaphore',
    label: 'BoundedSemaphore',
    latency: 0,
    weighted: true,
    synchronousGrant: true,
    create: (permits, scheduler) => semaphorePool(new BoundedSemaphore(permits, { scheduler })),
  },
  {
    title: 'RLock (lease(owner), one owner per request)',
    label: 'RLock',
    latency: 0,
    weighted: false,
    synchronousGrant: true,
    create: (permits, scheduler) => {
      expect(permits).withContext('an RLock has one permit').toBe(1);
      return lockPool(new RLock({ scheduler }));
    },
  },
  {
    title: 'SharedSemaphore (one thread, bounded)',
    label: 'SharedSemaphore',
    latency: 0,
    weighted: true,
    synchronousGrant: true,
    create: (permits, scheduler) =>
      semaphorePool(new SharedSemaphore(permits, { scheduler, bounded: true, capacity: 2 * N })),
  },
  {
    title: `SimulatedRemoteSemaphore (latency ${LATENCY}, bounded)`,
    label: 'SimulatedRemoteSemaphore',
    latency: LATENCY,
    weighted: true,
    synchronousGrant: false,
    create: (permits, scheduler) =>
      semaphorePool(new SimulatedRemoteSemaphore(permits, { latency: LATENCY, scheduler, bounded: true })),
  },
];

describe('lease() and run() on every primitive (rule 22)', () => {
  failOnUnhandledRejections();

  for (const subject of subjects) describeLeaseConformance(subject);

  describe('RLock: lease(owner) and run(owner, task)', () => {
    let clock: Clock;
    let lock: RLock;

    beforeEach(() => {
      clock = new Clock();
      lock = new RLock({ scheduler: clock.scheduler });
    });

    it('the owner re-enters at once with the token of its hold; another owner waits', async () => {
      const me = {};
      const other = {};
      const outer = track(lock.lease(me));
      const inner = track(lock.lease(me));
      const waiting = track(lock.lease(other));
      await nextTask();
      const [a, b] = [leaseOf(outer), leaseOf(inner)];
      expect([a.token, b.token, lock.count, lock.waiting]).toEqual([1, 1, 2, 1]);
      b.release();
      b.release();
      expect([lock.count, waiting.state]).toEqual([1, 'pending']);
      a.release();
      await nextTask();
      const c = leaseOf(waiting);
      expect([c.token, lock.owner === other, lock.count]).toEqual([2, true, 1]);
      c.release();
      expect(lock.locked()).toBe(false);
    });

    it('run(owner, task) re-enters for the owner and leaves the lock as it found it', async () => {
      const me = {};
      expect(lock.tryAcquire(me)).toBe(true);
      const ran = track(lock.run(me, (lease) => `count ${lock.count}, token ${lease.token}`));
      await nextTask();
      expect(ran).toEqual({ state: 'resolved', value: 'count 2, token 1' });
      expect([lock.owner === me, lock.count]).toEqual([true, 1]);
      lock.release(me);
    });

    it('an owner that is not an object: TypeError from the call', () => {
      for (const owner of [null, undefined, 1, 'me']) {
        expect(() => lock.lease(owner as unknown as object)).toThrowError(
          TypeError,
          /^RLock\.lease: owner must be an object/,
        );
        expect(() => lock.run(owner as unknown as object, () => 1)).toThrowError(
          TypeError,
          /^RLock\.run: owner must be an object/,
        );
      }
      expect([lock.locked(), lock.waiting]).toEqual([false, 0]);
    });
  });

  describe('SimulatedRemoteSemaphore: a backend that fails or loses', () => {
    const reported = unhandledErrorsOfEachSpec();
    let clock: Clock;
    let remote: SimulatedRemoteSemaphore;

    beforeEach(() => {
      clock = new Clock();
      remote = new SimulatedRemoteSemaphore(1, { latency: LATENCY, scheduler: clock.scheduler });
    });

    it('a queued lease() or run() rejects with PermitBackendError when the backend fails', async () => {
      const cause = new Error('connection reset');
      const task = jasmine.createSpy('task');
      expect(remote.tryAcquire()).toBe(true);
      const leased = track(remote.lease());
      const ran = track(remote.run(task));
      await clock.advance(LATENCY);
      remote.failPending(cause);
      await clock.advance(LATENCY - 1);
      expect([leased.state, ran.state]).toEqual(['pending', 'pending']);
      await clock.advance(1);
      for (const { reason } of [leased, ran]) {
        expect(reason).toBeInstanceOf(PermitBackendError);
        expect((reason as PermitBackendError).primitive).toBe('SimulatedRemoteSemaphore');
        expect((reason as PermitBackendError).cause).toBe(cause);
      }
      expect(task).not.toHaveBeenCalled();
      expect(remote.waiting).toBe(0);
      remote.release();
    });

    it('a lease lost after lease() resolved aborts its signal with PermitLostError when the client learns of it; nothing is thrown', async () => {
      const leased = track(remote.lease());
      await clock.advance(LATENCY);
      const lease = leaseOf(leased);
      const { signal } = lease;
      const heard: unknown[] = [];
      signal.addEventListener('abort', () => heard.push(signal.reason));
      expect(signal.aborted).toBe(false);
      remote.loseLease(lease);
      await clock.advance(LATENCY - 1);
      expect(signal.aborted).toBe(false); // the client learns one latency later
      await clock.advance(1);
      expect(signal.aborted).toBe(true);
      expect(heard.length).toBe(1);
      expect(heard[0]).toBe(signal.reason);
      expect(signal.reason).toBeInstanceOf(PermitLostError);
      expect((signal.reason as PermitLostError).token).toBe(lease.token);
      expect((signal.reason as PermitLostError).regrantable).toBe(true);
      expect(lease.released).toBe(true);
      lease.release(); // does nothing: the server freed it when it lost it
      await clock.advance(LATENCY);
      await nextTask(); // anything reported would be, on a task of its own
      expect(reported).toEqual([]);
      expect(remote.value).toBe(1);
    });

    it('a lease lost before its signal was read hands out an aborted signal', async () => {
      const leased = track(remote.lease());
      await clock.advance(LATENCY);
      const lease = leaseOf(leased);
      remote.loseLease(lease);
      await clock.advance(LATENCY);
      expect(lease.signal.aborted).toBe(true);
      expect(lease.signal.reason).toBeInstanceOf(PermitLostError);
      expect(lease.signal).toBe(lease.signal); // one signal per lease
      await nextTask();
      expect(reported).toEqual([]);
    });

    it("a lease lost while run()'s task runs rejects run() with PermitLostError; the task's result is ignored", async () => {
      let finish: (value: string) => void = () => undefined;
      let held: Lease | null = null;
      const ran = track(
        remote.run(
          (lease) =>
            new Promise<string>((resolve) => {
              held = lease;
              finish = resolve;
            }),
        ),
      );
      await clock.advance(LATENCY);
      expect(held).not.toBeNull();
      remote.loseLease(held!);
      await clock.advance(LATENCY - 1);
      expect(ran.state).toBe('pending');
      await clock.advance(1);
      expect(ran.state).toBe('rejected');
      expect(ran.reason).toBeInstanceOf(PermitLostError);
      expect((ran.reason as PermitLostError).token).toBe(held!.token);
      expect(held!.signal.aborted).toBe(true); // the task learns it from its lease
      expect(held!.signal.reason).toBe(ran.reason);
      finish('too late');
      await clock.advance(LATENCY);
      expect(ran.state).toBe('rejected');
      expect(reported).toEqual([]);
      expect([remote.value, remote.waiting]).toEqual([1, 0]);
    });
  });

  describe('DummySemaphore (never waits)', () => {
    let dummy: DummySemaphore;

    beforeEach(() => {
      dummy = new DummySemaphore();
    });

    it('resolves at once with leases whose release gives nothing back; tokens from its own counter', async () => {
      const leased = [track(dummy.lease()), track(dummy.lease({ permits: 5 })), track(dummy.lease())];
      await nextTask();
      const leases = leased.map(leaseOf);
      expect(leases.map((lease) => [lease.permits, lease.token, lease.released])).toEqual([
        [1, 1, false],
        [5, 2, false],
        [1, 3, false],
      ]);
      leases[1].release();
      expect(leases[1].released).toBe(true);
      expect([dummy.value, dummy.waiting]).toEqual([Infinity, 0]);
      expect(counts(dummy.stats())).toEqual({
        granted: 3,
        timedOut: 0,
        rejected: 0,
        withdrawn: 0,
        peakWaiting: 0,
        waitMs: { count: 3, total: 0, max: 0 },
      });
    });

    it('never times out, not even with timeout <= 0', async () => {
      const zero = track(dummy.lease({ timeout: 0 }));
      const negative = track(dummy.lease({ timeout: -1 }));
      await nextTask();
      expect([zero.state, negative.state]).toEqual(['resolved', 'resolved']);
    });

    it('an already-aborted signal still rejects at once; an abort after the grant does nothing', async () => {
      const reason = new Error('aborted');
      const rejected = track(dummy.lease({ signal: AbortSignal.abort(reason) }));
      const controller = new AbortController();
      const granted = track(dummy.lease({ signal: controller.signal }));
      await nextTask();
      controller.abort();
      await nextTask();
      expect(rejected.reason).toBe(reason);
      expect(leaseOf(granted).released).toBe(false);
      expect(dummy.stats().granted).toBe(1);
    });

    it('run() settles as the task did, a synchronous throw included, with a lease', async () => {
      const error = new Error('thrown');
      const seen: Lease[] = [];
      const resolved = track(
        dummy.run((lease) => {
          seen.push(lease);
          return Promise.resolve('ok');
        }),
      );
      const thrown = track(
        dummy.run(() => {
          throw error;
        }),
      );
      await nextTask();
      expect(resolved).toEqual({ state: 'resolved', value: 'ok' });
      expect(thrown.reason).toBe(error);
      expect(seen[0].released).toBe(true);
    });

    it(`${N} leases all resolve at once`, async () => {
      let resolved = 0;
      for (let i = 0; i < N; i++) void dummy.lease().then(() => resolved++);
      await nextTask();
      expect(resolved).toBe(N);
      expect(dummy.stats().granted).toBe(N);
    });

    it('checks its arguments as the others do', () => {
      expect(() => dummy.lease({ priority: 0.5 })).toThrowError(
        RangeError,
        'DummySemaphore.lease: options.priority must be a safe integer, got 0.5',
      );
      expect(() => dummy.lease({ signal: {} as AbortSignal })).toThrowError(
        TypeError,
        'DummySemaphore.lease: options.signal must be an AbortSignal, got an object',
      );
      expect(() => dummy.run(42 as unknown as () => void)).toThrowError(
        TypeError,
        'DummySemaphore.run: task must be a function, got 42',
      );
      expect(() => dummy.run(() => 1, { bogus: true } as LeaseOptions)).toThrowError(
        TypeError,
        'DummySemaphore.run: unknown option "bogus"; the options are permits, timeout, priority, signal, scheduler',
      );
      expect(dummy.stats().granted).toBe(0);
    });
  });
});

describe('the unhandled-rejection check of these specs', () => {
  const reasons = failOnUnhandledRejections();

  it('sees an unhandled rejection (so it can fail a spec)', async () => {
    const error = new Error('left unhandled on purpose');
    await jasmine.spyOnGlobalErrorsAsync(async () => {
      void Promise.reject(error);
      await nextTask();
      await nextTask();
    });
    expect(reasons).toEqual([error]);
    reasons.length = 0; // seen: this spec passes
  });
});

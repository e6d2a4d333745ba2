import { NEVER, VirtualTimeScheduler, of } from 'rxjs';
import {
  BoundedSemaphore,
  LockOwnershipError,
  OverReleaseError,
  PermitBackendError,
  PermitLostError,
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  boundedPermit,
  usingLease,
  withPermit,
  type Lease,
} from '../src/index.js';
import { SimulatedRemoteSemaphore } from '../src/testing/index.js';
import { createTestScheduler } from './helpers/index.js';

// SPEC §1: errors are exported classes, `instanceof`-able, with `name` set and a message that names
// the primitive and the numbers involved.

const errorClasses = [
  PermitTimeoutError,
  PermitRejectedError,
  OverReleaseError,
  LockOwnershipError,
  PermitBackendError,
  PermitLostError,
];

/** The error a call throws, or `undefined`. */
function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The error an Observable errors with synchronously, or `undefined`. */
function errorOf(source: { subscribe(observer: { error(error: unknown): void }): unknown }): unknown {
  let caught: unknown;
  source.subscribe({ error: (error) => (caught = error) });
  return caught;
}

function expectErrorClass(error: unknown, kind: new (...args: never[]) => Error, name: string): void {
  expect(error instanceof Error).toBe(true);
  expect(error instanceof kind).toBe(true);
  expect(errorClasses.filter((other) => error instanceof other)).toEqual([
    kind as (typeof errorClasses)[number],
  ]);
  expect((error as Error).name).toBe(name);
  expect(String(error)).toBe(`${name}: ${(error as Error).message}`);
  expect(typeof (error as Error).stack).toBe('string');
}

describe('errors', () => {
  describe('PermitTimeoutError', () => {
    const make = () => new PermitTimeoutError({ primitive: 'BoundedSemaphore', timeout: 250, permits: 3 });

    it('is an Error of its own class, named PermitTimeoutError', () => {
      expectErrorClass(make(), PermitTimeoutError, 'PermitTimeoutError');
    });

    it('carries the primitive, the timeout and the permits', () => {
      const error = make();
      expect([error.primitive, error.timeout, error.permits]).toEqual(['BoundedSemaphore', 250, 3]);
    });

    it('names the primitive, the timeout and the permits in its message', () => {
      const { message } = make();
      expect(message).toMatch(/BoundedSemaphore/);
      expect(message).toMatch(/\b250 ms\b/);
      expect(message).toMatch(/\b3 permits\b/);
    });

    it('says "1 permit" in the singular', () => {
      const { message } = new PermitTimeoutError({ primitive: 'Semaphore', timeout: 5, permits: 1 });
      expect(message).toMatch(/\b1 permit\b(?!s)/);
    });

    it('is what withPermit errors with when its timeout passes', () => {
      createTestScheduler().run(({ expectObservable }) => {
        const semaphore = new Semaphore(0);
        expectObservable(NEVER.pipe(withPermit(semaphore, { timeout: 5, permits: 2 }))).toBe(
          '5ms #',
          undefined,
          new PermitTimeoutError({ primitive: 'Semaphore', timeout: 5, permits: 2 }),
        );
      });
      let caught: unknown;
      createTestScheduler().run(({ flush }) => {
        NEVER.pipe(withPermit(new Semaphore(0), { timeout: 5, permits: 2 })).subscribe({
          error: (error) => (caught = error),
        });
        flush();
      });
      expectErrorClass(caught, PermitTimeoutError, 'PermitTimeoutError');
      const error = caught as PermitTimeoutError;
      expect([error.primitive, error.timeout, error.permits]).toEqual(['Semaphore', 5, 2]);
    });
  });

  describe('PermitRejectedError', () => {
    const make = () =>
      new PermitRejectedError({ primitive: 'Semaphore', permits: 2, waiting: 7, maxWaiting: 5 });

    it('is an Error of its own class, named PermitRejectedError', () => {
      expectErrorClass(make(), PermitRejectedError, 'PermitRejectedError');
    });

    it('carries the primitive, the permits, the waiting count and the limit', () => {
      const error = make();
      expect([error.primitive, error.permits, error.waiting, error.maxWaiting]).toEqual([
        'Semaphore',
        2,
        7,
        5,
      ]);
    });

    it('names the primitive and every number in its message', () => {
      const { message } = make();
      expect(message).toMatch(/Semaphore/);
      expect(message).toMatch(/\b2 permits\b/);
      expect(message).toMatch(/\b7\b/);
      expect(message).toMatch(/maxWaiting 5\b/);
    });

    it('is what boundedPermit errors with when no permit is free and the queue is full', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const error = errorOf(of('work').pipe(boundedPermit(semaphore)));
      expectErrorClass(error, PermitRejectedError, 'PermitRejectedError');
      const rejected = error as PermitRejectedError;
      expect([rejected.primitive, rejected.permits, rejected.waiting, rejected.maxWaiting]).toEqual([
        'Semaphore',
        1,
        0,
        0,
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });
  });

  describe('OverReleaseError', () => {
    const make = () =>
      new OverReleaseError({ primitive: 'BoundedSemaphore', bound: 4, value: 3, permits: 2 });

    it('is an Error of its own class, named OverReleaseError', () => {
      expectErrorClass(make(), OverReleaseError, 'OverReleaseError');
    });

    it('carries the primitive, the bound, the value and the permits', () => {
      const error = make();
      expect([error.primitive, error.bound, error.value, error.permits]).toEqual([
        'BoundedSemaphore',
        4,
        3,
        2,
      ]);
    });

    it('names the primitive, the permits, the value before and after, and the bound in its message', () => {
      const { message } = make();
      expect(message).toMatch(/BoundedSemaphore/);
      expect(message).toMatch(/releasing 2\b/);
      expect(message).toMatch(/from 3 to 5\b/);
      expect(message).toMatch(/bound of 4\b/);
    });

    it('is what a BoundedSemaphore throws when released above its bound', () => {
      const semaphore = new BoundedSemaphore(4);
      semaphore.tryAcquire();
      const error = thrownBy(() => semaphore.release(2));
      expectErrorClass(error, OverReleaseError, 'OverReleaseError');
      const overRelease = error as OverReleaseError;
      expect([overRelease.primitive, overRelease.bound, overRelease.value, overRelease.permits]).toEqual([
        'BoundedSemaphore',
        4,
        3,
        2,
      ]);
    });
  });

  describe('LockOwnershipError', () => {
    it('is an Error of its own class, named LockOwnershipError', () => {
      expectErrorClass(
        new LockOwnershipError({ primitive: 'RLock', caller: {}, owner: null }),
        LockOwnershipError,
        'LockOwnershipError',
      );
    });

    it('carries the primitive, the caller and the owner', () => {
      const caller = { name: 'caller' };
      const owner = { name: 'owner' };
      const error = new LockOwnershipError({ primitive: 'RLock', caller, owner });
      expect(error.primitive).toBe('RLock');
      expect(error.caller).toBe(caller);
      expect(error.owner).toBe(owner);
    });

    it('names the primitive and both owners when the lock is held by another', () => {
      const { message } = new LockOwnershipError({
        primitive: 'RLock',
        caller: { name: 'worker 2' },
        owner: { name: 'worker 1' },
      });
      expect(message).toMatch(/RLock/);
      expect(message).toMatch(/"worker 2"/);
      expect(message).toMatch(/held by owner "worker 1"/);
    });

    it('says when the lock was not held at all', () => {
      const { message } = new LockOwnershipError({
        primitive: 'RLock',
        caller: { name: 'worker 2' },
        owner: null,
      });
      expect(message).toMatch(/RLock/);
      expect(message).toMatch(/"worker 2"/);
      expect(message).toMatch(/not held/);
    });

    it('names an owner without a name by its class', () => {
      class Worker {}
      const { message } = new LockOwnershipError({ primitive: 'RLock', caller: new Worker(), owner: {} });
      expect(message).toMatch(/class Worker/);
    });

    it('is what an RLock throws when released by an owner that does not hold it', () => {
      const lock = new RLock();
      const holder = { name: 'holder' };
      const intruder = { name: 'intruder' };
      lock.tryAcquire(holder);
      const error = thrownBy(() => lock.release(intruder));
      expectErrorClass(error, LockOwnershipError, 'LockOwnershipError');
      const ownership = error as LockOwnershipError;
      expect([ownership.primitive, ownership.caller, ownership.owner]).toEqual(['RLock', intruder, holder]);
      expect([lock.owner, lock.count]).toEqual([holder, 1]);
    });
  });

  // A primitive given a `name` (spec/semaphore.spec.ts, 'name') says it in the errors it raises.
  describe('name', () => {
    it('of the primitive appears in a PermitTimeoutError', () => {
      const scheduler = new VirtualTimeScheduler();
      const uploads = new Semaphore(0, { name: 'uploads', scheduler });
      const errors: unknown[] = [];
      NEVER.pipe(withPermit(uploads, { timeout: 100 })).subscribe({ error: (e) => errors.push(e) });
      scheduler.flush();
      expect(errors.length).toBe(1);
      const error = errors[0] as PermitTimeoutError;
      expect(error).toBeInstanceOf(PermitTimeoutError);
      expect(error.primitive).toBe('Semaphore "uploads"');
      expect(error.message).toMatch(/^Semaphore "uploads": no permit within 100 ms/);
    });

    it('of the primitive appears in a PermitRejectedError, an OverReleaseError and a LockOwnershipError', () => {
      const errors: unknown[] = [];
      const reports = new BoundedSemaphore(1, { name: 'reports' });
      reports.tryAcquire();
      of(1)
        .pipe(boundedPermit(reports))
        .subscribe({ error: (e) => errors.push(e) });
      expect((errors[0] as PermitRejectedError).message).toMatch(/^BoundedSemaphore "reports": rejected/);
      reports.release();
      expect(() => reports.release()).toThrowMatching(
        (e) =>
          e instanceof OverReleaseError && e.message.startsWith('BoundedSemaphore "reports": releasing 1'),
      );
      expect(() => new RLock({ name: 'token' }).release({})).toThrowMatching(
        (e) => e instanceof LockOwnershipError && e.primitive === 'RLock "token"',
      );
    });
  });
});

describe('error classes built by hand (e.g. as the expected error of a marble test)', () => {
  it('need no arguments and fill in defaults', () => {
    expect(new PermitTimeoutError().message).toBe('Semaphore: no permit within 0 ms (1 permit requested)');
    expect(new PermitRejectedError().maxWaiting).toBe(0);
    expect(new OverReleaseError().bound).toBe(1);
    expect(new LockOwnershipError().owner).toBeNull();
  });

  it('take only the fields given and default the rest', () => {
    const error = new PermitTimeoutError({ timeout: 5 });
    expect([error.primitive, error.timeout, error.permits]).toEqual(['Semaphore', 5, 1]);
    expect(error.message).toBe('Semaphore: no permit within 5 ms (1 permit requested)');
  });
});

// SPEC §7: PermitBackendError (a queued request failed: the backend is unreachable or lost its
// state) has `primitive` and `cause`; PermitLostError (a held lease was lost) has `primitive`, `token`
// and `regrantable`. In-process primitives never raise them; a remote backend does, and the
// simulated one (rxjs-permits/testing) shows which stream receives them.
describe('errors of a permit backend (§7)', () => {
  describe('PermitBackendError', () => {
    it('is an Error of its own class, named PermitBackendError', () => {
      expectErrorClass(
        new PermitBackendError({ primitive: 'RedisSemaphore "jobs"' }),
        PermitBackendError,
        'PermitBackendError',
      );
    });

    it('carries the primitive and the cause, and names both in its message', () => {
      const cause = new Error('ECONNREFUSED 127.0.0.1:6379');
      const error = new PermitBackendError({ primitive: 'RedisSemaphore "jobs"', cause });
      expect(error.primitive).toBe('RedisSemaphore "jobs"');
      expect(error.cause).toBe(cause);
      expect(error.message).toBe(
        'RedisSemaphore "jobs": the permit backend failed (ECONNREFUSED 127.0.0.1:6379)',
      );
    });

    it('takes a cause that is not an Error, and says so when there is none', () => {
      expect(new PermitBackendError({ cause: 'timeout' }).message).toBe(
        'Semaphore: the permit backend failed (timeout)',
      );
      const bare = new PermitBackendError();
      expect([bare.primitive, bare.cause, bare.message]).toEqual([
        'Semaphore',
        undefined,
        'Semaphore: the permit backend failed (no cause given)',
      ]);
    });

    it('is what a queued gated stream errors with when the backend fails its pending requests', () => {
      const cause = new Error('connection reset');
      createTestScheduler().run(({ flush }) => {
        const remote = new SimulatedRemoteSemaphore(0, { latency: 3, name: 'remote' });
        let caught: unknown;
        NEVER.pipe(withPermit(remote)).subscribe({ error: (error) => (caught = error) });
        remote.failPending(cause);
        expect(caught).toBeUndefined();
        flush();
        expectErrorClass(caught, PermitBackendError, 'PermitBackendError');
        const failed = caught as PermitBackendError;
        expect([failed.primitive, failed.cause]).toEqual(['SimulatedRemoteSemaphore "remote"', cause]);
      });
    });
  });

  describe('PermitLostError', () => {
    it('is an Error of its own class, named PermitLostError', () => {
      expectErrorClass(
        new PermitLostError({ primitive: 'RedisSemaphore', token: 7, regrantable: true }),
        PermitLostError,
        'PermitLostError',
      );
    });

    it('carries the primitive, the token and whether the permits may be held by someone else', () => {
      const error = new PermitLostError({
        primitive: 'RedisSemaphore "jobs"',
        token: 42,
        regrantable: false,
      });
      expect([error.primitive, error.token, error.regrantable]).toEqual(['RedisSemaphore "jobs"', 42, false]);
      expect(error.message).toBe('RedisSemaphore "jobs": the lease with token 42 was lost');
    });

    it('says in its message when the permits may already be held by someone else', () => {
      const error = new PermitLostError({ primitive: 'RedisSemaphore', token: 9, regrantable: true });
      expect(error.message).toBe(
        'RedisSemaphore: the lease with token 9 was lost; its permits may already be held by someone else',
      );
    });

    it('defaults to Semaphore, token 0 and regrantable, and keeps a cause when given one', () => {
      const bare = new PermitLostError();
      expect([bare.primitive, bare.token, bare.regrantable]).toEqual(['Semaphore', 0, true]);
      expect('cause' in bare).toBe(false);
      const cause = new Error('heartbeat missed');
      expect(new PermitLostError({ token: 3, cause }).cause).toBe(cause);
    });

    it("is what the holder's stream errors with when its lease is lost", () => {
      createTestScheduler().run(({ flush }) => {
        const remote = new SimulatedRemoteSemaphore(1, { latency: 2 });
        let caught: unknown;
        let held: Lease | null = null;
        usingLease(remote, (lease) => {
          held = lease;
          return NEVER;
        }).subscribe({ error: (error) => (caught = error) });
        flush();
        expect(held).not.toBeNull();
        remote.loseLease(held!);
        expect(caught).toBeUndefined();
        flush();
        expectErrorClass(caught, PermitLostError, 'PermitLostError');
        const lost = caught as PermitLostError;
        expect([lost.primitive, lost.token, lost.regrantable]).toEqual([
          'SimulatedRemoteSemaphore',
          held!.token,
          true,
        ]);
      });
    });
  });
});

// SPEC rule 20: a queued request that can never fit under a bound lowered by adjust fails with
// PermitRejectedError; its `bound` says so (undefined for a full bulkhead).
describe('PermitRejectedError of a request above a lowered bound (rule 20)', () => {
  it('carries the bound, and its message names the primitive, the permits and the bound', () => {
    const error = new PermitRejectedError({ primitive: 'BoundedSemaphore "pool"', permits: 3, bound: 2 });
    expectErrorClass(error, PermitRejectedError, 'PermitRejectedError');
    expect([error.primitive, error.permits, error.bound]).toEqual(['BoundedSemaphore "pool"', 3, 2]);
    expect(error.message).toMatch(/BoundedSemaphore "pool"/);
    expect(error.message).toMatch(/\b3 permits\b/);
    expect(error.message).toMatch(/bound of 2\b/);
  });

  it('has no bound when it is a full bulkhead', () => {
    expect(new PermitRejectedError().bound).toBeUndefined();
    expect(new PermitRejectedError({ permits: 2, waiting: 4, maxWaiting: 4 }).bound).toBeUndefined();
  });

  it('is what a queued gated stream errors with when adjust lowers the bound below its permits', () => {
    const semaphore = new BoundedSemaphore(3);
    semaphore.tryAcquire(3);
    let caught: unknown;
    NEVER.pipe(withPermit(semaphore, { permits: 3 })).subscribe({ error: (error) => (caught = error) });
    semaphore.adjust(-2);
    expectErrorClass(caught, PermitRejectedError, 'PermitRejectedError');
    const rejected = caught as PermitRejectedError;
    expect([rejected.primitive, rejected.permits, rejected.bound]).toEqual(['BoundedSemaphore', 3, 1]);
  });
});

import { EMPTY, NEVER, VirtualTimeScheduler, of } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  LockOwnershipError,
  OverReleaseError,
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  reentrant,
  withPermit,
  type PermitPool,
} from '../src/index.js';

describe('messages for habits from mergeMap and gevent', () => {
  it('mergeMapWithPermit(sem, fn, 4) says the limit is the semaphore', () => {
    const call = () =>
      mergeMapWithPermit(new Semaphore(2), () => EMPTY, 4 as unknown as Record<string, never>);
    expect(call).toThrowMatching(
      (error) =>
        error instanceof TypeError &&
        /mergeMapWithPermit: options must be an object, got 4: the concurrency limit is the semaphore's own/.test(
          error.message,
        ) &&
        error.message.includes('new Semaphore(4)'),
    );
  });

  for (const operator of [withPermit, boundedPermit] as const) {
    it(`${operator.name}(new RLock()) points to reentrant`, () => {
      expect(() => operator(new RLock() as unknown as PermitPool)).toThrowError(
        TypeError,
        `${operator.name}: semaphore is an RLock, which has owners: gate a stream by it with reentrant(lock)`,
      );
    });
  }

  it('mergeMapWithPermit(new RLock(), fn) points to reentrant', () => {
    expect(() => mergeMapWithPermit(new RLock() as unknown as PermitPool, () => EMPTY)).toThrowError(
      TypeError,
      /reentrant\(lock\)/,
    );
  });

  it('an operator given something else names what it accepts and what it got', () => {
    expect(() => withPermit({} as PermitPool)).toThrowError(
      TypeError,
      'withPermit: semaphore must be a PermitPool (a Semaphore, BoundedSemaphore or DummySemaphore), got an object',
    );
  });

  for (const [kind, create] of [
    ['Semaphore', () => new Semaphore(1)],
    ['BoundedSemaphore', () => new BoundedSemaphore(1)],
    ['DummySemaphore', () => new DummySemaphore()],
  ] as const) {
    it(`${kind}.acquire(false) hints at { blocking: false }`, () => {
      expect(() => create().acquire(false as never)).toThrowError(
        TypeError,
        `${kind}.acquire: options must be an object, got false: gevent's acquire(False) is acquire({ blocking: false }) here`,
      );
    });

    it(`${kind}.acquire(5) hints at { timeout } and { permits }`, () => {
      expect(() => create().acquire(5 as never)).toThrowError(
        TypeError,
        `${kind}.acquire: options must be an object, got 5: for a timeout write acquire({ timeout: 5 }), for several permits acquire({ permits: 5 })`,
      );
    });
  }

  it('RLock.acquire(owner, true) hints at { blocking: true }', () => {
    expect(() => new RLock().acquire({}, true as never)).toThrowError(
      TypeError,
      /acquire\(\{ blocking: true \}\)/,
    );
  });
});

describe('unknown option keys', () => {
  const semaphore = new Semaphore(1);
  const cases: Array<[string, () => unknown, string]> = [
    [
      'withPermit',
      () => withPermit(semaphore, { timout: 100 } as never),
      'permits, timeout, scheduler, with',
    ],
    [
      'boundedPermit',
      () => boundedPermit(semaphore, { maxWaitng: 1 } as never),
      'permits, timeout, scheduler, with, maxWaiting',
    ],
    [
      'withPermit',
      () => withPermit(semaphore, { maxWaiting: 1 } as never),
      'permits, timeout, scheduler, with',
    ],
    [
      'mergeMapWithPermit',
      () => mergeMapWithPermit(semaphore, () => EMPTY, { concurrent: 4 } as never),
      'permits, timeout, scheduler, with',
    ],
    ['reentrant', () => reentrant(new RLock(), { permits: 2 } as never), 'owner, timeout, scheduler, with'],
    [
      'Semaphore.acquire',
      () => semaphore.acquire({ timout: 100 } as never),
      'blocking, timeout, permits, scheduler',
    ],
    ['Semaphore.wait', () => semaphore.wait({ permits: 1 } as never), 'timeout, scheduler'],
    ['RLock.acquire', () => new RLock().acquire({}, { permits: 1 } as never), 'blocking, timeout, scheduler'],
    ['Semaphore', () => new Semaphore(1, { nmae: 'x' } as never), 'scheduler, name'],
    ['BoundedSemaphore', () => new BoundedSemaphore(1, { bound: 2 } as never), 'scheduler, name'],
    ['DummySemaphore', () => new DummySemaphore(1, { value: 2 } as never), 'scheduler, name'],
    ['RLock', () => new RLock({ owner: {} } as never), 'scheduler, name'],
  ];
  for (const [index, [where, call, known]] of cases.entries()) {
    it(`${where} (case ${index + 1}): a TypeError that names the unknown key and the known ones`, () => {
      expect(call).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`${where}: unknown option "`) &&
          error.message.endsWith(`; the options are ${known}`),
      );
    });
  }

  it('a known key whose value is undefined is the default, not an error', () => {
    const config: { timeout?: number | undefined } = { timeout: undefined };
    const seen: boolean[] = [];
    semaphore.acquire({ timeout: config.timeout, permits: undefined }).subscribe((v) => seen.push(v));
    semaphore.release();
    expect(seen).toEqual([true]);
    expect(() =>
      withPermit(semaphore, { timeout: undefined, with: undefined, permits: undefined }),
    ).not.toThrow();
  });

  it('an array is not an options object', () => {
    expect(() => withPermit(semaphore, [] as never)).toThrowError(
      TypeError,
      'withPermit: options must be an object, got an array',
    );
  });
});

describe('name: every primitive may be named, and says its name in messages and errors', () => {
  it('is undefined unless given, and read back as given', () => {
    expect(new Semaphore(1).name).toBeUndefined();
    expect(new Semaphore(1, { name: 'uploads' }).name).toBe('uploads');
    expect(new BoundedSemaphore(1, { name: 'db' }).name).toBe('db');
    expect(new DummySemaphore(undefined, { name: 'off' }).name).toBe('off');
    expect(new RLock({ name: 'token' }).name).toBe('token');
  });

  it('must be a non-empty string', () => {
    expect(() => new Semaphore(1, { name: '' })).toThrowError(
      TypeError,
      'Semaphore: options.name must be a non-empty string, got ""',
    );
    expect(() => new RLock({ name: 3 as never })).toThrowError(
      TypeError,
      'RLock: options.name must be a non-empty string, got 3',
    );
  });

  it('appears in a PermitTimeoutError', () => {
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

  it('appears in a PermitRejectedError, an OverReleaseError and a LockOwnershipError', () => {
    const errors: unknown[] = [];
    const reports = new BoundedSemaphore(1, { name: 'reports' });
    reports.tryAcquire();
    of(1)
      .pipe(boundedPermit(reports))
      .subscribe({ error: (e) => errors.push(e) });
    expect((errors[0] as PermitRejectedError).message).toMatch(/^BoundedSemaphore "reports": rejected/);
    reports.release();
    expect(() => reports.release()).toThrowMatching(
      (e) => e instanceof OverReleaseError && e.message.startsWith('BoundedSemaphore "reports": releasing 1'),
    );
    expect(() => new RLock({ name: 'token' }).release({})).toThrowMatching(
      (e) => e instanceof LockOwnershipError && e.primitive === 'RLock "token"',
    );
  });

  it('appears in bad-argument messages of the named primitive', () => {
    expect(() => new Semaphore(1, { name: 'uploads' }).release(0)).toThrowError(
      RangeError,
      /^Semaphore "uploads"\.release: permits must be a positive integer/,
    );
    expect(() => new DummySemaphore(0, { name: 'off' }).tryAcquire(-1)).toThrowError(
      RangeError,
      /^DummySemaphore "off"\.tryAcquire:/,
    );
  });
});

describe('a request that a plain Semaphore can never grant at its current size', () => {
  // permits: 3 on new Semaphore(2) is not an argument error (a Semaphore may be released above its
  // initial value), but it waits, and as the head of the queue it blocks every smaller request.
  it('waits, shows in `waiting`, and blocks smaller requests behind it (strict head-of-line)', () => {
    const semaphore = new Semaphore(2);
    const log: string[] = [];
    of('big')
      .pipe(withPermit(semaphore, { permits: 3 }))
      .subscribe((v) => log.push(v));
    of('small')
      .pipe(withPermit(semaphore))
      .subscribe((v) => log.push(v));
    expect(log).toEqual([]);
    expect(semaphore.waiting).toBe(2);
    expect(semaphore.value).toBe(2);
    expect(semaphore.tryAcquire()).toBeFalse();
    semaphore.release(); // an over-release makes it grantable: then both run, in order
    expect(log).toEqual(['big', 'small']);
    expect([semaphore.value, semaphore.waiting]).toEqual([3, 0]);
  });

  it('with a timeout, fails at its deadline and lets the requests behind it run', () => {
    const scheduler = new VirtualTimeScheduler();
    const semaphore = new Semaphore(2, { scheduler });
    const log: string[] = [];
    of('big')
      .pipe(withPermit(semaphore, { permits: 3, timeout: 50 }))
      .subscribe({ next: (v) => log.push(v), error: (e: Error) => log.push(e.name) });
    of('small')
      .pipe(withPermit(semaphore))
      .subscribe((v) => log.push(v));
    scheduler.flush();
    // The withdrawal re-examines the queue at once, so the small request starts first.
    expect(log).toEqual(['small', 'PermitTimeoutError']);
    expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
  });

  it('is a RangeError at once on a BoundedSemaphore', () => {
    expect(() => withPermit(new BoundedSemaphore(2), { permits: 3 })).toThrowError(
      RangeError,
      'withPermit: options.permits is 3, more than the bound of 2: it could never be granted',
    );
  });
});

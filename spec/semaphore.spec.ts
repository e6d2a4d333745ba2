import { NEVER, Observable, VirtualTimeScheduler, of } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  RLock,
  Semaphore,
  mergeMapWithPermit,
  usingLease,
  withPermit,
  type Lease,
  type PermitPool,
} from '../src/index.js';
import {
  Fault,
  advanceScheduler,
  badInputChecks,
  bystanders,
  captureUnhandledErrors,
  heldByTest,
  record,
  reportedDuring,
  semaphoreKinds,
  semaphoreTarget,
  throwingScheduler,
} from './helpers/index.js';

// What a Semaphore promises beyond the contract every primitive shares (that is the conformance
// suite, spec/conformance/semaphore-conformance.spec.ts): its API, over-release, its scheduler, bad
// input, the `name` option (of every primitive), faults that stay local (on a BoundedSemaphore
// too), and a million requests in constant stack depth. Timing at exact frames is in
// marble-tests/semaphore.marble.spec.ts.

describe('Semaphore', () => {
  it('is an Observable of its value', () => {
    const semaphore = new Semaphore(2);
    expect(semaphore instanceof Observable).toBe(true);
    expect(record(semaphore).events).toEqual([2]);
  });

  it('defaults to 1 permit', () => {
    const semaphore = new Semaphore();
    expect([semaphore.value, semaphore.locked(), semaphore.ready()]).toEqual([1, false, true]);
  });

  it('starts locked with 0 permits: an acquire queues until the first release', () => {
    const semaphore = new Semaphore(0);
    expect([semaphore.value, semaphore.locked(), semaphore.ready()]).toEqual([0, true, false]);
    const { events } = record(semaphore.acquire());
    expect([events, semaphore.waiting]).toEqual([[], 1]);
    expect(semaphore.release()).toBe(0);
    expect(events).toEqual([true, 'complete']);
  });

  it('ready() is the opposite of locked()', () => {
    const semaphore = new Semaphore(1);
    expect([semaphore.locked(), semaphore.ready()]).toEqual([false, true]);
    semaphore.tryAcquire();
    expect([semaphore.locked(), semaphore.ready()]).toEqual([true, false]);
  });

  it('counts queued requests in waiting, not the permits they ask for', () => {
    const semaphore = new Semaphore(0);
    semaphore.acquire({ permits: 3 }).subscribe();
    semaphore.acquire().subscribe();
    expect(semaphore.waiting).toBe(2);
  });

  describe('FIFO order', () => {
    it('grants queued requests in FIFO order on release', () => {
      const semaphore = new Semaphore(1);
      const order: number[] = [];
      semaphore.tryAcquire();
      for (let i = 0; i < 3; i++) semaphore.acquire().subscribe(() => order.push(i));
      semaphore.release();
      semaphore.release();
      semaphore.release();
      expect(order).toEqual([0, 1, 2]);
    });
  });

  describe('who learns of a grant first', () => {
    for (const make of [(n: number) => new Semaphore(n), (n: number) => new BoundedSemaphore(n)]) {
      const kind = make(1).constructor.name;

      it(`${kind}: acquire() granted at once is told before the value it leaves is announced`, () => {
        const semaphore = make(2);
        const log: string[] = [];
        semaphore.subscribe((value) => log.push(`value ${value}`));
        semaphore.acquire().subscribe((granted) => log.push(`granted ${granted}`));
        semaphore.tryAcquire();
        expect(log).toEqual(['value 2', 'granted true', 'value 1', 'value 0']);
      });

      it(`${kind}: a release made by an acquire() granted at once is folded into it (rule 4)`, () => {
        const semaphore = make(2);
        semaphore.tryAcquire(); // one permit held by the test, one free
        const log: string[] = [];
        semaphore.acquire({ permits: 2 }).subscribe(() => log.push('weighted: granted')); // queued
        semaphore.acquire({ priority: 1 }).subscribe(() => {
          // Granted at once (the free permit, ahead of the weighted request by priority).
          log.push('urgent: granted');
          semaphore.release(2); // its permit and the test's: enough for the weighted request...
          log.push('urgent: released'); // ...which is told once this grant has returned
        });
        expect(log).toEqual(['urgent: granted', 'urgent: released', 'weighted: granted']);
      });

      it(`${kind}: a request granted by a hand-off is told before the value it leaves is announced`, () => {
        const semaphore = make(2);
        semaphore.tryAcquire(2);
        const log: string[] = [];
        semaphore.subscribe((value) => log.push(`value ${value}`));
        semaphore.acquire().subscribe((granted) => log.push(`granted ${granted}`));
        semaphore.release(2);
        expect(log).toEqual(['value 0', 'granted true', 'value 1']);
      });

      it(`${kind}: a gated stream granted at once starts before the value is announced`, () => {
        const semaphore = make(2);
        const log: string[] = [];
        semaphore.subscribe((value) => log.push(`value ${value}`));
        NEVER.pipe(withPermit(semaphore)).subscribe();
        of('started')
          .pipe(withPermit(semaphore))
          .subscribe((x) => log.push(x));
        expect(log).toEqual(['value 2', 'value 1', 'started', 'value 0', 'value 1']);
      });
    }
  });

  describe('release()', () => {
    it('allows over-release, raising the value above the initial value (gevent)', () => {
      const semaphore = new Semaphore(1);
      const seen = record(semaphore);
      expect(semaphore.release()).toBe(2);
      expect(semaphore.release(3)).toBe(5);
      expect(semaphore.value).toBe(5);
      expect(seen.events).toEqual([1, 2, 5]);
      expect(semaphore.tryAcquire(5)).toBe(true);
      expect(semaphore.value).toBe(0);
    });

    it('returns the value after the hand-off', () => {
      const semaphore = new Semaphore(0);
      semaphore.acquire().subscribe();
      semaphore.acquire({ permits: 2 }).subscribe();
      expect(semaphore.release()).toBe(0);
      expect(semaphore.release(3)).toBe(1);
      expect(semaphore.release(2)).toBe(3);
    });

    it('returns the value after the hand-off when called inside a grant', () => {
      const semaphore = new Semaphore(0);
      const returned: number[] = [];
      semaphore.acquire().subscribe(() => returned.push(semaphore.release()));
      semaphore.acquire().subscribe();
      semaphore.release();
      expect(returned).toEqual([0]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('returns 0 when the permit goes whole to a waiter', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      semaphore.acquire().subscribe();
      expect(semaphore.release()).toBe(0);
    });
  });

  describe('scheduler', () => {
    it('uses the scheduler given to the constructor for timeouts of acquire and wait', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0, { scheduler });
      const acquired = record(semaphore.acquire({ timeout: 50 }));
      const waited = record(semaphore.wait({ timeout: 70 }));
      expect([acquired.events, waited.events]).toEqual([[], []]);
      scheduler.flush();
      expect([acquired.events, waited.events]).toEqual([
        [false, 'complete'],
        [0, 'complete'],
      ]);
      expect(semaphore.waiting).toBe(0);
    });

    it('lets the options of a call override the constructor scheduler', () => {
      const own = new VirtualTimeScheduler();
      const given = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0, { scheduler: own });
      const { events } = record(semaphore.acquire({ timeout: 50, scheduler: given }));
      own.flush();
      expect(events).toEqual([]);
      given.flush();
      expect(events).toEqual([false, 'complete']);
    });
  });

  describe('rawlink, linked again while its wake-up is queued', () => {
    it('is called once: the call made because the semaphore is ready now is the one-shot', () => {
      const semaphore = new Semaphore(0);
      let calls = 0;
      const callback = () => calls++;
      semaphore.rawlink(callback);
      semaphore.acquire().subscribe(() => {
        semaphore.release(); // ready again: the wake-up of `callback` is queued behind this grant
        semaphore.rawlink(callback); // ready now: called at once
        expect(calls).toBe(1);
      });
      semaphore.release();
      expect(calls).toBe(1);
      semaphore.tryAcquire();
      semaphore.release();
      expect(calls).toBe(1);
    });
  });

  describe('wait woken by a release whose grants take the permits again', () => {
    it('is not told while the value is 0 when its wake-up runs: it waits for the next time the semaphore is ready', () => {
      const semaphore = new Semaphore(0);
      semaphore.acquire().subscribe(() => semaphore.tryAcquire()); // queued; takes one more when granted
      const seen: number[] = [];
      semaphore.wait().subscribe((value) => seen.push(value, semaphore.value));
      semaphore.release(2);
      expect(seen).toEqual([]);
      semaphore.release();
      expect(seen).toEqual([1, 1]);
    });

    it('emits the value left after the grants when some is left', () => {
      const semaphore = new Semaphore(0);
      semaphore.acquire().subscribe(() => semaphore.tryAcquire());
      const seen: number[] = [];
      semaphore.wait().subscribe((value) => seen.push(value));
      semaphore.release(3);
      expect(seen).toEqual([1]);
    });
  });

  describe('bad input', () => {
    for (const { title, check } of badInputChecks(semaphoreTarget('Semaphore', Semaphore))) it(title, check);

    it("acquire(false) hints at { blocking: false }, gevent's acquire(False)", () => {
      expect(() => new Semaphore(1).acquire(false as never)).toThrowError(
        TypeError,
        `Semaphore.acquire: options must be an object, got false: gevent's acquire(False) is acquire({ blocking: false }) here`,
      );
    });

    it('acquire(5) hints at { timeout } and { permits }', () => {
      expect(() => new Semaphore(1).acquire(5 as never)).toThrowError(
        TypeError,
        `Semaphore.acquire: options must be an object, got 5: for a timeout write acquire({ timeout: 5 }), for several permits acquire({ permits: 5 })`,
      );
    });

    it('acquire: an unknown option key is a TypeError naming it and the known options', () => {
      const semaphore = new Semaphore(1);
      expect(() => semaphore.acquire({ timout: 100 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`Semaphore.acquire: unknown option "`) &&
          error.message.endsWith(`; the options are blocking, timeout, permits, priority, scheduler`),
      );
    });

    it('wait: an unknown option key is a TypeError naming it and the known options', () => {
      const semaphore = new Semaphore(1);
      expect(() => semaphore.wait({ permits: 1 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`Semaphore.wait: unknown option "`) &&
          error.message.endsWith(`; the options are timeout, scheduler`),
      );
    });

    it('the constructor: an unknown option key is a TypeError naming it and the known options', () => {
      expect(() => new Semaphore(1, { nmae: 'x' } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`Semaphore: unknown option "`) &&
          error.message.endsWith(`; the options are scheduler, name`),
      );
    });

    describe('edge values that are accepted', () => {
      it('new Semaphore(0) and new BoundedSemaphore(0) start locked', () => {
        expect([new Semaphore(0).value, new BoundedSemaphore(0).value]).toEqual([0, 0]);
      });

      it('acquire accepts an empty options object, null and undefined as "no options"', () => {
        const semaphore = new Semaphore(3);
        const results: boolean[] = [];
        semaphore.acquire({}).subscribe((granted) => results.push(granted));
        semaphore.acquire(undefined).subscribe((granted) => results.push(granted));
        semaphore.acquire(null as unknown as undefined).subscribe((granted) => results.push(granted));
        expect(results).toEqual([true, true, true]);
        expect(semaphore.value).toBe(0);
      });

      it('a negative, zero, null or Infinity timeout is not an error', () => {
        const semaphore = new Semaphore(1);
        semaphore.tryAcquire();
        const results: boolean[] = [];
        for (const timeout of [-5, 0, -Infinity])
          semaphore.acquire({ timeout }).subscribe((granted) => results.push(granted));
        const forever = [semaphore.acquire({ timeout: null }), semaphore.acquire({ timeout: Infinity })].map(
          (request) => request.subscribe((granted) => results.push(granted)),
        );
        expect(results).toEqual([false, false, false]);
        expect(semaphore.waiting).toBe(2);
        semaphore.release();
        semaphore.release();
        expect(results).toEqual([false, false, false, true, true]);
        expect(forever.every((subscription) => subscription.closed)).toBe(true);
      });

      it('the same bad input is reported before subscribe: acquire never returns an Observable for it', () => {
        const semaphore = new Semaphore(1);
        let returned: unknown = 'nothing';
        expect(() => {
          returned = semaphore.acquire({ permits: 0 });
        }).toThrowError(RangeError, /permits/);
        expect(returned).toBe('nothing');
      });

      it('a known key whose value is undefined is the default, not an error', () => {
        const semaphore = new Semaphore(1);
        const config: { timeout?: number | undefined } = { timeout: undefined };
        const seen: boolean[] = [];
        semaphore.acquire({ timeout: config.timeout, permits: undefined }).subscribe((v) => seen.push(v));
        semaphore.release();
        expect(seen).toEqual([true]);
        expect(() =>
          withPermit(semaphore, { timeout: undefined, with: undefined, permits: undefined }),
        ).not.toThrow();
      });
    });
  });

  // The `name` option, shared by every primitive (validated by one function): read back, checked,
  // and said in messages. Its place in the errors a named primitive raises is in spec/errors.spec.ts.
  describe('name', () => {
    it('is undefined unless given, and read back as given, on every primitive', () => {
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

  // Fault injection (issue #6, SPEC rule 17: faults stay local). At every point where user code runs
  // — an observer, a permit-observable subscriber, a `wait` observer, a `rawlink` callback — a fault
  // is injected, also inside a grant that re-enters `release`. Afterwards the counts are exact, no
  // waiter is lost (the requests queued behind the faulty one are all served, in order) and the
  // error reaches the right subscriber, the caller, or RxJS's unhandled-error hook. Every scenario
  // runs on a primitive of one permit, held by the test, with the faulty request at the head of the
  // queue and two `bystanders` behind it. The same for gated streams is in the operators' specs.
  describe('faults stay local', () => {
    // A timeout scheduler whose `schedule` throws (SPEC rule 17: nothing a user supplies may leave a
    // lost waiter or a permit held by nobody). `acquire()` and the gate queue the request first and
    // return its teardown only after scheduling the timer; when `schedule` throws, RxJS errors the
    // subscriber, but the teardown that would withdraw the request was never registered. The dead
    // request stays queued, and the next release grants it: the permit goes to a closed subscriber.
    describe('a timeout scheduler whose schedule() throws', () => {
      it('acquire(): the subscriber errors, and the request is withdrawn', () => {
        const semaphore = new Semaphore(0);
        let received: unknown = null;
        semaphore
          .acquire({ timeout: 10, scheduler: throwingScheduler })
          .subscribe({ error: (error: unknown) => (received = error) });
        expect(received).toEqual(new Error('cannot schedule'));
        expect(semaphore.waiting).toBe(0); // was 1
        semaphore.release();
        expect(semaphore.value).toBe(1); // was 0: the permit went to the errored request
      });
    });

    for (const [kind, create] of semaphoreKinds) {
      describe(`on a ${kind}`, () => {
        describe('acquire() observers', () => {
          it('next throws on a grant from the queue: reported; the grantee holds the permit; nobody behind is lost', async () => {
            const fault = new Fault('observer');
            const semaphore = heldByTest(create);
            let granted = false;
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              semaphore.acquire().subscribe(() => {
                granted = true;
                throw fault;
              });
              others = bystanders(semaphore);
              expect(semaphore.release()).toBe(0);
              expect([granted, semaphore.value, semaphore.waiting]).toEqual([true, 0, 2]);
              semaphore.release(); // the faulty grantee's permit, given back for it
            });
            expect(reported).toEqual([fault]);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('next throws on a synchronous grant: reported; the permit is held, then given back', async () => {
            const fault = new Fault('observer');
            const semaphore = create(1);
            const reported = await reportedDuring(() => {
              semaphore.acquire().subscribe(() => {
                throw fault;
              });
              expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
              const others = bystanders(semaphore);
              semaphore.release();
              expect(others.log).toEqual(others.served);
            });
            expect(reported).toEqual([fault]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('next releases, then throws (inside a grant that re-enters release): the folded grants still run', async () => {
            const fault = new Fault('observer');
            const semaphore = heldByTest(create);
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              semaphore.acquire().subscribe(() => {
                expect(semaphore.release()).toBe(0); // folded: y is assigned, its grant runs later
                throw fault;
              });
              others = bystanders(semaphore);
              expect(semaphore.release()).toBe(1);
              expect(others.log).toEqual(others.served);
            });
            expect(reported).toEqual([fault]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('every grantee of one release throws after releasing: all are served, in order, once each', async () => {
            const semaphore = heldByTest(create);
            const faults = [0, 1, 2, 3, 4].map((index) => new Fault(`observer ${index}`));
            const order: number[] = [];
            const reported = await reportedDuring(() => {
              faults.forEach((fault, index) =>
                semaphore.acquire().subscribe(() => {
                  order.push(index);
                  semaphore.release();
                  throw fault;
                }),
              );
              semaphore.release();
            });
            expect(order).toEqual([0, 1, 2, 3, 4]);
            expect(reported).toEqual(faults);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('complete throws after a grant: reported; the permit is held', async () => {
            const fault = new Fault('complete');
            const semaphore = heldByTest(create);
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              semaphore.acquire().subscribe({
                complete: () => {
                  throw fault;
                },
              });
              others = bystanders(semaphore);
              semaphore.release();
              expect([semaphore.value, semaphore.waiting]).toEqual([0, 2]);
              semaphore.release();
            });
            expect(reported).toEqual([fault]);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('next throws on `false` at the timeout: reported; the requests behind are still queued, then served', async () => {
            const fault = new Fault('observer of false');
            const scheduler = new VirtualTimeScheduler();
            const semaphore = heldByTest(create, scheduler);
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              semaphore.acquire({ timeout: 5 }).subscribe((granted) => {
                expect(granted).toBe(false);
                throw fault;
              });
              others = bystanders(semaphore);
              advanceScheduler(scheduler, 5);
              expect([semaphore.value, semaphore.waiting, scheduler.actions.length]).toEqual([0, 2, 0]);
              semaphore.release();
            });
            expect(reported).toEqual([fault]);
            expect(others.log).toEqual(others.served);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('next throws on `false` of a non-blocking acquire: reported; nothing changes', async () => {
            const fault = new Fault('observer of false');
            const semaphore = heldByTest(create);
            const reported = await reportedDuring(() => {
              semaphore.acquire({ blocking: false }).subscribe(() => {
                throw fault;
              });
            });
            expect(reported).toEqual([fault]);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
          });
        });

        describe('permit-observable subscribers, wait() and rawlink()', () => {
          it('a value subscriber that throws on every value: reported each time; the others end on the true value', async () => {
            const fault = new Fault('value subscriber');
            const semaphore = heldByTest(create);
            const seen: number[] = [];
            let others!: ReturnType<typeof bystanders>;
            const reported = await reportedDuring(() => {
              semaphore.subscribe(() => {
                throw fault;
              });
              semaphore.subscribe((value) => seen.push(value));
              others = bystanders(semaphore);
              semaphore.release();
            });
            expect(others.log).toEqual(others.served);
            expect(seen[seen.length - 1]).toBe(1);
            expect(reported.length).toBeGreaterThanOrEqual(2); // on subscribe, then each settled change
            expect(reported.every((error) => error === fault)).toBe(true);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a value subscriber that releases and acquires, then throws: every subscriber ends on the true value', async () => {
            const fault = new Fault('value subscriber');
            const semaphore = create(2);
            const seen: number[] = [];
            let reacted = false;
            const reported = await reportedDuring(() => {
              semaphore.subscribe((value) => {
                if (value === 0 && !reacted) {
                  reacted = true;
                  semaphore.release(); // the test's own permit, given back from inside the broadcast
                  semaphore.acquire().subscribe();
                  throw fault;
                }
              });
              semaphore.subscribe((value) => seen.push(value));
              expect(semaphore.tryAcquire(2)).toBe(true);
            });
            expect(reported).toEqual([fault]);
            expect(seen[seen.length - 1]).toBe(semaphore.value);
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
            semaphore.release(2);
            expect(seen[seen.length - 1]).toBe(2);
          });

          it('a wait() observer that throws: reported; the other waits still wake; counts unchanged', async () => {
            const fault = new Fault('wait observer');
            const semaphore = heldByTest(create);
            const woken: number[] = [];
            const reported = await reportedDuring(() => {
              semaphore.wait().subscribe(() => {
                throw fault;
              });
              semaphore.wait().subscribe((value) => woken.push(value));
              semaphore.release();
            });
            expect(reported).toEqual([fault]);
            expect(woken).toEqual([1]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a rawlink callback that throws later: reported to the unhandled-error hook; the others are called', async () => {
            const fault = new Fault('rawlink');
            const semaphore = heldByTest(create);
            const called: string[] = [];
            const reported = await reportedDuring(() => {
              semaphore.rawlink(() => {
                throw fault;
              });
              semaphore.rawlink(() => called.push('second'));
              semaphore.release();
              expect(called).toEqual(['second']);
              expect(semaphore.tryAcquire()).toBe(true);
              semaphore.release(); // one-shot: the faulty callback is not called again
            });
            expect(reported).toEqual([fault]);
            expect(called).toEqual(['second']);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a rawlink callback that throws when the semaphore is ready now: thrown to the caller; nothing stays linked', async () => {
            const fault = new Fault('rawlink');
            const semaphore = create(1);
            let calls = 0;
            const callback = () => {
              calls++;
              throw fault;
            };
            const reported = await reportedDuring(() => {
              expect(() => semaphore.rawlink(callback)).toThrow(fault);
              expect(semaphore.tryAcquire()).toBe(true);
              semaphore.release();
            });
            expect(calls).toBe(1);
            expect(reported).toEqual([]);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });

          it('a rawlink callback that acquires and releases, then throws, inside a release loop: counts exact', async () => {
            const fault = new Fault('rawlink');
            const semaphore = heldByTest(create);
            let inner = 0;
            const reported = await reportedDuring(() => {
              semaphore.rawlink((s) => {
                s.acquire().subscribe(() => {
                  inner++;
                  s.release();
                });
                throw fault;
              });
              const others = bystanders(semaphore);
              semaphore.release();
              expect(others.log).toEqual(others.served);
            });
            expect(reported).toEqual([fault]);
            expect(inner).toBe(1);
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        });
      });
    }
  });

  // SPEC rule 4: 1,000,000 requests run through one semaphore in constant stack depth, in FIFO
  // order, with every permit returned.
  describe('stress', () => {
    const REQUESTS = 1_000_000;
    const TIMEOUT_MS = 60_000;

    it(
      'grants 1,000,000 queued acquires in FIFO order from one release, each releasing from its grant',
      async () => {
        const semaphore = new Semaphore(1);
        expect(semaphore.tryAcquire()).toBe(true);
        let granted = 0;
        let firstOutOfOrder = -1;
        const errors = await captureUnhandledErrors(() => {
          for (let index = 0; index < REQUESTS; index++) {
            semaphore.acquire().subscribe((ok) => {
              if ((!ok || index !== granted) && firstOutOfOrder < 0) firstOutOfOrder = index;
              granted++;
              semaphore.release();
            });
          }
          expect([semaphore.value, semaphore.waiting]).toEqual([0, REQUESTS]);
          expect(granted).toBe(0);
          semaphore.release();
          expect(granted).toBe(REQUESTS);
        });
        expect(errors).toEqual([]);
        expect(firstOutOfOrder).toBe(-1);
        expect(granted).toBe(REQUESTS);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      },
      TIMEOUT_MS,
    );

    it(
      'grants 1,000,000 queued acquires in order while each grant acquires and releases another semaphore',
      async () => {
        const semaphore = new Semaphore(1);
        const inner = new Semaphore(1);
        expect(semaphore.tryAcquire()).toBe(true);
        let granted = 0;
        let innerGranted = 0;
        let firstOutOfOrder = -1;
        let innerMissed = 0;
        const errors = await captureUnhandledErrors(() => {
          for (let index = 0; index < REQUESTS; index++) {
            semaphore.acquire().subscribe(() => {
              if (index !== granted && firstOutOfOrder < 0) firstOutOfOrder = index;
              granted++;
              let innerSync = false;
              inner.acquire().subscribe(() => {
                innerSync = true;
                innerGranted++;
                inner.release();
              });
              if (!innerSync) innerMissed++;
              semaphore.release();
            });
          }
          semaphore.release();
        });
        expect(errors).toEqual([]);
        expect(firstOutOfOrder).toBe(-1);
        expect([granted, innerGranted, innerMissed]).toEqual([REQUESTS, REQUESTS, 0]);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        expect([inner.value, inner.waiting]).toEqual([1, 0]);
      },
      TIMEOUT_MS,
    );

    it(
      'keeps the permit observable on the true value through 1,000,000 chained grants',
      async () => {
        const semaphore = new Semaphore(1);
        semaphore.tryAcquire();
        const seen: number[] = [];
        semaphore.subscribe((value) => seen.push(value));
        let granted = 0;
        const errors = await captureUnhandledErrors(() => {
          for (let index = 0; index < REQUESTS; index++) {
            semaphore.acquire().subscribe(() => {
              granted++;
              semaphore.release();
            });
          }
          semaphore.release();
        });
        expect(errors).toEqual([]);
        expect(granted).toBe(REQUESTS);
        // Every hand-off is whole, so the only settled change is the last release freeing the permit.
        expect(seen).toEqual([0, 1]);
      },
      TIMEOUT_MS,
    );
  });

  // SPEC §5 (rules 19-21 and their settled details): priority, fencing tokens, adjust and stats.
  describe('priority (rule 19)', () => {
    it('serves the highest priority first, FIFO within a priority, down to the lowest', () => {
      const semaphore = new Semaphore(0);
      const log: string[] = [];
      const priorities = [0, 3, -2, 3, 0, Number.MAX_SAFE_INTEGER, -2, Number.MIN_SAFE_INTEGER, 1, 0];
      priorities.forEach((priority, index) => queue(semaphore, log, `${index}@${priority}`, { priority }));
      expect(semaphore.waiting).toBe(priorities.length);
      semaphore.release(priorities.length);
      expect(log).toEqual([
        `5@${Number.MAX_SAFE_INTEGER}`,
        '1@3',
        '3@3',
        '8@1',
        '0@0',
        '4@0',
        '9@0',
        '2@-2',
        '6@-2',
        `7@${Number.MIN_SAFE_INTEGER}`,
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    });

    it('keeps that order when priorities empty out and come back, and when requests of a middle priority are withdrawn', () => {
      const semaphore = new Semaphore(0);
      const log: string[] = [];
      const high = queue(semaphore, log, 'high', { priority: 5 });
      high.unsubscribe(); // the only request of priority 5: its level empties
      queue(semaphore, log, 'low', { priority: -1 });
      const middle = [
        queue(semaphore, log, 'mid1', { priority: 2 }),
        queue(semaphore, log, 'mid2', { priority: 2 }),
      ];
      queue(semaphore, log, 'top', { priority: 3 });
      queue(semaphore, log, 'high again', { priority: 5 });
      queue(semaphore, log, 'zero');
      for (const subscription of middle) subscription.unsubscribe();
      queue(semaphore, log, 'mid3', { priority: 2 });
      expect(semaphore.waiting).toBe(5);
      semaphore.release(5);
      expect(log).toEqual(['high again', 'top', 'mid3', 'zero', 'low']);
      expect(semaphore.stats()).toEqual(jasmine.objectContaining({ granted: 5, withdrawn: 3 }));
    });

    it('a request of higher priority than every queued one is granted at once when its permits are free', () => {
      const semaphore = new Semaphore(3);
      const log: string[] = [];
      queue(semaphore, log, 'heavy', { permits: 4 });
      queue(semaphore, log, 'urgent', { permits: 2, priority: 1 });
      expect(log).toEqual(['urgent']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 1]);
      // Of equal priority to the queued heavy one: it waits behind it, though a permit is free.
      queue(semaphore, log, 'equal');
      expect(log).toEqual(['urgent']);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 2]);
      semaphore.release(3);
      expect(log).toEqual(['urgent', 'heavy']);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    });

    it('a request that may not wait is granted when free and nobody of equal or higher priority is queued, else refused', () => {
      const semaphore = new Semaphore(2);
      const log: string[] = [];
      queue(semaphore, log, 'queued', { permits: 3, priority: 1 });
      queue(semaphore, log, 'timeout 0, priority 1', { timeout: 0, priority: 1 });
      queue(semaphore, log, 'non-blocking, priority 2', { blocking: false, priority: 2 });
      queue(semaphore, log, 'timeout -1, priority 0', { timeout: -1 });
      queue(semaphore, log, 'timeout 0, priority 2', { timeout: 0, priority: 2 });
      expect(log).toEqual([
        'timeout 0, priority 1:false',
        'non-blocking, priority 2',
        'timeout -1, priority 0:false',
        'timeout 0, priority 2',
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    });

    it('tryAcquire has priority 0 but never overtakes any queued request, even of a lower priority', () => {
      const semaphore = new Semaphore(2);
      const log: string[] = [];
      queue(semaphore, log, 'low', { permits: 3, priority: -5 });
      expect(semaphore.tryAcquire()).toBe(false);
      expect(semaphore.tryAcquire(2)).toBe(false);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 1]);
      // An acquire of priority 0 is not held back by it.
      queue(semaphore, log, 'zero');
      expect(log).toEqual(['zero']);
      semaphore.release(2);
      expect(log).toEqual(['zero', 'low']);
      expect(semaphore.tryAcquire()).toBe(false);
    });

    it('a withdrawn high-priority head lets the smaller requests behind it in at once', () => {
      const semaphore = new Semaphore(1);
      const log: string[] = [];
      const head = queue(semaphore, log, 'head', { permits: 2, priority: 1 });
      queue(semaphore, log, 'a');
      queue(semaphore, log, 'b', { priority: -1 });
      expect(log).toEqual([]);
      head.unsubscribe();
      expect(log).toEqual(['a']);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    });

    describe('bad input', () => {
      const calls: ReadonlyArray<readonly [string, (semaphore: Semaphore, priority: unknown) => unknown]> = [
        ['acquire', (semaphore, priority) => semaphore.acquire({ priority } as never)],
        [
          'acquire (non-blocking)',
          (semaphore, priority) => semaphore.acquire({ priority, blocking: false } as never),
        ],
      ];
      for (const [call, make] of calls) {
        for (const priority of [0.5, -1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
          it(`${call}: priority ${priority} is a RangeError naming options.priority; nothing changes`, () => {
            const semaphore = new Semaphore(1);
            semaphore.tryAcquire();
            semaphore.acquire().subscribe();
            expect(() => make(semaphore, priority)).toThrowError(
              RangeError,
              /options\.priority must be a safe integer/,
            );
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
          });
        }
        for (const priority of ['1', true, null, {}, [1], 1n]) {
          it(`${call}: priority ${typeof priority} ${String(priority)} is a TypeError naming options.priority`, () => {
            const semaphore = new Semaphore(1);
            expect(() => make(semaphore, priority)).toThrowError(
              TypeError,
              /options\.priority must be a number/,
            );
            expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
          });
        }
      }

      it('an undefined priority is the default, 0', () => {
        const semaphore = new Semaphore(0);
        const log: string[] = [];
        queue(semaphore, log, 'undefined', { priority: undefined });
        queue(semaphore, log, 'zero', { priority: 0 });
        queue(semaphore, log, 'one', { priority: 1 });
        semaphore.release(3);
        expect(log).toEqual(['one', 'undefined', 'zero']);
      });
    });
  });

  describe('fencing tokens (§5)', () => {
    it('strictly increase across acquire(), tryAcquire, withPermit, mergeMapWithPermit and usingLease; every grant draws one', () => {
      const semaphore = new Semaphore(1);
      expect(visibleToken(semaphore)).toBe(1);
      semaphore.acquire().subscribe(); // draws 2, unseen
      semaphore.release();
      expect(visibleToken(semaphore)).toBe(3);
      expect(semaphore.tryAcquire()).toBe(true); // draws 4, unseen
      semaphore.release();
      of('x').pipe(withPermit(semaphore)).subscribe(); // draws 5, unseen
      const projected: number[] = [];
      of('a', 'b')
        .pipe(
          mergeMapWithPermit(semaphore, (_value, _index, lease) => {
            projected.push(lease.token);
            return of(lease.token);
          }),
        )
        .subscribe();
      expect(projected).toEqual([6, 7]);
      expect(visibleToken(semaphore)).toBe(8);
    });

    it('are drawn in grant order: a queued request of higher priority gets the smaller token', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire(); // token 1
      const tokens: string[] = [];
      for (const [label, priority] of [
        ['low', 0],
        ['high', 1],
      ] as const) {
        usingLease(
          semaphore,
          (lease) => {
            tokens.push(`${label}:${lease.token}`);
            return of(0);
          },
          { priority },
        ).subscribe();
      }
      semaphore.release();
      expect(tokens).toEqual(['high:2', 'low:3']);
    });

    it("are kept per primitive: grants of one semaphore do not move another's", () => {
      const first = new Semaphore(1);
      const second = new BoundedSemaphore(1);
      for (let i = 0; i < 3; i++) visibleToken(first);
      expect(visibleToken(second)).toBe(1);
      expect(visibleToken(first)).toBe(4);
    });

    it('a lease holds its permits until released; released says so, and release() is idempotent', () => {
      const semaphore = new Semaphore(3);
      let lease: Lease | null = null;
      const subscription = usingLease(
        semaphore,
        (given) => {
          lease = given;
          return NEVER;
        },
        { permits: 2 },
      ).subscribe();
      expect([lease!.permits, lease!.token, lease!.released, semaphore.value]).toEqual([2, 1, false, 1]);
      lease!.release();
      expect([lease!.released, semaphore.value]).toEqual([true, 3]);
      lease!.release();
      lease![Symbol.dispose]();
      subscription.unsubscribe();
      expect(semaphore.value).toBe(3);
    });
  });

  describe('adjust (rule 20)', () => {
    it('adjust(+n) adds n free permits and returns the value', () => {
      const semaphore = new Semaphore(1);
      const seen: number[] = [];
      semaphore.subscribe((value) => seen.push(value));
      expect(semaphore.adjust(2)).toBe(3);
      expect(semaphore.value).toBe(3);
      expect(semaphore.tryAcquire(3)).toBe(true);
      expect(seen).toEqual([1, 3, 0]);
    });

    it('adjust(+n) hands the permits to queued requests from the head while it fits, as a release does', () => {
      const semaphore = new Semaphore(0);
      const log: string[] = [];
      queue(semaphore, log, 'a', { permits: 2 });
      queue(semaphore, log, 'b', { permits: 2 });
      queue(semaphore, log, 'c');
      expect(semaphore.adjust(3)).toBe(1);
      expect(log).toEqual(['a']);
      expect(semaphore.adjust(1)).toBe(0);
      expect(log).toEqual(['a', 'b']);
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 1]);
    });

    it('adjust(-n) removes free permits at once', () => {
      const semaphore = new Semaphore(5);
      expect(semaphore.adjust(-3)).toBe(2);
      expect(semaphore.tryAcquire(3)).toBe(false);
      expect(semaphore.tryAcquire(2)).toBe(true);
      expect(semaphore.value).toBe(0);
    });

    it("adjust(-n) beyond the free permits owes the rest: the value goes negative and holders' releases pay it back first", () => {
      const semaphore = new Semaphore(3);
      const log: string[] = [];
      expect(semaphore.tryAcquire(2)).toBe(true);
      expect(semaphore.adjust(-3)).toBe(-2);
      expect([semaphore.locked(), semaphore.ready()]).toEqual([true, false]);
      queue(semaphore, log, 'waiter');
      expect(semaphore.waiting).toBe(1);
      expect(semaphore.release()).toBe(-1);
      expect(semaphore.release()).toBe(0);
      expect(log).toEqual([]);
      expect(semaphore.adjust(1)).toBe(0);
      expect(log).toEqual(['waiter']);
    });

    it('a plain Semaphore has no bound: any integer delta is accepted, even below 0 in total', () => {
      const semaphore = new Semaphore(1);
      expect(semaphore.adjust(-100)).toBe(-99);
      expect(semaphore.adjust(Number.MAX_SAFE_INTEGER - 1000)).toBe(Number.MAX_SAFE_INTEGER - 1099);
    });

    it('adjust(0) changes nothing, emits nothing and grants nothing', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const log: string[] = [];
      queue(semaphore, log, 'waiter');
      const seen: number[] = [];
      semaphore.subscribe((value) => seen.push(value));
      expect(semaphore.adjust(0)).toBe(0);
      expect(semaphore.adjust(-0)).toBe(0);
      expect([log, seen, semaphore.value, semaphore.waiting]).toEqual([[], [0], 0, 1]);
    });

    it('made inside a grant, folds into the running grant loop: returns the value after its own hand-off, grantees told after (rule 4)', () => {
      const semaphore = new Semaphore(0);
      const log: string[] = [];
      semaphore.acquire().subscribe(() => {
        log.push('a granted');
        log.push(`adjust returned ${semaphore.adjust(1)}`);
      });
      queue(semaphore, log, 'b granted');
      semaphore.release();
      expect(log).toEqual(['a granted', 'adjust returned 0', 'b granted']);
    });

    describe('bad input', () => {
      for (const delta of [0.5, -1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53)]) {
        it(`adjust(${delta}) is a RangeError naming delta; nothing changes`, () => {
          const semaphore = new Semaphore(2);
          const seen: number[] = [];
          semaphore.subscribe((value) => seen.push(value));
          expect(() => semaphore.adjust(delta)).toThrowError(
            RangeError,
            /Semaphore\.adjust: delta must be an integer/,
          );
          expect([semaphore.value, seen]).toEqual([2, [2]]);
        });
      }
      for (const delta of ['1', true, null, undefined, {}, 1n]) {
        it(`adjust(${typeof delta} ${String(delta)}) is a TypeError naming delta`, () => {
          const semaphore = new Semaphore(2);
          expect(() => semaphore.adjust(delta as never)).toThrowError(
            TypeError,
            /Semaphore\.adjust: delta must be a number/,
          );
          expect(semaphore.value).toBe(2);
        });
      }
    });
  });

  describe('stats (rule 21)', () => {
    it('starts at zero and has the name given to the constructor', () => {
      expect(new Semaphore(2, { name: 'db' }).stats()).toEqual({
        name: 'db',
        value: 2,
        waiting: 0,
        granted: 0,
        timedOut: 0,
        rejected: 0,
        withdrawn: 0,
        peakWaiting: 0,
        waitMs: { count: 0, total: 0, max: 0 },
      });
      const unnamed = new Semaphore().stats();
      expect(Object.keys(unnamed)).toContain('name');
      expect(unnamed.name).toBeUndefined();
    });

    it('returns a fresh snapshot object each call: changing one changes nothing', () => {
      const semaphore = new Semaphore(1);
      const first = semaphore.stats();
      const second = semaphore.stats();
      expect(first).not.toBe(second);
      expect(first.waitMs).not.toBe(second.waitMs);
      (first as { granted: number }).granted = 99;
      (first.waitMs as { count: number }).count = 99;
      semaphore.tryAcquire();
      expect(second).toEqual(jasmine.objectContaining({ value: 1, granted: 0 }));
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ value: 0, granted: 1, waitMs: { count: 1, total: 0, max: 0 } }),
      );
    });

    it('a successful tryAcquire and a grant at once count as granted with a wait of 0; a failed tryAcquire as rejected', () => {
      const semaphore = new Semaphore(2);
      expect(semaphore.tryAcquire()).toBe(true);
      semaphore.acquire().subscribe();
      expect(semaphore.tryAcquire()).toBe(false);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          granted: 2,
          rejected: 1,
          timedOut: 0,
          withdrawn: 0,
          peakWaiting: 0,
          waitMs: { count: 2, total: 0, max: 0 },
        }),
      );
    });

    it('a non-blocking or timeout <= 0 failure counts as rejected, not as timedOut', () => {
      const semaphore = new Semaphore(0);
      semaphore.acquire({ blocking: false }).subscribe();
      semaphore.acquire({ timeout: 0 }).subscribe();
      semaphore.acquire({ timeout: -10 }).subscribe();
      of(1)
        .pipe(withPermit(semaphore, { timeout: 0 }))
        .subscribe({ error: () => undefined });
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ granted: 0, rejected: 4, timedOut: 0, withdrawn: 0, peakWaiting: 0 }),
      );
    });

    it('a timeout counts only as timedOut; an unsubscribe while queued only as withdrawn', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(0, { scheduler });
      semaphore.acquire({ timeout: 5 }).subscribe();
      of(1)
        .pipe(withPermit(semaphore, { timeout: 5 }))
        .subscribe({ error: () => undefined });
      const withdrawn = semaphore.acquire().subscribe();
      of(1).pipe(withPermit(semaphore)).subscribe().unsubscribe();
      withdrawn.unsubscribe();
      advanceScheduler(scheduler, 5);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          waiting: 0,
          granted: 0,
          rejected: 0,
          timedOut: 2,
          withdrawn: 2,
          peakWaiting: 4,
        }),
      );
    });

    it('an unsubscribe after the grant is no withdrawal', () => {
      const semaphore = new Semaphore(1);
      semaphore.acquire().subscribe().unsubscribe(); // granted: the test holds the permit
      semaphore.release();
      NEVER.pipe(withPermit(semaphore)).subscribe().unsubscribe();
      of(1).pipe(withPermit(semaphore)).subscribe().unsubscribe();
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({
          value: 1,
          granted: 3,
          withdrawn: 0,
          waitMs: { count: 3, total: 0, max: 0 },
        }),
      );
    });

    it('peakWaiting is the most requests ever queued at once, not the number queued now', () => {
      const semaphore = new Semaphore(0);
      const subscriptions = [1, 2, 3].map(() => semaphore.acquire().subscribe());
      subscriptions[0].unsubscribe();
      subscriptions[1].unsubscribe();
      semaphore.acquire({ permits: 5 }).subscribe(); // 2 queued now, 3 at the peak
      semaphore.release(2);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ waiting: 1, peakWaiting: 3, granted: 1, withdrawn: 2 }),
      );
    });

    it('waitMs sums the queued time of granted requests on the scheduler given to the constructor', () => {
      const scheduler = new VirtualTimeScheduler();
      const semaphore = new Semaphore(1, { scheduler });
      semaphore.tryAcquire();
      semaphore.acquire().subscribe();
      advanceScheduler(scheduler, 10);
      semaphore.acquire().subscribe();
      semaphore.acquire({ timeout: 100 }).subscribe();
      advanceScheduler(scheduler, 15);
      semaphore.release(); // the first waited 25
      advanceScheduler(scheduler, 5);
      semaphore.release(2); // the others waited 20 each
      expect(semaphore.stats().waitMs).toEqual({ count: 4, total: 65, max: 25 });
    });

    it('a request assigned by a hand-off but withdrawn before its grantee was told counts as withdrawn, not granted', () => {
      // A virtual clock: the queued time is 0 whatever the real clock does meanwhile.
      const semaphore = new Semaphore(0, { scheduler: new VirtualTimeScheduler() });
      const log: string[] = [];
      const handles: { second?: { unsubscribe(): void } } = {};
      semaphore.acquire().subscribe(() => {
        log.push('first');
        handles.second!.unsubscribe();
      });
      handles.second = semaphore.acquire().subscribe(() => log.push('second'));
      semaphore.release(2);
      expect(log).toEqual(['first']);
      expect(semaphore.value).toBe(1);
      expect(semaphore.stats()).toEqual(
        jasmine.objectContaining({ granted: 1, withdrawn: 1, waitMs: { count: 1, total: 0, max: 0 } }),
      );
    });
  });
});

// SPEC §5 (rules 19-21 and their settled details) on a Semaphore: priority, fencing tokens,
// adjust and stats. Timing at exact frames is in marble-tests/semaphore.marble.spec.ts; the bound
// that adjust moves is in spec/bounded-semaphore.spec.ts.

/** The token of a lease granted now through usingLease (and released at once), or null if it waits. */
function visibleToken(pool: PermitPool): number | null {
  let token: number | null = null;
  usingLease(pool, (lease) => {
    token = lease.token;
    return of(lease.token);
  }).subscribe();
  return token;
}

/** Subscribes `acquire(options)` and logs `label` when it is granted. */
function queue(
  semaphore: Semaphore,
  log: string[],
  label: string,
  options?: Parameters<Semaphore['acquire']>[0],
) {
  return semaphore.acquire(options).subscribe((granted) => log.push(granted ? label : `${label}:false`));
}

import {
  Observable,
  Subject,
  VirtualTimeScheduler,
  config,
  defer,
  of,
  throwError,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
} from 'rxjs';
import {
  BoundedSemaphore,
  PermitRejectedError,
  PermitTimeoutError,
  RLock,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  reentrant,
  withPermit,
} from '../src/index.js';
import { advanceScheduler } from './model/clock.js';

// Fault injection (issue #6, SPEC rule 17: faults stay local). At every point where user code runs
// — an observer, a permit-observable subscriber, a `wait` observer, a `rawlink` callback, a `with`
// fallback, a `project`, a gated source at subscribe and at teardown, an RLock owner's observer —
// a fault is injected, also inside a grant that re-enters `release`. Afterwards the counts are
// exact, no waiter is lost (the requests queued behind the faulty one are all served, in order) and
// the error reaches the right subscriber, the caller, or RxJS's unhandled-error hook.
//
// Every scenario runs on a primitive of one permit, held by the test, with the faulty request at
// the head of the queue and two bystanders behind it: an `acquire()` that releases as soon as it is
// granted, and a gated `of('z')`. Runs in Node and in headless Chromium.

/** The error every injected fault throws: each site throws its own, so its destination is checked. */
class Fault extends Error {
  override readonly name = 'Fault';
}

/** Whether `error` is `fault`, or an RxJS UnsubscriptionError that carries it. */
function carries(error: unknown, fault: Fault): boolean {
  if (error === fault) return true;
  const inner = (error as { errors?: unknown[] } | null)?.errors;
  return Array.isArray(inner) && inner.some((candidate) => carries(candidate, fault));
}

/**
 * Runs `body` with RxJS's unhandled-error hook captured, then lets the reports (made on a fresh
 * task) arrive. Returns the reported errors that carry a {@link Fault} (other specs' stragglers are
 * ignored).
 */
async function reportedDuring(body: () => void | Promise<void>): Promise<unknown[]> {
  const previous = config.onUnhandledError;
  const reported: unknown[] = [];
  config.onUnhandledError = (error) => reported.push(error);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    config.onUnhandledError = previous;
  }
  return reported.filter(
    (error) => error instanceof Fault || (typeof error === 'object' && error !== null && 'errors' in error),
  );
}

const kinds: ReadonlyArray<readonly [string, (value: number, scheduler?: SchedulerLike) => Semaphore]> = [
  ['Semaphore', (value, scheduler) => new Semaphore(value, { scheduler })],
  ['BoundedSemaphore', (value, scheduler) => new BoundedSemaphore(value, { scheduler })],
];

/**
 * Two well-behaved requests queued behind whatever the test queued first: an `acquire()` that
 * releases as soon as it is granted, and a gated `of('z')`. `served()` says whether both ran, in
 * order, with their permits returned.
 */
function bystanders(semaphore: Semaphore) {
  const log: string[] = [];
  semaphore.acquire().subscribe((granted) => {
    log.push(`y: ${granted}`);
    semaphore.release();
  });
  of('z')
    .pipe(withPermit(semaphore))
    .subscribe({ next: (value) => log.push(`z: ${value}`), complete: () => log.push('z: complete') });
  return { log, served: ['y: true', 'z: z', 'z: complete'] };
}

/** A semaphore of 1 whose permit the test holds. */
function heldSemaphore(
  create: (value: number, scheduler?: SchedulerLike) => Semaphore,
  scheduler?: SchedulerLike,
) {
  const semaphore = create(1, scheduler);
  expect(semaphore.tryAcquire()).toBe(true);
  return semaphore;
}

for (const [kind, create] of kinds) {
  describe(`fault injection: ${kind}`, () => {
    describe('acquire() observers', () => {
      it('next throws on a grant from the queue: reported; the grantee holds the permit; nobody behind is lost', async () => {
        const fault = new Fault('observer');
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create, scheduler);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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
        const semaphore = heldSemaphore(create);
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

    describe('gated sources and their subscribers (withPermit, boundedPermit)', () => {
      it('a source that throws at subscribe, granted at once: the error reaches its subscriber; the permit is back', () => {
        const fault = new Fault('source');
        const semaphore = create(1);
        let received: unknown;
        defer(() => {
          throw fault;
        })
          .pipe(withPermit(semaphore))
          .subscribe({ error: (error: unknown) => (received = error) });
        expect(received).toBe(fault);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a source that throws at subscribe, granted from the queue in a release loop: the others still run', () => {
        const fault = new Fault('source');
        const semaphore = heldSemaphore(create);
        let received: unknown;
        defer(() => {
          throw fault;
        })
          .pipe(withPermit(semaphore))
          .subscribe({ error: (error: unknown) => (received = error) });
        const others = bystanders(semaphore);
        expect(semaphore.release()).toBe(1);
        expect(received).toBe(fault);
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a source that errors synchronously: the permit is handed on before the error reaches the subscriber', () => {
        const fault = new Fault('source');
        const semaphore = heldSemaphore(create);
        let atError: number[] = [];
        new Observable<never>((subscriber) => subscriber.error(fault))
          .pipe(withPermit(semaphore))
          .subscribe({ error: () => (atError = [semaphore.value, semaphore.waiting]) });
        const others = bystanders(semaphore);
        semaphore.release();
        expect(atError).toEqual([0, 1]); // already assigned to y (told after this error), z still queued
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      for (const how of ['complete', 'error', 'unsubscribe'] as const) {
        it(`a source whose teardown throws on ${how}: the permit comes back; the subscriber is told; the others run`, async () => {
          const fault = new Fault(`teardown on ${how}`);
          const semaphore = heldSemaphore(create);
          let source!: Subscriber<string>;
          const seen: string[] = [];
          let thrown: unknown = null;
          let others!: ReturnType<typeof bystanders>;
          let subscription!: Subscription;
          const reported = await reportedDuring(() => {
            subscription = new Observable<string>((subscriber) => {
              source = subscriber;
              return () => {
                throw fault;
              };
            })
              .pipe(withPermit(semaphore))
              .subscribe({
                error: (error: unknown) => seen.push(`error ${(error as Error).message}`),
                complete: () => seen.push('complete'),
              });
            others = bystanders(semaphore);
            semaphore.release();
            expect([semaphore.value, semaphore.waiting]).toEqual([0, 2]);
            try {
              if (how === 'complete') source.complete();
              else if (how === 'error') source.error(new Fault('source error'));
              else subscription.unsubscribe();
            } catch (error) {
              thrown = error;
            }
          });
          // The fault goes where plain RxJS sends a throwing finalizer: to the caller, or the hook.
          expect(carries(thrown, fault) || reported.some((error) => carries(error, fault))).toBe(true);
          if (how === 'complete') expect(seen).toEqual(['complete']);
          if (how === 'error') expect(seen).toEqual(['error source error']);
          expect(others.log).toEqual(others.served);
          expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        });
      }

      it('a downstream next that throws: reported; the stream goes on holding its permit until it completes', async () => {
        const fault = new Fault('downstream next');
        const semaphore = heldSemaphore(create);
        const source = new Subject<number>();
        let completed = false;
        let others!: ReturnType<typeof bystanders>;
        const reported = await reportedDuring(() => {
          source.pipe(withPermit(semaphore)).subscribe({
            next: () => {
              throw fault;
            },
            complete: () => (completed = true),
          });
          others = bystanders(semaphore);
          semaphore.release();
          source.next(1);
          expect([semaphore.value, semaphore.waiting]).toEqual([0, 2]);
          source.complete();
        });
        expect(reported).toEqual([fault]);
        expect(completed).toBe(true);
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a downstream complete handler that throws: reported; the permit was back before it ran', async () => {
        const fault = new Fault('downstream complete');
        const semaphore = heldSemaphore(create);
        let valueSeen = -1;
        let others!: ReturnType<typeof bystanders>;
        const reported = await reportedDuring(() => {
          of(1)
            .pipe(withPermit(semaphore))
            .subscribe({
              complete: () => {
                valueSeen = semaphore.value;
                throw fault;
              },
            });
          others = bystanders(semaphore);
          semaphore.release();
        });
        expect(reported).toEqual([fault]);
        expect(valueSeen).toBe(0); // handed straight to y, which was queued behind
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a gated source that completes synchronously inside a release loop, whose subscriber then throws', async () => {
        const semaphore = heldSemaphore(create);
        const faults = [0, 1, 2].map((index) => new Fault(`complete ${index}`));
        const order: number[] = [];
        const reported = await reportedDuring(() => {
          faults.forEach((fault, index) =>
            of(index)
              .pipe(withPermit(semaphore))
              .subscribe({
                next: (value) => order.push(value),
                complete: () => {
                  throw fault;
                },
              }),
          );
          const others = bystanders(semaphore);
          semaphore.release();
          expect(others.log).toEqual(others.served);
        });
        expect(order).toEqual([0, 1, 2]);
        expect(reported).toEqual(faults);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a `with` fallback that throws at the timeout: the error reaches the gated subscriber; the queue is intact', () => {
        const fault = new Fault('fallback');
        const scheduler = new VirtualTimeScheduler();
        const semaphore = heldSemaphore(create, scheduler);
        let received: unknown;
        let subscribed = false;
        new Observable<string>(() => {
          subscribed = true;
        })
          .pipe(
            withPermit(semaphore, {
              timeout: 3,
              with: (error) => {
                expect(error).toBeInstanceOf(PermitTimeoutError);
                throw fault;
              },
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        const others = bystanders(semaphore);
        advanceScheduler(scheduler, 3);
        expect(received).toBe(fault);
        expect([semaphore.value, semaphore.waiting, scheduler.actions.length]).toEqual([0, 2, 0]);
        semaphore.release();
        expect(subscribed).toBe(false);
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a `with` fallback that throws on a rejection (boundedPermit): the error reaches the subscriber', () => {
        const fault = new Fault('fallback');
        const semaphore = heldSemaphore(create);
        let received: unknown;
        of('x')
          .pipe(
            boundedPermit(semaphore, {
              with: (error) => {
                expect(error).toBeInstanceOf(PermitRejectedError);
                throw fault;
              },
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        expect(received).toBe(fault);
        expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
        semaphore.release();
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a `with` fallback that returns no ObservableInput: a TypeError reaches the subscriber', () => {
        const scheduler = new VirtualTimeScheduler();
        const semaphore = heldSemaphore(create, scheduler);
        let received: unknown;
        of('x')
          .pipe(withPermit(semaphore, { timeout: 1, with: () => 42 as unknown as Observable<string> }))
          .subscribe({ error: (error: unknown) => (received = error) });
        advanceScheduler(scheduler, 1);
        expect(received).toBeInstanceOf(TypeError);
        semaphore.release();
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a fallback stream that errors: the error reaches the subscriber; no permit is involved', () => {
        const fault = new Fault('fallback stream');
        const scheduler = new VirtualTimeScheduler();
        const semaphore = heldSemaphore(create, scheduler);
        let received: unknown;
        of('x')
          .pipe(
            withPermit(semaphore, {
              timeout: 1,
              with: () => throwError((): unknown => fault) as Observable<string>,
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        advanceScheduler(scheduler, 1);
        expect(received).toBe(fault);
        semaphore.release();
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });
    });

    describe('mergeMapWithPermit', () => {
      it('a project that throws while another inner runs: the error reaches the subscriber; every permit is back', () => {
        const fault = new Fault('project');
        const semaphore = create(2);
        let received: unknown;
        let innerTornDown = false;
        const source = new Subject<number>();
        source
          .pipe(
            mergeMapWithPermit(semaphore, (value) => {
              if (value === 2) throw fault;
              return new Observable<string>(() => () => (innerTornDown = true));
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        source.next(1);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
        source.next(2);
        expect(received).toBe(fault);
        expect(innerTornDown).toBe(true);
        expect(source.observed).toBe(false);
        expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
      });

      it('a project that throws on a grant from the queue: its permit goes to the next request', () => {
        const fault = new Fault('project');
        const semaphore = heldSemaphore(create);
        let received: unknown;
        of(1, 2)
          .pipe(
            mergeMapWithPermit(semaphore, (value) => {
              if (value === 1) throw fault;
              return of(`v${value}`);
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        const others = bystanders(semaphore);
        expect(semaphore.waiting).toBe(4);
        semaphore.release();
        expect(received).toBe(fault);
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('an inner that throws at subscribe: the error reaches the subscriber; the permit is back', () => {
        const fault = new Fault('inner');
        const semaphore = heldSemaphore(create);
        let received: unknown;
        of(1, 2)
          .pipe(
            mergeMapWithPermit(semaphore, () =>
              defer(() => {
                throw fault;
              }),
            ),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        const others = bystanders(semaphore);
        semaphore.release();
        expect(received).toBe(fault);
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('an inner whose teardown throws on complete: its permit comes back; the next value runs; the merge completes', async () => {
        const fault = new Fault('inner teardown');
        const semaphore = create(1);
        const inners: Array<Subscriber<string>> = [];
        let completed = false;
        let thrown: unknown = null;
        const reported = await reportedDuring(() => {
          of(1, 2)
            .pipe(
              mergeMapWithPermit(
                semaphore,
                (value) =>
                  new Observable<string>((subscriber) => {
                    inners.push(subscriber);
                    return value === 1
                      ? () => {
                          throw fault;
                        }
                      : undefined;
                  }),
              ),
            )
            .subscribe({ complete: () => (completed = true) });
          try {
            inners[0].complete();
          } catch (error) {
            thrown = error;
          }
          expect(inners.length).toBe(2);
          inners[1]?.complete();
        });
        expect(carries(thrown, fault) || reported.some((error) => carries(error, fault))).toBe(true);
        expect(completed).toBe(true);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });

      it('a `with` fallback that throws at a timeout: the error reaches the subscriber; nothing stays queued', () => {
        const fault = new Fault('fallback');
        const scheduler = new VirtualTimeScheduler();
        const semaphore = heldSemaphore(create, scheduler);
        let received: unknown;
        of(1, 2)
          .pipe(
            mergeMapWithPermit(semaphore, (value) => of(value), {
              timeout: 2,
              with: () => {
                throw fault;
              },
            }),
          )
          .subscribe({ error: (error: unknown) => (received = error) });
        const others = bystanders(semaphore);
        advanceScheduler(scheduler, 2);
        expect(received).toBe(fault);
        expect([semaphore.value, semaphore.waiting, scheduler.actions.length]).toEqual([0, 2, 0]);
        semaphore.release();
        expect(others.log).toEqual(others.served);
        expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
      });
    });
  });
}

describe('fault injection: RLock', () => {
  const A = { name: 'A' };
  const B = { name: 'B' };
  const C = { name: 'C' };

  /** B, then C, queued behind the lock's current owner; each releases as soon as it holds it. */
  function waitingOwners(lock: RLock) {
    const log: string[] = [];
    lock.acquire(B).subscribe((granted) => {
      log.push(`B: ${granted}`);
      lock.release(B);
    });
    of('c')
      .pipe(reentrant(lock, { owner: C }))
      .subscribe({ next: (value) => log.push(`C: ${value}`), complete: () => log.push('C: complete') });
    return { log, served: ['B: true', 'C: c', 'C: complete'] };
  }

  it('an owner whose observer throws on its grant: reported; it owns the lock until it releases', async () => {
    const fault = new Fault('observer');
    const lock = new RLock();
    const X = { name: 'X' };
    expect(lock.tryAcquire(A)).toBe(true);
    let others!: ReturnType<typeof waitingOwners>;
    const reported = await reportedDuring(() => {
      lock.acquire(X).subscribe(() => {
        throw fault;
      });
      others = waitingOwners(lock);
      lock.release(A);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([X, 1, 2]);
      lock.release(X);
    });
    expect(reported).toEqual([fault]);
    expect(others.log).toEqual(others.served);
    expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
  });

  it('an owner that re-enters and releases twice from its observer, then throws: the next owners are served', async () => {
    const fault = new Fault('observer');
    const lock = new RLock();
    const X = { name: 'X' };
    expect(lock.tryAcquire(A)).toBe(true);
    let others!: ReturnType<typeof waitingOwners>;
    const reported = await reportedDuring(() => {
      lock.acquire(X).subscribe(() => {
        expect(lock.tryAcquire(X)).toBe(true);
        lock.release(X);
        lock.release(X);
        throw fault;
      });
      others = waitingOwners(lock);
      lock.release(A);
    });
    expect(reported).toEqual([fault]);
    expect(others.log).toEqual(others.served);
    expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
  });

  it('an observer that releases for an owner that does not hold the lock: LockOwnershipError, reported; nothing changes', async () => {
    const lock = new RLock();
    expect(lock.tryAcquire(A)).toBe(true);
    const previous = config.onUnhandledError;
    const reported: unknown[] = [];
    config.onUnhandledError = (error) => reported.push(error);
    try {
      lock.acquire(A).subscribe(() => lock.release(B));
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      config.onUnhandledError = previous;
    }
    expect(reported.some((error) => (error as Error).name === 'LockOwnershipError')).toBe(true);
    expect([lock.owner, lock.count]).toEqual([A, 2]);
  });

  it('a reentrant source that throws at subscribe: the error reaches its subscriber; the lock passes on', () => {
    const fault = new Fault('source');
    const lock = new RLock();
    expect(lock.tryAcquire(A)).toBe(true);
    let received: unknown;
    defer(() => {
      throw fault;
    })
      .pipe(reentrant(lock))
      .subscribe({ error: (error: unknown) => (received = error) });
    const others = waitingOwners(lock);
    lock.release(A);
    expect(received).toBe(fault);
    expect(others.log).toEqual(others.served);
    expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
  });

  for (const how of ['complete', 'unsubscribe'] as const) {
    it(`a reentrant source whose teardown throws on ${how}: the lock passes on`, async () => {
      const fault = new Fault(`teardown on ${how}`);
      const lock = new RLock();
      let source!: Subscriber<string>;
      let thrown: unknown = null;
      let others!: ReturnType<typeof waitingOwners>;
      const reported = await reportedDuring(() => {
        const subscription = new Observable<string>((subscriber) => {
          source = subscriber;
          return () => {
            throw fault;
          };
        })
          .pipe(reentrant(lock, { owner: A }))
          .subscribe();
        others = waitingOwners(lock);
        try {
          if (how === 'complete') source.complete();
          else subscription.unsubscribe();
        } catch (error) {
          thrown = error;
        }
      });
      expect(carries(thrown, fault) || reported.some((error) => carries(error, fault))).toBe(true);
      expect(others.log).toEqual(others.served);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
    });
  }

  it('a reentrant `with` fallback that throws at the timeout: the error reaches the subscriber; the queue is intact', () => {
    const fault = new Fault('fallback');
    const scheduler = new VirtualTimeScheduler();
    const lock = new RLock({ scheduler });
    expect(lock.tryAcquire(A)).toBe(true);
    let received: unknown;
    of('x')
      .pipe(
        reentrant(lock, {
          owner: { name: 'X' },
          timeout: 2,
          with: () => {
            throw fault;
          },
        }),
      )
      .subscribe({ error: (error: unknown) => (received = error) });
    const others = waitingOwners(lock);
    advanceScheduler(scheduler, 2);
    expect(received).toBe(fault);
    expect([lock.waiting, scheduler.actions.length]).toEqual([2, 0]);
    lock.release(A);
    expect(others.log).toEqual(others.served);
    expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
  });

  it('a lock subscriber that throws: reported; the lock keeps its count', async () => {
    const fault = new Fault('lock subscriber');
    const lock = new RLock();
    const seen: number[] = [];
    const reported = await reportedDuring(() => {
      lock.subscribe(() => {
        throw fault;
      });
      lock.subscribe((value) => seen.push(value));
      expect(lock.tryAcquire(A)).toBe(true);
      const others = waitingOwners(lock);
      lock.release(A);
      expect(others.log).toEqual(others.served);
    });
    expect(reported.length).toBeGreaterThanOrEqual(2);
    expect(seen[seen.length - 1]).toBe(1);
    expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
  });
});

import { NEVER, defer, finalize, map, mergeMap, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { DummySemaphore, Semaphore, mergeMapWithPermit, withPermit, type Lease } from '../src/index.js';
import { createTestScheduler, permitTimeout, spyScheduler } from '../spec/helpers/index.js';

// Frame-exact timing of mergeMapWithPermit: one request per source value in the semaphore's shared
// FIFO, project called at the grant, completion, withdrawal and per-value timeouts (SPEC rule 18).

describe('mergeMapWithPermit (marbles)', () => {
  let testScheduler: TestScheduler;
  /** Every call of a project: [value, index, frame]. */
  let projected: Array<[string, number, number]>;

  beforeEach(() => {
    testScheduler = createTestScheduler();
    projected = [];
  });

  const at = (frame: number, check: () => void) => testScheduler.schedule(check, frame);

  /** A project that records its calls and maps a value to `inner(value)`. */
  const recording =
    (inner: (value: string) => Observable<string>) =>
    (value: string, index: number): Observable<string> => {
      projected.push([value, index, testScheduler.now()]);
      return inner(value);
    };

  describe('order and completion', () => {
    it('runs inners one at a time on a semaphore of 1, projecting each value at its grant', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('abc|');
        const project = recording((x) => cold('-x|', { x }));
        expectObservable(source.pipe(mergeMapWithPermit(semaphore, project))).toBe('-a-b-c|');
        expectSubscriptions(source.subscriptions).toBe('^--!');
        expectObservable(semaphore).toBe('(10)--1', { 0: 0, 1: 1 });
      });
      expect(projected).toEqual([
        ['a', 0, 0],
        ['b', 1, 2],
        ['c', 2, 4],
      ]);
    });

    it('completes after the source when the source completes last', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const project = recording((x) => cold('-x|', { x }));
        expectObservable(cold('a-b---|').pipe(mergeMapWithPermit(semaphore, project))).toBe('-a-b--|');
      });
      expect(semaphore.value).toBe(1);
    });

    it('completes at once with an empty source', () => {
      const semaphore = new Semaphore(0);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(
          cold('--|').pipe(
            mergeMapWithPermit(
              semaphore,
              recording((x) => cold(x)),
            ),
          ),
        ).toBe('--|');
      });
      expect(projected).toEqual([]);
    });

    it('runs up to N inners at once on a semaphore of N, and weighted inners N / permits at once', () => {
      const semaphore = new Semaphore(4);
      testScheduler.run(({ cold, expectObservable }) => {
        const project = recording((x) => cold('--x|', { x }));
        expectObservable(cold('abc|').pipe(mergeMapWithPermit(semaphore, project, { permits: 2 }))).toBe(
          '--ab-c|',
        );
      });
      expect(projected).toEqual([
        ['a', 0, 0],
        ['b', 1, 1],
        ['c', 2, 3],
      ]);
      expect(semaphore.value).toBe(4);
    });

    it('gives the last permit back before forwarding complete', () => {
      const semaphore = new Semaphore(1);
      const seen: Array<[number, boolean]> = [];
      testScheduler.run(({ cold }) => {
        cold('ab|')
          .pipe(mergeMapWithPermit(semaphore, (x) => cold('-x|', { x })))
          .subscribe({ complete: () => seen.push([testScheduler.now(), semaphore.tryAcquire()]) });
      });
      expect(seen).toEqual([[4, true]]);
    });

    it("queues its inners in the semaphore's FIFO together with other users", () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const other = cold('-w|');
        const project = recording((x) => cold('-x|', { x }));
        expectObservable(cold('--|').pipe(withPermit(semaphore))).toBe('--|');
        expectObservable(cold('a-b|').pipe(mergeMapWithPermit(semaphore, project))).toBe('---a---b|');
        // Subscribed at frame 1: after the request of `a` (frame 0), before that of `b` (frame 2).
        expectObservable(other.pipe(withPermit(semaphore)), '-^').toBe('-----w|');
        expectSubscriptions(other.subscriptions).toBe('----^-!');
      });
      expect(projected).toEqual([
        ['a', 0, 2],
        ['b', 1, 6],
      ]);
      expect(semaphore.value).toBe(1);
    });

    it('never runs more than N inners at once with another pipeline on the same semaphore of N', () => {
      const semaphore = new Semaphore(2);
      let running = 0;
      let maxRunning = 0;
      let finished = 0;
      const started: Array<[string, number]> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        // Counted from subscribe (defer) to teardown (finalize): an inner is torn down before its
        // permit goes to the next request.
        const counted = (value: string) =>
          defer(() => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            started.push([value, testScheduler.now()]);
            return cold('--x|', { x: value });
          }).pipe(
            finalize(() => {
              running--;
              finished++;
            }),
          );
        expectObservable(cold('abc|').pipe(mergeMapWithPermit(semaphore, counted))).toBe('--ab--c|');
        expectObservable(cold('-d|').pipe(mergeMap((x) => counted(x).pipe(withPermit(semaphore))))).toBe(
          '-----d|',
        );
      });
      expect(maxRunning).toBe(2);
      expect(running).toBe(0);
      expect(finished).toBe(4);
      expect(started).toEqual([
        ['a', 0],
        ['b', 1],
        ['d', 3],
        ['c', 4],
      ]);
      expect(semaphore.value).toBe(2);
    });
  });

  describe('withdrawal', () => {
    it('withdraws every queued request when unsubscribed: waiting drops to 0 and nothing is projected later', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('ab--c|');
        expectObservable(
          source.pipe(
            mergeMapWithPermit(
              semaphore,
              recording((x) => cold(`(${x}|)`)),
            ),
          ),
          '^--!',
        ).toBe('');
        expectSubscriptions(source.subscriptions).toBe('^--!');
        at(2, () => expect(semaphore.waiting).withContext('waiting at frame 2').toBe(2));
        at(4, () => expect(semaphore.waiting).withContext('waiting at frame 4').toBe(0));
        at(5, () => expect(semaphore.release()).withContext('value after the release at frame 5').toBe(1));
      });
      expect(projected).toEqual([]);
      expect(semaphore.value).toBe(1);
    });

    it('cuts off a running inner when unsubscribed and gives its permit back in that frame', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const inner = cold('-x-x-x-x');
        expectObservable(
          cold('ab|').pipe(
            mergeMapWithPermit(
              semaphore,
              recording(() => inner),
            ),
          ),
          '^---!',
        ).toBe('-x-x');
        expectSubscriptions(inner.subscriptions).toBe('^---!');
        expectObservable(semaphore).toBe('(10)1', { 0: 0, 1: 1 });
        at(5, () => expect(semaphore.waiting).toBe(0));
      });
      expect(projected).toEqual([['a', 0, 0]]);
    });

    it('withdraws every queued request and cuts off running inners on a source error', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const inner = cold('----x|');
        expectObservable(
          cold('ab-#', undefined, 'boom').pipe(
            mergeMapWithPermit(
              semaphore,
              recording(() => inner),
            ),
          ),
        ).toBe('---#', undefined, 'boom');
        expectSubscriptions(inner.subscriptions).toBe('^--!');
        at(2, () => expect(semaphore.waiting).withContext('waiting at frame 2').toBe(1));
        at(4, () => expect(semaphore.waiting).withContext('waiting at frame 4').toBe(0));
        at(4, () => expect(semaphore.value).withContext('value at frame 4').toBe(1));
      });
      expect(projected).toEqual([['a', 0, 0]]);
    });

    it('errors on an inner error, withdrawing the queued requests and giving the permit back first', () => {
      const semaphore = new Semaphore(1);
      const seen: Array<[number, unknown, number, number]> = [];
      testScheduler.run(({ cold }) => {
        cold('ab|')
          .pipe(
            mergeMapWithPermit(
              semaphore,
              recording((x) => (x === 'a' ? cold('--#', undefined, 'bad a') : cold('(b|)'))),
            ),
          )
          .subscribe({
            error: (error) => seen.push([testScheduler.now(), error, semaphore.value, semaphore.waiting]),
          });
      });
      expect(seen).toEqual([[2, 'bad a', 1, 0]]);
      expect(projected).toEqual([['a', 0, 0]]);
      expect(semaphore.value).toBe(1);
    });
  });

  describe('timeout', () => {
    it('errors the whole stream with PermitTimeoutError when a queued value times out', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const inner = cold('----x|');
        expectObservable(
          cold('ab|').pipe(
            mergeMapWithPermit(
              semaphore,
              recording(() => inner),
              { timeout: 2 },
            ),
          ),
        ).toBe('---#', undefined, permitTimeout(2, 1));
        // `a` was granted at once (no timer); `b` waited from frame 1 to 3 and cut `a` off.
        expectSubscriptions(inner.subscriptions).toBe('^--!');
        at(4, () => expect(semaphore.waiting).toBe(0));
      });
      expect(projected).toEqual([['a', 0, 0]]);
      expect(semaphore.value).toBe(1);
    });

    it("with `with`, replaces a timed-out value's inner by the fallback and runs the others", () => {
      const semaphore = new Semaphore(1);
      const errors: unknown[] = [];
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const fallback = cold('-f|');
        const project = recording((x) => cold('---x|', { x }));
        expectObservable(
          cold('ab-c|').pipe(
            mergeMapWithPermit(semaphore, project, {
              timeout: 2,
              with: (error) => {
                errors.push(error);
                return fallback;
              },
            }),
          ),
        ).toBe('---af--c|');
        expectSubscriptions(fallback.subscriptions).toBe('---^-!');
        // The fallback holds no permit: `c` gets it when `a` completes at frame 4.
        expectObservable(semaphore).toBe('(10)----1', { 0: 0, 1: 1 });
      });
      expect(errors).toEqual([permitTimeout(2, 1)]);
      expect(projected).toEqual([
        ['a', 0, 0],
        ['c', 2, 4],
      ]);
    });

    it("cancels a value's timer when its request is granted", () => {
      const semaphore = new Semaphore(1);
      const { scheduler, log } = spyScheduler(() => testScheduler.now());
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(
          cold('ab|').pipe(
            mergeMapWithPermit(semaphore, (x) => cold('--x|', { x }), { timeout: 5, scheduler }),
          ),
        ).toBe('--a--b|');
      });
      expect(log).toEqual({ scheduled: 1, fired: 0, closedAt: [3] });
      expect(semaphore.value).toBe(1);
    });

    it('with timeout <= 0 errors in the frame of a value that finds no permit free', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        expectObservable(
          cold('a-b|').pipe(
            mergeMapWithPermit(
              semaphore,
              recording((x) => cold('----x|', { x })),
              { timeout: 0 },
            ),
          ),
        ).toBe('--#', undefined, permitTimeout(0, 1));
      });
      expect(projected).toEqual([['a', 0, 0]]);
      expect(semaphore.value).toBe(1);
      expect(semaphore.waiting).toBe(0);
    });
  });

  describe('DummySemaphore', () => {
    it('behaves as a plain mergeMap', () => {
      const dummy = new DummySemaphore();
      testScheduler.run(({ cold, expectObservable }) => {
        const source = cold('abc|');
        const project = (x: string) => cold('-x--|', { x });
        expectObservable(source.pipe(mergeMap(project))).toBe('-abc--|');
        expectObservable(source.pipe(mergeMapWithPermit(dummy, project))).toBe('-abc--|');
        expectObservable(source.pipe(mergeMapWithPermit(dummy, project, { permits: 3, timeout: 0 }))).toBe(
          '-abc--|',
        );
      });
    });
  });
});

// SPEC §5: project receives the lease as its third argument (its token, released in the frame the
// inner ends, or earlier by user code), and every value's request takes the operator's `priority`.
describe('mergeMapWithPermit (marbles): leases and priority', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  const at = (frame: number, work: () => void) => testScheduler.schedule(work, frame);

  describe('the lease, third argument of project', () => {
    it('carries a token that increases per value, and is released in the frame its inner ends', () => {
      const semaphore = new Semaphore(2);
      const leases: Array<[string, number, Lease]> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const project = (value: string, index: number, lease: Lease) => {
          leases.push([value, index, lease]);
          return cold(value === 'b' ? '----x|' : '-x|', { x: `${value}${lease.token}` });
        };
        expectObservable(cold('abc|').pipe(mergeMapWithPermit(semaphore, project))).toBe('-a-c-b|', {
          a: 'a1',
          b: 'b2',
          c: 'c3',
        });
        // a's inner ended at 2 and c took its permit; c's ends at 4, b's at 6.
        at(3, () => expect(leases.map(([, , lease]) => lease.released)).toEqual([true, false, false]));
        at(5, () => expect(leases.map(([, , lease]) => lease.released)).toEqual([true, false, true]));
        at(7, () => expect(leases.map(([, , lease]) => lease.released)).toEqual([true, true, true]));
      });
      expect(leases.map(([value, index, lease]) => [value, index, lease.token, lease.permits])).toEqual([
        ['a', 0, 1, 1],
        ['b', 1, 2, 1],
        ['c', 2, 3, 1],
      ]);
      expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]);
    });

    it('a lease released early by the inner starts the next value in that frame; the inner end releases nothing more', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const project = (value: string, _index: number, lease: Lease) =>
          value === 'a'
            ? cold('-r---x|').pipe(
                map((event) => {
                  if (event === 'r') lease.release();
                  return `${value}:${event}:${lease.released}`;
                }),
              )
            : cold('-x|', { x: `${value}:${lease.token}` });
        expectObservable(cold('ab|').pipe(mergeMapWithPermit(semaphore, project))).toBe('-rb--x|', {
          r: 'a:r:true',
          b: 'b:2',
          x: 'a:x:true',
        });
        at(4, () => expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]));
      });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('a value withdrawn while queued never gets a lease: its token is not drawn', () => {
      const semaphore = new Semaphore(1);
      const tokens: number[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const project = (value: string, _index: number, lease: Lease) => {
          tokens.push(lease.token);
          return cold('--x|', { x: value });
        };
        expectObservable(cold('ab|').pipe(mergeMapWithPermit(semaphore, project)), '^-!').toBe('--');
        expectObservable(cold('---c|').pipe(mergeMapWithPermit(semaphore, project))).toBe('-----c|');
      });
      expect(tokens).toEqual([1, 2]);
    });
  });

  describe('priority (rule 19)', () => {
    it('values of a merge of higher priority are served before those queued earlier at a lower one', () => {
      const semaphore = new Semaphore(1);
      testScheduler.run(({ cold, expectObservable }) => {
        const project = (value: string) => cold('--x|', { x: value });
        expectObservable(cold('ab|').pipe(mergeMapWithPermit(semaphore, project))).toBe('--a--------b|');
        expectObservable(cold('-cd|').pipe(mergeMapWithPermit(semaphore, project, { priority: 1 }))).toBe(
          '-----c--d|',
        );
        at(2, () => expect(semaphore.waiting).toBe(2));
      });
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
    });

    it('a value of higher priority is projected synchronously while only lower ones wait', () => {
      const semaphore = new Semaphore(2);
      const projectedAt: Array<[string, number]> = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const project = (value: string) => {
          projectedAt.push([value, testScheduler.now()]);
          return value === 'h' ? cold('-|') : cold('-x|', { x: value });
        };
        expectObservable(cold('a').pipe(mergeMapWithPermit(semaphore, () => NEVER))).toBe('');
        expectObservable(
          cold('-h|').pipe(mergeMapWithPermit(semaphore, project, { permits: 2, priority: -1 })),
        ).toBe('');
        expectObservable(cold('--u|').pipe(mergeMapWithPermit(semaphore, project))).toBe('---u|');
      });
      expect(projectedAt).toEqual([['u', 2]]);
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 1]);
    });
  });
});

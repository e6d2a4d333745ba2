import {
  EMPTY,
  NEVER,
  Observable,
  Subject,
  Subscriber,
  VirtualTimeScheduler,
  catchError,
  concatMap,
  defer,
  delay,
  exhaustMap,
  expand,
  map,
  mergeMap,
  of,
  share,
  switchMap,
  tap,
  throwError,
  timer,
  type MonoTypeOperatorFunction,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { LockOwnershipError, RLock, Semaphore, reentrant } from '../src/index.js';
import { findDownstream } from '../src/internal/subscription-chain.js';
import {
  Fault,
  advanceScheduler,
  captureUnhandledErrors,
  carries,
  createTestScheduler,
  notObjects,
  quietly,
  reportedDuring,
  request,
  stateOf,
  thrownBy,
  throwingTeardown,
  waitingOwners,
} from './helpers/index.js';

// The reentrant(lock) operator: owners inferred from the subscription chain, bad input, faults
// that stay local, the RxJS internal it relies on, and the README's token-refresh recipe (SPEC
// rules 15-17). The lock itself is spec/rlock.spec.ts; frame-exact timing of the operator is
// marble-tests/reentrant.marble.spec.ts.

const carol = { name: 'carol' };

describe('reentrant', () => {
  describe('inferred owners', () => {
    it('names an owner inferred by reentrant() as "stream owner #N"', () => {
      const lock = new RLock();
      const subscription = NEVER.pipe(reentrant(lock)).subscribe();
      const owner = lock.owner as { name?: unknown } | null;
      expect(owner).not.toBeNull();
      expect(owner!.name).toMatch(/^stream owner #\d+$/);

      const error = thrownBy(() => lock.release({ name: 'intruder' })) as LockOwnershipError;

      expect(error).toBeInstanceOf(LockOwnershipError);
      expect(error.message).toContain(owner!.name as string);
      expect(error.message).toContain('intruder');
      expect(lock.owner).toBe(owner as object);
      expect(lock.count).toBe(1);
      subscription.unsubscribe();
      expect(lock.locked()).toBe(false);
    });

    it('gives each inferred owner its own number', () => {
      const lock = new RLock();
      const first = NEVER.pipe(reentrant(lock)).subscribe();
      const firstOwner = lock.owner as { name: string };
      first.unsubscribe();
      const second = NEVER.pipe(reentrant(lock)).subscribe();
      const secondOwner = lock.owner as { name: string };
      second.unsubscribe();
      expect(secondOwner).not.toBe(firstOwner);
      expect(secondOwner.name).toMatch(/^stream owner #\d+$/);
      expect(secondOwner.name).not.toBe(firstOwner.name);
    });
  });

  describe('bad input', () => {
    for (const [label, owner] of notObjects) {
      // `owner: undefined` is an absent option: the owner is inferred.
      if (owner === undefined) continue;
      describe(`an owner that is ${label}`, () => {
        it('makes reentrant throw a TypeError for options.owner when the operator is created', () => {
          const lock = new RLock();
          expect(() => reentrant(lock, { owner: owner as object })).toThrowError(TypeError);
        });
      });
    }

    it('reentrant with options.owner undefined infers the owner', () => {
      const lock = new RLock();
      const subscription = NEVER.pipe(reentrant(lock, { owner: undefined })).subscribe();
      expect((lock.owner as { name: string }).name).toMatch(/^stream owner #\d+$/);
      subscription.unsubscribe();
    });

    const notLocks: ReadonlyArray<readonly [string, () => unknown]> = [
      ['a Semaphore', () => new Semaphore(1)],
      ['a plain object', () => ({})],
      ['an object shaped like an RLock', () => Object.create(RLock.prototype)],
      ['null', () => null],
      ['undefined', () => undefined],
      ['a number', () => 1],
    ];
    for (const [label, make] of notLocks) {
      it(`reentrant throws a TypeError when given ${label} instead of an RLock`, () => {
        expect(() => reentrant(make() as RLock)).toThrowError(TypeError);
      });
    }

    it('reentrant throws a RangeError for a NaN timeout when the operator is created', () => {
      expect(() => reentrant(new RLock(), { timeout: NaN })).toThrowError(RangeError);
    });

    it('reentrant throws a TypeError for a `with` fallback that is not a function', () => {
      expect(() => reentrant(new RLock(), { with: 'fallback' as never })).toThrowError(TypeError);
    });

    it('reentrant throws a TypeError that names an unknown option key and the known ones', () => {
      expect(() => reentrant(new RLock(), { permits: 2 } as never)).toThrowMatching(
        (error) =>
          error instanceof TypeError &&
          error.message.startsWith(`reentrant: unknown option "`) &&
          error.message.endsWith(`; the options are owner, priority, timeout, scheduler, with`),
      );
    });
  });

  describe('faults stay local', () => {
    const A = { name: 'A' };
    const B = { name: 'B' };
    const C = { name: 'C' };

    it('a complete handler of a gated stream that throws leaves the lock with the next waiting owner', async () => {
      const lock = new RLock();
      const boom = new Error('complete handler fault');
      const log: string[] = [];
      const reported = await captureUnhandledErrors(() => {
        of('a')
          .pipe(delay(0), reentrant(lock))
          .subscribe({
            complete: () => {
              throw boom;
            },
          });
        request(lock, carol, 'carol', log);
      });
      expect(reported).toEqual([boom]);
      expect(log).toEqual(['carol:true', 'carol:|']);
      expect(stateOf(lock)).toEqual({ owner: carol, count: 1, waiting: 0, locked: true });
    });

    // Regression: a gated source whose teardown throws (SPEC rules 8, 17). PermitHolder tore the
    // source down first and gave the lock back after: the UnsubscriptionError thrown by the teardown
    // skipped the release, and the lock stayed with the finished stream's owner.
    it('a gated source whose teardown throws: the lock passes to the next owner', async () => {
      const lock = new RLock();
      const { handle, observable } = throwingTeardown();
      const next = { name: 'next' };
      let granted = false;
      await quietly(() => {
        observable.pipe(reentrant(lock)).subscribe();
        lock.acquire(next).subscribe(() => (granted = true));
        try {
          handle.source!.complete();
        } catch {
          // plain RxJS rethrows a failed teardown to the producer as an UnsubscriptionError
        }
      });
      expect(granted).toBe(true); // was false: the lock stayed with the finished stream's owner
      expect(lock.owner).toBe(next);
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
      const others = waitingOwners(lock, B, C);
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
          others = waitingOwners(lock, B, C);
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
      const others = waitingOwners(lock, B, C);
      advanceScheduler(scheduler, 2);
      expect(received).toBe(fault);
      expect([lock.waiting, scheduler.actions.length]).toEqual([2, 0]);
      lock.release(A);
      expect(others.log).toEqual(others.served);
      expect([lock.owner, lock.count, lock.waiting]).toEqual([null, 0, 0]);
    });
  });

  // Guards the one RxJS internal that `reentrant()` relies on (src/internal/subscription-chain.ts):
  // every operator's subscriber, including the subscriber of a flattening operator's inner, links to
  // the subscriber downstream of it through `destination`, and the chain stops at a Subject or
  // share(). If an RxJS upgrade changes that, these specs fail with a message saying so.
  describe('the subscription chain reentrant() relies on (RxJS internals)', () => {
    const CHAIN_BROKEN =
      'RxJS internals changed: Subscriber.destination no longer links operator subscribers; ' +
      'reentrant() ownership inference needs updating — see src/internal/subscription-chain.ts';

    const MULTICAST_LINKED =
      'RxJS internals changed: a Subject / share() now links its source to its consumers through ' +
      'Subscriber.destination, so reentrant() would treat a multicast source as the same owner as ' +
      'one of its consumers — see src/internal/subscription-chain.ts';

    /** Stands for reentrant()'s lock holder: a Subscriber subclass subscribed to the source. */
    class Marker<T> extends Subscriber<T> {}

    /** An operator that subscribes its source with a fresh {@link Marker}, as `reentrant` does. */
    function marked<T>(markers: Array<Marker<T>>): MonoTypeOperatorFunction<T> {
      return (source) =>
        new Observable<T>((downstream) => {
          const marker = new Marker<T>(downstream);
          markers.push(marker);
          source.subscribe(marker);
        });
    }

    const isMarker = (candidate: unknown): candidate is Marker<unknown> => candidate instanceof Marker;

    /** What a probe saw of its subscriber's chain when it was subscribed (as reentrant() looks then). */
    interface ChainSeen {
      subscriber: Subscriber<unknown>;
      /** The chain walked by hand through `destination`. */
      chain: unknown[];
      /** The Marker src/internal/subscription-chain.ts finds downstream, if any. */
      found: Marker<unknown> | null;
    }

    /**
     * A stream that, when subscribed, records what its subscriber's chain looks like at that moment
     * (a finished subscriber is cut from its chain), then emits `value` and completes.
     */
    function probe<T>(value: T, seen: ChainSeen[]): Observable<T> {
      return new Observable<T>((subscriber) => {
        seen.push({
          subscriber,
          chain: destinationChain(subscriber),
          found: findDownstream(subscriber, isMarker),
        });
        subscriber.next(value);
        subscriber.complete();
      });
    }

    /** Walks `destination` by hand (not through the helper under guard), as far as it goes. */
    function destinationChain(start: unknown): unknown[] {
      const chain: unknown[] = [];
      let current = start;
      while (current !== null && typeof current === 'object' && chain.length < 1000) {
        chain.push(current);
        current = (current as { destination?: unknown }).destination;
      }
      return chain;
    }

    type Flatten = <T, R>(project: (value: T) => ObservableInput<R>) => OperatorFunction<T, R>;

    const flatteners: ReadonlyArray<readonly [string, Flatten]> = [
      ['mergeMap', (project) => mergeMap(project)],
      ['switchMap', (project) => switchMap(project)],
      ['concatMap', (project) => concatMap(project)],
      ['exhaustMap', (project) => exhaustMap(project)],
      [
        'mergeMap with a concurrency limit (inner started from the buffer)',
        (project) => mergeMap(project, 1),
      ],
    ];

    /** Runs `build` in virtual time and returns the marker and the subscribers the probes saw. */
    function subscribeThrough(build: (probed: Observable<string>) => Observable<string>) {
      const markers: Array<Marker<string>> = [];
      const probed: ChainSeen[] = [];
      const output: string[] = [];
      createTestScheduler().run(() => {
        build(probe('inner', probed))
          .pipe(marked(markers))
          .subscribe((value) => output.push(value));
      });
      return { markers, probed, output };
    }

    function expectReached(markers: Array<Marker<string>>, probed: ChainSeen[]): void {
      expect(markers.length).withContext('the outer operator subscriber was created').toBe(1);
      expect(probed.length).withContext('the inner stream was subscribed').toBeGreaterThan(0);
      for (const { chain, found } of probed) {
        expect(chain).withContext(CHAIN_BROKEN).toContain(markers[0]);
        expect(found)
          .withContext(CHAIN_BROKEN)
          .toBe(markers[0] as Marker<unknown>);
      }
    }

    for (const [name, flatten] of flatteners) {
      it(`from inside a ${name} inner subscribed at once, destination leads to the outer operator subscriber`, () => {
        const { markers, probed, output } = subscribeThrough((inner) =>
          of('a', 'b').pipe(flatten(() => inner)),
        );
        expect(output.length).toBeGreaterThan(0);
        expectReached(markers, probed);
      });

      it(`from inside a ${name} inner subscribed after a timer, destination leads to the outer operator subscriber`, () => {
        const { markers, probed, output } = subscribeThrough((inner) =>
          of('a').pipe(flatten(() => timer(3).pipe(flatten(() => inner)))),
        );
        expect(output).toEqual(['inner']);
        expectReached(markers, probed);
      });
    }

    it('from inside a recursive expand inner, at every level, destination leads to the outer operator subscriber', () => {
      const markers: Array<Marker<number>> = [];
      const probed: ChainSeen[] = [];
      const output: number[] = [];
      createTestScheduler().run(() => {
        of(0)
          .pipe(
            expand((n) => (n < 3 ? timer(1).pipe(concatMap(() => probe(n + 1, probed))) : EMPTY)),
            marked(markers),
          )
          .subscribe((value) => output.push(value));
      });
      expect(output).toEqual([0, 1, 2, 3]);
      expect(probed.length).toBe(3);
      for (const { chain, found } of probed) {
        expect(chain).withContext(CHAIN_BROKEN).toContain(markers[0]);
        expect(found)
          .withContext(CHAIN_BROKEN)
          .toBe(markers[0] as Marker<unknown>);
      }
    });

    it('from inside a catchError replacement, destination leads to the outer operator subscriber', () => {
      const { markers, probed, output } = subscribeThrough((inner) =>
        throwError(() => new Error('401')).pipe(catchError(() => inner)),
      );
      expect(output).toEqual(['inner']);
      expectReached(markers, probed);
    });

    it('a Subscriber subclass given to subscribe() is used as is, so operators link to it', () => {
      const markers: Array<Marker<string>> = [];
      const probed: ChainSeen[] = [];
      probe('x', probed).pipe(marked(markers)).subscribe();
      expect(probed[0].subscriber)
        .withContext(CHAIN_BROKEN)
        .toBe(markers[0] as Subscriber<unknown>);
    });

    it('through a Subject, destination does not lead to a consumer of the Subject', () => {
      const markers: Array<Marker<string>> = [];
      const probed: ChainSeen[] = [];
      const subject = new Subject<string>();
      subject.pipe(marked(markers)).subscribe();
      probe('x', probed).subscribe(subject);
      expect(markers.length).toBe(1);
      expect(probed.length).toBe(1);
      expect(probed[0].chain).withContext(MULTICAST_LINKED).not.toContain(markers[0]);
      expect(probed[0].found).withContext(MULTICAST_LINKED).toBeNull();
    });

    it('through share(), destination does not lead to a consumer of the shared stream', () => {
      const markers: Array<Marker<string>> = [];
      const probed: ChainSeen[] = [];
      const output: string[] = [];
      createTestScheduler().run(() => {
        const shared = timer(1).pipe(
          concatMap(() => probe('x', probed)),
          share(),
        );
        of('a')
          .pipe(
            mergeMap(() => shared),
            marked(markers),
          )
          .subscribe((value) => output.push(value));
      });
      expect(output).toEqual(['x']);
      expect(probed.length).toBe(1);
      expect(probed[0].chain).withContext(MULTICAST_LINKED).not.toContain(markers[0]);
      expect(probed[0].found).withContext(MULTICAST_LINKED).toBeNull();
    });
  });

  // The README recipe "one token refresh at a time", executed: three concurrent requests fail with a
  // 401 and exactly one refresh runs; the refresh started inside a request's locked region re-enters
  // the lock instead of deadlocking (SPEC rule 16). The recipe itself is `tokenRefreshRecipe` at the
  // end of this file.
  describe('recipe: one token refresh at a time (RLock + reentrant)', () => {
    let testScheduler: TestScheduler;

    beforeEach(() => {
      testScheduler = createTestScheduler();
    });

    it('three concurrent requests that get a 401 share one refresh, and each retries with the new token', () => {
      const { tokenLock, request, refreshes } = tokenRefreshRecipe();
      const seen: Array<[frame: number, count: number, waiting: number]> = [];
      testScheduler.run(({ expectObservable }) => {
        expectObservable(request('/a')).toBe('50ms (a|)', { a: '/a with token-1' });
        expectObservable(request('/b')).toBe('50ms (b|)', { b: '/b with token-1' });
        expectObservable(request('/c')).toBe('50ms (c|)', { c: '/c with token-1' });
        for (const frame of [5, 20, 45]) {
          testScheduler.schedule(() => seen.push([frame, tokenLock.count, tokenLock.waiting]), frame);
        }
      });
      // Frame 20: the first request's region holds the lock and its refresh re-entered it (count 2);
      // the other two regions wait. At 40 the refresh ends, and they see the new token and go on.
      expect(seen).toEqual([
        [5, 0, 0],
        [20, 2, 2],
        [45, 0, 0],
      ]);
      expect(refreshes()).toBe(1);
      expect(tokenLock.locked()).toBe(false);
      expect(tokenLock.owner).toBeNull();
    });

    it('a request that gets a 401 while a refresh started elsewhere runs waits for it and does not refresh again', () => {
      const { tokenLock, request, refreshToken$, refreshes } = tokenRefreshRecipe();
      testScheduler.run(({ expectObservable }) => {
        expectObservable(refreshToken$, '5ms ^').toBe('35ms (t|)', { t: 'token-1' });
        expectObservable(request('/a')).toBe('45ms (a|)', { a: '/a with token-1' });
        testScheduler.schedule(() => expect(tokenLock.waiting).toBe(1), 20);
      });
      expect(refreshes()).toBe(1);
      expect(tokenLock.locked()).toBe(false);
    });

    it('requests sent with a fresh token need no refresh and never take the lock', () => {
      const { tokenLock, request, refreshToken$, refreshes } = tokenRefreshRecipe();
      const taken: number[] = [];
      tokenLock.subscribe((value) => {
        if (value === 0) taken.push(testScheduler.now());
      });
      testScheduler.run(({ expectObservable }) => {
        expectObservable(refreshToken$).toBe('30ms (t|)', { t: 'token-1' });
        expectObservable(request('/a'), '31ms ^').toBe('41ms (a|)', { a: '/a with token-1' });
        expectObservable(request('/b'), '32ms ^').toBe('42ms (b|)', { b: '/b with token-1' });
      });
      expect(refreshes()).toBe(1);
      expect(taken).toEqual([0]); // only the refresh took it
      expect(tokenLock.locked()).toBe(false);
    });
  });
  // SPEC §5, rule 19: reentrant takes `priority` for its request as a waiting owner; an owner that
  // holds the lock (inferred or explicit) re-enters at once whatever the priority.
  describe('priority (rule 19)', () => {
    it('a stream of higher priority takes the lock before owners that waited longer', () => {
      const lock = new RLock();
      const order: string[] = [];
      const gated = (label: string, priority?: number) =>
        defer(() => {
          order.push(label);
          return EMPTY;
        }).pipe(reentrant(lock, priority === undefined ? undefined : { priority }));
      const holder = NEVER.pipe(reentrant(lock)).subscribe();
      gated('a').subscribe();
      gated('b', -1).subscribe();
      gated('c', 4).subscribe();
      gated('d', 0).subscribe();
      expect([order, lock.waiting]).toEqual([[], 4]);
      holder.unsubscribe();
      expect(order).toEqual(['c', 'a', 'd', 'b']);
      expect(stateOf(lock)).toEqual({ owner: null, count: 0, waiting: 0, locked: false });
    });

    it('a nested stream re-enters at once whatever its priority, ahead of waiting owners of higher priority', () => {
      const lock = new RLock();
      const log: string[] = [];
      const outer = new Subject<void>();
      outer
        .pipe(
          mergeMap(() => of('nested').pipe(reentrant(lock, { priority: -50 }))),
          reentrant(lock),
        )
        .subscribe((value) => log.push(value));
      of('waiting')
        .pipe(reentrant(lock, { priority: 50 }))
        .subscribe((value) => log.push(value));
      outer.next();
      expect(log).toEqual(['nested']);
      expect(lock.waiting).toBe(1);
      outer.complete();
      expect(log).toEqual(['nested', 'waiting']);
    });

    for (const priority of [0.5, NaN, Infinity, 2 ** 53]) {
      it(`priority ${priority}: a RangeError naming options.priority, thrown by reentrant itself`, () => {
        expect(() => reentrant(new RLock(), { priority })).toThrowError(
          RangeError,
          /reentrant: options\.priority must be a safe integer/,
        );
      });
    }

    for (const priority of ['1', null, {}, true]) {
      it(`priority ${String(priority)} (${typeof priority}): a TypeError naming options.priority`, () => {
        expect(() => reentrant(new RLock(), { priority } as never)).toThrowError(
          TypeError,
          /reentrant: options\.priority must be a number/,
        );
      });
    }

    it('an unknown option key names the options, priority among them', () => {
      expect(() => reentrant(new RLock(), { permits: 1 } as never)).toThrowError(
        TypeError,
        /reentrant: unknown option "permits"; the options are owner, priority, timeout, scheduler, with/,
      );
    });
  });
});

// The block between the scissors lines is the README code, verbatim (it needs `RLock`, `reentrant`
// and the rxjs functions imported above).

interface Recipe {
  tokenLock: RLock;
  request: (url: string) => Observable<string>;
  refreshToken$: Observable<string>;
  refreshes: () => number;
}

function tokenRefreshRecipe(): Recipe {
  // ---8<--- README recipe: one token refresh at a time ---8<---
  // A fake API: a request fails with 401 after 10 ms unless it sends the latest token; a refresh takes 30 ms.
  let latest = '';
  let refreshes = 0;
  const api = {
    get: (url: string, sent: string) =>
      timer(10).pipe(
        switchMap(() => (sent === latest ? of(`${url} with ${sent}`) : throwError(() => ({ status: 401 })))),
      ),
    refresh: () => timer(30).pipe(map(() => (latest = `token-${++refreshes}`))),
  };

  const tokenLock = new RLock();
  let token = 'expired';

  // One refresh at a time, wherever it is started from.
  const refreshToken$ = api.refresh().pipe(
    tap((fresh) => (token = fresh)),
    reentrant(tokenLock),
  );

  // On a 401, refresh unless another request already did (checked under the lock: the refresh
  // started inside re-enters it), then retry once with the current token.
  const request = (url: string) =>
    defer(() => {
      const sent = token;
      return api.get(url, sent).pipe(
        catchError((error) =>
          error.status !== 401
            ? throwError(() => error)
            : defer(() => (token === sent ? refreshToken$ : of(token))).pipe(
                reentrant(tokenLock),
                switchMap(() => api.get(url, token)),
              ),
        ),
      );
    });
  // ---8<--- end of recipe ---8<---
  return { tokenLock, request, refreshToken$, refreshes: () => refreshes };
}

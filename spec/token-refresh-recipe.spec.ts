import { Observable, catchError, defer, map, of, switchMap, tap, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { RLock, reentrant } from '../src/index.js';

// The README recipe "one token refresh at a time", executed: three concurrent requests fail with a
// 401 and exactly one refresh runs; the refresh started inside a request's locked region re-enters
// the lock instead of deadlocking (SPEC rule 16). The block between the scissors lines is the
// README code, verbatim (it needs `RLock`, `reentrant` and the rxjs functions imported above).

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

describe('recipe: one token refresh at a time (RLock + reentrant)', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
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

import {
  Observable,
  Subject,
  VirtualTimeScheduler,
  config,
  map,
  of,
  timer,
  type SchedulerLike,
  type Subscriber,
} from 'rxjs';
import { RLock, Semaphore, mergeMapWithPermit, reentrant, withPermit } from '../src/index.js';

// Regressions: each bug found by the reliability work of issue #6 (spec/fault-injection.spec.ts),
// kept as its minimal counterexample. Runs in Node and in headless Chromium.

/** Runs `body` with RxJS's unhandled-error hook silenced (some of these faults are reported there). */
async function quietly(body: () => void): Promise<void> {
  const previous = config.onUnhandledError;
  config.onUnhandledError = () => undefined;
  try {
    body();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    config.onUnhandledError = previous;
  }
}

/** A source that stays open and whose teardown throws; `source` is its subscriber once subscribed. */
function throwingTeardown() {
  const handle = { source: null as Subscriber<string> | null };
  const observable = new Observable<string>((subscriber) => {
    handle.source = subscriber;
    return () => {
      throw new Error('teardown failed');
    };
  });
  return { handle, observable };
}

describe('regressions', () => {
  // A gated source whose teardown throws (SPEC rules 8, 17). PermitHolder tears the source down
  // first and gives the permit back after: the UnsubscriptionError thrown by the teardown skips
  // both the release and the forwarding of complete/error. The permit stays held by a finished
  // stream (value 0 for ever) and the subscriber is never told.
  describe('a gated source whose teardown throws', () => {
    it('on complete: the permit comes back and the subscriber completes', async () => {
      const semaphore = new Semaphore(1);
      const { handle, observable } = throwingTeardown();
      let completed = false;
      await quietly(() => {
        observable.pipe(withPermit(semaphore)).subscribe({ complete: () => (completed = true) });
        try {
          handle.source!.complete();
        } catch {
          // plain RxJS rethrows a failed teardown to the producer as an UnsubscriptionError
        }
      });
      expect(semaphore.value).toBe(1); // was 0: the permit was held by nobody
      expect(completed).toBe(true); // was false
    });

    it('on error: the permit comes back and the error reaches the subscriber', async () => {
      const semaphore = new Semaphore(1);
      const { handle, observable } = throwingTeardown();
      const failure = new Error('source failed');
      let received: unknown = null;
      await quietly(() => {
        observable.pipe(withPermit(semaphore)).subscribe({ error: (error: unknown) => (received = error) });
        try {
          handle.source!.error(failure);
        } catch {
          // as above
        }
      });
      expect(semaphore.value).toBe(1); // was 0
      expect(received).toBe(failure); // was null
    });

    it('on unsubscribe: the permit comes back and the next request is granted', async () => {
      const semaphore = new Semaphore(1);
      const { observable } = throwingTeardown();
      let next = false;
      await quietly(() => {
        const subscription = observable.pipe(withPermit(semaphore)).subscribe();
        semaphore.acquire().subscribe(() => (next = true));
        try {
          subscription.unsubscribe();
        } catch {
          // as above
        }
      });
      expect(next).toBe(true); // was false: the queued request waited for ever
      expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]); // was [0, 1]
    });

    it('under reentrant: the lock passes to the next owner', async () => {
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
          // as above
        }
      });
      expect(granted).toBe(true); // was false: the lock stayed with the finished stream's owner
      expect(lock.owner).toBe(next);
    });

    it('as an inner of mergeMapWithPermit: its permit comes back, the next value runs, the merge completes', async () => {
      const semaphore = new Semaphore(1);
      const { handle, observable } = throwingTeardown();
      const values: string[] = [];
      let completed = false;
      await quietly(() => {
        of(1, 2)
          .pipe(mergeMapWithPermit(semaphore, (value) => (value === 1 ? observable : of('second'))))
          .subscribe({ next: (value) => values.push(value), complete: () => (completed = true) });
        try {
          handle.source!.complete();
        } catch {
          // as above
        }
      });
      expect(values).toEqual(['second']); // was []: value 2 never got the permit
      expect(completed).toBe(true); // was false
      expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]); // was [0, 1]
    });
  });

  // mergeMapWithPermit unsubscribed while values are queued (SPEC rules 7, 17, 18). Its teardown
  // withdraws the queued values one at a time; withdrawing the head lets the request behind it be
  // granted at once, and that grant's user code runs inside the teardown loop. Here it releases, so
  // the merge's second value — not withdrawn yet — is granted: `project` runs for a subscriber that
  // is gone, its inner is subscribed with a closed destination, and its 2 permits are never given
  // back (value 0 for ever, although nobody holds a permit).
  it('mergeMapWithPermit unsubscribed while a grant inside its teardown frees permits: nothing is stranded', () => {
    const semaphore = new Semaphore(2);
    expect(semaphore.tryAcquire(1)).toBe(true); // a caller holds 1 of the 2 permits
    const source = new Subject<number>();
    const projected: number[] = [];
    const subscription = source
      .pipe(
        mergeMapWithPermit(
          semaphore,
          (value) => {
            projected.push(value);
            return of(value);
          },
          { permits: 2 },
        ),
      )
      .subscribe();
    source.next(1); // queued: needs 2, 1 free
    semaphore.acquire().subscribe(() => {
      semaphore.release(); // the caller's permit, given back from here
      semaphore.release(); // this request's own
    });
    source.next(2); // queued behind it
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 3]);
    subscription.unsubscribe();
    expect(projected).toEqual([]); // was [2]
    expect([semaphore.value, semaphore.waiting]).toEqual([2, 0]); // was [0, 0]
  });

  // The same teardown, seen from the permit observable (model-based counterexample, shrunk). The
  // merge's second value, withdrawn in spirit, still blocks the head of the queue while the first
  // withdrawal's grants run: a permit shows as free while `f`, which it fits, waits (rule 3), and
  // `f` is granted only by the second withdrawal. Withdrawing the queued values newest first (so that
  // only the last withdrawal can re-examine the queue) makes the teardown atomic.
  it('mergeMapWithPermit unsubscribed: its queued values are withdrawn at once, no permit shows free meanwhile', () => {
    const semaphore = new Semaphore(1);
    const source = new Subject<number>();
    const c = source.pipe(mergeMapWithPermit(semaphore, (value) => of(value), { permits: 2 })).subscribe();
    const values: number[] = [];
    semaphore.subscribe((value) => values.push(value));
    let a = false;
    semaphore.acquire({ permits: 3 }).subscribe(() => (a = true));
    source.next(1); // c's first value, queued behind a
    semaphore.release(3); // a is granted (value 1); c's first value needs 2
    expect(a).toBe(true);
    let b = false;
    of('b1')
      .pipe(withPermit(semaphore))
      .subscribe({ complete: () => (b = true) });
    source.next(2); // c's second value
    let f = false;
    semaphore.acquire().subscribe(() => (f = true));
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 4]);
    values.length = 0;
    c.unsubscribe();
    expect([b, f]).toEqual([true, true]);
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]);
    expect(values).toEqual([0]); // was [0, 1, 0]: 1 free while f waited
  });

  // A value pushed into a mergeMapWithPermit that has already failed (SPEC rules 17, 18). An inner
  // error makes the merge withdraw its queued values and cut its inners off before forwarding the
  // error; cutting an inner off releases its permit, whose grant runs user code — here it emits
  // into the merge's source, still subscribed until the error is forwarded. `push` queues a request
  // for the closed merge, which nothing withdraws: granted later, it runs `project` for nobody and
  // its permit is never given back.
  it('mergeMapWithPermit ignores values pushed while it fails: no request is left queued for it', () => {
    const semaphore = new Semaphore(1);
    const source = new Subject<number>();
    const inner = new Subject<number>();
    const projected: number[] = [];
    let received: unknown = null;
    source
      .pipe(
        mergeMapWithPermit(semaphore, (value) => {
          projected.push(value);
          return value === 1 ? inner : of(value);
        }),
      )
      .subscribe({ error: (error: unknown) => (received = error) });
    source.next(1); // runs, holding the permit
    semaphore.acquire().subscribe(() => source.next(2)); // queued; emits into the merge when granted
    const failure = new Error('inner failed');
    inner.error(failure);
    expect(received).toBe(failure);
    expect([semaphore.value, semaphore.waiting]).toEqual([0, 0]); // was [0, 1]: value 2 queued for nobody
    semaphore.release(); // the acquirer gives its permit back
    expect(projected).toEqual([1]); // was [1, 2]
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]); // was [0, 0]: the permit held by nobody
  });

  // A mergeMapWithPermit value times out; withdrawing it grants the request behind it, whose user
  // code errors the merge's source (model-based counterexample). The merge fails and its subscriber
  // is gone, but `timeOut` goes on: it subscribes the `with` fallback through a MergeInnerSubscriber
  // whose destination is already closed. RxJS runs that subscriber's finalizer inside the `super()`
  // call, before `merge` is assigned, and `MergeInnerSubscriber.unsubscribe` throws a TypeError out
  // of the timer (with asyncScheduler: an uncaught exception). `timeOut` also removes the value from
  // the merge's queue a second time (`WaiterQueue.remove` of a node no longer in it).
  it('mergeMapWithPermit: a value timing out while its withdrawal closes the merge throws nothing', () => {
    const scheduler = new VirtualTimeScheduler();
    const semaphore = new Semaphore(1, { scheduler });
    const source = new Subject<number>();
    const seen: string[] = [];
    source
      .pipe(
        mergeMapWithPermit(semaphore, (value) => of(value), { permits: 2, timeout: 1, with: () => of(-1) }),
      )
      .subscribe({
        next: (value) => seen.push(`next ${value}`),
        error: (error: Error) => seen.push(`error ${error.message}`),
      });
    source.next(1); // needs 2, 1 free: queued; times out at 1
    semaphore.acquire().subscribe(() => {
      source.error(new Error('source failed'));
      semaphore.release();
    });
    expect(() => scheduler.flush()).not.toThrow(); // threw TypeError: Cannot read properties of undefined (reading 'running')
    expect(seen).toEqual(['error source failed']);
    expect([semaphore.value, semaphore.waiting]).toEqual([1, 0]);
  });

  // mergeMapWithPermit fails on an inner error; cutting that inner off releases its permits, whose
  // grant runs user code that errors the merge's source (model-based counterexample). `fail` is not
  // guarded: the nested `fail` forwards the source's error first, and the error that made the merge
  // fail — the inner's — is dropped. As in plain RxJS, the first error should be the one delivered.
  it('mergeMapWithPermit: an error raised while it fails does not replace the first one', () => {
    const scheduler = new VirtualTimeScheduler();
    const semaphore = new Semaphore(3, { scheduler });
    const source = new Subject<number>();
    const innerFailure = new Error('inner failed');
    let received: unknown = null;
    source
      .pipe(
        mergeMapWithPermit(
          semaphore,
          () =>
            timer(1, scheduler).pipe(
              map(() => {
                throw innerFailure;
              }),
            ),
          { permits: 3 },
        ),
      )
      .subscribe({ error: (error: unknown) => (received = error) });
    source.next(1); // runs, holding all 3 permits; errors at 1
    semaphore.acquire().subscribe(() => source.error(new Error('source failed'))); // granted by that error
    scheduler.flush();
    expect(received).toBe(innerFailure); // was the source's error
    expect(semaphore.waiting).toBe(0);
  });

  // A timeout scheduler whose `schedule` throws (SPEC rule 17: nothing a user supplies may leave a
  // lost waiter or a permit held by nobody). `acquire()` and the gate queue the request first and
  // return its teardown only after scheduling the timer; when `schedule` throws, RxJS errors the
  // subscriber, but the teardown that would withdraw the request was never registered. The dead
  // request stays queued, and the next release grants it: the permit goes to a closed subscriber.
  describe('a timeout scheduler whose schedule() throws', () => {
    const throwingScheduler: SchedulerLike = {
      now: () => 0,
      schedule: () => {
        throw new Error('cannot schedule');
      },
    };

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

    it('withPermit: the subscriber errors, the request is withdrawn, the source never starts', () => {
      const semaphore = new Semaphore(0);
      let received: unknown = null;
      let subscribed = false;
      new Observable<never>(() => {
        subscribed = true;
      })
        .pipe(withPermit(semaphore, { timeout: 10, scheduler: throwingScheduler }))
        .subscribe({ error: (error: unknown) => (received = error) });
      expect(received).toEqual(new Error('cannot schedule'));
      expect(semaphore.waiting).toBe(0); // was 1
      semaphore.release();
      expect(subscribed).toBe(false); // was true: started for nobody
      expect(semaphore.value).toBe(1); // was 0: the permit was held by nobody
    });
  });
});

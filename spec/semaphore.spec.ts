import { Observable, VirtualTimeScheduler } from 'rxjs';
import { Semaphore } from '../src/index.js';
import { record } from './helpers/index.js';

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
});

describe('Semaphore.rawlink, linked again while its wake-up is queued', () => {
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

describe('Semaphore.wait woken by a release whose grants take the permits again', () => {
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

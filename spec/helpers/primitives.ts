import { of, type SchedulerLike, type Subscription } from 'rxjs';
import { BoundedSemaphore, RLock, Semaphore, reentrant, withPermit } from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Semaphores

/** Marble values of `acquire()`. */
export const granted = { t: true, f: false } as const;

/** Builds a semaphore of `capacity` permits, all free, its timeouts on `scheduler` if given. */
export type SemaphoreFactory = (capacity: number, scheduler?: SchedulerLike) => Semaphore;

/** The primitives that share the Semaphore contract, built with every permit free. */
export const semaphoreKinds: ReadonlyArray<readonly [string, SemaphoreFactory]> = [
  ['Semaphore', (capacity, scheduler) => new Semaphore(capacity, { scheduler })],
  ['BoundedSemaphore', (capacity, scheduler) => new BoundedSemaphore(capacity, { scheduler })],
];

/**
 * A semaphore of `capacity` permits of which only `free` are free: the rest are taken (by the test,
 * which gives them back with `release`). Taking them rather than starting lower keeps every test
 * valid for a BoundedSemaphore, whose releases may not exceed the initial value.
 */
export function heldSemaphore(
  create: (capacity: number) => Semaphore,
  capacity: number,
  free = 0,
): Semaphore {
  const semaphore = create(capacity);
  if (capacity > free && !semaphore.tryAcquire(capacity - free)) {
    throw new Error(`could not take ${capacity - free} of ${capacity} permits`);
  }
  return semaphore;
}

/** A semaphore of 1 whose permit the test holds (checked by an expectation). */
export function heldByTest(create: SemaphoreFactory, scheduler?: SchedulerLike): Semaphore {
  const semaphore = create(1, scheduler);
  expect(semaphore.tryAcquire()).toBe(true);
  return semaphore;
}

/**
 * Two well-behaved requests queued behind whatever the test queued first: an `acquire()` that
 * releases as soon as it is granted, and a gated `of('z')`. `served()` says whether both ran, in
 * order, with their permits returned.
 */
export function bystanders(semaphore: Semaphore) {
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

// ---------------------------------------------------------------------------------------------
// RLock

/** The observable state of a lock, for "changes nothing" checks. */
export function stateOf(lock: RLock) {
  return { owner: lock.owner, count: lock.count, waiting: lock.waiting, locked: lock.locked() };
}

/** Subscribes to `lock.acquire(owner, options)` and logs `label:true|false` and `label:|`. */
export function request(
  lock: RLock,
  owner: object,
  label: string,
  log: string[],
  options?: Parameters<RLock['acquire']>[1],
): Subscription {
  return lock.acquire(owner, options).subscribe({
    next: (granted) => log.push(`${label}:${granted}`),
    complete: () => log.push(`${label}:|`),
  });
}

/** B, then C, queued behind the lock's current owner; each releases as soon as it holds it. */
export function waitingOwners(lock: RLock, B: object, C: object) {
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

/** Values that are not objects, so not owners: `[label, value]`. */
export const notObjects: ReadonlyArray<readonly [string, unknown]> = [
  ['null', null],
  ['undefined', undefined],
  ['a number', 1],
  ['a string', 'x'],
  ['a boolean', true],
  ['a symbol', Symbol('owner')],
];

// ---------------------------------------------------------------------------------------------
// Calls

/** Calls `fn` and returns what it threw (failing the spec if it returned). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  fail('expected the call to throw');
  return undefined;
}

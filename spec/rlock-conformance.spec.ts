import { RLock } from '../src/index.js';
import {
  describeSemaphoreConformance,
  type ConformanceAdapter,
  type ConformanceCaller,
} from './conformance/semaphore-conformance.js';

// The semaphore view of an RLock (SPEC rule 15: FIFO between owners, timeouts as in rule 6) run
// through the shared conformance suite: one permit; the adapter acts as a fixed owner, and every
// `caller()` is a new owner, so requests that must block or queue come from other owners.

/** `lock` seen by one owner, through the suite's caller interface. */
function callerFor(lock: RLock, owner: object): ConformanceCaller {
  return {
    acquire: (options) => lock.acquire(owner, options),
    tryAcquire: () => lock.tryAcquire(owner),
    release: () => lock.release(owner),
  };
}

/** The value the lock's permit observable emits at once on subscribe (an RLock has no `value`). */
function currentValue(lock: RLock): number {
  let value = NaN;
  lock.subscribe((emitted) => (value = emitted)).unsubscribe();
  return value;
}

let callersMade = 0;

function adaptRLock(permits: number): ConformanceAdapter {
  if (permits !== 1) throw new Error(`an RLock has exactly 1 permit, the suite asked for ${permits}`);
  const lock = new RLock();
  const fixedOwner = { name: 'conformance fixed owner' };
  return {
    ...callerFor(lock, fixedOwner),
    primitive: lock,
    value: () => currentValue(lock),
    waiting: () => lock.waiting,
    locked: () => lock.locked(),
    caller: () => callerFor(lock, { name: `conformance caller #${++callersMade}` }),
    capacity: 1,
    weighted: false,
    reentrantForSameCaller: true,
  };
}

describeSemaphoreConformance('RLock', adaptRLock);

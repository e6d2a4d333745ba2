'use strict';
// The RxJS floor: the lower bound semaphore (bench/lower-bound.js) behind the thinnest RxJS 7
// wrappers that keep the contract's shape — an `acquire$()` Observable (emits true, completes,
// unsubscribing while queued withdraws) and a `withPermit` whose holder is a Subscriber that gives
// the permit back before forwarding complete (SPEC rule 8). No validation, no timeouts, no value
// observers. What these cost above the bare lower bound is what RxJS's own Observable / Subscriber
// machinery costs; no RxJS-based semaphore can go below it.

const { Observable, Subscriber } = require('rxjs');

/** `sem.acquire()` as a cold Observable, written the obvious way (two closures per request). */
function floorAcquire(sem) {
  return new Observable((subscriber) => {
    const waiter = sem.acquire(() => {
      subscriber.next(true);
      subscriber.complete();
    });
    if (waiter === null) return undefined;
    return () => {
      sem.withdraw(waiter);
    };
  });
}

class FloorHolder extends Subscriber {
  constructor(destination, sem) {
    super(destination);
    this.sem = sem;
    this.held = true;
  }

  _complete() {
    const destination = this.destination;
    this.unsubscribe();
    destination.complete();
  }

  _error(error) {
    const destination = this.destination;
    this.unsubscribe();
    destination.error(error);
  }

  unsubscribe() {
    if (this.closed) return;
    super.unsubscribe();
    if (this.held) {
      this.held = false;
      this.sem.release();
    }
  }
}

/** `withPermit(sem)` with a Subscriber holder, synchronous grant when free. */
function floorWithPermit(sem) {
  return (input) =>
    new Observable((downstream) => {
      const waiter = sem.acquire(() => {
        input.subscribe(new FloorHolder(downstream, sem));
      });
      if (waiter === null) return undefined;
      return () => {
        sem.withdraw(waiter);
      };
    });
}

module.exports = { floorAcquire, floorWithPermit };

'use strict';
// The lower bound every rxjs-permits figure is compared with: the least a fair semaphore with a
// synchronous hand-off can do. A counter, an intrusive doubly linked FIFO of waiters (O(1) push,
// shift and withdrawal), and a `draining` flag so that a release made from inside a grant callback
// is folded into the loop already running instead of recursing (10^5 chained grants would
// otherwise overflow the stack). No RxJS, no validation, no value observers, no timeouts.

class Waiter {
  constructor(callback) {
    this.callback = callback;
    this.prev = null;
    this.next = null;
    this.queued = true;
  }
}

class LowerBoundSemaphore {
  constructor(value = 1) {
    this.value = value;
    this.head = null;
    this.tail = null;
    this.waiting = 0;
    this.draining = false;
  }

  /** Takes a permit now if one is free and nobody is queued (no barging). */
  tryAcquire() {
    if (this.head !== null || this.value < 1) return false;
    this.value--;
    return true;
  }

  /**
   * Calls `callback` when a permit is the caller's: synchronously when one is free and nobody is
   * queued, else after the releases that hand it over. Returns the waiter (for `withdraw`), or null
   * when granted at once.
   */
  acquire(callback) {
    if (this.head === null && this.value > 0) {
      this.value--;
      callback();
      return null;
    }
    const waiter = new Waiter(callback);
    const tail = this.tail;
    waiter.prev = tail;
    if (tail === null) this.head = waiter;
    else tail.next = waiter;
    this.tail = waiter;
    this.waiting++;
    return waiter;
  }

  /** Unlinks a waiter still queued, in O(1). Returns whether it was still queued. */
  withdraw(waiter) {
    if (!waiter.queued) return false;
    waiter.queued = false;
    const { prev, next } = waiter;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    this.waiting--;
    return true;
  }

  /** Gives a permit back and hands it straight to the head waiter (trampolined). */
  release() {
    this.value++;
    if (this.draining) return;
    this.draining = true;
    try {
      let waiter;
      while (this.value > 0 && (waiter = this.head) !== null) {
        const next = waiter.next;
        this.head = next;
        if (next === null) this.tail = null;
        else next.prev = null;
        waiter.next = null;
        waiter.queued = false;
        this.waiting--;
        this.value--;
        const callback = waiter.callback;
        waiter.callback = null;
        callback();
      }
    } finally {
      this.draining = false;
    }
  }
}

module.exports = { LowerBoundSemaphore };

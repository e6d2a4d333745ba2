import type { QueueNode } from './waiter-queue.js';

/** A node of a {@link PriorityQueue}: the queue links nodes through `prev`/`next` and reads `priority`. */
export interface PriorityNode<N extends PriorityNode<N>> extends QueueNode<N> {
  readonly priority: number;
}

/**
 * Queued requests in the order they are served: by priority (higher first), then by arrival (docs/
 * semantics.md, rule 19). One intrusive doubly linked list in serving order, plus the last node of
 * every priority but the lowest queued (`lasts`), which is all an insertion needs. With every
 * priority equal — the common case — `lasts` stays empty and the queue is a plain FIFO: push, head
 * and removal of any node are O(1) and allocate nothing. With P distinct priorities queued, pushing
 * above the lowest is O(P), and removing the last node of a level O(P); everything else stays O(1).
 */
export class PriorityQueue<N extends PriorityNode<N>> {
  /** The next request to serve, or `null`. */
  head: N | null = null;
  tail: N | null = null;
  length = 0;
  /**
   * The last node of each priority queued except the tail's (the lowest), highest priority first.
   */
  private readonly lasts: N[] = [];

  /** The highest priority queued; `-Infinity` when nothing is. */
  get topPriority(): number {
    return this.head === null ? -Infinity : this.head.priority;
  }

  /** Whether `node`, which must be queued here, is the next request to serve. */
  isHead(node: N): boolean {
    return node === this.head;
  }

  push(node: N): void {
    const tail = this.tail;
    this.length++;
    if (tail === null) {
      node.prev = node.next = null;
      this.head = this.tail = node;
    } else if (node.priority <= tail.priority) {
      // Behind everything: FIFO within its priority, or a new lowest level (the old tail then ends
      // its level).
      if (node.priority < tail.priority) this.lasts.push(tail);
      node.prev = tail;
      node.next = null;
      tail.next = node;
      this.tail = node;
    } else {
      this.insertAbove(node);
    }
  }

  /** Unlinks `node`, which must be in this queue. */
  remove(node: N): void {
    const { prev, next } = node;
    // One level queued (`lasts` empty, the common case): no neighbour's priority is read. A drain
    // then only writes to the next node, where a load of it waited for memory (measured, one build
    // per process: a drain of 10^5 queued `acquire()`s took 0.86x as long without that load).
    const levels = this.lasts.length !== 0;
    if (next === null) {
      // The tail: if the node before it ends a higher level, that level is now the tail's.
      this.tail = prev;
      if (levels && prev !== null && prev.priority !== node.priority) this.lasts.pop();
    } else {
      next.prev = prev;
      // The last node of a level above the lowest.
      if (levels && next.priority !== node.priority) this.replaceLast(node, prev);
    }
    if (prev === null) this.head = next;
    else prev.next = next;
    node.prev = node.next = null;
    this.length--;
  }

  /** The next node in serving order after `node`, or `null`. */
  after(node: N): N | null {
    return node.next;
  }

  /** Pushes `node` whose priority is above the tail's: after the last node of equal or higher one. */
  private insertAbove(node: N): void {
    const { lasts } = this;
    const { priority } = node;
    // lasts[i] ends a level; find the first level (from the lowest) whose priority is >= priority.
    let index = lasts.length - 1;
    while (index >= 0 && lasts[index].priority < priority) index--;
    const before = index >= 0 ? lasts[index] : null;
    if (before !== null && before.priority === priority) lasts[index] = node;
    else lasts.splice(index + 1, 0, node);
    const after = before === null ? this.head! : before.next!;
    node.prev = before;
    node.next = after;
    after.prev = node;
    if (before === null) this.head = node;
    else before.next = node;
  }

  /** `node`, the last of its level (not the lowest), leaves: `prev` ends that level now, if of it. */
  private replaceLast(node: N, prev: N | null): void {
    const { lasts } = this;
    const index = lasts.indexOf(node);
    if (prev !== null && prev.priority === node.priority) lasts[index] = prev;
    else lasts.splice(index, 1);
  }
}

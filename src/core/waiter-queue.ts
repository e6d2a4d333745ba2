/** A node that can sit in a {@link WaiterQueue}: the queue links nodes through these fields. */
export interface QueueNode<N extends QueueNode<N>> {
  prev: N | null;
  next: N | null;
}

/**
 * An intrusive, doubly linked FIFO. Push, shift and removal of any node are O(1) and allocate
 * nothing: a withdrawn request unlinks itself, with no `indexOf` or `splice` on any path.
 */
export class WaiterQueue<N extends QueueNode<N>> {
  head: N | null = null;
  tail: N | null = null;
  length = 0;

  push(node: N): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail === null) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.length++;
  }

  /** Unlinks `node`, which must be in this queue. */
  remove(node: N): void {
    const { prev, next } = node;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    node.prev = node.next = null;
    this.length--;
  }

  shift(): N | null {
    const node = this.head;
    if (node !== null) this.remove(node);
    return node;
  }
}

import { WaiterQueue, type QueueNode } from './waiter-queue.js';

/** A node of a {@link PriorityQueue}: its priority, and the level it sits in while queued. */
export interface PriorityNode<N extends PriorityNode<N>> extends QueueNode<N> {
  readonly priority: number;
  level: Level<N> | null;
}

/** The FIFO of one priority. */
export class Level<N extends PriorityNode<N>> extends WaiterQueue<N> {
  constructor(readonly priority: number) {
    super();
  }
}

/**
 * Queued requests in the order they are served: by priority (higher first), then by arrival (docs/
 * semantics.md, rule 19). One FIFO per priority present, kept in an array sorted by priority, so
 * with P distinct priorities queued, push is O(P) at worst (O(1) for an existing level), removal of
 * any node O(1) (plus O(P) when its level empties), and the head O(1). With every priority 0 there
 * is one level, and it is a plain FIFO.
 */
export class PriorityQueue<N extends PriorityNode<N>> {
  /** Non-empty levels, highest priority first. */
  private readonly levels: Level<N>[] = [];
  /** An emptied level kept for reuse, so a queue that empties and fills again allocates nothing. */
  private spare: Level<N> | null = null;
  length = 0;

  /** The next request to serve, or `null`. */
  get head(): N | null {
    return this.levels.length === 0 ? null : this.levels[0].head;
  }

  /** The highest priority queued; `-Infinity` when nothing is. */
  get topPriority(): number {
    return this.levels.length === 0 ? -Infinity : this.levels[0].priority;
  }

  /** Whether `node` is the next request to serve. */
  isHead(node: N): boolean {
    return node.prev === null && node.level === this.levels[0];
  }

  push(node: N): void {
    const level = this.levelFor(node.priority);
    node.level = level;
    level.push(node);
    this.length++;
  }

  /** Unlinks `node`, which must be in this queue. */
  remove(node: N): void {
    const level = node.level!;
    node.level = null;
    level.remove(node);
    this.length--;
    if (level.length === 0) {
      this.levels.splice(this.levels.indexOf(level), 1);
      this.spare = level;
    }
  }

  /** The next node in serving order after `node`, or `null`. */
  after(node: N): N | null {
    if (node.next !== null) return node.next;
    const { levels } = this;
    const index = levels.indexOf(node.level!);
    return index + 1 < levels.length ? levels[index + 1].head : null;
  }

  private levelFor(priority: number): Level<N> {
    const { levels } = this;
    let index = 0;
    while (index < levels.length && levels[index].priority > priority) index++;
    if (index < levels.length && levels[index].priority === priority) return levels[index];
    let level = this.spare;
    if (level !== null && level.priority === priority) this.spare = null;
    else level = new Level<N>(priority);
    levels.splice(index, 0, level);
    return level;
  }
}

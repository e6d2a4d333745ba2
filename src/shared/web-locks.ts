import { H_HIGH_PARTICIPANT, P_GEN, P_LIFE, P_STATE, PARTICIPANT_ALIVE } from './layout.js';
import type { SharedBackend } from './shared-backend.js';
import type { SharedMemory } from './shared-memory.js';

// Browsers: a Worker has no exit event, and a terminated worker cannot say it died. What a browser
// can tell is that a Web Lock was let go: a lock held by a thread is released when the thread ends
// (terminate(), an uncaught error that closes it, its page closing). So each thread attached to a
// semaphore holds a lock named after its participant record for its whole life, and every other
// attached thread requests that lock: the request is granted only when the holder is gone, and the
// thread granted it recovers the dead thread's participant (its permits go back, its queued
// requests leave the queue). Threads learn of each other through a BroadcastChannel named after the
// semaphore. Without `navigator.locks` (Node has none: there `watch(worker)` does it) nothing
// happens here. What a browser cannot detect: a worker that hangs (an endless loop) still holds its
// lock, and a thread that has not attached yet holds none.

interface LockManagerLike {
  request(
    name: string,
    options: { mode: 'exclusive' },
    callback: () => Promise<unknown> | unknown,
  ): Promise<unknown>;
}

function lockManager(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : null;
}

const lifeLockName = (memory: SharedMemory, p: number, generation: number) =>
  `rxjs-permits/shared-semaphore/${memory.id}/${p}/${generation}`;

const channelName = (memory: SharedMemory) => `rxjs-permits/shared-semaphore/${memory.id}`;

/**
 * Takes this thread's lock for life, then marks it watchable (P_LIFE), tells the other threads on
 * the channel and rings their doorbells (a broadcast sent just before a thread is terminated may be
 * lost; the shared memory is not). Resolves once the lock is held: from then on, this thread's death
 * is detected. A thread terminated before that cannot be told from a live one.
 */
export function holdLifeLock(memory: SharedMemory, me: number): Promise<void> | null {
  const locks = lockManager();
  if (locks === null || typeof BroadcastChannel !== 'function') return null;
  const generation = Atomics.load(memory.i32, memory.p(me, P_GEN));
  return new Promise((held) => {
    void locks.request(lifeLockName(memory, me, generation), { mode: 'exclusive' }, () => {
      const a = memory.i32;
      Atomics.store(a, memory.p(me, P_LIFE), 1);
      const high = Atomics.load(a, H_HIGH_PARTICIPANT);
      for (let p = 0; p < high; p++) {
        if (p !== me && Atomics.load(a, memory.p(p, P_STATE)) === PARTICIPANT_ALIVE) memory.ring(p);
      }
      const channel = new BroadcastChannel(channelName(memory));
      channel.postMessage({ participant: me, generation });
      channel.close();
      held();
      return new Promise(() => {}); // held until this thread ends
    });
  });
}

/**
 * Watches the life lock of every other thread attached now, and of every one that attaches later
 * (told by the channel). A broadcast sent by a thread that is terminated right after may be lost,
 * so the returned function scans the attached threads again: the backend calls it each time a
 * request of this thread starts waiting (a thread that waits is one that needs the dead's permits).
 * Returns null where nothing can be watched.
 */
export function watchLifeLocks(backend: SharedBackend): (() => void) | null {
  const locks = lockManager();
  if (locks === null || typeof BroadcastChannel !== 'function') return null;
  const { memory } = backend;
  const watched = new Set<string>();
  const ref = new WeakRef(backend);
  const watch = (p: number, generation: number) => {
    if (p === backend.me) return;
    const name = lifeLockName(memory, p, generation);
    if (watched.has(name)) return;
    watched.add(name);
    void locks.request(name, { mode: 'exclusive' }, () => {
      watched.delete(name);
      ref.deref()?.reclaimParticipant(p, generation);
    });
  };
  const channel = new BroadcastChannel(channelName(memory));
  channel.onmessage = (event: MessageEvent<{ participant: number; generation: number }>) => {
    if (ref.deref() === undefined) {
      channel.close();
      return;
    }
    watch(event.data.participant, event.data.generation);
  };
  const a = memory.i32;
  const scan = () => {
    const high = Atomics.load(a, H_HIGH_PARTICIPANT);
    for (let p = 0; p < high; p++) {
      if (
        Atomics.load(a, memory.p(p, P_STATE)) === PARTICIPANT_ALIVE &&
        Atomics.load(a, memory.p(p, P_LIFE)) === 1
      ) {
        watch(p, Atomics.load(a, memory.p(p, P_GEN)));
      }
    }
  };
  scan();
  return scan;
}

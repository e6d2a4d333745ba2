// What SharedSemaphore needs of the runtime, and what it learns of the thread it runs in.

/** The result of `Atomics.waitAsync` (ES2024; this package's `lib` is ES2022). */
interface WaitAsyncResult {
  readonly async: boolean;
  readonly value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}

type WaitAsync = (array: Int32Array, index: number, value: number) => WaitAsyncResult;

/** `Atomics.waitAsync`: a wait on a shared word that does not block the thread. */
export function waitAsync(array: Int32Array, index: number, value: number): WaitAsyncResult {
  return (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(array, index, value);
}

/** The globals the check reads (a parameter so that a test can give it a runtime without them). */
export interface SharedMemoryGlobals {
  readonly SharedArrayBuffer?: unknown;
  readonly Atomics?: unknown;
  readonly crossOriginIsolated?: unknown;
}

/**
 * Throws a TypeError naming the requirement when shared memory is unavailable: a browser gives
 * `SharedArrayBuffer` only to a cross-origin-isolated page (served with `Cross-Origin-Opener-Policy:
 * same-origin` and `Cross-Origin-Embedder-Policy: require-corp`), and the wake-ups need
 * `Atomics.waitAsync`.
 */
export function checkSharedMemory(where: string, env: SharedMemoryGlobals = globalThis): void {
  if (typeof env.SharedArrayBuffer !== 'function' || env.crossOriginIsolated === false) {
    throw new TypeError(
      `${where} needs SharedArrayBuffer, which a browser gives only to a cross-origin-isolated page: ` +
        'serve the page (and its workers) with the headers Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp (crossOriginIsolated is ' +
        `${String(env.crossOriginIsolated ?? 'undefined')} here)`,
    );
  }
  const atomics = env.Atomics as { waitAsync?: unknown } | undefined;
  if (typeof atomics?.waitAsync !== 'function') {
    throw new TypeError(
      `${where} needs Atomics.waitAsync (Node 16+, Chromium 87+, Safari 16.4+), which this runtime lacks`,
    );
  }
}

/**
 * The id of the thread running now: Node's `worker_threads.threadId` (0 on the main thread), read
 * through `process.getBuiltinModule` so that no bundler sees a Node import; -1 elsewhere (a browser).
 */
export function currentThreadId(): number {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const workerThreads = proc?.getBuiltinModule?.('node:worker_threads') as { threadId?: number } | undefined;
  return typeof workerThreads?.threadId === 'number' ? workerThreads.threadId : -1;
}

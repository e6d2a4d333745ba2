import { nextTask } from './unhandled-errors.js';

// Unhandled Promise rejections, seen the way the platform reports them: Node's `process`
// 'unhandledRejection' event, the browser's `unhandledrejection` event on the window. A Promise API
// (`lease()`, `run()`) must never leave one behind, whatever happens to the request.

/** Calls `listener` with the reason of every unhandled rejection until the returned function is called. */
export function listenForUnhandledRejections(listener: (reason: unknown) => void): () => void {
  const node = (globalThis as { process?: NodeJS.Process }).process;
  if (node !== undefined && typeof node.on === 'function' && typeof node.off === 'function') {
    const onRejection = (reason: unknown): void => listener(reason);
    node.on('unhandledRejection', onRejection);
    return () => {
      node.off('unhandledRejection', onRejection);
    };
  }
  const onEvent = (event: PromiseRejectionEvent): void => listener(event.reason);
  globalThis.addEventListener('unhandledrejection', onEvent);
  return () => globalThis.removeEventListener('unhandledrejection', onEvent);
}

/**
 * For every spec of the calling `describe`: records the reason of every unhandled Promise rejection
 * into the returned array (emptied before each spec), and after the spec waits two tasks (the
 * platform reports a rejection once the microtasks of its task have run), stops listening and fails
 * the spec if anything was recorded. A spec that provokes one on purpose empties the array.
 */
export function failOnUnhandledRejections(): unknown[] {
  const reasons: unknown[] = [];
  let stop: (() => void) | null = null;

  beforeEach(() => {
    reasons.length = 0;
    stop = listenForUnhandledRejections((reason) => reasons.push(reason));
  });

  afterEach(async () => {
    await nextTask();
    await nextTask();
    stop?.();
    stop = null;
    expect(reasons).withContext('unhandled Promise rejections').toEqual([]);
  });

  return reasons;
}

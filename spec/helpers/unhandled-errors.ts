import { config } from 'rxjs';

/** Resolves on a later task: RxJS reports errors thrown by observers on a later task. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs `body` with `config.onUnhandledError` capturing what RxJS and the primitives report out of
 * band (a throwing observer or callback, a stack overflow caught inside an observer), waits two
 * tasks for the reports to arrive, restores the previous handler, and returns the captured errors.
 */
export async function captureUnhandledErrors(body: () => void | Promise<void>): Promise<unknown[]> {
  const previous = config.onUnhandledError;
  const errors: unknown[] = [];
  config.onUnhandledError = (error) => errors.push(error);
  try {
    await body();
    await nextTask();
    await nextTask();
  } finally {
    config.onUnhandledError = previous;
  }
  return errors;
}

/** Runs `body` with RxJS's unhandled-error hook silenced (for faults that are reported there). */
export async function quietly(body: () => void): Promise<void> {
  await captureUnhandledErrors(body);
}

/**
 * For every spec of the calling `describe`: captures what RxJS reports out of band into the
 * returned array (emptied before each spec), and restores the previous `config.onUnhandledError`
 * after it.
 */
export function unhandledErrorsOfEachSpec(): unknown[] {
  const reported: unknown[] = [];
  let previous: typeof config.onUnhandledError;

  beforeEach(() => {
    reported.length = 0;
    previous = config.onUnhandledError;
    config.onUnhandledError = (error) => reported.push(error);
  });

  afterEach(() => {
    config.onUnhandledError = previous;
  });

  return reported;
}

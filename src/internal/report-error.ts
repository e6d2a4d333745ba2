import { config } from 'rxjs';

/**
 * Reports an error thrown by user code that ran out of band (a `rawlink` callback, a listener): like
 * RxJS does, on a fresh task, to `config.onUnhandledError` when set, else by throwing it there.
 */
export function reportUnhandledError(error: unknown): void {
  setTimeout(() => {
    const { onUnhandledError } = config;
    if (onUnhandledError) onUnhandledError(error);
    else throw error;
  });
}

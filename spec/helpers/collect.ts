import type { Observable } from 'rxjs';

/** Collects what an observable delivers synchronously. */
export function collect<T>(source: Observable<T>) {
  const log = { values: [] as T[], error: undefined as unknown, completed: false };
  const subscription = source.subscribe({
    next: (value) => log.values.push(value),
    error: (error) => (log.error = error),
    complete: () => (log.completed = true),
  });
  return { log, subscription };
}

/** Small assertion helpers for the model-based tests: plain Errors with readable messages. */

export class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v === Infinity ? 'Infinity' : v));
}

export function same<T>(actual: T, expected: T, what: string): void {
  if (show(actual) !== show(expected)) {
    throw new ModelMismatch(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function holds(condition: boolean, what: string): void {
  if (!condition) throw new ModelMismatch(what);
}

/** Runs `body`, which must throw an instance of `kind`; returns what it threw. */
export function throwsA<E extends Error>(
  kind: abstract new (...args: never[]) => E,
  body: () => unknown,
  what: string,
): E {
  try {
    body();
  } catch (error) {
    if (error instanceof kind) return error;
    throw new ModelMismatch(`${what}: expected ${kind.name}, got ${String(error)}`);
  }
  throw new ModelMismatch(`${what}: expected ${kind.name}, nothing was thrown`);
}

/** Prefixes an error thrown by `body` with `label`, so a failure names the step it happened at. */
export function during(label: string, body: () => void): void {
  try {
    body();
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ModelMismatch(`${label}\n  ${message}`);
  }
}

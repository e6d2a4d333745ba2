import type { SchedulerLike } from 'rxjs';

// Bad arguments throw synchronously from the call that received them, with a message that names
// the call and the argument: RangeError for a number out of range, TypeError for a wrong type.

/** A value as a message shows it: a string quoted, an object as "an object", and so on. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** A count of permits that may be zero: a semaphore's initial value. */
export function checkCount(where: string, argument: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: ${argument} must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${where}: ${argument} must be an integer >= 0, got ${describeValue(value)}`);
  }
  return value;
}

/** Whether `value` is a valid number of permits (the fast path; {@link checkPermits} says why not). */
export function isPermitCount(value: unknown, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= max;
}

/** A number of permits to take or give back: a positive integer, at most `max`. */
export function checkPermits(where: string, argument: string, value: unknown, max = Infinity): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: ${argument} must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${where}: ${argument} must be a positive integer, got ${describeValue(value)}`);
  }
  if (value > max) {
    throw new RangeError(
      `${where}: ${argument} is ${value}, more than the bound of ${max}: it could never be granted`,
    );
  }
  return value;
}

/** A priority: a safe integer (higher is served first); `undefined` is 0. */
export function checkPriority(where: string, argument: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: ${argument} must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${where}: ${argument} must be a safe integer, got ${describeValue(value)}`);
  }
  return value;
}

/** The change of `adjust`: an integer, negative allowed. */
export function checkDelta(where: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: delta must be a number, got ${describeValue(value)}`);
  }
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${where}: delta must be an integer, got ${describeValue(value)}`);
  }
  return value;
}

/** An `AbortSignal` (anything with `aborted` and `addEventListener`), or `undefined`. */
export function checkSignal(where: string, argument: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(`${where}: ${argument} must be an AbortSignal, got ${describeValue(value)}`);
  }
  return value as AbortSignal;
}

/** A timeout in ms: `null`/`undefined` (wait for ever) or a number that is not NaN. */
export function checkTimeout(where: string, argument: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') {
    throw new TypeError(
      `${where}: ${argument} must be a number of milliseconds or null, got ${describeValue(value)}`,
    );
  }
  if (Number.isNaN(value)) throw new RangeError(`${where}: ${argument} must not be NaN`);
  return value === Infinity ? null : value;
}

/** A count that may be zero, used as a limit (`maxWaiting`); `Infinity` allowed. */
export function checkLimit(where: string, argument: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: ${argument} must be a number, got ${describeValue(value)}`);
  }
  if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 0))) {
    throw new RangeError(
      `${where}: ${argument} must be an integer >= 0 or Infinity, got ${describeValue(value)}`,
    );
  }
  return value;
}

export function checkBoolean(where: string, argument: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${where}: ${argument} must be a boolean, got ${describeValue(value)}`);
  }
  return value;
}

export function checkFunction<F extends (...args: never[]) => unknown>(
  where: string,
  argument: string,
  value: unknown,
): F {
  if (typeof value !== 'function') {
    throw new TypeError(`${where}: ${argument} must be a function, got ${describeValue(value)}`);
  }
  return value as F;
}

export function checkOptionalFunction<F extends (...args: never[]) => unknown>(
  where: string,
  argument: string,
  value: unknown,
): F | undefined {
  return value === undefined ? undefined : checkFunction<F>(where, argument, value);
}

export function checkOwner(where: string, argument: string, value: unknown): object {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new TypeError(`${where}: ${argument} must be an object, got ${describeValue(value)}`);
  }
  return value;
}

export function checkScheduler(where: string, argument: string, value: unknown): SchedulerLike | undefined {
  if (value === undefined) return undefined;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as SchedulerLike).schedule !== 'function'
  ) {
    throw new TypeError(`${where}: ${argument} must be an RxJS scheduler, got ${describeValue(value)}`);
  }
  return value as SchedulerLike;
}

/**
 * An options bag: `undefined`, `null` or a plain object whose own keys are all among `known` (a
 * misspelt key such as `timout` would otherwise be ignored in silence). `hint` adds a sentence to
 * the message when the bag is not an object at all (a habit from gevent or `mergeMap`).
 */
export function checkOptions<O extends object>(
  where: string,
  value: unknown,
  known: readonly (keyof O & string)[],
  hint: (value: unknown) => string = notAnObjectHint,
): Partial<O> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(value)}${hint(value)}`);
  }
  for (const key in value) {
    if (Object.prototype.hasOwnProperty.call(value, key) && !(known as readonly string[]).includes(key)) {
      throw new TypeError(
        `${where}: unknown option ${JSON.stringify(key)}; the options are ${known.join(', ')}`,
      );
    }
  }
  return value as Partial<O>;
}

/** A primitive's constructor options, checked. */
export interface PrimitiveSettings {
  readonly scheduler: SchedulerLike | undefined;
  readonly name: string | undefined;
  /** The kind, and the name when there is one: `Semaphore "uploads"`. */
  readonly label: string;
}

/** Checks the `{ scheduler, name }` options of a primitive's constructor. */
export function checkPrimitiveOptions(kind: string, options: unknown): PrimitiveSettings {
  const opts = checkOptions<{ scheduler: unknown; name: unknown }>(kind, options, ['scheduler', 'name']);
  const scheduler = checkScheduler(kind, 'options.scheduler', opts.scheduler);
  const name = checkName(kind, opts.name);
  return { scheduler, name, label: primitiveLabel(kind, name) };
}

/** A primitive's optional `name`: a non-empty string. */
export function checkName(where: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${where}: options.name must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** How a primitive is named in messages and errors: its kind, and its name when it has one. */
export function primitiveLabel(kind: string, name: string | undefined): string {
  return name === undefined ? kind : `${kind} ${JSON.stringify(name)}`;
}

/** For `acquire(false)` / `acquire(true, 5)` (gevent's positional `blocking, timeout`). */
export function acquireHint(value: unknown): string {
  if (typeof value === 'boolean')
    return `: gevent's acquire(${value ? 'True' : 'False'}) is acquire({ blocking: ${value} }) here`;
  if (typeof value === 'number') {
    return `: for a timeout write acquire({ timeout: ${value} }), for several permits acquire({ permits: ${value} })`;
  }
  return '';
}

function notAnObjectHint(): string {
  return '';
}

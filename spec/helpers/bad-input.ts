import type { Semaphore } from '../../src/index.js';

// SPEC §1: bad arguments are a RangeError (negative/NaN/non-integer counts, permits <= 0) or a
// TypeError (wrong type), thrown synchronously by the call that received them, with a message that
// names the argument; the call changes nothing. The table of bad arguments to a semaphore's methods
// and constructor, shared by the 'bad input' suites of spec/semaphore.spec.ts,
// spec/bounded-semaphore.spec.ts and spec/dummy-semaphore.spec.ts.

/** The public surface, loosely typed so that wrong arguments can be passed. */
export interface LooseApi {
  readonly value: number;
  readonly waiting: number;
  acquire(options?: unknown): unknown;
  tryAcquire(permits?: unknown): unknown;
  release(permits?: unknown): unknown;
  wait(options?: unknown): unknown;
  rawlink(callback: unknown): unknown;
  unlink(callback: unknown): unknown;
  subscribe(next: (value: number) => void): unknown;
}

export interface BadInputTarget {
  name: string;
  /** A primitive with some permits taken and one request queued, so that a change would show. */
  make(): LooseApi;
  construct?: (...args: unknown[]) => unknown;
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  const fields = Object.entries(value).map(([key, field]) => `${key}: ${show(field)}`);
  return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
}

const badCounts: unknown[] = [-1, -Infinity, Infinity, NaN, 1.5, 2 ** 53];
const badCountTypes: unknown[] = ['1', true, {}, null, 1n];
const badPermits: unknown[] = [0, -1, -0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53];
const badPermitTypes: unknown[] = ['1', true, {}, [1], 1n];
const badTimeoutTypes: unknown[] = ['10', true, {}, 10n];
const badBooleans: unknown[] = ['false', 0, 1, {}];
const badSchedulers: unknown[] = [{}, 'async', 5, () => {}, { schedule: 'now' }];
const badOptions: unknown[] = ['options', 5, true, () => {}];
const badCallbacks: unknown[] = [undefined, null, 'callback', {}, 1];

interface Case {
  call: string;
  description: string;
  error: typeof RangeError | typeof TypeError;
  message: RegExp;
  run(primitive: LooseApi): unknown;
}

function casesFor(name: string): Case[] {
  const cases: Case[] = [];
  const add = (
    call: string,
    argument: string,
    values: unknown[],
    error: typeof RangeError | typeof TypeError,
    message: RegExp,
    run: (primitive: LooseApi, value: unknown) => unknown,
  ) => {
    for (const value of values) {
      cases.push({
        call,
        description: `${argument} = ${show(value)}`,
        error,
        message,
        run: (p) => run(p, value),
      });
    }
  };
  add('acquire', 'options.permits', badPermits, RangeError, /permits/, (p, v) => p.acquire({ permits: v }));
  add('acquire', 'options.permits', badPermitTypes, TypeError, /permits/, (p, v) =>
    p.acquire({ permits: v }),
  );
  add('acquire', 'options.timeout', [NaN], RangeError, /timeout/, (p, v) => p.acquire({ timeout: v }));
  add('acquire', 'options.timeout', badTimeoutTypes, TypeError, /timeout/, (p, v) =>
    p.acquire({ timeout: v }),
  );
  add('acquire', 'options.blocking', badBooleans, TypeError, /blocking/, (p, v) =>
    p.acquire({ blocking: v }),
  );
  add('acquire', 'options.scheduler', badSchedulers, TypeError, /scheduler/, (p, v) =>
    p.acquire({ scheduler: v, timeout: 10 }),
  );
  add('acquire', 'options', badOptions, TypeError, /options/, (p, v) => p.acquire(v));
  add('tryAcquire', 'permits', badPermits, RangeError, /permits/, (p, v) => p.tryAcquire(v));
  add('tryAcquire', 'permits', [...badPermitTypes, null], TypeError, /permits/, (p, v) => p.tryAcquire(v));
  add('release', 'permits', badPermits, RangeError, /permits/, (p, v) => p.release(v));
  add('release', 'permits', [...badPermitTypes, null], TypeError, /permits/, (p, v) => p.release(v));
  add('wait', 'options.timeout', [NaN], RangeError, /timeout/, (p, v) => p.wait({ timeout: v }));
  add('wait', 'options.timeout', badTimeoutTypes, TypeError, /timeout/, (p, v) => p.wait({ timeout: v }));
  add('wait', 'options.scheduler', badSchedulers, TypeError, /scheduler/, (p, v) =>
    p.wait({ scheduler: v, timeout: 10 }),
  );
  add('wait', 'options', badOptions, TypeError, /options/, (p, v) => p.wait(v));
  add('rawlink', 'callback', badCallbacks, TypeError, /callback/, (p, v) => p.rawlink(v));
  add('unlink', 'callback', badCallbacks, TypeError, /callback/, (p, v) => p.unlink(v));
  return cases.map((c) => ({ ...c, call: `${name}.${c.call}` }));
}
/**
 * The target for a Semaphore-like class (Semaphore, BoundedSemaphore): 3 permits, 2 of them taken and
 * a request for 2 queued; the constructor is checked too.
 */
export function semaphoreTarget(name: string, kind: new (value?: number) => Semaphore): BadInputTarget {
  return {
    name,
    make() {
      const semaphore = new kind(3);
      semaphore.tryAcquire(2);
      semaphore.acquire({ permits: 2 }).subscribe();
      return semaphore as unknown as LooseApi;
    },
    construct: (...args) => new (kind as unknown as new (...a: unknown[]) => unknown)(...args),
  };
}

/** One spec of a 'bad input' suite: its title and its body. */
export interface BadInputCheck {
  title: string;
  check: () => void;
}

/**
 * The bad-input specs of `primitive`: every bad argument to each of its methods throws a RangeError
 * or TypeError naming the argument and changes nothing; with `construct`, the same for the
 * constructor. A spec file runs them as `for (const { title, check } of badInputChecks(...)) it(title, check)`.
 */
export function badInputChecks(primitive: BadInputTarget): BadInputCheck[] {
  const checks: BadInputCheck[] = [];
  for (const c of casesFor(primitive.name)) {
    const kind = c.error === RangeError ? 'RangeError' : 'TypeError';
    checks.push({
      title: `${c.call}(${c.description}) throws a ${kind} naming the argument, and changes nothing`,
      check: () => {
        const subject = primitive.make();
        const before = [subject.value, subject.waiting];
        const seen: number[] = [];
        subject.subscribe((value) => seen.push(value));
        expect(() => c.run(subject)).toThrowError(c.error, c.message);
        expect([subject.value, subject.waiting]).toEqual(before);
        expect(seen).toEqual([before[0]]);
      },
    });
  }

  const construct = primitive.construct;
  if (construct) {
    for (const value of badCounts) {
      checks.push({
        title: `new ${primitive.name}(${show(value)}) throws a RangeError naming the value`,
        check: () => {
          expect(() => construct(value)).toThrowError(RangeError, /value/);
        },
      });
    }
    for (const value of badCountTypes) {
      checks.push({
        title: `new ${primitive.name}(${show(value)}) throws a TypeError naming the value`,
        check: () => {
          expect(() => construct(value)).toThrowError(TypeError, /value/);
        },
      });
    }
    for (const value of badOptions) {
      checks.push({
        title: `new ${primitive.name}(1, ${show(value)}) throws a TypeError naming the options`,
        check: () => {
          expect(() => construct(1, value)).toThrowError(TypeError, /options/);
        },
      });
    }
    for (const value of badSchedulers) {
      checks.push({
        title: `new ${primitive.name}(1, { scheduler: ${show(value)} }) throws a TypeError naming the scheduler`,
        check: () => {
          expect(() => construct(1, { scheduler: value })).toThrowError(TypeError, /scheduler/);
        },
      });
    }
  }
  return checks;
}

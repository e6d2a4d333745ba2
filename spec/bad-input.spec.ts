import { BoundedSemaphore, DummySemaphore, Semaphore } from '../src/index.js';

// SPEC §1: bad arguments are a RangeError (negative/NaN/non-integer counts, permits <= 0) or a
// TypeError (wrong type), thrown synchronously by the call that received them, with a message that
// names the argument; the call changes nothing.

/** The public surface, loosely typed so that wrong arguments can be passed. */
interface LooseApi {
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

interface Primitive {
  name: string;
  /** A primitive with some permits taken and one request queued, so that a change would show. */
  make(): LooseApi;
  construct?: (...args: unknown[]) => unknown;
}

const primitives: Primitive[] = [
  {
    name: 'Semaphore',
    make() {
      const semaphore = new Semaphore(3);
      semaphore.tryAcquire(2);
      semaphore.acquire({ permits: 2 }).subscribe();
      return semaphore as unknown as LooseApi;
    },
    construct: (...args) => new (Semaphore as unknown as new (...a: unknown[]) => unknown)(...args),
  },
  {
    name: 'BoundedSemaphore',
    make() {
      const semaphore = new BoundedSemaphore(3);
      semaphore.tryAcquire(2);
      semaphore.acquire({ permits: 2 }).subscribe();
      return semaphore as unknown as LooseApi;
    },
    construct: (...args) => new (BoundedSemaphore as unknown as new (...a: unknown[]) => unknown)(...args),
  },
  {
    name: 'DummySemaphore',
    make: () => new DummySemaphore() as unknown as LooseApi,
  },
];

function show(value: unknown): string {
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

describe('bad input', () => {
  for (const primitive of primitives) {
    describe(`to ${primitive.name}`, () => {
      for (const c of casesFor(primitive.name)) {
        const kind = c.error === RangeError ? 'RangeError' : 'TypeError';
        it(`${c.call}(${c.description}) throws a ${kind} naming the argument, and changes nothing`, () => {
          const subject = primitive.make();
          const before = [subject.value, subject.waiting];
          const seen: number[] = [];
          subject.subscribe((value) => seen.push(value));
          expect(() => c.run(subject)).toThrowError(c.error, c.message);
          expect([subject.value, subject.waiting]).toEqual(before);
          expect(seen).toEqual([before[0]]);
        });
      }

      const construct = primitive.construct;
      if (construct) {
        for (const value of badCounts) {
          it(`new ${primitive.name}(${show(value)}) throws a RangeError naming the value`, () => {
            expect(() => construct(value)).toThrowError(RangeError, /value/);
          });
        }
        for (const value of badCountTypes) {
          it(`new ${primitive.name}(${show(value)}) throws a TypeError naming the value`, () => {
            expect(() => construct(value)).toThrowError(TypeError, /value/);
          });
        }
        for (const value of badOptions) {
          it(`new ${primitive.name}(1, ${show(value)}) throws a TypeError naming the options`, () => {
            expect(() => construct(1, value)).toThrowError(TypeError, /options/);
          });
        }
        for (const value of badSchedulers) {
          it(`new ${primitive.name}(1, { scheduler: ${show(value)} }) throws a TypeError naming the scheduler`, () => {
            expect(() => construct(1, { scheduler: value })).toThrowError(TypeError, /scheduler/);
          });
        }
      }
    });
  }

  describe('edge values that are accepted', () => {
    it('new Semaphore(0) and new BoundedSemaphore(0) start locked', () => {
      expect([new Semaphore(0).value, new BoundedSemaphore(0).value]).toEqual([0, 0]);
    });

    it('acquire accepts an empty options object, null and undefined as "no options"', () => {
      const semaphore = new Semaphore(3);
      const results: boolean[] = [];
      semaphore.acquire({}).subscribe((granted) => results.push(granted));
      semaphore.acquire(undefined).subscribe((granted) => results.push(granted));
      semaphore.acquire(null as unknown as undefined).subscribe((granted) => results.push(granted));
      expect(results).toEqual([true, true, true]);
      expect(semaphore.value).toBe(0);
    });

    it('a negative, zero, null or Infinity timeout is not an error', () => {
      const semaphore = new Semaphore(1);
      semaphore.tryAcquire();
      const results: boolean[] = [];
      for (const timeout of [-5, 0, -Infinity])
        semaphore.acquire({ timeout }).subscribe((granted) => results.push(granted));
      const forever = [semaphore.acquire({ timeout: null }), semaphore.acquire({ timeout: Infinity })].map(
        (request) => request.subscribe((granted) => results.push(granted)),
      );
      expect(results).toEqual([false, false, false]);
      expect(semaphore.waiting).toBe(2);
      semaphore.release();
      semaphore.release();
      expect(results).toEqual([false, false, false, true, true]);
      expect(forever.every((subscription) => subscription.closed)).toBe(true);
    });

    it('the same bad input is reported before subscribe: acquire never returns an Observable for it', () => {
      const semaphore = new Semaphore(1);
      let returned: unknown = 'nothing';
      expect(() => {
        returned = semaphore.acquire({ permits: 0 });
      }).toThrowError(RangeError, /permits/);
      expect(returned).toBe('nothing');
    });
  });
});

// Compile-time checks of the public types, written as a strict user writes them (tsconfig.json sets
// `strict` and `exactOptionalPropertyTypes`). Nothing here runs: `npm test`'s typecheck step fails
// when a line that should compile does not, or when an `@ts-expect-error` line compiles.
import { of, type Observable } from 'rxjs';
import {
  BoundedSemaphore,
  DummySemaphore,
  RLock,
  Semaphore,
  boundedPermit,
  mergeMapWithPermit,
  reentrant,
  withPermit,
  type PermitPool,
} from '../src/index.js';

declare const config: { timeout: number | undefined; permits: number | undefined; name: string | undefined };
declare const text$: Observable<string>;
const semaphore = new Semaphore(2);
const lock = new RLock();

// `undefined` is accepted wherever the docs say it means the default (wait for ever, 1 permit, ...).
export const explicitUndefined = [
  new Semaphore(1, { name: config.name, scheduler: undefined }),
  new BoundedSemaphore(1, { name: config.name }),
  new DummySemaphore(undefined, { name: config.name }),
  new RLock({ name: config.name }),
  semaphore.acquire({ timeout: config.timeout, permits: config.permits, blocking: undefined }),
  semaphore.wait({ timeout: config.timeout }),
  text$.pipe(withPermit(semaphore, { timeout: config.timeout, permits: config.permits, with: undefined })),
  text$.pipe(boundedPermit(semaphore, { timeout: config.timeout, maxWaiting: undefined })),
  text$.pipe(mergeMapWithPermit(semaphore, (text) => of(text.length), { timeout: config.timeout })),
  text$.pipe(reentrant(lock, { timeout: config.timeout, owner: undefined })),
];

// A `with` fallback of another type widens the output, as RxJS's `timeout({ with })` does.
export const widened: Observable<string | null> = text$.pipe(
  boundedPermit(semaphore, { with: () => of(null) }),
);
// @ts-expect-error: the fallback may emit null, so the output is not Observable<string>
export const notWidened: Observable<string> = text$.pipe(boundedPermit(semaphore, { with: () => of(null) }));
export const widenedToo: Observable<string | number> = text$.pipe(
  withPermit(semaphore, { timeout: 10, with: () => [0] }),
);
export const mergedFallback: Observable<number | 'late'> = text$.pipe(
  mergeMapWithPermit(semaphore, (text) => of(text.length), { timeout: 10, with: () => of('late' as const) }),
);
// Without a fallback, or with one of the same type, the type is unchanged.
export const unchanged: Observable<string> = text$.pipe(withPermit(semaphore));
export const sameType: Observable<string> = text$.pipe(withPermit(semaphore, { with: () => of('cached') }));
export const explicit: Observable<string> = text$.pipe(
  withPermit<string>(semaphore, { with: () => of('x') }),
);
export const merged: Observable<number> = text$.pipe(
  mergeMapWithPermit(semaphore, (text) => of(text.length)),
);

// One type for "any primitive the operators accept": no private members in the way.
function limited<T>(work$: Observable<T>, pool: PermitPool): Observable<T> {
  return work$.pipe(withPermit(pool));
}
export const pools = [
  limited(text$, new Semaphore(4)),
  limited(text$, new BoundedSemaphore(4)),
  limited(text$, new DummySemaphore()),
];
// @ts-expect-error: an RLock has owners; it gates streams through reentrant()
limited(text$, lock);
// @ts-expect-error: an unknown option key (a typo of `timeout`)
text$.pipe(withPermit(semaphore, { timout: 100 }));
// @ts-expect-error: the limit is the semaphore's; there is no concurrency argument
text$.pipe(mergeMapWithPermit(semaphore, (text) => of(text), 4));

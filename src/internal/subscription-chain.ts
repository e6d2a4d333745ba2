import type { Subscriber } from 'rxjs';

// ---------------------------------------------------------------------------------------------
// The one place that relies on RxJS internals (spec/reentrant.spec.ts fails loudly if an
// RxJS upgrade changes them).
//
// RxJS 7 links every operator's subscriber to the subscriber downstream of it through the
// `destination` field (protected, "internal implementation detail" in the typings). An inner
// subscriber of `mergeMap`/`switchMap`/`concatMap`/`expand` has the operator's downstream
// subscriber as its destination, so from any subscriber the chain leads down to the final
// consumer. The chain ends at a `SafeSubscriber`, whose destination is a plain observer: that is
// also where a `Subject` or `share()` sits, so streams reached only through them have a chain of
// their own.
// ---------------------------------------------------------------------------------------------

/** Chains longer than this are cut: a guard against a cycle, far deeper than real pipelines. */
const MAX_CHAIN = 10_000;

/**
 * Walks from `subscriber` down its `destination` chain and returns the first subscriber that
 * `matches`, or `null`.
 */
export function findDownstream<S>(
  subscriber: Subscriber<unknown>,
  matches: (candidate: unknown) => candidate is S,
): S | null {
  let current: unknown = subscriber;
  for (let depth = 0; depth < MAX_CHAIN && current !== null && typeof current === 'object'; depth++) {
    if (matches(current)) return current;
    current = (current as { destination?: unknown }).destination;
  }
  return null;
}

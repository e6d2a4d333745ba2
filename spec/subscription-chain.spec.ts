import {
  EMPTY,
  Observable,
  Subject,
  Subscriber,
  catchError,
  concatMap,
  exhaustMap,
  expand,
  mergeMap,
  of,
  share,
  switchMap,
  throwError,
  timer,
  type MonoTypeOperatorFunction,
  type ObservableInput,
  type OperatorFunction,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { findDownstream } from '../src/internal/subscription-chain.js';

// Guards the one RxJS internal that `reentrant()` relies on (src/internal/subscription-chain.ts):
// every operator's subscriber, including the subscriber of a flattening operator's inner, links to
// the subscriber downstream of it through `destination`, and the chain stops at a Subject or
// share(). If an RxJS upgrade changes that, these specs fail with a message saying so.

const CHAIN_BROKEN =
  'RxJS internals changed: Subscriber.destination no longer links operator subscribers; ' +
  'reentrant() ownership inference needs updating — see src/internal/subscription-chain.ts';

const MULTICAST_LINKED =
  'RxJS internals changed: a Subject / share() now links its source to its consumers through ' +
  'Subscriber.destination, so reentrant() would treat a multicast source as the same owner as ' +
  'one of its consumers — see src/internal/subscription-chain.ts';

/** Stands for reentrant()'s lock holder: a Subscriber subclass subscribed to the source. */
class Marker<T> extends Subscriber<T> {}

/** An operator that subscribes its source with a fresh {@link Marker}, as `reentrant` does. */
function marked<T>(markers: Array<Marker<T>>): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((downstream) => {
      const marker = new Marker<T>(downstream);
      markers.push(marker);
      source.subscribe(marker);
    });
}

const isMarker = (candidate: unknown): candidate is Marker<unknown> => candidate instanceof Marker;

/** What a probe saw of its subscriber's chain when it was subscribed (as reentrant() looks then). */
interface ChainSeen {
  subscriber: Subscriber<unknown>;
  /** The chain walked by hand through `destination`. */
  chain: unknown[];
  /** The Marker src/internal/subscription-chain.ts finds downstream, if any. */
  found: Marker<unknown> | null;
}

/**
 * A stream that, when subscribed, records what its subscriber's chain looks like at that moment
 * (a finished subscriber is cut from its chain), then emits `value` and completes.
 */
function probe<T>(value: T, seen: ChainSeen[]): Observable<T> {
  return new Observable<T>((subscriber) => {
    seen.push({
      subscriber,
      chain: destinationChain(subscriber),
      found: findDownstream(subscriber, isMarker),
    });
    subscriber.next(value);
    subscriber.complete();
  });
}

/** Walks `destination` by hand (not through the helper under guard), as far as it goes. */
function destinationChain(start: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = start;
  while (current !== null && typeof current === 'object' && chain.length < 1000) {
    chain.push(current);
    current = (current as { destination?: unknown }).destination;
  }
  return chain;
}

type Flatten = <T, R>(project: (value: T) => ObservableInput<R>) => OperatorFunction<T, R>;

const flatteners: ReadonlyArray<readonly [string, Flatten]> = [
  ['mergeMap', (project) => mergeMap(project)],
  ['switchMap', (project) => switchMap(project)],
  ['concatMap', (project) => concatMap(project)],
  ['exhaustMap', (project) => exhaustMap(project)],
  ['mergeMap with a concurrency limit (inner started from the buffer)', (project) => mergeMap(project, 1)],
];

describe('the subscription chain reentrant() relies on (RxJS internals)', () => {
  /** Runs `build` in virtual time and returns the marker and the subscribers the probes saw. */
  function subscribeThrough(build: (probed: Observable<string>) => Observable<string>) {
    const markers: Array<Marker<string>> = [];
    const probed: ChainSeen[] = [];
    const output: string[] = [];
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(() => {
      build(probe('inner', probed))
        .pipe(marked(markers))
        .subscribe((value) => output.push(value));
    });
    return { markers, probed, output };
  }

  function expectReached(markers: Array<Marker<string>>, probed: ChainSeen[]): void {
    expect(markers.length).withContext('the outer operator subscriber was created').toBe(1);
    expect(probed.length).withContext('the inner stream was subscribed').toBeGreaterThan(0);
    for (const { chain, found } of probed) {
      expect(chain).withContext(CHAIN_BROKEN).toContain(markers[0]);
      expect(found)
        .withContext(CHAIN_BROKEN)
        .toBe(markers[0] as Marker<unknown>);
    }
  }

  for (const [name, flatten] of flatteners) {
    it(`from inside a ${name} inner subscribed at once, destination leads to the outer operator subscriber`, () => {
      const { markers, probed, output } = subscribeThrough((inner) =>
        of('a', 'b').pipe(flatten(() => inner)),
      );
      expect(output.length).toBeGreaterThan(0);
      expectReached(markers, probed);
    });

    it(`from inside a ${name} inner subscribed after a timer, destination leads to the outer operator subscriber`, () => {
      const { markers, probed, output } = subscribeThrough((inner) =>
        of('a').pipe(flatten(() => timer(3).pipe(flatten(() => inner)))),
      );
      expect(output).toEqual(['inner']);
      expectReached(markers, probed);
    });
  }

  it('from inside a recursive expand inner, at every level, destination leads to the outer operator subscriber', () => {
    const markers: Array<Marker<number>> = [];
    const probed: ChainSeen[] = [];
    const output: number[] = [];
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(() => {
      of(0)
        .pipe(
          expand((n) => (n < 3 ? timer(1).pipe(concatMap(() => probe(n + 1, probed))) : EMPTY)),
          marked(markers),
        )
        .subscribe((value) => output.push(value));
    });
    expect(output).toEqual([0, 1, 2, 3]);
    expect(probed.length).toBe(3);
    for (const { chain, found } of probed) {
      expect(chain).withContext(CHAIN_BROKEN).toContain(markers[0]);
      expect(found)
        .withContext(CHAIN_BROKEN)
        .toBe(markers[0] as Marker<unknown>);
    }
  });

  it('from inside a catchError replacement, destination leads to the outer operator subscriber', () => {
    const { markers, probed, output } = subscribeThrough((inner) =>
      throwError(() => new Error('401')).pipe(catchError(() => inner)),
    );
    expect(output).toEqual(['inner']);
    expectReached(markers, probed);
  });

  it('a Subscriber subclass given to subscribe() is used as is, so operators link to it', () => {
    const markers: Array<Marker<string>> = [];
    const probed: ChainSeen[] = [];
    probe('x', probed).pipe(marked(markers)).subscribe();
    expect(probed[0].subscriber)
      .withContext(CHAIN_BROKEN)
      .toBe(markers[0] as Subscriber<unknown>);
  });

  it('through a Subject, destination does not lead to a consumer of the Subject', () => {
    const markers: Array<Marker<string>> = [];
    const probed: ChainSeen[] = [];
    const subject = new Subject<string>();
    subject.pipe(marked(markers)).subscribe();
    probe('x', probed).subscribe(subject);
    expect(markers.length).toBe(1);
    expect(probed.length).toBe(1);
    expect(probed[0].chain).withContext(MULTICAST_LINKED).not.toContain(markers[0]);
    expect(probed[0].found).withContext(MULTICAST_LINKED).toBeNull();
  });

  it('through share(), destination does not lead to a consumer of the shared stream', () => {
    const markers: Array<Marker<string>> = [];
    const probed: ChainSeen[] = [];
    const output: string[] = [];
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(() => {
      const shared = timer(1).pipe(
        concatMap(() => probe('x', probed)),
        share(),
      );
      of('a')
        .pipe(
          mergeMap(() => shared),
          marked(markers),
        )
        .subscribe((value) => output.push(value));
    });
    expect(output).toEqual(['x']);
    expect(probed.length).toBe(1);
    expect(probed[0].chain).withContext(MULTICAST_LINKED).not.toContain(markers[0]);
    expect(probed[0].found).withContext(MULTICAST_LINKED).toBeNull();
  });
});

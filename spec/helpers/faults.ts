import { Observable, type Subscriber } from 'rxjs';
import { captureUnhandledErrors } from './unhandled-errors.js';

// Fault injection (issue #6, SPEC rule 17: faults stay local): at a point where user code runs, a
// `Fault` is thrown; the spec then checks that counts are exact, no waiter is lost and the error
// reaches the right subscriber, the caller, or RxJS's unhandled-error hook.

/** The error every injected fault throws: each site throws its own, so its destination is checked. */
export class Fault extends Error {
  override readonly name = 'Fault';
}

/** Whether `error` is `fault`, or an RxJS UnsubscriptionError that carries it. */
export function carries(error: unknown, fault: Fault): boolean {
  if (error === fault) return true;
  const inner = (error as { errors?: unknown[] } | null)?.errors;
  return Array.isArray(inner) && inner.some((candidate) => carries(candidate, fault));
}

/**
 * Runs `body` with RxJS's unhandled-error hook captured, then lets the reports (made on a fresh
 * task) arrive. Returns the reported errors that carry a {@link Fault} (other specs' stragglers are
 * ignored).
 */
export async function reportedDuring(body: () => void | Promise<void>): Promise<unknown[]> {
  const reported = await captureUnhandledErrors(body);
  return reported.filter(
    (error) => error instanceof Fault || (typeof error === 'object' && error !== null && 'errors' in error),
  );
}

/** A source that stays open and whose teardown throws; `source` is its subscriber once subscribed. */
export function throwingTeardown() {
  const handle = { source: null as Subscriber<string> | null };
  const observable = new Observable<string>((subscriber) => {
    handle.source = subscriber;
    return () => {
      throw new Error('teardown failed');
    };
  });
  return { handle, observable };
}

import type { PermitLostError } from '../errors.js';
import type { Lease } from './permit-backend.js';

const steadySignals = new WeakMap<object, AbortSignal>();

/**
 * `Lease.signal` of a lease that is never lost (in-process, shared-memory and dummy leases): made
 * on first read — a lease nobody asks costs nothing — and never aborted.
 */
export function steadySignal(lease: object): AbortSignal {
  let signal = steadySignals.get(lease);
  if (signal === undefined) steadySignals.set(lease, (signal = new AbortController().signal));
  return signal;
}

/**
 * The base of a lease that can be lost (a remote backend's): its `signal` is made on first read
 * and aborted, with the `PermitLostError` as its reason, when the backend calls {@link signalLoss}.
 */
export abstract class LosableLease implements Lease {
  abstract readonly permits: number;
  abstract readonly token: number;
  abstract readonly released: boolean;
  private loss: AbortController | null = null;

  get signal(): AbortSignal {
    return (this.loss ??= new AbortController()).signal;
  }

  abstract release(): void;

  [Symbol.dispose](): void {
    this.release();
  }

  /** The lease is lost: aborts its signal with `error` (once; later calls do nothing). */
  signalLoss(error: PermitLostError): void {
    const loss = (this.loss ??= new AbortController());
    if (!loss.signal.aborted) loss.abort(error);
  }
}

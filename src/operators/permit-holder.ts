import { Subscriber } from 'rxjs';
import type { Lease } from '../core/permit-backend.js';
import type { PermitLostError } from '../errors.js';
import { reportUnhandledError } from '../internal/report-error.js';

/**
 * The subscriber a gated stream is subscribed with: it holds the permits for exactly the life of the
 * subscription and gives them back once, after the source is torn down — on complete or error
 * *before* forwarding the notification (so a downstream handler already sees them free), or on
 * unsubscribe.
 *
 * It is a `Subscriber` subclass constructed with the downstream subscriber as destination, which
 * adds it to the downstream's subscription: a downstream `take(1)` closes it while a synchronous
 * endless source is still emitting, and the source stops. A plain observer object could not do that
 * (RxJS would wrap it in a fresh SafeSubscriber that nobody can reach until `subscribe` returns).
 */
export class PermitHolder<T> extends Subscriber<T> {
  private held: boolean;

  constructor(
    destination: Subscriber<T>,
    /** The permits held, or `null` for a fallback stream (which holds none). */
    readonly lease: Lease | null,
  ) {
    super(destination);
    this.held = lease !== null;
    // On a destination already closed, super() tore this down before `held` was set.
    if (this.closed) this.giveBack();
  }

  /** Whether it still holds its permits (not given back, released early or lost). */
  get holding(): boolean {
    return this.held && !this.lease!.released;
  }

  /**
   * The lease was lost (a remote backend's lease expired, or its state was lost): the permits are
   * not ours any more, so nothing is given back; the source is torn down and the stream errors.
   */
  lost(error: PermitLostError): void {
    if (this.closed) return;
    this.held = false;
    this.error(error);
  }

  // On complete or error: tear the source down first (its `finalize` callbacks run), then give the
  // permits back, then forward the notification — so the next stream never overlaps this one's
  // teardown, and a downstream handler already sees the permits free.
  protected override _error(error: unknown): void {
    const destination = this.destination;
    this.tearDown();
    destination.error(error);
  }

  protected override _complete(): void {
    const destination = this.destination;
    this.tearDown();
    destination.complete();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    try {
      super.unsubscribe();
    } finally {
      // A source teardown that throws still leaves the permits given back (rule 17,
      // docs/semantics.md); its error goes on to whoever unsubscribed, as in plain RxJS.
      this.giveBack();
    }
  }

  /**
   * Unsubscribes (which gives the permits back) on the way to a terminal notification. A source
   * teardown that throws then is reported like an RxJS unhandled error, so the notification is
   * still forwarded.
   */
  tearDown(): void {
    try {
      this.unsubscribe();
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  /** Releases the lease the first time it is called; later calls do nothing (rule 8). */
  private giveBack(): void {
    if (!this.held) return;
    this.held = false;
    this.lease!.release();
  }
}

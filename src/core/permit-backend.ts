/**
 * The one small interface between the operators and whatever hands out permits.
 *
 * The in-process `Semaphore` implements it with {@link SemaphoreCore}; backends planned next (permits
 * shared by workers through SharedArrayBuffer, or by machines through Redis) implement the same four
 * calls and may grant asynchronously. Nothing here depends on RxJS.
 */
export interface PermitBackend {
  /** Named in error messages: `Semaphore`, `BoundedSemaphore`, ... */
  readonly name: string;
  /** The most permits one request can ever be granted (`Infinity` when unbounded). */
  readonly maxPermits: number;
  /** Requests queued now, not yet granted. */
  readonly waiting: number;
  /**
   * Takes `permits` now if that is possible without overtaking a queued request.
   * Never queues. Returns whether the permits were taken.
   */
  tryAcquire(permits: number): boolean;
  /**
   * Queues a request for `permits`. `grantee.grant()` is called exactly once when the permits are
   * the grantee's — synchronously, before `request` returns, when nobody is queued and they are free
   * (in-process sources), or later — unless the request is withdrawn first.
   */
  request(permits: number, grantee: PermitGrantee): PermitTicket;
  /** Gives `permits` back and hands them to queued requests. Returns the value after the hand-off. */
  release(permits: number): number;
}

/** Told once that its request was granted; from then on it holds the permits. */
export interface PermitGrantee {
  grant(): void;
}

/** The caller's handle on one request. */
export interface PermitTicket {
  /**
   * Withdraws the request if it has not been granted yet: it then consumes nothing and its grantee
   * is never called, and `true` is returned. Returns `false` once the grantee has been told of its
   * grant (the caller holds the permits and must release them), and on a second withdrawal.
   */
  withdraw(): boolean;
}

/** The ticket of a request granted at once: there is nothing left to withdraw. */
export const GRANTED_TICKET: PermitTicket = Object.freeze({ withdraw: () => false });

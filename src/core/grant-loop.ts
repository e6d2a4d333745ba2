/** A unit of deferred work: a grant to announce, a value to broadcast, listeners to wake. */
export interface Job {
  next: Job | null;
  runJob(): void;
}

/** Reports an error thrown by user code run from the loop, without stopping the loop. */
export type ErrorReporter = (error: unknown) => void;

/**
 * The trampoline every operation of one primitive goes through.
 *
 * State changes (the counter, the queue) happen at once; everything that calls user code — telling a
 * grantee of its grant, broadcasting a value, waking `wait`/`rawlink` listeners — is queued here and
 * run by the outermost operation. An operation made from inside a job (a gated stream that completes
 * synchronously and releases, an observer that releases) only queues more jobs and returns; the loop
 * already on the stack runs them in order. That is what keeps 10^6 chained grants at constant stack
 * depth (rule 4, docs/semantics.md) and keeps every listener's view in order (rule 12).
 */
export class GrantLoop {
  private head: Job | null = null;
  private tail: Job | null = null;
  private running = false;

  /** Whether a loop is on the stack: the current operation is nested in a grant. */
  get active(): boolean {
    return this.running;
  }

  constructor(
    private readonly reportError: ErrorReporter,
    /** Called each time the outermost loop has run every job (the engine forgets its loop time). */
    private readonly idle: () => void = noop,
  ) {}

  push(job: Job): void {
    job.next = null;
    if (this.tail === null) this.head = job;
    else this.tail.next = job;
    this.tail = job;
  }

  /**
   * Runs `job` (telling a grantee of its grant) now, in this call, even inside a running loop (rule 5,
   * docs/semantics.md).
   * Operations it makes meanwhile are folded into this one (rule 4): when it is the outermost
   * operation, the jobs they queue run after the grantee returns, before this call does.
   */
  grantNow(job: Job): void {
    this.tellNow(runJob, job);
  }

  /**
   * {@link grantNow} for a grant that has no job object: calls `tell(arg)` now, as a grant is told
   * (an operation it makes is folded into this one, rule 4).
   */
  tellNow<T>(tell: (arg: T) => void, arg: T): void {
    if (this.running) {
      tell(arg);
      return;
    }
    this.running = true;
    try {
      tell(arg);
    } finally {
      this.drainHeld();
    }
  }

  /** Runs the queued jobs unless a loop is already on the stack (which will run them). */
  drain(): void {
    if (this.running || this.head === null) return;
    this.running = true;
    this.drainHeld();
  }

  /** Runs jobs until none is left; `running` is already set and is cleared on the way out. */
  private drainHeld(): void {
    try {
      let job: Job | null;
      while ((job = this.head) !== null) {
        this.head = job.next;
        if (this.head === null) this.tail = null;
        job.next = null;
        try {
          job.runJob();
        } catch (error) {
          this.reportError(error);
        }
      }
    } finally {
      this.running = false;
      this.idle();
    }
  }
}

function noop(): void {}

/** Tells a job's grantee of its grant ({@link GrantLoop.grantNow}). */
function runJob(job: Job): void {
  job.runJob();
}

/**
 * One request's deadline: its signal aborts with a TimeoutError after
 * `timeoutMs`, or with the caller's reason if the caller's own signal aborts
 * first, unless the request settles before either.
 *
 * Why not `AbortSignal.timeout()`: its timer cannot be cleared, and Node keeps
 * such a signal alive until the timer fires for as long as any `abort`
 * listener is left on it. A listener left behind (the pool's health check
 * once was one) kept every request's signal, timer, listener and event table
 * (~1 KiB) for the whole 30 s timeout, then built a DOMException with a stack
 * trace for a request long done: at 400 requests/s, 12,000 requests' worth
 * of objects promoted out of the young generation for nothing (heap snapshot
 * at 20,000 pushes: 8,775 live AbortSignals). `settle()` clears the timer and unlinks the
 * caller's signal the moment the request is done, so both are young garbage.
 */
export class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort: (() => void) | undefined;
  private expired = false;

  constructor(
    timeoutMs: number | undefined,
    private readonly caller?: AbortSignal,
  ) {
    if (caller?.aborted) {
      this.controller.abort(caller.reason);
      return;
    }
    if (caller) {
      this.onCallerAbort = () => this.controller.abort(caller.reason);
      caller.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => {
        this.expired = true;
        this.controller.abort(new DOMException(`request timed out after ${timeoutMs} ms`, 'TimeoutError'));
      }, timeoutMs);
      // A deadline alone must not keep the process up (AbortSignal.timeout's timer does not either).
      this.timer.unref();
    }
  }

  /** Aborts when the deadline passes or the caller gives up. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether it was this deadline that passed (not the caller that gave up). */
  get timedOut(): boolean {
    return this.expired;
  }

  /** The request is done (answered or failed): stop the timer and let go of the caller's signal. */
  settle(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onCallerAbort !== undefined) this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

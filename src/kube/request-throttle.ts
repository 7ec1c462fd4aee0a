import { parseRetryAfter, retryAfterHeader } from '../util/retry-after.js';
import { TokenBucket } from '../util/token-bucket.js';

/**
 * The operator's side of being throttled, applied where every apiserver
 * request goes out (UndiciRequestLibrary.send):
 *
 * - a client-side request budget (client-go's QPS/burst): a token bucket
 *   shared by every client the operator builds, so no burst of work can send
 *   more than `burst` requests at once or more than `qps` a second for long;
 * - the server's word: after a 429 (or a 503) with Retry-After, requests of
 *   the same identity wait until that time has passed, plus jitter. API
 *   Priority and Fairness classifies by user, so once one request of a flow
 *   is rejected the next ones would be too; holding them back is what keeps a
 *   throttled operator from hammering the apiserver with requests it will
 *   reject (client-go gets the same bound by sleeping in the request itself).
 *
 * Watches are not sent through here (client-node's Watch uses its own fetch):
 * a long-running request holds no token, as client-go exempts watches from its
 * rate limiter. So is the watch-list that fills an informer's cache
 * (watch-list.ts); the LIST it falls back to is an ordinary request and is budgeted.
 */

export type ThrottleWaitReason = 'budget' | 'retry_after';

export interface ThrottleObserver {
  /** A request waited `seconds` (0 included, for the budget) before it was sent. */
  waited?(reason: ThrottleWaitReason, seconds: number): void;
  /** The apiserver answered `status` with a Retry-After of `retryAfterMs`. */
  throttled?(status: number, retryAfterMs: number): void;
}

export interface BudgetOptions {
  /** Requests per second on average; 0 = unlimited. */
  qps: number;
  /** Requests that may go at once after a quiet spell (>= 1 when qps > 0). */
  burst: number;
}

/** Share of a Retry-After pause added as jitter, so requests held back together are not released together. */
const GATE_JITTER = 0.2;

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (a request timeout while waiting). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(signal.reason as Error) : Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The shared token bucket, as a wait. */
export class RequestBudget {
  private readonly bucket: TokenBucket;

  constructor(options: BudgetOptions, now?: () => number) {
    this.bucket = new TokenBucket({ qps: options.qps, burst: options.burst, ...(now ? { now } : {}) });
  }

  get qps(): number {
    return this.bucket.qps;
  }

  get burst(): number {
    return this.bucket.burst;
  }

  /** Takes a token, waiting for it if the bucket is empty; returns the milliseconds waited. An abort while waiting gives the token back. */
  async take(signal?: AbortSignal): Promise<number> {
    const wait = this.bucket.reserve();
    if (wait <= 0) return 0;
    try {
      await abortableSleep(wait, signal);
    } catch (err) {
      this.bucket.cancel();
      throw err;
    }
    return wait;
  }
}

/** Requests of one identity held back until the server's Retry-After has passed. */
export class RetryAfterGate {
  private openAt = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly random: () => number = Math.random,
  ) {}

  /** The server asked this identity to wait `ms` from now. A later, shorter ask never shortens an earlier one. */
  pauseFor(ms: number): void {
    if (ms > 0) this.openAt = Math.max(this.openAt, this.now() + ms);
  }

  /** Milliseconds until the gate opens (0: open). */
  remaining(): number {
    return Math.max(0, this.openAt - this.now());
  }

  /** Waits until the gate is open (re-checking: another 429 may have moved it); returns the milliseconds waited. */
  async pass(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (let remaining = this.remaining(); remaining > 0; remaining = this.remaining()) {
      const wait = Math.ceil(remaining * (1 + GATE_JITTER * this.random()));
      await abortableSleep(wait, signal);
      waited += wait;
    }
    return waited;
  }
}

/** One identity's throttle: its Retry-After gate, then the shared budget. */
export class RequestThrottle {
  constructor(
    private readonly budget: RequestBudget | undefined,
    readonly gate: RetryAfterGate = new RetryAfterGate(),
    private readonly observer: ThrottleObserver = {},
  ) {}

  /** Resolves when the request may be sent; rejects if `signal` aborts first. */
  async beforeSend(signal?: AbortSignal): Promise<void> {
    const held = await this.gate.pass(signal);
    if (held > 0) this.observer.waited?.('retry_after', held / 1000);
    if (this.budget) {
      const waited = await this.budget.take(signal);
      this.observer.waited?.('budget', waited / 1000);
    }
  }

  /** Reads a response's status and headers: a 429 or 503 with Retry-After holds this identity's next requests back. */
  afterResponse(status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status !== 429 && status !== 503) return;
    const retryAfterMs = parseRetryAfter(retryAfterHeader(headers));
    if (retryAfterMs === undefined) return;
    this.gate.pauseFor(retryAfterMs);
    this.observer.throttled?.(status, retryAfterMs);
  }
}

/**
 * A token bucket with reservations, as golang.org/x/time/rate (which
 * client-go's QPS/burst limiter is built on): `qps` tokens a second refill a
 * bucket of `burst`; each request takes one. A request that finds the bucket
 * empty reserves the next token anyway (the count goes negative) and is told
 * how long to wait for it, so waiters are served in arrival order at exactly
 * `qps`, with no polling.
 */
export interface TokenBucketOptions {
  qps: number;
  burst: number;
  now?: () => number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly now: () => number;
  readonly qps: number;
  readonly burst: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.qps > 0) || !Number.isFinite(options.qps)) throw new RangeError(`token bucket: qps must be a finite number > 0, got ${options.qps}`);
    if (!Number.isInteger(options.burst) || options.burst < 1) throw new RangeError(`token bucket: burst must be an integer >= 1, got ${options.burst}`);
    this.qps = options.qps;
    this.burst = options.burst;
    this.now = options.now ?? (() => performance.now());
    this.tokens = options.burst;
    this.last = this.now();
  }

  /** Takes a token; returns how many milliseconds the caller must wait before using it (0: go now). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Gives back a token reserved but not used (its request was abandoned while waiting). */
  cancel(): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }

  /** Tokens available now (negative: that many requests already wait). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.qps);
  }
}

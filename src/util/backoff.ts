/**
 * Exponential backoff with jitter, per item. Jitter spreads retries of many
 * items that failed together (an apiserver restart, say) so they do not all
 * return at once. The random part only moves *when* a retry happens; it never
 * touches *what* the retry does, so it cannot mint a new identity.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0 = no jitter; 0.5 = the delay is drawn from [50%, 100%] of the exponential value. */
  jitter: number;
  random?: () => number;
}

export class ExponentialBackoff<K = string> {
  private readonly failures = new Map<K, number>();
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    if (options.baseMs <= 0 || options.maxMs < options.baseMs) {
      throw new RangeError('backoff: need 0 < baseMs <= maxMs');
    }
    if (options.jitter < 0 || options.jitter > 1) throw new RangeError('backoff: jitter must be in [0, 1]');
    this.random = options.random ?? Math.random;
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    return this.delayFor(attempt);
  }

  /** The delay for the n-th consecutive failure (0-based), without recording anything. */
  delayFor(attempt: number): number {
    // 2 ** attempt overflows to Infinity for large attempts; Math.min keeps it bounded.
    const exponential = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(attempt, 62));
    const spread = exponential * this.options.jitter;
    return Math.round(exponential - spread * this.random());
  }

  /** How many consecutive failures `key` has had. */
  attempts(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Clears the history of `key`: after a success, or when a new generation makes old failures irrelevant. */
  forget(key: K): void {
    this.failures.delete(key);
  }
}

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  return {
    count: latenciesMs.length,
    p50Ms: round(percentile(latenciesMs, 50), 1),
    p90Ms: round(percentile(latenciesMs, 90), 1),
    p99Ms: round(percentile(latenciesMs, 99), 1),
    maxMs: round(Math.max(...latenciesMs), 1),
  };
}

/** An interval that holds the true median with at least `coverage` (0..1) whatever the distribution. */
export interface MedianInterval {
  low: number;
  high: number;
  coverage: number;
}

/**
 * The distribution-free confidence interval of a median (order statistics):
 * with n values sorted, [x(k), x(n+1-k)] holds the median of the distribution
 * they were drawn from with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1).
 * The narrowest one with at least `minCoverage`; undefined when even
 * [min, max] falls short (fewer than 5 values for 0.9). Why: ten alternating
 * runs on a shared 2-core machine put one run's median ratio a few hundredths
 * either way (docs/benchmarks.md: three runs of one tree read 0.81, 0.88 and
 * 0.98), so a verdict next to its threshold says little without this.
 */
export function medianInterval(values: readonly number[], minCoverage = 0.9): MedianInterval | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  // P(Binomial(n, 1/2) <= j), built up term by term.
  let term = 0.5 ** n;
  let below = 0;
  let best: MedianInterval | undefined;
  for (let k = 1; k <= Math.floor((n + 1) / 2); k++) {
    const j = k - 1;
    if (j > 0) term = (term * (n - j + 1)) / j;
    below += term;
    const coverage = 1 - 2 * below;
    if (coverage < minCoverage) break;
    best = { low: sorted[k - 1] as number, high: sorted[n - k] as number, coverage };
  }
  return best;
}

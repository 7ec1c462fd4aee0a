import { PerformanceObserver } from 'node:perf_hooks';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { GC_DURATION_BUCKETS, GC_DURATION_METRIC, registerGcDurations } from '../../src/operator/gc-metrics.js';
import { createMetrics } from '../../src/operator/metrics.js';

/**
 * Allocates in synchronous stretches between turns of the event loop, each
 * several young generations' worth (V8's default semi-space is up to 16 MiB
 * here), so several collections land in one observer callback.
 */
async function churn(rounds: number): Promise<void> {
  let keep: { a: number; b: string }[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 400_000; i++) keep.push({ a: i, b: `x${i}` });
    if (keep.length > 1_000_000) keep = [];
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function countByKind(registry: Registry): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric(GC_DURATION_METRIC);
  if (!metric) throw new Error(`${GC_DURATION_METRIC} is not registered`);
  const counts = new Map<string, number>();
  for (const v of (await metric.get()).values as { metricName?: string; labels: Record<string, unknown>; value: number }[]) {
    if (v.metricName === `${GC_DURATION_METRIC}_count`) counts.set(String(v.labels.kind), v.value);
  }
  return counts;
}

describe('nodejs_gc_duration_seconds', () => {
  it('counts every collection, also those Node delivers several to a callback', async () => {
    const reference = { entries: 0, callbacks: 0 };
    const tally = new PerformanceObserver((list) => {
      reference.callbacks += 1;
      reference.entries += list.getEntries().length;
    });
    tally.observe({ entryTypes: ['gc'] });
    const registry = new Registry();
    const stop = registerGcDurations(registry);

    await churn(20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop();
    tally.disconnect();

    const counted = [...(await countByKind(registry)).values()].reduce((a, b) => a + b, 0);
    // The case prom-client's collector gets wrong must have happened, or this test proves nothing.
    expect(reference.entries).toBeGreaterThan(reference.callbacks);
    expect(counted).toBe(reference.entries);
  });

  it("replaces prom-client's default histogram, keeping its name, label and buckets", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const stop = registerGcDurations(registry);
    stop();
    const text = await registry.metrics();
    expect(text.match(/^# TYPE nodejs_gc_duration_seconds histogram$/gm)).toHaveLength(1);
    const metric = await registry.getSingleMetric(GC_DURATION_METRIC)?.get();
    expect(metric?.help).toBe('Garbage collection duration by kind, one of major, minor, incremental or weakcb.');
    expect(GC_DURATION_BUCKETS).toEqual([0.001, 0.01, 0.1, 1, 2, 5]);
  });

  it('is what the operator exposes when it serves the default metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    await churn(5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const text = await metrics.registry.metrics();
    expect(text.match(/^# TYPE nodejs_gc_duration_seconds histogram$/gm)).toHaveLength(1);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_count\{kind="minor"\} [1-9]/m);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_bucket\{le="0.1",kind="minor"\} /m);
  });
});

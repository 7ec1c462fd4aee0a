import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { Histogram, type Registry } from 'prom-client';

/**
 * `nodejs_gc_duration_seconds`, counted from every garbage collection.
 *
 * prom-client's default collector (15.1.3, lib/metrics/gc.js) observes only
 * `list.getEntries()[0]` of each PerformanceObserver callback. Node hands the
 * observer its entries in batches, one callback per turn of the event loop,
 * so every collection after the first in a batch is dropped: 29 of 428 in a
 * bench throughput run of the operator (docs/observability.md), more the
 * closer together collections come, so the count and sum under-read the
 * pauses when they matter most. This histogram has the same name,
 * help, label and buckets, so dashboards built on prom-client's keep working,
 * and observes every entry of every batch.
 */
export const GC_DURATION_METRIC = 'nodejs_gc_duration_seconds';

/** prom-client's default buckets for this histogram, kept so existing queries on `le` still match. */
export const GC_DURATION_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];

/** The `kind` label's values, as prom-client names them. */
export const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;
export type GcKind = (typeof GC_KINDS)[number];

const kindNames = new Map<number, GcKind>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** The kind of a `gc` performance entry (Node 16+ puts it in `detail`), or undefined for one Node may add later. */
export function gcKindOf(entry: PerformanceEntry): GcKind | undefined {
  return kindNames.get((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1);
}

/**
 * Replaces the registry's `nodejs_gc_duration_seconds` (if prom-client's
 * default collector put one there) with one that counts every collection.
 * prom-client's own observer cannot be reached to disconnect it; with its
 * histogram off the registry it only feeds a histogram nobody reads.
 * Returns a function that stops observing.
 */
export function registerGcDurations(registry: Registry): () => void {
  registry.removeSingleMetric(GC_DURATION_METRIC);
  const durations = new Histogram({
    name: GC_DURATION_METRIC,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_DURATION_BUCKETS,
    registers: [registry],
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKindOf(entry);
      if (kind !== undefined) durations.observe({ kind }, entry.duration / 1000);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

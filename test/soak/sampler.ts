import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Sample } from './analysis.js';
import { classifySmaps } from './smaps.js';

/** One Prometheus text exposition, as `name{labels}` -> value (labels as printed). */
export function parseExposition(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (space > 0 && Number.isFinite(value)) values.set(line.slice(0, space), value);
  }
  return values;
}

/** The sum of `name` over the label sets that contain every `labels` pair (exact `key="value"` text). */
export function metricValue(values: ReadonlyMap<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum: number | undefined;
  for (const [series, value] of values) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (!wanted.every((pair) => series.includes(pair))) continue;
    sum = (sum ?? 0) + value;
  }
  return sum;
}

/** The process's open file descriptors, and how many of them are sockets (Linux /proc). */
export function fdCounts(pid: number): { openFds: number; sockets: number } {
  let openFds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    openFds++;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between the listing and the read
    }
  }
  return { openFds, sockets };
}

/** RssAnon and RssFile of /proc/<pid>/status, in bytes (undefined where the kernel does not report them). */
export function parseProcStatus(text: string): { rssAnonBytes?: number; rssFileBytes?: number } {
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const anon = kib('RssAnon');
  const file = kib('RssFile');
  return { ...(anon !== undefined ? { rssAnonBytes: anon } : {}), ...(file !== undefined ? { rssFileBytes: file } : {}) };
}

/** `name{space="..."}` values by space (prom-client's per-space heap gauges). */
export function bySpace(values: ReadonlyMap<string, number>, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of values) {
    const m = series.startsWith(`${name}{`) ? /space="([^"]+)"/.exec(series) : null;
    if (m?.[1] !== undefined) out[m[1]] = value;
  }
  return out;
}

/** A sample of the operator process from its /metrics (prom-client default metrics plus ours) and /proc. */
export async function sampleProcess(pid: number, metricsPort: number): Promise<Sample> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const values = parseExposition(await response.text());
  const need = (name: string, labels: Record<string, string> = {}): number => {
    const value = metricValue(values, name, labels);
    if (value === undefined) throw new Error(`/metrics has no ${name}${JSON.stringify(labels)}`);
    return value;
  };
  const fds = fdCounts(pid);
  let status = {};
  try {
    status = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    status = { ...status, smaps: classifySmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8')) };
  } catch {
    // the process ended meanwhile: the sample keeps the rest
  }
  return {
    at: Date.now(),
    pid,
    rssBytes: need('process_resident_memory_bytes'),
    heapUsedBytes: need('nodejs_heap_size_used_bytes'),
    heapTotalBytes: need('nodejs_heap_size_total_bytes'),
    externalBytes: need('nodejs_external_memory_bytes'),
    queueDepth: need('configpush_workqueue_depth'),
    openFds: fds.openFds,
    sockets: fds.sockets,
    // A series appears only while at least one resource of its type exists.
    timers: metricValue(values, 'nodejs_active_resources', { type: 'Timeout' }) ?? 0,
    activeResources: need('nodejs_active_resources_total'),
    reconcileErrors: metricValue(values, 'configpush_reconcile_total', { result: 'error' }) ?? 0,
    ...status,
    heapSpaceUsedBytes: bySpace(values, 'nodejs_heap_space_size_used_bytes'),
    heapSpaceTotalBytes: bySpace(values, 'nodejs_heap_space_size_total_bytes'),
  };
}

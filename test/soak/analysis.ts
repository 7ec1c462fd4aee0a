import type { SmapsByKind } from './smaps.js';

/**
 * The soak's figures: samples of the operator process aggregated per minute,
 * and the verdict on one process's life (does memory stay flat, do sockets
 * and timers stop growing). Pure: the soak feeds it, the unit tests too.
 */
export interface Sample {
  /** ms since the epoch. */
  at: number;
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  queueDepth: number;
  /** /proc/<pid>/fd entries. */
  openFds: number;
  /** /proc/<pid>/fd entries that are sockets. */
  sockets: number;
  /** process.getActiveResourcesInfo() entries of type Timeout (nodejs_active_resources{type="Timeout"}). */
  timers: number;
  activeResources: number;
  /** configpush_reconcile_total{result="error"} of this process (a counter: since it started). */
  reconcileErrors: number;
  /** /proc/<pid>/status RssAnon and RssFile: what of RSS is anonymous memory (heap, malloc) and what mapped files (code). */
  rssAnonBytes?: number;
  rssFileBytes?: number;
  /** V8 heap spaces (nodejs_heap_space_size_{used,total}_bytes by space): where heap total goes (old, code, large objects...). */
  heapSpaceUsedBytes?: Record<string, number>;
  heapSpaceTotalBytes?: Record<string, number>;
  /** /proc/<pid>/smaps by kind of mapping (test/soak/smaps.ts): malloc's arenas apart from V8's pages and mapped files. */
  smaps?: SmapsByKind;
}

/** Something that happened at an instant: a fault, a log line counted, a target write logged. */
export interface Mark {
  at: number;
  what: string;
}

export interface MinuteRow {
  minute: number;
  /** The operator processes sampled in this minute. */
  pids: number[];
  /** Faults that started in this minute. */
  events: string[];
  samples: number;
  /** Median of the minute's samples. */
  rssMiB: number | null;
  /** Lowest of the minute's samples: the closest a sample gets to the live heap after a collection. */
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
  queueDepthMax: number | null;
  openFds: number | null;
  /** Median of the minute's samples. */
  sockets: number | null;
  /** Median of the minute's samples. */
  timers: number | null;
  timersMax: number | null;
  /** Operator log lines at level error or above. */
  errors: number;
  warnings: number;
  /** Reconciles ending in error (the counter's increase within the minute, per process). */
  reconcileErrors: number;
  targetWrites: number;
}

const MiB = 1024 * 1024;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;
const orNull = (values: number[], f: (v: number[]) => number, digits = 1): number | null => (values.length === 0 ? null : round(f(values), digits));

export interface LogCounts {
  errors: readonly number[];
  warnings: readonly number[];
  targetWrites: readonly number[];
}

/** One row per minute from `startedAt` for `minutes` minutes (a last partial minute included). */
export function minuteRows(samples: readonly Sample[], logs: LogCounts, faults: readonly Mark[], startedAt: number, minutes: number): MinuteRow[] {
  const rows: MinuteRow[] = [];
  const count = Math.max(1, Math.ceil(minutes - 1e-9));
  const minuteOf = (at: number) => Math.floor((at - startedAt) / 60_000);
  // The reconcile error counter restarts with each process: its increase is taken per pid.
  const lastErrors = new Map<number, number>();
  const errorIncrease = new Map<number, number>();
  for (const s of samples) {
    const before = lastErrors.get(s.pid) ?? 0;
    lastErrors.set(s.pid, s.reconcileErrors);
    const m = minuteOf(s.at);
    errorIncrease.set(m, (errorIncrease.get(m) ?? 0) + Math.max(0, s.reconcileErrors - before));
  }
  const tally = (ats: readonly number[], m: number) => ats.filter((at) => minuteOf(at) === m).length;
  for (let m = 0; m < count; m++) {
    const inMinute = samples.filter((s) => minuteOf(s.at) === m);
    rows.push({
      minute: m + 1,
      pids: [...new Set(inMinute.map((s) => s.pid))],
      events: faults.filter((f) => minuteOf(f.at) === m).map((f) => f.what),
      samples: inMinute.length,
      rssMiB: orNull(inMinute.map((s) => s.rssBytes / MiB), median),
      heapUsedMiB: orNull(inMinute.map((s) => s.heapUsedBytes / MiB), (v) => Math.min(...v)),
      heapTotalMiB: orNull(inMinute.map((s) => s.heapTotalBytes / MiB), median),
      queueDepthMax: orNull(inMinute.map((s) => s.queueDepth), (v) => Math.max(...v), 0),
      openFds: orNull(inMinute.map((s) => s.openFds), median, 0),
      sockets: orNull(inMinute.map((s) => s.sockets), median),
      timers: orNull(inMinute.map((s) => s.timers), median),
      timersMax: orNull(inMinute.map((s) => s.timers), (v) => Math.max(...v), 0),
      errors: tally(logs.errors, m),
      warnings: tally(logs.warnings, m),
      reconcileErrors: errorIncrease.get(m) ?? 0,
      targetWrites: tally(logs.targetWrites, m),
    });
  }
  return rows;
}

export interface Trend {
  /** Median of the first window of judged minutes. */
  first: number;
  /** Median of the last window. */
  last: number;
  /** (last - first) / first, in percent. */
  changePct: number;
  min: number;
  max: number;
  /** Least-squares slope over the judged minutes, per hour. */
  slopePerHour: number;
}

export interface Verdict {
  pid: number;
  /** Minutes this process was the only one sampled (its whole minutes of life). */
  lifeMinutes: number;
  warmupMinutes: number;
  /** The minutes judged (after the warm-up), 1-based as in the table. */
  judged: [number, number] | null;
  /** Minutes per window compared (first vs last). */
  window: number;
  rssMiB: Trend | null;
  heapUsedMiB: Trend | null;
  sockets: Trend | null;
  timers: Trend | null;
  memoryFlat: boolean | null;
  socketsFlat: boolean | null;
  timersFlat: boolean | null;
  /** Why nothing was judged, when so. */
  note?: string;
}

/** Memory may move this much (either way) between the first and last windows after warm-up. */
export const MEMORY_TOLERANCE_PCT = 10;

function trend(points: readonly { minute: number; value: number }[], window: number): Trend {
  const values = points.map((p) => p.value);
  const first = median(values.slice(0, window));
  const last = median(values.slice(-window));
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.minute, 0) / n;
  const my = values.reduce((a, v) => a + v, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.minute - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.minute - mx) * (p.value - my), 0);
  return {
    first: round(first, 2),
    last: round(last, 2),
    changePct: first === 0 ? (last === 0 ? 0 : Number.POSITIVE_INFINITY) : round(((last - first) / first) * 100, 1),
    min: round(Math.min(...values), 2),
    max: round(Math.max(...values), 2),
    slopePerHour: sxx === 0 ? 0 : round((sxy / sxx) * 60, 2),
  };
}

/**
 * Judges one process from the minutes it alone was sampled, after
 * `warmupMinutes`: memory (RSS median, heap-used floor) is flat when the last
 * window's median is within MEMORY_TOLERANCE_PCT of the first window's;
 * sockets and timers do not grow when the last window's median is no higher
 * than the highest minute of the first window. Needs 2 windows of at least
 * 2 minutes each after the warm-up, else nothing is judged. Minutes after
 * `lastMinute` (the soak passes the last whole minute of work, so the quiet
 * at the end, with fewer requests in flight, cannot hide a growth) are left out.
 */
export function judgeProcess(rows: readonly MinuteRow[], pid: number, warmupMinutes: number, lastMinute = Number.POSITIVE_INFINITY): Verdict {
  const own = rows.filter((r) => r.pids.length === 1 && r.pids[0] === pid && r.rssMiB !== null && r.minute <= lastMinute);
  const judged = own.slice(warmupMinutes);
  const window = Math.min(5, Math.floor(judged.length / 2));
  const base: Verdict = {
    pid,
    lifeMinutes: own.length,
    warmupMinutes,
    judged: null,
    window,
    rssMiB: null,
    heapUsedMiB: null,
    sockets: null,
    timers: null,
    memoryFlat: null,
    socketsFlat: null,
    timersFlat: null,
  };
  if (window < 2) return { ...base, note: `${own.length} whole minute(s) of life, ${judged.length} after a ${warmupMinutes}-minute warm-up: too short to judge` };
  const series = (pick: (r: MinuteRow) => number | null) => judged.map((r) => ({ minute: r.minute, value: pick(r) ?? 0 }));
  const rss = trend(series((r) => r.rssMiB), window);
  const heap = trend(series((r) => r.heapUsedMiB), window);
  const sockets = trend(series((r) => r.sockets), window);
  const timers = trend(series((r) => r.timers), window);
  const firstMax = (pick: (r: MinuteRow) => number | null) => Math.max(...judged.slice(0, window).map((r) => pick(r) ?? 0));
  return {
    ...base,
    judged: [judged[0]!.minute, judged.at(-1)!.minute],
    rssMiB: rss,
    heapUsedMiB: heap,
    sockets,
    timers,
    memoryFlat: Math.abs(rss.changePct) <= MEMORY_TOLERANCE_PCT && Math.abs(heap.changePct) <= MEMORY_TOLERANCE_PCT,
    socketsFlat: sockets.last <= firstMax((r) => r.sockets),
    timersFlat: timers.last <= firstMax((r) => r.timers),
  };
}

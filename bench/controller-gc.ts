/**
 * What garbage collection costs a controller process, read the same way on
 * both sides so the flag the image runs with (`--optimize-for-size`) shows
 * as a figure in every run instead of a one-off profile:
 *
 * - the main thread's GC pauses by kind, from V8's `gc` performance entries
 *   (the operator's `nodejs_gc_duration_seconds`, src/operator/gc-metrics.ts,
 *   counts every one of them; the baseline keeps its own tally, `observeGc`),
 *   and how many of them were long (over 100 ms, over 1 s);
 * - the CPU of V8's worker threads (`/proc/<pid>/task/<tid>`, named
 *   `V8Worker` by Node 24): concurrent marking, parallel scavenging,
 *   sweeping and background compilation, which a pause does not show.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { GC_KINDS, gcKindOf, type GcKind } from '../src/operator/gc-metrics.js';
import { median } from './stats.js';

export { GC_KINDS, type GcKind };

/**
 * Pauses of one kind: how many, their sum in seconds, and how many lasted
 * over 100 ms and over 1 s (two of the histogram's bucket bounds; absent in
 * results written before they were read).
 */
export interface KindPauses {
  count: number;
  seconds: number;
  over100ms?: number;
  over1s?: number;
}

/** Pauses of the main thread, by kind. */
export type GcPauses = Record<GcKind, KindPauses>;

export function noPauses(): GcPauses {
  const none = (): KindPauses => ({ count: 0, seconds: 0, over100ms: 0, over1s: 0 });
  return { minor: none(), major: none(), incremental: none(), weakcb: none() };
}

/** The operator's pauses from its /metrics, parsed by processes.ts's parseMetrics (prom-client writes `le` before `kind`, and no `le` on _count and _sum). */
export function pausesFromMetrics(metrics: Map<string, number>): GcPauses | undefined {
  if (!metrics.has('nodejs_gc_duration_seconds_count')) return undefined;
  const pauses = noPauses();
  for (const kind of GC_KINDS) {
    const count = metrics.get(`nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0;
    // A bucket counts the pauses up to its bound; a kind never seen has no buckets, and none of its pauses were long.
    const within = (le: string) => metrics.get(`nodejs_gc_duration_seconds_bucket{le="${le}",kind="${kind}"}`) ?? count;
    pauses[kind] = {
      count,
      seconds: metrics.get(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0,
      over100ms: count - within('0.1'),
      over1s: count - within('1'),
    };
  }
  return pauses;
}

/** The baseline's tally, from the same entries prom-client observes; `read()` gives the totals so far. */
export function observeGc(): { read(): GcPauses; stop(): void } {
  const pauses = noPauses();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKindOf(entry);
      if (!kind) continue;
      const tally = pauses[kind];
      tally.count += 1;
      tally.seconds += entry.duration / 1000;
      if (entry.duration > 100) tally.over100ms = (tally.over100ms ?? 0) + 1;
      if (entry.duration > 1000) tally.over1s = (tally.over1s ?? 0) + 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { read: () => structuredClone(pauses), stop: () => observer.disconnect() };
}

export function pausesBetween(before: GcPauses, after: GcPauses): GcPauses {
  const spent = noPauses();
  for (const kind of GC_KINDS) {
    const [a, b] = [after[kind], before[kind]];
    const long = (field: 'over100ms' | 'over1s') => (a[field] !== undefined && b[field] !== undefined ? { [field]: a[field] - b[field] } : {});
    spent[kind] = { count: a.count - b.count, seconds: a.seconds - b.seconds, ...long('over100ms'), ...long('over1s') };
  }
  return spent;
}

/**
 * The pauses of a span as a report cell: "major 12 (0.41 s), incremental 30
 * (0.02 s), minor 800 (0.55 s); 3 over 100 ms, 0 over 1 s". Kinds with no
 * pause are left out; the long pauses are of every kind together.
 */
export function pausesText(pauses: GcPauses): string {
  const kinds = (['major', 'incremental', 'minor', 'weakcb'] as const).filter((k) => pauses[k].count > 0);
  if (kinds.length === 0) return 'no pauses';
  const parts = kinds.map((k) => `${k} ${pauses[k].count} (${pauses[k].seconds.toFixed(2)} s)`);
  const long = (field: 'over100ms' | 'over1s') =>
    GC_KINDS.every((k) => pauses[k][field] !== undefined) ? GC_KINDS.reduce((sum, k) => sum + (pauses[k][field] ?? 0), 0) : undefined;
  const [over100ms, over1s] = [long('over100ms'), long('over1s')];
  const tail = over100ms !== undefined && over1s !== undefined ? `; ${over100ms} over 100 ms, ${over1s} over 1 s` : '';
  return `${parts.join(', ')}${tail}`;
}

/** CPU seconds (user + system) by thread: the main thread, V8's workers, and the rest (libuv's pool, the inspector's). */
export interface ThreadCpu {
  main: number;
  v8Workers: number;
  other: number;
}

/** Undefined when the process is gone or /proc is missing. */
export function threadCpuSeconds(pid: number): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const cpu: ThreadCpu = { main: 0, v8Workers: 0, other: 0 };
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const seconds = statCpuSeconds(stat);
    if (seconds === undefined) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (tid === String(pid)) cpu.main += seconds;
    else if (name.startsWith('V8')) cpu.v8Workers += seconds;
    else cpu.other += seconds;
  }
  return cpu;
}

/**
 * utime + stime of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line, in
 * seconds: fields 14 and 15, in clock ticks (USER_HZ, 100 a second on Linux).
 * The command name (field 2) is in parentheses and may hold spaces, so the
 * fields are counted after its closing one.
 */
export function statCpuSeconds(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks / 100 : undefined;
}

export function threadsBetween(before: ThreadCpu, after: ThreadCpu): ThreadCpu {
  const r = (v: number) => Math.round(v * 100) / 100;
  // A thread that ended in between takes its ticks with it; never report less than nothing.
  return { main: r(Math.max(0, after.main - before.main)), v8Workers: r(Math.max(0, after.v8Workers - before.v8Workers)), other: r(Math.max(0, after.other - before.other)) };
}

/** A controller's GC over a span: its pauses and its threads' CPU (either absent when it could not be read). */
export interface ControllerGc {
  pauses?: GcPauses;
  threads?: ThreadCpu;
}

/** The totals so far of a running controller (processes.ts's ControllerProcess). */
export async function readGc(controller: { pid: number; stats(): Promise<{ gc?: GcPauses }> }): Promise<ControllerGc> {
  return gcOf(await controller.stats(), controller.pid);
}

/** The same from a stats reading already taken (its pauses) and the process's threads now. */
export function gcOf(stats: { gc?: GcPauses }, pid: number): ControllerGc {
  const threads = threadCpuSeconds(pid);
  return { ...(stats.gc ? { pauses: stats.gc } : {}), ...(threads ? { threads } : {}) };
}

/** What was spent between two readings; undefined when neither part could be read twice. */
export function gcBetween(before: ControllerGc, after: { pauses?: GcPauses | undefined; threads?: ThreadCpu | undefined }): ControllerGc | undefined {
  const pauses = before.pauses && after.pauses ? pausesBetween(before.pauses, after.pauses) : undefined;
  const threads = before.threads && after.threads ? threadsBetween(before.threads, after.threads) : undefined;
  if (!pauses && !threads) return undefined;
  return { ...(pauses ? { pauses } : {}), ...(threads ? { threads } : {}) };
}

/**
 * One side's GC per 1,000 pushes, the median over its runs (stats.ts's, as
 * every other row), as a report
 * cell: "minor 545 pauses 0.46 s, major 18 pauses 0.13 s; V8 workers 0.91 s
 * of CPU". Kinds no run paused for are left out.
 */
export function gcPer1000(runs: { pushes: number; gc: ControllerGc | undefined }[]): string {
  const per = (value: number, pushes: number) => (1000 * value) / pushes;
  const withPauses = runs.filter((r) => r.gc?.pauses);
  const withThreads = runs.filter((r) => r.gc?.threads);
  const parts: string[] = [];
  for (const kind of GC_KINDS) {
    if (!withPauses.some((r) => (r.gc?.pauses?.[kind].count ?? 0) > 0)) continue;
    const count = median(withPauses.map((r) => per(r.gc?.pauses?.[kind].count ?? 0, r.pushes)));
    const seconds = median(withPauses.map((r) => per(r.gc?.pauses?.[kind].seconds ?? 0, r.pushes)));
    parts.push(`${kind} ${Math.round(count)} pauses ${seconds.toFixed(2)} s`);
  }
  const pauses = parts.length > 0 ? parts.join(', ') : withPauses.length > 0 ? 'no pauses' : 'pauses n/a';
  const threads = withThreads.length > 0 ? `V8 workers ${median(withThreads.map((r) => per(r.gc?.threads?.v8Workers ?? 0, r.pushes))).toFixed(2)} s of CPU` : 'threads n/a';
  return `${pauses}; ${threads}`;
}

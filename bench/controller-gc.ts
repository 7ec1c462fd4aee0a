/**
 * What garbage collection costs a controller process, read the same way on
 * both sides so the flag the image runs with (`--optimize-for-size`) shows
 * as a figure in every run instead of a one-off profile:
 *
 * - the main thread's GC pauses by kind, from V8's `gc` performance entries
 *   (the operator's prom-client `nodejs_gc_duration_seconds` is built from
 *   the same entries; the baseline keeps its own tally, `observeGc`);
 * - the CPU of V8's worker threads (`/proc/<pid>/task/<tid>`, named
 *   `V8Worker` by Node 24): concurrent marking, parallel scavenging,
 *   sweeping and background compilation, which a pause does not show.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { median } from './stats.js';

export const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'] as const;
export type GcKind = (typeof GC_KINDS)[number];

/** Pauses of the main thread, by kind: how many, and their sum in seconds. */
export type GcPauses = Record<GcKind, { count: number; seconds: number }>;

export function noPauses(): GcPauses {
  return { minor: { count: 0, seconds: 0 }, major: { count: 0, seconds: 0 }, incremental: { count: 0, seconds: 0 }, weakcb: { count: 0, seconds: 0 } };
}

/** The operator's pauses from its /metrics, parsed by processes.ts's parseMetrics (prom-client writes `le` before `kind`, and no `le` on _count and _sum). */
export function pausesFromMetrics(metrics: Map<string, number>): GcPauses | undefined {
  if (!metrics.has('nodejs_gc_duration_seconds_count')) return undefined;
  const pauses = noPauses();
  for (const kind of GC_KINDS) {
    pauses[kind] = {
      count: metrics.get(`nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0,
      seconds: metrics.get(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0,
    };
  }
  return pauses;
}

const kindOf = new Map<number, GcKind>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** The baseline's tally, from the same entries prom-client observes; `read()` gives the totals so far. */
export function observeGc(): { read(): GcPauses; stop(): void } {
  const pauses = noPauses();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = kindOf.get(entry.detail?.kind ?? -1);
      if (!kind) continue;
      pauses[kind].count += 1;
      pauses[kind].seconds += entry.duration / 1000;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { read: () => structuredClone(pauses), stop: () => observer.disconnect() };
}

export function pausesBetween(before: GcPauses, after: GcPauses): GcPauses {
  const spent = noPauses();
  for (const kind of GC_KINDS) spent[kind] = { count: after[kind].count - before[kind].count, seconds: after[kind].seconds - before[kind].seconds };
  return spent;
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

/**
 * Reads back what bench/loop-probe.ts wrote (one JSON line a second per
 * controller process) and summarizes each process over its busy seconds:
 * those in which it used at least `minCpuSeconds` of CPU, which in a mixed
 * phase are its load run (its idle latency samples and settling use less).
 *
 *   node .cache/bench-dist/bench/loop-probe-summary.js FILE... [--label NAME=FILE]
 *
 * Prints one markdown row per process, in the order the files and pids appear.
 */
import { readFileSync } from 'node:fs';
import { median, round } from './stats.js';

export interface ProbeLine {
  t: number;
  pid: number;
  cpuSeconds: number;
  delayMs: { p50: number; p99: number; max: number };
  minor: { count: number; ms: number; maxMs: number };
  major: { count: number; ms: number; maxMs: number };
}

export interface ProcessSummary {
  pid: number;
  busySeconds: number;
  /** CPU used per busy second (1 = a whole core). */
  cpuPerSecond: number;
  /** The event loop's delay: the median over busy seconds of each second's p99, and the largest single delay. */
  delayP99MedianMs: number;
  delayMaxMs: number;
  minor: { count: number; ms: number; maxMs: number };
  major: { count: number; ms: number; maxMs: number };
}

export function parseProbeLines(text: string): ProbeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const value = JSON.parse(line) as ProbeLine;
      if (typeof value.pid !== 'number' || typeof value.cpuSeconds !== 'number' || typeof value.delayMs?.p99 !== 'number') {
        throw new TypeError(`loop probe line ${i + 1}: expected {pid, cpuSeconds, delayMs, minor, major}`);
      }
      return value;
    });
}

/** One summary per pid, over the seconds whose CPU grew by at least `minCpuSeconds` since the line before (the first line of a pid only starts its count). */
export function summarizeProbe(lines: readonly ProbeLine[], minCpuSeconds = 0.1): ProcessSummary[] {
  const byPid = new Map<number, ProbeLine[]>();
  for (const line of lines) byPid.set(line.pid, [...(byPid.get(line.pid) ?? []), line]);
  const summaries: ProcessSummary[] = [];
  for (const [pid, own] of byPid) {
    const busy: { line: ProbeLine; cpu: number }[] = [];
    for (let i = 1; i < own.length; i++) {
      const cpu = (own[i] as ProbeLine).cpuSeconds - (own[i - 1] as ProbeLine).cpuSeconds;
      if (cpu >= minCpuSeconds) busy.push({ line: own[i] as ProbeLine, cpu });
    }
    if (busy.length === 0) continue;
    const tally = (kind: 'minor' | 'major') => ({
      count: busy.reduce((sum, b) => sum + b.line[kind].count, 0),
      ms: round(busy.reduce((sum, b) => sum + b.line[kind].ms, 0), 1),
      maxMs: round(Math.max(...busy.map((b) => b.line[kind].maxMs)), 1),
    });
    summaries.push({
      pid,
      busySeconds: busy.length,
      cpuPerSecond: round(busy.reduce((sum, b) => sum + b.cpu, 0) / busy.length, 2),
      delayP99MedianMs: round(median(busy.map((b) => b.line.delayMs.p99)), 1),
      delayMaxMs: round(Math.max(...busy.map((b) => b.line.delayMs.max)), 1),
      minor: tally('minor'),
      major: tally('major'),
    });
  }
  return summaries;
}

export function probeTable(rows: readonly { label: string; summary: ProcessSummary }[]): string {
  const header = [
    '| process | busy seconds | CPU a busy second | event-loop delay: p99 of a second (median) / longest, ms | scavenges: count, ms in all, longest | full collections: count, ms in all, longest |',
    '|---|---|---|---|---|---|',
  ];
  const body = rows.map(({ label, summary: s }) =>
    `| ${label} | ${s.busySeconds} | ${s.cpuPerSecond} | ${s.delayP99MedianMs} / ${s.delayMaxMs} | ${s.minor.count}, ${s.minor.ms}, ${s.minor.maxMs} | ${s.major.count}, ${s.major.ms}, ${s.major.maxMs} |`,
  );
  return [...header, ...body].join('\n');
}

function main(argv: string[]): void {
  if (argv.length === 0) throw new Error('usage: loop-probe-summary.js [NAME=]FILE...');
  const rows = argv.flatMap((arg) => {
    const eq = arg.indexOf('=');
    const [name, file] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, arg];
    return summarizeProbe(parseProbeLines(readFileSync(file, 'utf8'))).map((summary) => ({ label: `${name} (pid ${summary.pid})`, summary }));
  });
  console.log(probeTable(rows));
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));

import { describe, expect, it } from 'vitest';
import { parseProbeLines, probeTable, summarizeProbe, type ProbeLine } from '../../bench/loop-probe-summary.js';

const pauses = (count: number, ms: number, maxMs: number) => ({ count, ms, maxMs });
const line = (pid: number, t: number, cpuSeconds: number, p99: number, max: number, minor = pauses(0, 0, 0), major = pauses(0, 0, 0)): ProbeLine => ({
  t,
  pid,
  cpuSeconds,
  delayMs: { p50: 1, p99, max },
  minor,
  major,
});

describe('loop probe summary', () => {
  it('counts only the seconds a process was busy, and keeps processes apart', () => {
    const lines = [
      line(1, 0, 1.0, 50, 90, pauses(9, 9, 9)), // first line of pid 1: starts the count only
      line(1, 1, 1.02, 40, 80, pauses(5, 5, 5)), // idle second (0.02 s of CPU): left out
      line(1, 2, 1.32, 10, 20, pauses(20, 12.5, 3), pauses(1, 4, 4)),
      line(2, 0, 0.5, 1, 1),
      line(1, 3, 1.72, 14, 30, pauses(22, 14, 2.5), pauses(2, 10, 7)),
      line(1, 4, 1.92, 12, 18, pauses(10, 6, 1), pauses(0, 0, 0)),
      line(2, 1, 0.7, 6, 9, pauses(1, 20, 20)),
    ];
    const [first, second] = summarizeProbe(lines);
    expect(first).toEqual({
      pid: 1,
      busySeconds: 3,
      cpuPerSecond: 0.3,
      delayP99MedianMs: 12,
      delayMaxMs: 30,
      minor: { count: 52, ms: 32.5, maxMs: 3 },
      major: { count: 3, ms: 14, maxMs: 7 },
    });
    expect(second).toMatchObject({ pid: 2, busySeconds: 1, cpuPerSecond: 0.2, delayP99MedianMs: 6, delayMaxMs: 9, minor: { count: 1, ms: 20, maxMs: 20 } });
  });

  it('leaves out a process that was never busy', () => {
    expect(summarizeProbe([line(3, 0, 1, 1, 1), line(3, 1, 1.01, 1, 1)])).toEqual([]);
  });

  it('parses the lines the probe writes, and names a malformed one', () => {
    const text = `${JSON.stringify(line(1, 0, 1, 2, 3))}\n\n${JSON.stringify(line(1, 1, 1.5, 2, 3))}\n`;
    expect(parseProbeLines(text)).toHaveLength(2);
    expect(() => parseProbeLines(`${JSON.stringify(line(1, 0, 1, 2, 3))}\n{"pid":1}\n`)).toThrow(/line 2/);
  });

  it('renders one row per process', () => {
    const [summary] = summarizeProbe([line(1, 0, 0, 1, 1), line(1, 1, 0.5, 8, 12, pauses(3, 2, 1), pauses(1, 5, 5))]);
    const table = probeTable([{ label: 'operator (pid 1)', summary: summary! }]);
    expect(table.split('\n')).toHaveLength(3);
    expect(table).toContain('| operator (pid 1) | 1 | 0.5 | 8 / 12 | 3, 2, 1 | 1, 5, 5 |');
  });
});

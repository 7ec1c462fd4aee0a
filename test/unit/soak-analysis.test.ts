import { describe, expect, it } from 'vitest';
import { judgeProcess, median, minuteRows, type Sample } from '../../test/soak/analysis.js';
import { parseSoakOptions } from '../../test/soak/options.js';
import { metricValue, parseExposition } from '../../test/soak/sampler.js';
import { faultSchedule, roundMs } from '../../test/soak/schedule.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 29, 16, 0, 0);

/** Six samples a minute for `minutes` minutes of one pid; `at(m)` gives each minute's values. */
function samples(pid: number, minutes: number, at: (minute: number, i: number) => Partial<Sample>, from = 0): Sample[] {
  const out: Sample[] = [];
  for (let m = from; m < from + minutes; m++) {
    for (let i = 0; i < 6; i++) {
      out.push({
        at: T0 + m * 60_000 + i * 10_000,
        pid,
        rssBytes: 100 * MiB,
        heapUsedBytes: 40 * MiB,
        heapTotalBytes: 60 * MiB,
        externalBytes: 2 * MiB,
        queueDepth: 0,
        openFds: 30,
        sockets: 8,
        timers: 20,
        activeResources: 40,
        reconcileErrors: 0,
        ...at(m, i),
      });
    }
  }
  return out;
}
const noLogs = { errors: [], warnings: [], targetWrites: [] };

describe('soak analysis', () => {
  it('aggregates a minute: median RSS, lowest heap used, deepest queue, log lines and the per-process increase of reconcile errors', () => {
    const s = samples(7, 2, (m, i) => ({ rssBytes: (100 + i) * MiB, heapUsedBytes: (40 + (i % 3)) * MiB, queueDepth: i, reconcileErrors: m * 6 + i }));
    // A new process in minute 2 starts its counter from 0 again: 0 and 2 add 2, not a negative step.
    s.push({ ...s.at(-1)!, at: T0 + 60_000 + 55_000, pid: 8, reconcileErrors: 2 });
    const rows = minuteRows(s, { errors: [T0 + 1_000, T0 + 61_000, T0 + 62_000], warnings: [], targetWrites: [T0 + 5] }, [{ at: T0 + 70_000, what: 'kill -9' }], T0, 2);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ minute: 1, pids: [7], rssMiB: 102.5, heapUsedMiB: 40, queueDepthMax: 5, errors: 1, targetWrites: 1, reconcileErrors: 5, events: [] });
    expect(rows[1]).toMatchObject({ minute: 2, pids: [7, 8], errors: 2, events: ['kill -9'], reconcileErrors: 6 + 2 });
  });

  it('passes a flat process and reports the warm-up it skipped', () => {
    // A warm-up from 60 to 100 MiB, then flat with noise.
    const rows = minuteRows(samples(1, 30, (m, i) => ({ rssBytes: (m < 3 ? 60 + m * 10 : 100 + ((m + i) % 3)) * MiB })), noLogs, [], T0, 30);
    const v = judgeProcess(rows, 1, 5);
    expect(v.judged).toEqual([6, 30]);
    expect(v.window).toBe(5);
    expect(v.memoryFlat).toBe(true);
    expect(v.socketsFlat).toBe(true);
    expect(v.timersFlat).toBe(true);
    expect(Math.abs(v.rssMiB!.changePct)).toBeLessThan(3);
  });

  it('fails a heap that grows 20 % after the warm-up, and sockets or timers that keep growing', () => {
    const rows = minuteRows(
      samples(1, 30, (m) => ({ heapUsedBytes: (40 + (m * 8) / 29) * MiB, sockets: 8 + Math.floor(m / 3), timers: 20 + m })),
      noLogs,
      [],
      T0,
      30,
    );
    const v = judgeProcess(rows, 1, 5);
    expect(v.heapUsedMiB!.changePct).toBeGreaterThan(10);
    expect(v.memoryFlat).toBe(false);
    expect(v.socketsFlat).toBe(false);
    expect(v.timersFlat).toBe(false);
    expect(v.timers!.slopePerHour).toBeCloseTo(60, 0);
  });

  it('judges a process only on the minutes it alone was sampled, and says when that is too short', () => {
    // pid 1 in minutes 1-4, killed in minute 4, where pid 2 starts; pid 2 runs to minute 6.
    const s = [...samples(1, 4, () => ({})), ...samples(2, 3, () => ({}), 3)];
    const rows = minuteRows(s, noLogs, [], T0, 6);
    expect(rows[3]!.pids).toEqual([1, 2]);
    const v = judgeProcess(rows, 1, 1);
    expect(v.lifeMinutes).toBe(3);
    expect(judgeProcess(rows, 2, 0).lifeMinutes).toBe(2);
    expect(v.memoryFlat).toBeNull();
    expect(v.note).toMatch(/too short/);
  });

  it('leaves out the minutes after the work stopped, so a quiet end cannot hide growth', () => {
    // Timers grow under work (minutes 1-20), then drop in the quiet (21-25).
    const rows = minuteRows(samples(1, 25, (m) => ({ timers: m < 20 ? 20 + m : 5 })), noLogs, [], T0, 25);
    expect(judgeProcess(rows, 1, 2).timersFlat).toBe(true);
    const underWork = judgeProcess(rows, 1, 2, 20);
    expect(underWork.judged).toEqual([3, 20]);
    expect(underWork.timersFlat).toBe(false);
  });

  it('median of even and odd counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('soak sampler', () => {
  it('reads the default metrics it needs from an exposition, summing label sets and filtering by label', () => {
    const values = parseExposition(
      [
        '# HELP nodejs_active_resources Number of active resources',
        '# TYPE nodejs_active_resources gauge',
        'nodejs_active_resources{type="Timeout"} 17',
        'nodejs_active_resources{type="TCPSocketWrap"} 6',
        'nodejs_active_resources_total 23',
        'configpush_reconcile_total{result="error"} 4',
        'configpush_reconcile_total{result="success"} 90',
        'process_resident_memory_bytes 104857600',
      ].join('\n'),
    );
    expect(metricValue(values, 'nodejs_active_resources', { type: 'Timeout' })).toBe(17);
    expect(metricValue(values, 'nodejs_active_resources')).toBe(23);
    expect(metricValue(values, 'nodejs_active_resources_total')).toBe(23);
    expect(metricValue(values, 'configpush_reconcile_total', { result: 'error' })).toBe(4);
    expect(metricValue(values, 'process_resident_memory_bytes')).toBe(104857600);
    expect(metricValue(values, 'configpush_workqueue_depth')).toBeUndefined();
  });
});

describe('soak options and schedule', () => {
  it('defaults to an hour and the dated results file; flags override', () => {
    const o = parseSoakOptions([], '/repo', new Date(T0));
    expect(o.minutes).toBe(60);
    expect(o.out).toBe('/repo/bench/results/soak-2026-11-29');
    expect(parseSoakOptions(['--minutes', '0.5', '--seed', '42', '--out', '/tmp/x', '--keep-cluster'], '/repo')).toMatchObject({
      minutes: 0.5,
      seed: 42,
      out: '/tmp/x',
      keepCluster: true,
    });
  });

  it('refuses unknown flags and bad values with a message naming them', () => {
    expect(() => parseSoakOptions(['--minute', '5'], '/repo')).toThrow(/unknown argument "--minute"/);
    expect(() => parseSoakOptions(['--minutes', '0'], '/repo')).toThrow(/--minutes needs a positive number, got "0"/);
    expect(() => parseSoakOptions(['--minutes'], '/repo')).toThrow(/got nothing/);
    expect(() => parseSoakOptions(['--seed', '1.5'], '/repo')).toThrow(/--seed needs a positive integer/);
    expect(() => parseSoakOptions(['--out', '--seed'], '/repo')).toThrow(/--out needs a path/);
  });

  it('puts every kill in the first 40 % so the last process lives through the rest, with control-plane restarts in it', () => {
    const hour = 60 * 60_000;
    const faults = faultSchedule(hour);
    const kills = faults.filter((f) => f.kind === 'kill -9').map((f) => f.atMs / 60_000);
    const restarts = faults.filter((f) => f.kind === 'control-plane restart').map((f) => f.atMs / 60_000);
    expect(kills).toEqual([6, 12, 18, 24]);
    expect(restarts.filter((m) => m > 24)).toHaveLength(2);
    expect(faults.map((f) => f.atMs)).toEqual([...faults.map((f) => f.atMs)].sort((a, b) => a - b));
    expect(roundMs(hour)).toBe(60_000);
    expect(roundMs(30_000)).toBe(5_000);
  });
});

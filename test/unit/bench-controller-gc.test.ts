import { describe, expect, it } from 'vitest';
import { gcBetween, gcPer1000, noPauses, observeGc, pausesFromMetrics, pausesText, statCpuSeconds, threadCpuSeconds, type GcPauses } from '../../bench/controller-gc.js';
import { parseMetrics, processCpuSeconds } from '../../bench/processes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('statCpuSeconds', () => {
  it('counts utime and stime after the parenthesised name, whatever the name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (V8Worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0';
    expect(statCpuSeconds(stat)).toBe(3.25);
  });

  it('gives undefined for a line it cannot read', () => {
    expect(statCpuSeconds('4242 (node) S 1')).toBeUndefined();
  });
});

describe('threadCpuSeconds', () => {
  it('splits a live process by thread, the main thread carrying what it spun', () => {
    const before = threadCpuSeconds(process.pid)!;
    const own = process.cpuUsage();
    for (;;) {
      const used = process.cpuUsage(own);
      if (used.user + used.system >= 200_000) break;
    }
    const after = threadCpuSeconds(process.pid)!;
    expect(after.main - before.main).toBeGreaterThanOrEqual(0.15);
    // Every thread together is the process's total, within /proc's 10 ms ticks per thread.
    const total = processCpuSeconds(process.pid)!;
    const sum = after.main + after.v8Workers + after.other;
    expect(Math.abs(total - sum)).toBeLessThan(0.2);
  });

  it('gives undefined for a process that does not exist', () => {
    expect(threadCpuSeconds(2 ** 30)).toBeUndefined();
  });
});

describe('pausesFromMetrics', () => {
  it('reads nodejs_gc_duration_seconds by kind, and its long pauses from the buckets', () => {
    const text = [
      '# TYPE nodejs_gc_duration_seconds histogram',
      'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 500',
      'nodejs_gc_duration_seconds_bucket{le="0.1",kind="minor"} 545',
      'nodejs_gc_duration_seconds_bucket{le="1",kind="minor"} 545',
      'nodejs_gc_duration_seconds_sum{kind="minor"} 0.42',
      'nodejs_gc_duration_seconds_count{kind="minor"} 545',
      'nodejs_gc_duration_seconds_bucket{le="0.1",kind="major"} 11',
      'nodejs_gc_duration_seconds_bucket{le="1",kind="major"} 16',
      'nodejs_gc_duration_seconds_sum{kind="major"} 4.13',
      'nodejs_gc_duration_seconds_count{kind="major"} 18',
    ].join('\n');
    const pauses = pausesFromMetrics(parseMetrics(text))!;
    expect(pauses.minor).toEqual({ count: 545, seconds: 0.42, over100ms: 0, over1s: 0 });
    expect(pauses.major).toEqual({ count: 18, seconds: 4.13, over100ms: 7, over1s: 2 });
    expect(pauses.incremental).toEqual({ count: 0, seconds: 0, over100ms: 0, over1s: 0 });
  });

  it('gives undefined when the process exports no GC metric', () => {
    expect(pausesFromMetrics(parseMetrics('configpush_reconcile_total 3\n'))).toBeUndefined();
  });
});

describe('observeGc', () => {
  it('tallies the pauses of this process', async () => {
    const gc = observeGc();
    try {
      // Garbage well past any young generation's size, until a collection is reported. It escapes into a
      // kept array: garbage that never leaves the loop is optimized away (escape analysis), and then no
      // collection comes at all (seen once in CI).
      const junk: object[] = [];
      let pauses = gc.read();
      for (let round = 0; round < 50 && pauses.minor.count + pauses.major.count === 0; round++) {
        for (let i = 0; i < 200_000; i++) {
          junk.push({ i, text: `garbage ${i}` });
          if (junk.length >= 10_000) junk.length = 0;
        }
        await sleep(20); // performance entries are delivered after the collection, on a later turn
        pauses = gc.read();
      }
      expect(pauses.minor.count + pauses.major.count).toBeGreaterThan(0);
      expect(pauses.minor.seconds + pauses.major.seconds).toBeGreaterThan(0);
    } finally {
      gc.stop();
    }
  });
});

describe('gcBetween and gcPer1000', () => {
  const pauses = (minor: number, minorSeconds: number, major: number, majorSeconds: number): GcPauses => ({
    ...noPauses(),
    minor: { count: minor, seconds: minorSeconds },
    major: { count: major, seconds: majorSeconds },
  });

  it('takes the spend between two readings, and nothing when a part was not read twice', () => {
    const spent = gcBetween({ pauses: pauses(10, 0.01, 1, 0.005), threads: { main: 1, v8Workers: 0.5, other: 0.1 } }, { pauses: pauses(30, 0.03, 2, 0.012), threads: { main: 2.5, v8Workers: 0.9, other: 0.1 } });
    expect(spent?.pauses?.minor.count).toBe(20);
    expect(spent?.pauses?.major.seconds).toBeCloseTo(0.007, 6);
    expect(spent?.threads).toEqual({ main: 1.5, v8Workers: 0.4, other: 0 });
    expect(gcBetween({ threads: { main: 1, v8Workers: 0, other: 0 } }, { pauses: pauses(1, 0, 0, 0) })).toBeUndefined();
    expect(gcBetween({ pauses: pauses(1, 0, 0, 0) }, { pauses: pauses(3, 0.002, 0, 0) })).toEqual({ pauses: pauses(2, 0.002, 0, 0) });
  });

  it('gives the median per 1,000 pushes, leaving out kinds no run paused for', () => {
    const cell = gcPer1000([
      { pushes: 1000, gc: { pauses: pauses(500, 0.4, 10, 0.1), threads: { main: 4, v8Workers: 0.8, other: 0 } } },
      { pushes: 2000, gc: { pauses: pauses(1200, 1.0, 40, 0.3), threads: { main: 8, v8Workers: 2.0, other: 0 } } },
      { pushes: 1000, gc: { pauses: pauses(560, 0.5, 12, 0.12), threads: { main: 4, v8Workers: 0.9, other: 0 } } },
    ]);
    expect(cell).toBe('minor 560 pauses 0.50 s, major 12 pauses 0.12 s; V8 workers 0.90 s of CPU');
  });

  it('says what it could not read', () => {
    expect(gcPer1000([{ pushes: 1000, gc: undefined }])).toBe('pauses n/a; threads n/a');
    expect(gcPer1000([{ pushes: 1000, gc: { pauses: noPauses() } }])).toBe('no pauses; threads n/a');
  });
});

describe('pausesText', () => {
  it('names the kinds that paused, then the long pauses of every kind', () => {
    const pauses: GcPauses = {
      ...noPauses(),
      minor: { count: 800, seconds: 0.551, over100ms: 0, over1s: 0 },
      major: { count: 12, seconds: 3.4, over100ms: 5, over1s: 1 },
      incremental: { count: 30, seconds: 0.02, over100ms: 0, over1s: 0 },
    };
    expect(pausesText(pauses)).toBe('major 12 (3.40 s), incremental 30 (0.02 s), minor 800 (0.55 s); 5 over 100 ms, 1 over 1 s');
    const spent = gcBetween({ pauses: noPauses() }, { pauses })?.pauses;
    expect(spent && pausesText(spent)).toBe(pausesText(pauses));
  });

  it('leaves the long pauses out when a reading did not have them (files from before they were read)', () => {
    const old: GcPauses = { ...noPauses(), minor: { count: 3, seconds: 0.003 } };
    expect(pausesText(old)).toBe('minor 3 (0.00 s)');
    expect(pausesText(noPauses())).toBe('no pauses');
  });
});

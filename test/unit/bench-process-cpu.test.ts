import { describe, expect, it } from 'vitest';
import { processCpuSeconds } from '../../bench/processes.js';

describe('processCpuSeconds', () => {
  it('reads a live process CPU time, agreeing with what the process itself counts', () => {
    const before = processCpuSeconds(process.pid);
    const own = process.cpuUsage();
    // Busy until the process itself has counted ~0.3 s of CPU (not wall time:
    // on a loaded machine 0.3 s of wall time may be much less CPU).
    let spins = 0;
    for (;;) {
      const used = process.cpuUsage(own);
      if (used.user + used.system >= 300_000) break;
      spins++;
    }
    const after = processCpuSeconds(process.pid);
    const ownSeconds = (() => {
      const used = process.cpuUsage(own);
      return (used.user + used.system) / 1e6;
    })();
    expect(spins).toBeGreaterThan(0);
    expect(before).toBeGreaterThanOrEqual(0);
    // /proc counts in 10 ms ticks, and other threads (GC, the worker pool) may add a little.
    expect(after! - before!).toBeGreaterThanOrEqual(ownSeconds - 0.05);
    expect(after! - before!).toBeLessThan(ownSeconds + 0.5);
  });

  it('gives undefined for a process that does not exist', () => {
    expect(processCpuSeconds(2 ** 30)).toBeUndefined();
  });
});

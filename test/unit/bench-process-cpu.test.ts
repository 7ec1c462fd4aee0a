import { describe, expect, it } from 'vitest';
import { processCpuSeconds } from '../../bench/processes.js';

describe('processCpuSeconds', () => {
  it('reads a live process CPU time, which grows as it works', () => {
    const before = processCpuSeconds(process.pid);
    expect(before).toBeGreaterThanOrEqual(0);
    // ~0.3 s of busy work: well above the 10 ms tick /proc counts in.
    const until = performance.now() + 300;
    let spins = 0;
    while (performance.now() < until) spins++;
    expect(spins).toBeGreaterThan(0);
    const after = processCpuSeconds(process.pid);
    expect(after! - before!).toBeGreaterThanOrEqual(0.2);
    // Not wall time over the whole process life: bounded by what it could have used.
    expect(after!).toBeLessThan(process.uptime() * 64);
  });

  it('gives undefined for a process that does not exist', () => {
    expect(processCpuSeconds(2 ** 30)).toBeUndefined();
  });
});

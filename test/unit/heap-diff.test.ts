import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffHeapSummaries, diffRows, heapDiffMarkdown } from '../../bench/heap-diff.js';
import { summarizeHeapSnapshot } from '../../bench/profile.js';

describe('heap snapshot diff', () => {
  it('matches rows by name, counts a side that lacks one as 0, and orders by the size of the change', () => {
    const rows = diffRows(
      [
        { name: 'object: A', count: 10, bytes: 1_000 },
        { name: 'object: Gone', count: 5, bytes: 300 },
        { name: 'string', count: 100, bytes: 5_000 },
      ],
      [
        { name: 'object: A', count: 10, bytes: 1_000 },
        { name: 'object: New', count: 2, bytes: 200 },
        { name: 'string', count: 150, bytes: 9_000 },
      ],
    );
    expect(rows.map((r) => [r.name, r.deltaBytes, r.deltaCount])).toEqual([
      ['string', 4_000, 50],
      ['object: Gone', -300, -5],
      ['object: New', 200, 2],
      ['object: A', 0, 0],
    ]);
    expect(diffRows([{ name: 'x', count: 1, bytes: 1 }], [{ name: 'y', count: 1, bytes: 2 }], 1).map((r) => r.name)).toEqual(['y']);
  });

  it('finds the class and the Map that grew between two real snapshots, with the Map under its holder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heap-diff-'));
    try {
      // A child with a small heap: 100 entries in holder.cache, then 2,100.
      const script = `
        const v8 = require('node:v8');
        class Leaky { constructor(i) { this.name = 'item-' + i; } }
        globalThis.holder = { cache: new Map() };
        const fill = (from, to) => { for (let i = from; i < to; i++) holder.cache.set('k' + i, new Leaky(i)); };
        fill(0, 100);
        v8.writeHeapSnapshot(${JSON.stringify(join(dir, 'a.heapsnapshot'))});
        fill(100, 2100);
        v8.writeHeapSnapshot(${JSON.stringify(join(dir, 'b.heapsnapshot'))});`;
      execFileSync(process.execPath, ['-e', script]);
      const limits = { top: 10_000, holders: 10_000, maps: 100, minMapEntries: 20 };
      const diff = diffHeapSummaries(summarizeHeapSnapshot(join(dir, 'a.heapsnapshot'), limits), summarizeHeapSnapshot(join(dir, 'b.heapsnapshot'), limits));
      const leaky = diff.byConstructor.find((r) => r.name === 'object: Leaky');
      expect(leaky).toMatchObject({ countA: 100, countB: 2_100, deltaCount: 2_000 });
      const cache = diff.maps.find((r) => r.name === 'Object.cache');
      expect(cache?.countB).toBeGreaterThanOrEqual(2_000);
      expect(cache?.deltaBytes).toBeGreaterThan(2_000 * 32);
      expect(diff.totalB).toBeGreaterThan(diff.totalA);
      expect(heapDiffMarkdown(diff, 'before', 'after')).toContain('| object: Leaky | 100 | 2100 |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

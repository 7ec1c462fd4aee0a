import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifySmaps } from '../../test/soak/smaps.js';

const mapping = (range: string, perms: string, name: string, rssKiB: number) =>
  [`${range} ${perms} 00000000 00:00 0 ${name}`.trimEnd(), 'Size:               1024 kB', `Rss:             ${rssKiB} kB`, 'Pss:                 0 kB', 'VmFlags: rd wr mr mw me ac'].join('\n');

describe('soak smaps: where RSS lives', () => {
  it('splits resident memory into the brk heap, arena heaps, other anonymous memory, files and the rest', () => {
    const text = [
      mapping('00400000-00746000', 'r--p', '/usr/bin/node', 3000),
      mapping('26627000-270c9000', 'rw-p', '[heap]', 10000),
      // A thread arena: 64 MiB aligned, its reserved remainder beside it (no RSS).
      mapping('7f2fb4000000-7f2fb4a00000', 'rw-p', '', 8000),
      mapping('7f2fb4a00000-7f2fb8000000', '---p', '', 0),
      // V8 pages and the like: anonymous, not on a 64 MiB boundary.
      mapping('7f2fc3dc1000-7f2fc3e01000', 'rw-p', '', 256),
      mapping('7ffdc6c72000-7ffdc6c93000', 'rw-p', '[stack]', 84),
      mapping('7f2fe38dd000-7f2fe38e1000', 'rw-p', 'anon_inode:[io_uring]', 16),
    ].join('\n');
    expect(classifySmaps(text)).toEqual({ brkHeapKiB: 10000, arenaKiB: 8000, otherAnonKiB: 256, fileKiB: 3000, specialKiB: 100, totalKiB: 21356, arenas: 1 });
  });

  it("adds up to the kernel's own RSS of this process", () => {
    const byKind = classifySmaps(readFileSync('/proc/self/smaps', 'utf8'));
    const rollup = Number(/^Rss:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1]);
    expect(byKind.brkHeapKiB + byKind.arenaKiB + byKind.otherAnonKiB + byKind.fileKiB + byKind.specialKiB).toBe(byKind.totalKiB);
    // The two reads are moments apart and memory moves: within 5 %.
    expect(Math.abs(byKind.totalKiB - rollup) / rollup).toBeLessThan(0.05);
    expect(byKind.fileKiB).toBeGreaterThan(0);
  });
});

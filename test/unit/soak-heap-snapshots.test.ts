import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotBeforeLastKillAtMs, heapSnapshotNodeOptions, snapshotFilesOf, takeHeapSnapshot } from '../../test/soak/heap-snapshots.js';
import { parseSoakOptions } from '../../test/soak/options.js';
import { bySpace, parseExposition, parseProcStatus } from '../../test/soak/sampler.js';

describe('soak --heap-snapshots', () => {
  it('is off by default and on with the flag, alongside the others', () => {
    expect(parseSoakOptions([], '/repo').heapSnapshots).toBe(false);
    expect(parseSoakOptions(['--minutes', '60', '--heap-snapshots', '--seed', '7'], '/repo')).toMatchObject({ minutes: 60, seed: 7, heapSnapshots: true });
    expect(() => parseSoakOptions(['--heap-snapshot'], '/repo')).toThrow(/unknown argument "--heap-snapshot"/);
  });

  it('adds the signal and the directory to whatever NODE_OPTIONS the soak itself has', () => {
    expect(heapSnapshotNodeOptions('/r/.cache/soak/heap')).toBe('--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/r/.cache/soak/heap');
    expect(heapSnapshotNodeOptions('/h', ' --enable-source-maps ')).toBe('--enable-source-maps --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/h');
    expect(() => heapSnapshotNodeOptions('/a dir/heap')).toThrow(/cannot carry a path with spaces/);
  });

  it('takes the first snapshot shortly before the last kill, so its pause and RSS step die with that process', () => {
    const hour = 60 * 60_000;
    // Kills at 6, 12, 18, 24 minutes: 45 s before the last.
    expect(snapshotBeforeLastKillAtMs(hour)).toBe(24 * 60_000 - 45_000);
    // A 1-minute smoke run: kills 6 s apart, a quarter of that before the last (24 s).
    expect(snapshotBeforeLastKillAtMs(60_000)).toBe(24_000 - 1_500);
  });

  it("picks a process's snapshot files by the pid in node's file name", () => {
    const names = ['Heap.20261129.190655.6430.0.002.heapsnapshot', 'Heap.20261129.190655.643.0.001.heapsnapshot', 'Heap.20261129.190600.6430.0.001.heapsnapshot', 'other.6430.txt'];
    expect(snapshotFilesOf(names, 6430)).toEqual(['Heap.20261129.190600.6430.0.001.heapsnapshot', 'Heap.20261129.190655.6430.0.002.heapsnapshot']);
    expect(snapshotFilesOf(names, 64)).toEqual([]);
  });

  it('signals a node process started with those options and returns its complete snapshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soak-heap-'));
    const child = spawn(process.execPath, ['-e', 'globalThis.keep = new Array(1000).fill("soak-marker"); setInterval(() => {}, 1000); console.log("up")'], {
      env: { ...process.env, NODE_OPTIONS: heapSnapshotNodeOptions(dir) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const { file, seconds } = await takeHeapSnapshot(child.pid as number, dir, 30_000);
      expect(file.startsWith(join(dir, 'Heap.'))).toBe(true);
      expect(file).toContain(`.${child.pid}.`);
      expect(statSync(file).size).toBeGreaterThan(100_000);
      expect(seconds).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('times out with a clear error when the process writes no snapshot (started without the signal option)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soak-heap-'));
    // Without --heapsnapshot-signal, SIGUSR2 would end node: a handler keeps it alive and writes nothing.
    const child = spawn(process.execPath, ['-e', 'process.on("SIGUSR2", () => {}); setInterval(() => {}, 1000); console.log("up")'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      await expect(takeHeapSnapshot(child.pid as number, dir, 1_500)).rejects.toThrow(`no complete heap snapshot of pid ${child.pid}`);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 10_000);
});

describe('soak sampler: where RSS goes', () => {
  it('reads RssAnon and RssFile from /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmRSS:\t  130000 kB\nRssAnon:\t  110000 kB\nRssFile:\t   20000 kB\nRssShmem:\t       0 kB\n';
    expect(parseProcStatus(status)).toEqual({ rssAnonBytes: 110000 * 1024, rssFileBytes: 20000 * 1024 });
    expect(parseProcStatus('Name:\tnode\n')).toEqual({});
  });

  it('reads the V8 heap spaces by space', () => {
    const values = parseExposition(
      [
        'nodejs_heap_space_size_used_bytes{space="old"} 30000000',
        'nodejs_heap_space_size_used_bytes{space="code"} 4000000',
        'nodejs_heap_space_size_total_bytes{space="old"} 35000000',
        'nodejs_heap_size_used_bytes 40000000',
      ].join('\n'),
    );
    expect(bySpace(values, 'nodejs_heap_space_size_used_bytes')).toEqual({ old: 30000000, code: 4000000 });
    expect(bySpace(values, 'nodejs_heap_space_size_total_bytes')).toEqual({ old: 35000000 });
    expect(bySpace(values, 'nodejs_heap_size_used_bytes')).toEqual({});
  });
});

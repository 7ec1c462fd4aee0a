import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../chaos/workload.js';
import { faultSchedule } from './schedule.js';

/**
 * `npm run soak -- --heap-snapshots`: two V8 heap snapshots of the operator
 * process that the leak verdict judges (the last one, started by the last
 * kill -9), so what grew in its heap between them can be read by name
 * (bench/profile.ts summarizeHeapSnapshot, bench/heap-diff.ts).
 *
 * The operator is started with `--heapsnapshot-signal=SIGUSR2` (through
 * NODE_OPTIONS, which accepts it, so the image's own node flags stay as they
 * are) and `--diagnostic-dir`; SIGUSR2 makes it write
 * `Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot` there. A snapshot
 * collects garbage first, so it holds the live heap only.
 *
 * The first is taken in the last minute of that process's warm-up, so the
 * pause (seconds, more on a loaded machine) and the memory the snapshot
 * takes to write (native, some of which the allocator keeps: RSS steps up)
 * fall before the verdict's first window, and both windows are measured
 * after it; the second when the work stops (the end of the judged window).
 * Off by default: the step in RSS would otherwise be in every run's figures.
 */

/** The node options that make the operator write a heap snapshot into `dir` on SIGUSR2. */
export function heapSnapshotNodeOptions(dir: string, inherited = ''): string {
  if (/\s/.test(dir)) throw new Error(`heap snapshot directory ${JSON.stringify(dir)}: NODE_OPTIONS cannot carry a path with spaces`);
  return [inherited.trim(), '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`].filter((s) => s !== '').join(' ');
}

/**
 * When (ms after the soak started) to take the first snapshot: three
 * quarters into the last minute of the warm-up of the process the last
 * kill -9 starts. undefined when the schedule has no kill.
 */
export function firstSnapshotAtMs(totalMs: number, warmupMinutes: number): number | undefined {
  const lastKill = faultSchedule(totalMs)
    .filter((f) => f.kind === 'kill -9')
    .at(-1);
  if (lastKill === undefined) return undefined;
  return lastKill.atMs + Math.max(0.25, warmupMinutes - 0.75) * 60_000;
}

/** The snapshot files of `pid` among `names` (node's name: Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot). */
export function snapshotFilesOf(names: readonly string[], pid: number): string[] {
  return names.filter((n) => n.endsWith('.heapsnapshot') && n.split('.')[3] === String(pid)).sort();
}

/**
 * Signals `pid` and waits until its new snapshot file exists and its size
 * has held still for two seconds (node writes it in one go, but the file
 * grows while it does). Returns the path and how long it took.
 */
export async function takeHeapSnapshot(pid: number, dir: string, timeoutMs = 300_000): Promise<{ file: string; seconds: number }> {
  const before = new Set(snapshotFilesOf(readdirSync(dir), pid));
  const started = Date.now();
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  let size = -1;
  let stillSince = 0;
  while (Date.now() - started < timeoutMs) {
    await sleep(500);
    file ??= snapshotFilesOf(readdirSync(dir), pid).find((n) => !before.has(n));
    if (file === undefined) continue;
    const now = statSync(join(dir, file)).size;
    if (now !== size || now === 0) {
      size = now;
      stillSince = Date.now();
    } else if (Date.now() - stillSince >= 2_000) {
      return { file: join(dir, file), seconds: (Date.now() - started) / 1000 };
    }
  }
  throw new Error(`no complete heap snapshot of pid ${pid} in ${dir} after ${timeoutMs} ms`);
}

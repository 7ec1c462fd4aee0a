import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../chaos/workload.js';
import { faultSchedule } from './schedule.js';

/**
 * `npm run soak -- --heap-snapshots`: V8 heap snapshots around the life of
 * the operator process that the leak verdict judges (the last one, started
 * by the last kill -9), so what grew in its heap can be read by name
 * (bench/heap-diff.ts on bench/profile.ts summarizeHeapSnapshot).
 *
 * The operator is started with `--heapsnapshot-signal=SIGUSR2` (through
 * NODE_OPTIONS, which accepts it, so the image's own node flags stay as they
 * are) and `--diagnostic-dir`; SIGUSR2 makes it write
 * `Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot` there. A snapshot
 * collects garbage first, so it holds the live heap only.
 *
 * A snapshot is not free: it pauses the process (seconds, more on a loaded
 * machine) and the native memory it takes to write one is mostly kept by the
 * allocator (a process of about 120 MiB was at 244 MiB after one in a
 * 1-minute smoke run; 135 to 258 MiB in the 2026-11-29b soak). A
 * snapshot of the judged process inside its judged window would therefore
 * swamp the very RSS drift the soak is to explain. So none is: the first
 * is of the process before it, 45 s before the last kill -9 ends it anyway
 * (at about the age, 5 minutes, at which the judged process's first window
 * starts, and under the same work), the second of the judged process when
 * the work stops (the end of its judged window), the third after the quiet
 * (idle: what stays). The diff of the first two is by constructor and
 * holder, not by object id: the same work, two processes, two ages.
 * Off by default all the same: the pauses and the RSS step land in the
 * convergence and quiet minutes at the end.
 */

/** The node options that make the operator write a heap snapshot into `dir` on SIGUSR2. */
export function heapSnapshotNodeOptions(dir: string, inherited = ''): string {
  if (/\s/.test(dir)) throw new Error(`heap snapshot directory ${JSON.stringify(dir)}: NODE_OPTIONS cannot carry a path with spaces`);
  return [inherited.trim(), '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`].filter((s) => s !== '').join(' ');
}

/**
 * When (ms after the soak started) to take the first snapshot: shortly
 * before the last kill -9 (45 s, or a quarter of the time since the kill
 * before it if that is shorter, in a smoke run). undefined without a kill.
 */
export function snapshotBeforeLastKillAtMs(totalMs: number): number | undefined {
  const kills = faultSchedule(totalMs).filter((f) => f.kind === 'kill -9');
  const last = kills.at(-1);
  if (last === undefined) return undefined;
  const before = kills.at(-2)?.atMs ?? 0;
  return last.atMs - Math.min(45_000, (last.atMs - before) / 4);
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

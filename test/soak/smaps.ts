import { appendFileSync, readFileSync } from 'node:fs';

/**
 * Where a process's resident memory lives, by kind of mapping
 * (/proc/<pid>/smaps): V8's heap is counted by /metrics, but RSS also holds
 * what malloc keeps (the main arena's brk heap, the 64 MiB-aligned heaps of
 * the per-thread arenas), code and data mapped from files, and stacks.
 * When RSS rises and the V8 heap does not, this says which of them grew.
 * Reading smaps does not stop or change the process.
 */
export interface SmapsByKind {
  /** The main malloc arena: the [heap] mapping (brk). */
  brkHeapKiB: number;
  /** Anonymous mappings starting on a 64 MiB boundary: glibc's per-thread arena heaps. */
  arenaKiB: number;
  /** Other anonymous mappings: V8's heap pages and code space, malloc's own mmaps of large blocks, thread stacks. */
  otherAnonKiB: number;
  /** Mapped files (the node binary's code and data, shared libraries). */
  fileKiB: number;
  /** [stack], [vdso], anon_inode:... and the like. */
  specialKiB: number;
  totalKiB: number;
  /** Mappings counted as arena heaps. */
  arenas: number;
}

const ARENA_ALIGN = 64n * 1024n * 1024n;

export function classifySmaps(text: string): SmapsByKind {
  const out: SmapsByKind = { brkHeapKiB: 0, arenaKiB: 0, otherAnonKiB: 0, fileKiB: 0, specialKiB: 0, totalKiB: 0, arenas: 0 };
  let kind: Exclude<keyof SmapsByKind, 'totalKiB' | 'arenas'> = 'otherAnonKiB';
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[2] ?? '';
      if (name === '[heap]') kind = 'brkHeapKiB';
      else if (name.startsWith('/')) kind = 'fileKiB';
      else if (name !== '') kind = 'specialKiB';
      else if (BigInt(`0x${header[1]}`) % ARENA_ALIGN === 0n) {
        kind = 'arenaKiB';
        out.arenas++;
      } else kind = 'otherAnonKiB';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) {
      const kib = Number(rss[1]);
      out[kind] += kib;
      out.totalKiB += kib;
    }
  }
  return out;
}

/**
 * `node smaps.js <pids file> <out.jsonl> [seconds]`: every `seconds` (60),
 * classifies the smaps of the last pid in the soak's pids file (the operator
 * process now running) and appends a JSON line; runs until killed.
 */
async function watch(pidsFile: string, outFile: string, seconds: number): Promise<void> {
  for (;;) {
    const pid = readFileSync(pidsFile, 'utf8').trim().split('\n').at(-1);
    try {
      const byKind = classifySmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
      appendFileSync(outFile, `${JSON.stringify({ at: Date.now(), pid: Number(pid), ...byKind })}\n`);
    } catch {
      // between two processes
    }
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

if (process.argv[1]?.endsWith('/soak/smaps.js')) {
  const [pidsFile, outFile, seconds] = process.argv.slice(2);
  if (!pidsFile || !outFile) {
    process.stderr.write('usage: node smaps.js <pids file> <out.jsonl> [seconds]\n');
    process.exit(2);
  }
  await watch(pidsFile, outFile, Number(seconds ?? 60));
}

/**
 * How V8's full collections under the image's `--optimize-for-size` depend
 * on the live heap, with and without a floor under the old generation
 * (`--initial-old-space-size`), away from the operator: each child process
 * retains N MiB of small objects (a cache), then allocates garbage that
 * stays alive across a few scavenges (as a reconcile's requests do), and
 * reports its full and minor collections and its CPU.
 *
 *   node .cache/bench-dist/bench/old-space-floor.js [--live 20,60,150] [--floor 64]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

interface ChildResult {
  markCompacts: number;
  scavenges: number;
  cpuMs: number;
  heapMiB: number;
  rssMiB: number;
}

async function child(liveMiB: number): Promise<void> {
  const cache: { a: string; b: number; c: number[] }[] = [];
  for (let i = 0; i < (liveMiB * 1024 * 1024) / 200; i++) cache.push({ a: `x${i}`, b: i, c: [i] });
  let markCompacts = 0;
  let scavenges = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) markCompacts++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    }
  }).observe({ entryTypes: ['gc'] });
  const inFlight: object[][] = [];
  const cpu0 = process.cpuUsage();
  for (let round = 0; round < 3000; round++) {
    // ~20 KB of objects a "request", each held while 40 more are made.
    const batch: object[] = [];
    for (let j = 0; j < 100; j++) batch.push({ s: `${'y'.repeat(100)}${j}`, n: [j, j + 1, j + 2] });
    inFlight.push(batch);
    if (inFlight.length > 40) inFlight.shift();
    if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setTimeout(resolve, 50)); // the observer's last entries
  const memory = process.memoryUsage();
  const result: ChildResult = { markCompacts, scavenges, cpuMs: Math.round((cpu.user + cpu.system) / 1000), heapMiB: Math.round(memory.heapUsed / 1048576), rssMiB: Math.round(memory.rss / 1048576) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  cache.length = 0; // held until here on purpose
}

function main(): void {
  const { values } = parseArgs({ options: { live: { type: 'string', default: '20,60,150' }, floor: { type: 'string', default: '64' }, child: { type: 'string' } } });
  if (values.child) return void child(Number(values.child));
  const settings = [['--optimize-for-size'], ['--optimize-for-size', `--initial-old-space-size=${values.floor}`]];
  process.stdout.write('| live heap | node flags | full collections | scavenges | CPU (ms) | heap used / RSS at the end (MiB) |\n|---|---|---|---|---|---|\n');
  for (const live of values.live.split(',').map(Number)) {
    for (const flags of settings) {
      const run = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--child', String(live)], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`child failed: ${run.stderr}`);
      const r = JSON.parse(run.stdout.trim()) as ChildResult;
      process.stdout.write(`| ${live} MiB | ${flags.join(' ')} | ${r.markCompacts} | ${r.scavenges} | ${r.cpuMs} | ${r.heapMiB} / ${r.rssMiB} |\n`);
    }
  }
}

main();

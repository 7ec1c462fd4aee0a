/**
 * A preload for a controller process (the operator or the baseline, the same
 * code on both sides) that writes, once a second, how late its event loop
 * ran (perf_hooks' event-loop delay: p50, p99 and max of the second) and the
 * main thread's GC pauses in that second (count, sum and longest, by minor
 * and major), with the process's CPU so far, as one JSON line to
 * LOOP_PROBE_OUT. bench/loop-probe-summary.ts reads the lines back.
 *
 * What it answers: whether a controller's tail latency under load comes from
 * its own event loop stalling (GC, long callbacks) or from the requests it
 * waits on. The bench's own rows give the rest (write timeline, queue
 * spend); docs/benchmarks.md, "Where the p99 under load goes".
 *
 *   npm run bench -- --phases mixed --load-repeats 3 \
 *     "--operator-node-flags=--optimize-for-size --import=$PWD/.cache/bench-dist/bench/loop-probe.js" \
 *     --operator-env LOOP_PROBE_OUT=/tmp/probe/operator.jsonl \
 *     "--baseline-node-flags=--import=$PWD/.cache/bench-dist/bench/loop-probe.js"
 *
 * The baseline takes no extra environment (the bench passes only the
 * operator's), so it writes to the default, loop-probe.jsonl in its working
 * directory, unless LOOP_PROBE_OUT is set in the bench's own environment.
 */
import { appendFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

const out = process.env.LOOP_PROBE_OUT ?? 'loop-probe.jsonl';
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();

type Pauses = { count: number; ms: number; maxMs: number };
const none = (): Pauses => ({ count: 0, ms: 0, maxMs: 0 });
let minor = none();
let major = none();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
    const kind = entry.detail?.kind;
    // Incremental marking steps and weak callbacks are left out: they run between tasks, in slices.
    const tally = kind === constants.NODE_PERFORMANCE_GC_MINOR ? minor : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? major : undefined;
    if (!tally) continue;
    tally.count += 1;
    tally.ms += entry.duration;
    tally.maxMs = Math.max(tally.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

const timer = setInterval(() => {
  const cpu = process.cpuUsage();
  const line = {
    t: Date.now(),
    pid: process.pid,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    delayMs: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    minor,
    major,
  };
  appendFileSync(out, `${JSON.stringify(line)}\n`);
  delay.reset();
  minor = none();
  major = none();
}, 1000);
// The probe must not keep a stopping controller alive.
timer.unref();

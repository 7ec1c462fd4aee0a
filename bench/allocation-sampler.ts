/**
 * A preload for the operator process that samples every allocation it makes
 * (V8's sampling heap profiler, objects collected by either collector
 * included unless ALLOC_MINOR=0, which leaves out what a scavenge freed: then
 * the profile holds only what survived into the old generation), and writes
 * the profile when the process is told to stop (SIGTERM, before the
 * operator's own handler). Read it with Chrome DevTools, or summarize it by
 * allocation site.
 *
 *   npm run bench -- --phases throughput --throughput-repeats 1 \
 *     "--operator-node-flags=--optimize-for-size --import=$PWD/.cache/bench-dist/bench/allocation-sampler.js" \
 *     --operator-env ALLOC_PROF_OUT=/tmp/alloc.heapprofile [--operator-env ALLOC_MINOR=0]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
session.post('HeapProfiler.startSampling', {
  samplingInterval: 2048,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: process.env.ALLOC_MINOR !== '0',
});
process.prependListener('SIGTERM', () => {
  // An in-process session answers synchronously, so the profile is written before the operator's handler runs.
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (err) return void process.stderr.write(`allocation-sampler: ${err.message}\n`);
    writeFileSync(process.env.ALLOC_PROF_OUT ?? 'alloc.heapprofile', JSON.stringify(result.profile));
  });
});

/**
 * Folds the phases of one run's results file into the day's results, then
 * regenerates the report (figures, .md, .png) from the merged figures:
 *
 *   node <build>/bench/merge-results.js --from DIR/<date>.json --into bench/results --phases throughput,fanout
 *
 * What `--update` does at the end of a run, for runs that wrote elsewhere:
 * several engineers' bench runs going at once each write to their own
 * --out, and are merged into the shared day's file one at a time, so none
 * overwrites another's phases with the copy it read when it started.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFigures, writeReport, type BenchResults } from './report.js';

/** The results fields each phase writes (as run.ts's --update keeps them). */
export const PHASE_FIELDS: Record<string, (keyof BenchResults)[]> = {
  scale: ['scale', 'idle'],
  throughput: ['throughput'],
  mixed: ['amplification', 'latency', 'loadRuns', 'loadRate'],
  fanout: ['fanout'],
  memory: ['memory'],
  restart: ['restart' as keyof BenchResults],
  'memory-fanout': ['memoryFanout' as keyof BenchResults],
  profile: ['profiles'],
  throttle: ['throttle' as keyof BenchResults],
};

export function mergeResults(into: BenchResults, from: BenchResults, phases: string[]): BenchResults {
  const merged = { ...into } as unknown as Record<string, unknown>;
  for (const phase of phases) {
    const fields = PHASE_FIELDS[phase];
    if (!fields) throw new Error(`unknown phase ${phase}; known: ${Object.keys(PHASE_FIELDS).join(', ')}`);
    for (const field of fields) merged[field] = (from as unknown as Record<string, unknown>)[field];
  }
  const result = merged as unknown as BenchResults;
  result.updates = [
    ...(into.updates ?? []),
    {
      at: from.finishedAt || from.startedAt,
      phases,
      loadAverageAtStart: from.machine.loadAverageAtStart,
      ...(from.machine.loadAverageAtEnd ? { loadAverageAtEnd: from.machine.loadAverageAtEnd } : {}),
    },
  ];
  result.durationSeconds = (into.durationSeconds ?? 0) + (from.durationSeconds ?? 0);
  result.figures = buildFigures(result);
  return result;
}

function main(): void {
  const { values } = parseArgs({ options: { from: { type: 'string' }, into: { type: 'string' }, phases: { type: 'string' } } });
  if (!values.from || !values.into || !values.phases) throw new Error('usage: merge-results --from FILE.json --into DIR --phases LIST');
  const from = JSON.parse(readFileSync(values.from, 'utf8')) as BenchResults;
  const target = join(values.into, `${from.date}.json`);
  if (!existsSync(target)) throw new Error(`no ${target} to merge into`);
  const into = JSON.parse(readFileSync(target, 'utf8')) as BenchResults;
  const files = writeReport(mergeResults(into, from, values.phases.split(',')), values.into);
  process.stderr.write(`merged ${values.phases} of ${values.from}: ${files.join(', ')}\n`);
}

if (process.argv[1]?.endsWith('merge-results.js')) main();

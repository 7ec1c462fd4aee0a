import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { operatorMain, profile, resultsDir, runDir } from './profile.js';

/** The figures one scenario reports; every scenario fills the common columns. */
export interface ScenarioFigures {
  scenario: string;
  /** Order in the table. */
  order: number;
  seed: number;
  pushes: number;
  /** What was injected, e.g. "200 kills" or "87 dropped responses". */
  faults: string;
  faultCount: number;
  operatorTargetWrites: number;
  doubleApplies: number;
  lost: number;
  crashes: number;
  /** Seconds from the last fault to the last push converging. */
  convergeAfterLastFaultS: number;
  /** Seconds from the first push created to the last converging. */
  totalS: number;
  /** Scenario-specific figures. */
  extra: Record<string, number | string>;
}

export function recordFigures(figures: ScenarioFigures): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, `figures-${figures.scenario}.json`), `${JSON.stringify(figures, null, 2)}\n`);
  process.stdout.write(`\n${table([figures])}\n${extras([figures])}\n`);
}

function readFigures(): ScenarioFigures[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((f) => f.startsWith('figures-') && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(runDir, f), 'utf8')) as ScenarioFigures)
    .sort((a, b) => a.order - b.order);
}

const seconds = (s: number) => (Number.isFinite(s) ? s.toFixed(1) : 'n/a');

export function table(all: ScenarioFigures[]): string {
  const rows = [
    '| scenario | pushes | faults | operator target writes | double applies | lost | crashes | converge after last fault (s) | total (s) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...all.map(
      (f) =>
        `| ${f.scenario} | ${f.pushes} | ${f.faults} | ${f.operatorTargetWrites} | ${f.doubleApplies} | ${f.lost} | ${f.crashes} | ${
          // With pushes lost, the run never converged: the time of the last push that did means nothing.
          f.lost > 0 ? 'did not converge' : seconds(f.convergeAfterLastFaultS)
        } | ${f.lost > 0 ? 'did not converge' : seconds(f.totalS)} |`,
    ),
  ];
  return rows.join('\n');
}

function extras(all: ScenarioFigures[]): string {
  return all
    .map((f) => `- ${f.scenario} (seed ${f.seed}): ${Object.entries(f.extra).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    .join('\n');
}

/**
 * Assembles the figures of every scenario that ran into one report: printed,
 * kept in .cache/chaos/run/report.md, and for the long run (npm run chaos)
 * written to bench/results/chaos-<date>.md and .json.
 */
export function writeReport(): void {
  const all = readFigures();
  if (all.length === 0) return;
  const date = new Date().toISOString().replace(/:\d\d\.\d+Z$/, 'Z').replace(':', '');
  const title = `# Fault suite (${profile.name} profile), ${new Date().toISOString().slice(0, 19)}Z`;
  // CHAOS_LABEL names the build when it is not plain src/ (e.g. "src + proposed fixes").
  const build = process.env.CHAOS_LABEL ?? (process.env.CHAOS_OPERATOR_DIST ? `build at ${process.env.CHAOS_OPERATOR_DIST}` : 'src/ as it was at the start of the run');
  const markdown = [
    title,
    '',
    `Operator: ${build} (${operatorMain}).`,
    '',
    'Counted from the apiserver audit log (successful operator writes to ConfigMaps/Secrets per target) and from',
    'the targets themselves (every push Ready at its generation, every target with exactly its content and key).',
    '',
    table(all),
    '',
    extras(all),
    '',
  ].join('\n');
  writeFileSync(join(runDir, 'report.md'), markdown);
  process.stdout.write(`\n${markdown}\n`);
  if (profile.name === 'long') {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `chaos-${date}.md`), markdown);
    writeFileSync(join(resultsDir, `chaos-${date}.json`), `${JSON.stringify({ profile: profile.name, date: new Date().toISOString(), operator: build, scenarios: all }, null, 2)}\n`);
    process.stdout.write(`chaos: figures written to bench/results/chaos-${date}.md and .json\n`);
  }
}

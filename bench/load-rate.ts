/**
 * The open-loop rate of the mixed phase's load runs: a fraction (default
 * half) of the slower side's throughput, measured in the same run, as issue
 * 16 states the p99 row. Where that throughput comes from, first found:
 *
 * 1. `--load-rate R`: a rate given by hand (to repeat an earlier run's rate
 *    exactly, or to load at a rate of interest);
 * 2. this run's scaling phase, its burst of `--throughput` pushes per side;
 * 3. this run's throughput phase, each side's median over its repeats;
 * 4. otherwise the mixed phase measures it itself: one burst of `--throughput`
 *    pushes per side on a fresh control plane (`calibrationRate`).
 *
 * Before this the rate fell back to a fixed 20 pushes/s when the scaling
 * phase was not in the run, so `--phases mixed` alone loaded both sides at
 * 10 pushes/s, a quarter of what the full run uses on the same machine, and
 * the report did not say so.
 */
import type { ControllerKind } from './processes.js';
import { median, round } from './stats.js';

export type LoadRateSource = 'given' | 'scale' | 'throughput' | 'calibration';

export interface LoadRate {
  /** Pushes per second, open loop. */
  perSecond: number;
  source: LoadRateSource;
  /** The fraction of the slower side's throughput (absent for a given rate). */
  fraction?: number;
  /** Each side's throughput the rate was taken from, pushes/s (absent for a given rate). */
  throughputs?: { operator: number; baseline: number };
  /** Pushes per burst the throughputs were measured with. */
  pushes?: number;
}

/** One side's burst: what the scaling, throughput and calibration runs all record. */
export interface BurstRun {
  kind: ControllerKind;
  pushes: number;
  throughput: number;
}

export interface LoadRateInputs {
  given?: number | undefined;
  fraction: number;
  /** The burst size that counts (the scaling phase runs several). */
  pushes: number;
  scale: BurstRun[];
  throughput: BurstRun[];
}

/** Each side's throughput in `runs` (median over its runs of `pushes`), or undefined unless both sides ran. */
export function sideThroughputs(runs: BurstRun[], pushes: number): { operator: number; baseline: number } | undefined {
  const of = (operator: boolean) => runs.filter((r) => r.pushes === pushes && (r.kind === 'operator') === operator).map((r) => r.throughput);
  const operator = of(true);
  const baseline = of(false);
  if (operator.length === 0 || baseline.length === 0) return undefined;
  return { operator: median(operator), baseline: median(baseline) };
}

/** The rate from what the run already has (1 to 3 above), or undefined when the mixed phase must calibrate. */
export function loadRateFrom(inputs: LoadRateInputs): LoadRate | undefined {
  if (inputs.given !== undefined) return { perSecond: inputs.given, source: 'given' };
  for (const source of ['scale', 'throughput'] as const) {
    const throughputs = sideThroughputs(inputs[source], inputs.pushes);
    if (throughputs) return fromThroughputs(source, throughputs, inputs.fraction, inputs.pushes);
  }
  return undefined;
}

/** The rate from the mixed phase's own calibration bursts (4 above). */
export function calibrationRate(runs: BurstRun[], fraction: number, pushes: number): LoadRate {
  const throughputs = sideThroughputs(runs, pushes);
  if (!throughputs) throw new Error(`load calibration: expected a burst of ${pushes} pushes from each side, got ${runs.length} runs`);
  return fromThroughputs('calibration', throughputs, fraction, pushes);
}

function fromThroughputs(source: LoadRateSource, throughputs: { operator: number; baseline: number }, fraction: number, pushes: number): LoadRate {
  // At least 1 push/s: a smoke run's 5-push bursts can read very slow.
  const perSecond = round(Math.max(1, fraction * Math.min(throughputs.operator, throughputs.baseline)), 1);
  return { perSecond, source, fraction, throughputs, pushes };
}

const SOURCE_TEXT: Record<Exclude<LoadRateSource, 'given'>, string> = {
  scale: "this run's scaling phase",
  throughput: "this run's throughput phase (median of each side's runs)",
  calibration: 'a calibration burst per side before the load runs, each on a fresh control plane',
};

/** One sentence for the report: the rate and where it came from. */
export function describeLoadRate(rate: LoadRate): string {
  if (rate.source === 'given' || !rate.throughputs) return `Load rate: ${rate.perSecond} pushes/s, given (--load-rate).`;
  const { operator, baseline } = rate.throughputs;
  const slower = operator <= baseline ? 'operator' : 'baseline';
  return (
    `Load rate: ${rate.perSecond} pushes/s, ${rate.fraction} of the slower side's throughput (the ${slower}'s), ` +
    `from ${SOURCE_TEXT[rate.source]}: bursts of ${rate.pushes} pushes, operator ${round(operator, 1)}/s, baseline ${round(baseline, 1)}/s.`
  );
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { calibrationRate, describeLoadRate, loadRateFrom, type BurstRun } from '../../bench/load-rate.js';
import { mergeResults } from '../../bench/merge-results.js';
import { parseOptions } from '../../bench/options.js';
import { writeReport, type BenchResults } from '../../bench/report.js';
import { benchResults } from '../support/bench-results.js';

// report.ts's phases reach test/support/kube.ts, which loads a cluster's kubeconfig at import; no cluster here.
vi.mock('../../test/support/kube.js', () => ({}));

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const burst = (kind: 'operator' | 'baseline', pushes: number, throughput: number): BurstRun => ({ kind, pushes, throughput });

describe('the load runs open-loop rate (bench/load-rate.ts)', () => {
  const none = { fraction: 0.5, pushes: 1000, scale: [], throughput: [] };

  it('is the fraction of the slower side, from the scaling burst of --throughput pushes', () => {
    const scale = [burst('baseline', 100, 300), burst('operator', 100, 250), burst('baseline', 1000, 120), burst('operator', 1000, 80)];
    expect(loadRateFrom({ ...none, scale })).toEqual({ perSecond: 40, source: 'scale', fraction: 0.5, throughputs: { operator: 80, baseline: 120 }, pushes: 1000 });
  });

  it('takes the throughput phase (each side its median) when the scaling phase did not run', () => {
    const throughput = [burst('operator', 1000, 70), burst('baseline', 1000, 100), burst('operator', 1000, 90), burst('baseline', 1000, 60), burst('operator', 1000, 80), burst('baseline', 1000, 110)];
    const rate = loadRateFrom({ ...none, fraction: 1.8, throughput });
    expect(rate).toMatchObject({ source: 'throughput', throughputs: { operator: 80, baseline: 100 } });
    expect(rate?.perSecond).toBe(144);
  });

  it('prefers the scaling phase to the throughput phase, and a given rate to both', () => {
    const scale = [burst('baseline', 1000, 100), burst('operator', 1000, 90)];
    const throughput = [burst('baseline', 1000, 10), burst('operator', 1000, 10)];
    expect(loadRateFrom({ ...none, scale, throughput })?.perSecond).toBe(45);
    expect(loadRateFrom({ ...none, given: 12.5, scale, throughput })).toEqual({ perSecond: 12.5, source: 'given' });
  });

  it('asks for a calibration when no burst of that size ran on both sides (the old fixed 20 pushes/s is gone)', () => {
    expect(loadRateFrom(none)).toBeUndefined();
    // Only one side, or bursts of another size, do not count.
    expect(loadRateFrom({ ...none, scale: [burst('operator', 1000, 80)] })).toBeUndefined();
    expect(loadRateFrom({ ...none, scale: [burst('operator', 100, 80), burst('baseline', 100, 90)] })).toBeUndefined();
  });

  it('a calibration gives the rate from its own bursts, and refuses an incomplete one', () => {
    expect(calibrationRate([burst('baseline', 1000, 110), burst('operator', 1000, 72)], 0.5, 1000)).toMatchObject({ perSecond: 36, source: 'calibration' });
    expect(() => calibrationRate([burst('baseline', 1000, 110)], 0.5, 1000)).toThrow(/a burst of 1000 pushes from each side/);
  });

  it('never falls below 1 push/s (a smoke run of 5-push bursts)', () => {
    expect(calibrationRate([burst('baseline', 5, 1.2), burst('operator', 5, 0.8)], 0.5, 5).perSecond).toBe(1);
  });

  it('says in one sentence which side was slower and where its throughput came from', () => {
    const text = describeLoadRate(calibrationRate([burst('baseline', 1000, 110.04), burst('operator', 1000, 72.4)], 0.5, 1000));
    expect(text).toBe(
      "Load rate: 36.2 pushes/s, 0.5 of the slower side's throughput (the operator's), from a calibration burst per side before the load runs, each on a fresh control plane: bursts of 1000 pushes, operator 72.4/s, baseline 110/s.",
    );
    expect(describeLoadRate({ perSecond: 12, source: 'given' })).toBe('Load rate: 12 pushes/s, given (--load-rate).');
  });
});

describe('--load-rate and the report', () => {
  it('parses --load-rate, absent by default, and refuses a rate that is not positive', () => {
    expect(parseOptions([], {}, root).loadRate).toBeUndefined();
    expect(parseOptions(['--load-rate', '36'], {}, root).loadRate).toBe(36);
    expect(() => parseOptions(['--load-rate', '0'], {}, root)).toThrow(/--load-rate must be a positive number/);
  });

  const results = (over: Partial<BenchResults>): BenchResults => benchResults({ date: '2026-11-30', ...over });


  it('the report states the rate and its source, and a merge of the mixed phase carries it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'load-rate-'));
    try {
      const loadRate = calibrationRate([burst('baseline', 1000, 100), burst('operator', 1000, 80)], 0.5, 1000);
      writeReport(results({ loadRate }), dir);
      expect(readFileSync(join(dir, '2026-11-30.md'), 'utf8')).toContain("Load rate: 40 pushes/s, 0.5 of the slower side's throughput (the operator's)");
      expect(mergeResults(results({}), results({ loadRate }), ['mixed']).loadRate).toEqual(loadRate);
      expect(mergeResults(results({ loadRate }), results({}), ['fanout']).loadRate).toEqual(loadRate);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

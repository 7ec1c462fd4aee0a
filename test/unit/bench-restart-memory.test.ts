import { describe, expect, it, vi } from 'vitest';
import type { WriteBreakdown } from '../../bench/audit-counts.js';
import { parseOptions } from '../../bench/options.js';
import { memoryFanoutFigures, type FanoutMemoryRun } from '../../bench/phases/memory-fanout.js';
import { restartFigures, restartTable, type RestartRun } from '../../bench/phases/restart.js';

// Phases reach test/support/kube.ts, which loads a cluster's kubeconfig at import; no cluster here.
vi.mock('../../test/support/kube.js', () => ({}));

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const writes = (byResource: Record<string, number>): WriteBreakdown => ({
  ok: Object.values(byResource).reduce((a, b) => a + b, 0),
  failed: 0,
  byResource: Object.fromEntries(Object.entries(byResource).map(([k, ok]) => [k, { ok, failed: 0 }])),
});

const operator = (over: Partial<RestartRun> = {}): RestartRun => ({
  kind: 'operator',
  pushes: 10_000,
  applySeconds: 400,
  seconds: 30,
  readySeconds: 2,
  verifiedBy: '',
  requests: { 'LIST configpushes': 1, 'LIST configmaps': 1, 'LIST secrets': 1, 'LIST namespaces': 1, 'GET leases': 3 },
  writes: writes({ leases: 2 }),
  ...over,
});
const baseline: RestartRun = { kind: 'baseline', pushes: 10_000, applySeconds: 300, seconds: 60, verifiedBy: '', requests: { 'LIST configpushes': 1, 'GET configmaps': 10_000 }, writes: writes({}) };

describe('bench sizes of issue 16', () => {
  it('full: memory to 100,000 pushes (baseline to 10,000), restart with 10,000, one push to 5,000 namespaces; smoke: tiny', () => {
    const full = parseOptions([], {}, root);
    expect(full.memory.at(-1)).toBe(100_000);
    expect(full.memoryBaselineMax).toBe(10_000);
    expect(full.restartPushes).toBe(10_000);
    expect(full.memoryFanout).toBe(5_000);
    expect(full.phases).toEqual(expect.arrayContaining(['memory', 'restart', 'memory-fanout']));
    const smoke = parseOptions(['--smoke'], {}, root);
    expect(Math.max(...smoke.memory, smoke.restartPushes, smoke.memoryFanout)).toBeLessThanOrEqual(10);
    expect(parseOptions(['--restart-pushes', '200', '--memory-fanout', '50'], {}, root)).toMatchObject({ restartPushes: 200, memoryFanout: 50 });
    expect(() => parseOptions(['--restart-pushes', '0'], {}, root)).toThrow(/--restart-pushes must be a positive number/);
  });
});

describe('restart figures', () => {
  it('pass: Lease renewals apart no write, one LIST per kind, no target GET; the time against the baseline', () => {
    const figures = restartFigures([baseline, operator()]);
    expect(figures.map((f) => f.result)).toEqual(['info', 'pass', 'pass']);
    expect(figures[0]).toMatchObject({ operator: '30 s', baseline: '60 s', ratio: '0.5' });
    expect(figures[1]?.operator).toBe('0 (+2 Lease)');
    expect(restartTable([baseline, operator()]).join('\n')).toContain('GET configmaps 10000');
  });

  it.each<[string, Partial<RestartRun>]>([
    ['a status write', { writes: writes({ leases: 2, 'configpushes/status': 1 }) }],
    ['a second LIST of a kind', { requests: { 'LIST configmaps': 2 } }],
    ['a GET of a target', { requests: { 'LIST configmaps': 1, 'GET configmaps': 1 } }],
    ['a GET of a Secret target', { requests: { 'LIST secrets': 1, 'GET secrets': 3 } }],
  ])('miss: %s', (_, over) => {
    expect(restartFigures([baseline, operator(over)]).map((f) => f.result)).toContain('miss');
  });
});

describe('memory-fanout figures', () => {
  const run = (kind: 'operator' | 'baseline', afterMiB: number): FanoutMemoryRun => ({
    kind,
    namespaces: 5000,
    before: { rssBytes: 150 * 2 ** 20, peakRssBytes: 0, heapUsedBytes: 50 * 2 ** 20, heapTotalBytes: 0 },
    after: { rssBytes: afterMiB * 2 ** 20, peakRssBytes: 0, heapUsedBytes: 60 * 2 ** 20, heapTotalBytes: 0 },
    readySeconds: 10,
    rssPerTargetBytes: ((afterMiB - 150) * 2 ** 20) / 5000,
    heapPerTargetBytes: (10 * 2 ** 20) / 5000,
  });

  it('judges the RSS after the push against 400 MiB and reports the growth per target', () => {
    const [pass] = memoryFanoutFigures([run('operator', 200), run('baseline', 300)]);
    expect(pass).toMatchObject({ result: 'pass', ratio: '0.67' });
    expect(pass?.operator).toContain('10.24 KiB/target');
    expect(memoryFanoutFigures([run('operator', 401)])[0]?.result).toBe('miss');
  });
});

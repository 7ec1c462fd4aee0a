import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../src/core/label-selector.js';
import type { NamespaceInfo, ResolvedStrategy, ResolvedTarget } from '../../src/core/resolve-spec.js';
import { planWaves } from '../../src/core/wave-plan.js';
import { rolledOut } from '../../src/core/workload-health.js';

const base: ResolvedStrategy = { pauseMs: 0, failurePolicy: 'Halt', progressDeadlineMs: 600_000 };
const target = (namespace: string, name = 'cfg'): ResolvedTarget => ({ kind: 'ConfigMap', name, namespace });
const ns = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({ name, labels });

describe('planWaves', () => {
  const targets = ['b', 'a', 'd', 'c', 'e'].map((n) => target(n));

  it('puts everything in one wave without a strategy', () => {
    expect(planWaves(targets, base, [])).toEqual([targets]);
  });

  it('batches namespaces in name order', () => {
    const waves = planWaves(targets, { ...base, batchSize: 2 }, []);
    expect(waves.map((w) => w.map((t) => t.namespace))).toEqual([['b', 'a'], ['d', 'c'], ['e']]);
  });

  it('keeps every target of one namespace in the same batch', () => {
    const waves = planWaves([target('a', 'x'), target('a', 'y'), target('b')], { ...base, batchSize: 1 }, []);
    expect(waves.map((w) => w.length)).toEqual([2, 1]);
  });

  it('orders explicit waves, first match wins, the rest go last, empty waves drop', () => {
    const namespaces = [ns('a', { env: 'canary' }), ns('b', { env: 'prod' }), ns('c', { env: 'prod' }), ns('d'), ns('e')];
    const strategy = {
      ...base,
      waves: [{ namespaceSelector: { matchLabels: { env: 'canary' } } }, { namespaces: ['b', 'a'] }, { namespaces: ['zzz'] }, { namespaceSelector: { matchLabels: { env: 'prod' } } }],
    };
    const waves = planWaves(targets, strategy, namespaces);
    expect(waves.map((w) => w.map((t) => t.namespace).sort())).toEqual([['a'], ['b'], ['c'], ['d', 'e']]);
  });

  it('is deterministic', () => {
    expect(planWaves(targets, { ...base, batchSize: 2 }, [])).toEqual(planWaves(targets, { ...base, batchSize: 2 }, []));
  });
});

describe('matchesSelector', () => {
  const labels = { env: 'prod', tier: 'web' };
  it.each([
    [{}, true],
    [{ matchLabels: { env: 'prod' } }, true],
    [{ matchLabels: { env: 'dev' } }, false],
    [{ matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['dev', 'prod'] }] }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }, true],
  ])('%j -> %s', (selector, expected) => {
    expect(matchesSelector(selector, labels)).toBe(expected);
  });
});

describe('rolledOut', () => {
  const deployment = (generation: number, observed: number, replicas: number, updated: number, available: number) => ({
    metadata: { generation },
    spec: { replicas, selector: {}, template: {} },
    status: { observedGeneration: observed, replicas, updatedReplicas: updated, availableReplicas: available },
  });
  it('needs the latest generation observed and every replica updated and available', () => {
    expect(rolledOut('Deployment', deployment(2, 2, 3, 3, 3))).toBe(true);
    expect(rolledOut('Deployment', deployment(2, 1, 3, 3, 3))).toBe(false);
    expect(rolledOut('Deployment', deployment(2, 2, 3, 2, 3))).toBe(false);
    expect(rolledOut('Deployment', deployment(2, 2, 3, 3, 2))).toBe(false);
  });
  it('reads DaemonSets by scheduled pods', () => {
    const ds = { metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4, currentNumberScheduled: 4, numberMisscheduled: 0, numberReady: 4 } };
    expect(rolledOut('DaemonSet', ds)).toBe(true);
    expect(rolledOut('DaemonSet', { ...ds, status: { ...ds.status, numberAvailable: 3 } })).toBe(false);
  });
});

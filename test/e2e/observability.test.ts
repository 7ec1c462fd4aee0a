import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { core, createPush, eventually, getPush, newNamespace, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { OPERATOR_NAMESPACE } from '../support/operator-identity.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { checkExpression, parseExposition, type MetricFamily } from '../support/promql.js';
import { repoRoot } from '../support/paths.js';
import { freePort } from '../support/free-port.js';


/** The value of one series (exact labels, in the exposition's order), or 0 when absent. */
function sample(exposition: string, series: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

const ruleFile = join(repoRoot, 'monitoring/prometheus-rule.yaml');
const dashboardFile = join(repoRoot, 'monitoring/grafana-dashboard.json');

function rules(): Rule[] {
  const doc = parse(readFileSync(ruleFile, 'utf8')) as { apiVersion: string; kind: string; spec: { groups: { name: string; rules: Rule[] }[] } };
  expect(doc.apiVersion).toBe('monitoring.coreos.com/v1');
  expect(doc.kind).toBe('PrometheusRule');
  return doc.spec.groups.flatMap((g) => g.rules);
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Panel[] };
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ where: `panel "${panel.title}"`, expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

describe('observability: metrics, alerts and dashboard', () => {
  let operator: TestOperator;
  let metricsUrl: string;
  const scrape = async () => (await fetch(metricsUrl)).text();

  beforeAll(async () => {
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    operator = await startTestOperator({ http: { metricsAddress: `127.0.0.1:${port}`, healthAddress: '' } });
    await settled(operator);
  });
  afterAll(async () => operator?.stop());

  it('counts pushes by condition and rollout phase from the cache: a Ready push, then a Stalled one with its reason, and no names in labels', async () => {
    const readyApplied = 'configpush_push_conditions{type="Ready",status="True",reason="Applied"}';
    const stalledConflict = 'configpush_push_conditions{type="Stalled",status="True",reason="Conflict"}';
    const before = await scrape();

    const ns = await newNamespace('observe');
    await createPush(ns, 'fine', { targets: [{ kind: 'ConfigMap', name: 'fine' }], data: { k: 'v' } });
    await waitReady(ns, 'fine');
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'taken' }, data: { mine: 'yes' } } });
    await createPush(ns, 'clash', { targets: [{ kind: 'ConfigMap', name: 'taken' }], data: { k: 'v' } });
    await waitReason(ns, 'clash', 'Conflict');

    // The gauges read the cache when scraped: wait for the informer to carry the status just written.
    const after = await eventually(async () => {
      const text = await scrape();
      return sample(text, stalledConflict) === sample(before, stalledConflict) + 1 ? text : undefined;
    }, 'the Stalled push to be counted');
    expect(sample(after, readyApplied)).toBe(sample(before, readyApplied) + 1);
    const phases = after.split('\n').filter((l) => l.startsWith('configpush_push_rollout_phase{'));
    expect(phases.length).toBeGreaterThan(0);
    expect(phases.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)).toBeGreaterThanOrEqual(2);
    const pushLines = after.split('\n').filter((l) => l.startsWith('configpush_push_'));
    for (const name of [ns, 'fine', 'clash', 'taken']) expect(pushLines.join('\n')).not.toContain(name);

    // Fixed (a Stalled push waits for its spec to change): the Stalled series goes back down rather than lingering.
    await updateSpec(ns, 'clash', (spec) => ({ ...spec, targets: [{ kind: 'ConfigMap', name: 'free' }] }));
    await waitReady(ns, 'clash');
    await eventually(async () => sample(await scrape(), stalledConflict) === sample(before, stalledConflict), 'the Stalled count to fall back');
    // Stalled is removed when it turns False (kstatus reads its absence as False).
    expect((await getPush(ns, 'clash')).status?.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
  });

  it('every metric and label in monitoring/prometheus-rule.yaml and monitoring/grafana-dashboard.json is one the operator exports', async () => {
    // Names from the operator's /metrics (every family has a # TYPE line even
    // before it has a sample); label names from its samples and from the
    // registry's definitions (a labelled counter has no sample until it counts).
    const families = parseExposition(await scrape());
    for (const [name, family] of families) {
      const defined = operator.metrics.registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
      for (const label of defined?.labelNames ?? []) family.labels.add(label);
    }
    expect(families.get('configpush_push_conditions')?.labels).toEqual(new Set(['type', 'status', 'reason']));
    expect(families.get('configpush_leader_is_leader')).toBeDefined();
    expect(problemsIn(families)).toEqual([]);

    // The dashboard shows every configpush_ metric there is.
    const dashboardText = readFileSync(dashboardFile, 'utf8');
    const unshown = [...families.keys()].filter((name) => name.startsWith('configpush_') && !dashboardText.includes(name));
    expect(unshown).toEqual([]);

    // And the check bites: a typo in a metric name and in a label fail it.
    const typo = new Map(families);
    typo.delete('configpush_workqueue_depth');
    expect(problemsIn(typo)).toContain('alert ConfigPushWorkQueueBacklog: metric configpush_workqueue_depth is not exported');
    const noReason: Map<string, MetricFamily> = new Map(families);
    noReason.set('configpush_push_conditions', { type: 'gauge', labels: new Set(['type', 'status']) });
    expect(problemsIn(noReason)).toContain('alert ConfigPushStalled: by (reason) but configpush_push_conditions has no label reason');
  });

  it('ships well-formed alerts: a severity, a summary and a description each, and the alerts the runbook documents', () => {
    const all = rules();
    const names = all.map((r) => r.alert);
    expect(names).toEqual(expect.arrayContaining(['ConfigPushStalled', 'ConfigPushRolloutHalted', 'ConfigPushRolledBack', 'ConfigPushReconcileErrors', 'ConfigPushWorkQueueBacklog', 'ConfigPushDriftFight', 'ConfigPushNoLeader', 'ConfigPushLeaderElectionFlapping']));
    expect(new Set(names).size).toBe(names.length);
    const runbook = readFileSync(join(repoRoot, 'docs/observability.md'), 'utf8');
    for (const rule of all) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^ConfigPush[A-Za-z]+$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.for).toMatch(/^[0-9]+[smh]$/);
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(40);
      expect(runbook, `docs/observability.md explains ${rule.alert}`).toContain(`### ${rule.alert}`);
    }
  });

  it('reports leadership: 1 on the replica holding the Lease, 0 on the standby, and the standby takes over', async () => {
    const lease = `observe-${Date.now().toString(36)}`;
    const leader = await startTestOperator({ leaderElection: { namespace: OPERATOR_NAMESPACE, name: lease, identity: 'one' } });
    let standby: TestOperator | undefined;
    const gauge = async (o: TestOperator) => (await o.metrics.isLeader.get()).values[0]?.value;
    try {
      await eventually(async () => leader.isLeader(), 'the first replica to lead');
      standby = await startTestOperator({ leaderElection: { namespace: OPERATOR_NAMESPACE, name: lease, identity: 'two' } });
      expect(await gauge(leader)).toBe(1);
      expect(await gauge(standby)).toBe(0);
      await leader.stop(); // releases the Lease
      expect(await gauge(leader)).toBe(0);
      const next = standby;
      await eventually(async () => next.isLeader(), 'the standby to take over');
      expect(await gauge(next)).toBe(1);
    } finally {
      await leader.stop().catch(() => undefined);
      await standby?.stop();
    }
    // Without leader election the only replica does the work.
    expect(await gauge(operator)).toBe(1);
  });
});

function problemsIn(families: Map<string, MetricFamily>): string[] {
  const problems: string[] = [];
  for (const rule of rules()) {
    const where = rule.alert ? `alert ${rule.alert}` : `record ${rule.record}`;
    problems.push(...checkExpression(where, rule.expr, families, Object.values(rule.annotations ?? {})));
  }
  for (const { where, expr } of dashboardExpressions()) problems.push(...checkExpression(where, expr, families));
  return problems;
}

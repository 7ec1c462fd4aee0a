import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPush, newNamespace, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { freePorts } from '../support/free-port.js';

/** Sums every sample of `name` in a Prometheus text exposition. */
function total(exposition: string, name: string, labels = ''): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .filter((line) => line.includes(labels))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('metrics and health endpoints', () => {
  let operator: TestOperator;
  let metricsUrl: string;
  let healthUrl: string;

  beforeAll(async () => {
    const [metricsPort, healthPort] = (await freePorts(2)) as [number, number];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    healthUrl = `http://127.0.0.1:${healthPort}`;
    operator = await startTestOperator({ http: { metricsAddress: `127.0.0.1:${metricsPort}`, healthAddress: `127.0.0.1:${healthPort}` } });
  });
  afterAll(async () => operator?.stop());

  it('answers /healthz and, with synced caches, /readyz', async () => {
    expect((await fetch(`${healthUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${healthUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ok');
  });

  it('shows the counters move across an apply', async () => {
    await settled(operator);
    const before = await (await fetch(metricsUrl)).text();
    const ns = await newNamespace('metrics');
    await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'ConfigMap', name: 'b' }], data: { k: 'v' } });
    await waitReady(ns, 'push');
    const after = await (await fetch(metricsUrl)).text();

    expect(total(after, 'configpush_reconcile_total', 'result="success"')).toBeGreaterThan(total(before, 'configpush_reconcile_total', 'result="success"'));
    expect(total(after, 'configpush_target_writes_total', 'reason="create"') - total(before, 'configpush_target_writes_total', 'reason="create"')).toBe(2);
    expect(total(after, 'configpush_status_writes_total')).toBeGreaterThan(total(before, 'configpush_status_writes_total'));
    expect(total(after, 'configpush_reconcile_duration_seconds_count')).toBeGreaterThan(total(before, 'configpush_reconcile_duration_seconds_count'));
    for (const name of ['configpush_workqueue_depth', 'configpush_workqueue_queue_duration_seconds_count', 'configpush_targets_skipped_total', 'configpush_write_conflicts_total', 'configpush_workqueue_retries_total']) {
      expect(after).toContain(name);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { operationKey } from '../../src/core/operation-key.js';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { acceptingPushesFrom, condition, createPush, eventually, newNamespace, readConfigMap, sleep, waitReady } from '../support/kube.js';
import { reconcileCount, startTestOperator } from '../support/operator.js';

const OPERATOR = { userAgent: 'configpush-operator' };

describe('a push applies once, and only once', () => {
  let operator: Operator;
  let ns: string;
  let other: string;
  const targets = () => [
    { kind: 'ConfigMap' as const, name: 'app-a' },
    { kind: 'ConfigMap' as const, name: 'app-b' },
    { kind: 'ConfigMap' as const, name: 'app-c', namespace: other },
  ];
  const targetWrites = () => [
    ...writes({ resource: 'configmaps', namespace: ns, name: 'app-a', ...OPERATOR }),
    ...writes({ resource: 'configmaps', namespace: ns, name: 'app-b', ...OPERATOR }),
    ...writes({ resource: 'configmaps', namespace: other, name: 'app-c', ...OPERATOR }),
  ];
  const statusWrites = () => writes({ resource: 'configpushes', namespace: ns, name: 'push', subresource: 'status' });

  beforeAll(async () => {
    ns = await newNamespace('apply');
    other = await newNamespace('apply-other', acceptingPushesFrom(ns));
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('reaches Ready with exactly one write per target and at most two status writes', async () => {
    const created = await createPush(ns, 'push', { targets: targets(), data: { 'app.conf': 'color=blue\n', mode: 'fast' } });
    const push = await waitReady(ns, 'push');

    const key = operationKey(created.metadata.uid, 1);
    expect(push.status?.operationKey).toBe(key);
    expect(push.status?.targetSummary).toBe('3/3');
    expect(push.status?.observedGeneration).toBe(1);
    expect(condition(push, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied', observedGeneration: 1 });
    // Reconciling, Stalled and Drifted are written only while True (kstatus reads their absence as False).
    expect(push.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
    expect(push.status?.history).toEqual([expect.objectContaining({ key, generation: 1, digest: push.status?.contentDigest })]);
    expect(push.status?.targets?.map((t) => [t.namespace, t.name, t.state, t.operationKey])).toEqual([
      [ns, 'app-a', 'Applied', key],
      [ns, 'app-b', 'Applied', key],
      [other, 'app-c', 'Applied', key],
    ]);

    for (const [namespace, name] of [[ns, 'app-a'], [ns, 'app-b'], [other, 'app-c']] as const) {
      const cm = await readConfigMap(namespace, name);
      expect(cm?.data).toEqual({ 'app.conf': 'color=blue\n', mode: 'fast' });
      expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key);
      expect(cm?.metadata?.annotations?.[ANNOTATION.ownerUid]).toBe(created.metadata.uid);
      // status.targets[].resourceVersion is the version the operator wrote.
      expect(push.status?.targets?.find((t) => t.name === name)?.resourceVersion).toBe(cm?.metadata?.resourceVersion);
    }
    expect(targetWrites().map((w) => `${w.verb} ${w.objectRef?.name}`).sort()).toEqual([
      'create app-a',
      'create app-b',
      'create app-c',
    ]);
    // Let any echo of our own writes (watch events on targets and status) play out.
    await sleep(1_000);
    expect(targetWrites()).toHaveLength(3);
    expect(statusWrites().length).toBeGreaterThanOrEqual(1);
    expect(statusWrites().length).toBeLessThanOrEqual(2);
  });

  it('writes nothing on 100 forced re-queues and after a restart', async () => {
    const before = { targets: targetWrites().length, status: statusWrites().length, all: writes({ resource: 'configpushes', namespace: ns }).length };
    for (let i = 0; i < 100; i++) {
      const count = await reconcileCount(operator);
      operator.controller.enqueue(`${ns}/push`);
      // Wait for this re-queue to actually run, so the 100 are 100 reconciles, not one collapsed add.
      await eventually(async () => (await reconcileCount(operator)) > count, `re-queue ${i} to run`, 5_000);
    }

    await operator.stop();
    operator = await startTestOperator();
    const restarted = operator;
    await eventually(async () => (await reconcileCount(restarted)) >= 1, 'the restarted operator to reconcile');
    await sleep(500);

    expect(targetWrites()).toHaveLength(before.targets);
    expect(statusWrites()).toHaveLength(before.status);
    expect(writes({ resource: 'configpushes', namespace: ns })).toHaveLength(before.all);
  });
});

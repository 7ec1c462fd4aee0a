import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Condition, ConfigPush } from '../../src/api/types.js';
import { readAudit, writes } from '../support/audit.js';
import { createPush, custom, getPush, newNamespace, sleep, updateSpec, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';

/**
 * Reconciling, Stalled and Drifted are written only while True
 * (src/core/conditions.ts ABNORMAL_TRUE; kstatus reads an absent one as
 * False). A settled push carries one condition, Ready. A push whose status an
 * earlier version wrote, with the three at False, is not rewritten for that
 * alone, neither by a resync nor by the first reconcile after a restart (an
 * upgrade would otherwise write every push's status once); the False ones go
 * with the next status change. Writes are counted from the audit log.
 */

const OPERATOR = 'configpush-operator';
const types = (push: ConfigPush) => (push.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);

describe('abnormal-true conditions on a real apiserver', () => {
  let operator: TestOperator;
  let ns: string;
  const statusWrites = (since: number) => writes({ resource: 'configpushes', namespace: ns, subresource: 'status', userAgent: OPERATOR }, readAudit().slice(since)).length;

  beforeAll(async () => {
    ns = await newNamespace('conditions');
    operator = await startTestOperator({ controller: { resyncPeriodMs: 1_000 } });
  });
  afterAll(async () => operator?.stop());

  it('a settled push carries Ready=True only', async () => {
    await createPush(ns, 'app', { targets: [{ kind: 'ConfigMap', name: 'app' }], data: { v: '1' } });
    const push = await waitReady(ns, 'app');
    expect(types(push)).toEqual(['Ready=True']);
  });

  it("an earlier version's False conditions cost no write, after a restart or on resyncs; the next change drops them", async () => {
    const settledPush = await waitReady(ns, 'app');
    await operator.stop();
    // The status as the operator wrote it before ABNORMAL_TRUE: the three at False.
    const at = settledPush.status!.conditions![0]!.lastTransitionTime;
    const stale: Condition[] = [
      { type: 'Reconciling', status: 'False', reason: 'Applied', message: 'no work in progress', observedGeneration: 1, lastTransitionTime: at },
      { type: 'Stalled', status: 'False', reason: 'Applied', message: 'not stalled', observedGeneration: 1, lastTransitionTime: at },
      { type: 'Drifted', status: 'False', reason: 'NoDrift', message: 'targets match the desired content', observedGeneration: 1, lastTransitionTime: at },
    ];
    const body = { ...settledPush, status: { ...settledPush.status, conditions: [...settledPush.status!.conditions!, ...stale] } };
    await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'app', body });
    expect(types(await getPush(ns, 'app'))).toEqual(['Ready=True', 'Reconciling=False', 'Stalled=False', 'Drifted=False']);

    const since = readAudit().length;
    operator = await startTestOperator({ controller: { resyncPeriodMs: 1_000 } });
    await settled(operator);
    await sleep(4_000); // a few resyncs
    await settled(operator);
    expect(operator.reconciles.get(`${ns}/app`) ?? 0).toBeGreaterThanOrEqual(2);
    expect(statusWrites(since)).toBe(0);
    expect(types(await getPush(ns, 'app'))).toEqual(['Ready=True', 'Reconciling=False', 'Stalled=False', 'Drifted=False']);

    // A change that has something to report writes the status as this version does.
    await updateSpec(ns, 'app', (spec) => ({ ...spec, data: { v: '2' } }));
    const changed = await waitReady(ns, 'app');
    expect(changed.metadata.generation).toBe(2);
    expect(types(changed)).toEqual(['Ready=True']);
    expect(statusWrites(since)).toBe(1);
  });
});

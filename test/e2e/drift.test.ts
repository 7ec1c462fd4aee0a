import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, readConfigMap, sleep, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('drift on a managed target', () => {
  let operator: Operator;
  let ns: string;
  const operatorWrites = (name: string) => writes({ resource: 'configmaps', namespace: ns, name, userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('drift');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('is corrected under driftPolicy Correct, counted as a correction and not a new operation', async () => {
    await createPush(ns, 'fix', { targets: [{ kind: 'ConfigMap', name: 'fixed' }], data: { a: '1' } });
    const ready = await waitReady(ns, 'fix');
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'fixed' });
    cm.data = { a: 'tampered', extra: 'x' };
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'fixed', body: cm });

    await eventually(async () => (await readConfigMap(ns, 'fixed'))?.data?.a === '1', 'the drift to be corrected');
    const push = await eventually(async () => {
      const p = await getPush(ns, 'fix');
      return p.status?.driftCorrections === 1 ? p : undefined;
    }, 'driftCorrections to count 1');
    expect((await readConfigMap(ns, 'fixed'))?.data).toEqual({ a: '1' });
    expect(push.status?.operationKey).toBe(ready.status?.operationKey);
    expect(push.status?.history).toHaveLength(1);
    await sleep(500);
    expect(operatorWrites('fixed').map((w) => w.verb)).toEqual(['create', 'update']);
  });

  it('a deleted target is recreated', async () => {
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'fixed' });
    await eventually(async () => (await readConfigMap(ns, 'fixed'))?.data?.a === '1', 'the target to be recreated');
    expect(operatorWrites('fixed').map((w) => w.verb)).toEqual(['create', 'update', 'create']);
  });

  it('is only reported under driftPolicy Report', async () => {
    await createPush(ns, 'watch', { targets: [{ kind: 'ConfigMap', name: 'watched' }], data: { a: '1' }, driftPolicy: 'Report' });
    await waitReady(ns, 'watch');
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'watched' });
    cm.data = { a: 'tampered' };
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'watched', body: cm });

    const push = await waitReason(ns, 'watch', 'Drifted');
    expect(condition(push, 'Drifted')?.status).toBe('True');
    expect(push.status?.targets?.[0]?.state).toBe('Drifted');
    await sleep(500);
    expect((await readConfigMap(ns, 'watched'))?.data).toEqual({ a: 'tampered' });
    expect(operatorWrites('watched')).toHaveLength(1);

    // A deletion is drift too: reported, not undone.
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'watched' });
    await eventually(async () => (await getPush(ns, 'watch')).status?.targets?.[0]?.message?.includes('was deleted'), 'the deletion to be reported');
    await sleep(500);
    expect(await readConfigMap(ns, 'watched')).toBeUndefined();
    expect(operatorWrites('watched')).toHaveLength(1);
  });

  it('does not loop on content the apiserver re-encodes (non-canonical base64)', async () => {
    await createPush(ns, 'bytes', { targets: [{ kind: 'ConfigMap', name: 'bytes' }], binaryData: { b: 'YR==' } });
    await waitReady(ns, 'bytes');
    await sleep(1_500);
    expect(operatorWrites('bytes')).toHaveLength(1);
    expect((await readConfigMap(ns, 'bytes'))?.binaryData).toEqual({ b: 'YQ==' });
  });
});

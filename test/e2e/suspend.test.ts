import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writes } from '../support/audit.js';
import { condition, createPush, newNamespace, readConfigMap, sleep, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

describe('spec.suspend', () => {
  let operator: TestOperator;
  let ns: string;
  const operatorWrites = () => writes({ resource: 'configmaps', namespace: ns, userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('suspend');
    operator = await startTestOperator();
    await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { v: '1' } });
    await waitReady(ns, 'push');
  });
  afterAll(async () => operator?.stop());

  it('holds changes back and reports how far the targets are from the spec', async () => {
    await updateSpec(ns, 'push', (spec) => ({ ...spec, suspend: true, data: { v: '2' } }));
    const push = await waitReason(ns, 'push', 'Suspended');
    expect(condition(push, 'Ready')?.status).toBe('False');
    expect(push.status?.targets?.[0]?.state).toBe('Suspended');
    await sleep(500);
    expect((await readConfigMap(ns, 'cfg'))?.data).toEqual({ v: '1' });
    expect(operatorWrites()).toHaveLength(1);
  });

  it('applies the held change, once, on resume', async () => {
    await updateSpec(ns, 'push', (spec) => ({ ...spec, suspend: false }));
    const push = await waitReady(ns, 'push');
    expect(push.status?.history?.[0]?.generation).toBe(3);
    expect((await readConfigMap(ns, 'cfg'))?.data).toEqual({ v: '2' });
    await sleep(500);
    expect(operatorWrites().map((w) => w.verb)).toEqual(['create', 'update']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { writes } from '../support/audit.js';
import { condition, createPush, custom, newNamespace, sleep, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

async function rejection(namespace: string, spec: unknown): Promise<{ code: number; message: string }> {
  try {
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name: 'bad' }, spec },
    });
  } catch (err) {
    const e = err as { code: number; body: string };
    return { code: e.code, message: (JSON.parse(e.body) as { message: string }).message };
  }
  throw new Error('the apiserver accepted an invalid ConfigPush');
}

describe('an invalid spec', () => {
  let operator: TestOperator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('invalid');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it.each([
    ['no targets', { targets: [] }, 'spec.targets'],
    ['an unknown kind', { targets: [{ kind: 'Deployment', name: 'x' }] }, 'spec.targets[0].kind'],
    ['an invalid target name', { targets: [{ kind: 'ConfigMap', name: 'Not_Valid' }] }, 'spec.targets[0].name'],
    ['duplicate targets', { targets: [{ kind: 'ConfigMap', name: 'x' }, { kind: 'ConfigMap', name: 'x' }] }, 'duplicates'],
    ['a key in data and binaryData', { targets: [{ kind: 'ConfigMap', name: 'x' }], data: { k: 'a' }, binaryData: { k: 'YQ==' } }, 'both'],
    ['a bad data key', { targets: [{ kind: 'ConfigMap', name: 'x' }], data: { 'bad key!': 'a' } }, 'spec.data'],
    ["the operator's own label", { targets: [{ kind: 'ConfigMap', name: 'x' }], labels: { 'app.kubernetes.io/managed-by': 'me' } }, 'managed-by'],
    ["the operator's own annotations", { targets: [{ kind: 'ConfigMap', name: 'x' }], annotations: { 'configpush.io/owner-uid': 'x' } }, 'configpush.io/'],
  ])('is rejected at admission: %s', async (_what, spec, fragment) => {
    const { code, message } = await rejection(ns, spec);
    expect(code).toBe(422);
    expect(message).toContain(fragment);
  });

  it('that admission cannot see ends Ready=False with reason InvalidSpec, without a retry storm', async () => {
    // Duplicates only after defaulting: the second target names the push's own namespace explicitly.
    await createPush(ns, 'dup', { targets: [{ kind: 'ConfigMap', name: 'x' }, { kind: 'ConfigMap', name: 'x', namespace: ns }], data: { a: 'b' } });
    const push = await waitReason(ns, 'dup', 'InvalidSpec');
    expect(condition(push, 'Ready')?.status).toBe('False');
    expect(condition(push, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition(push, 'Ready')?.message).toContain('duplicates');

    await sleep(3_000);
    // The create, the finalizer patch and the status write each come back as
    // one watch event: a handful of reconciles, not a loop.
    const runs = operator.reconciles.get(`${ns}/dup`) ?? 0;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(4);
    expect(writes({ resource: 'configmaps', namespace: ns, userAgent: 'configpush-operator' })).toHaveLength(0);
  });
});

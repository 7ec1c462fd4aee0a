import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { admissionSetsFinalizer, installFinalizerPolicy, removeFinalizerPolicy } from '../support/finalizer-policy.js';
import { createPush, custom, deletePush, eventually, getPush, newNamespace, pushExists, readConfigMap, testKubeConfig, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { repoRoot } from '../support/paths.js';

/**
 * manifests/finalizer-policy.yaml: the apiserver sets the operator's
 * finalizer as a push is written, so the operator never patches it in, and
 * deletion still runs the deletionPolicy. The other e2e files run without the
 * policy, which is the path where the operator patches it in itself.
 */
describe('the finalizer set at admission (manifests/finalizer-policy.yaml)', () => {
  const kubeConfig = testKubeConfig();
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  let operator: Operator | undefined;
  let ns: string;
  // The operator's writes to a push itself (not its status): finalizer patches.
  const pushWrites = (name: string) => writes({ resource: 'configpushes', namespace: ns, name, subresource: '', userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('finalizer-policy');
    await installFinalizerPolicy(kubeConfig, repoRoot);
  });
  afterAll(async () => {
    await operator?.stop();
    await removeFinalizerPolicy(kubeConfig, repoRoot);
  });

  it('a created push carries the finalizer, and the operator applies it with no write to the push itself', async () => {
    operator = await startTestOperator();
    const created = await createPush(ns, 'fresh', { targets: [{ kind: 'ConfigMap', name: 'fresh' }], data: { a: '1' } });
    expect(created.metadata.finalizers).toEqual([FINALIZER]);
    await waitReady(ns, 'fresh');
    expect((await readConfigMap(ns, 'fresh'))?.data).toEqual({ a: '1' });
    expect(writes({ resource: 'configmaps', namespace: ns, name: 'fresh' })).toHaveLength(1);
    expect(pushWrites('fresh')).toHaveLength(0);
    expect(writes({ resource: 'configpushes', namespace: ns, name: 'fresh', subresource: 'status' }).length).toBeGreaterThan(0);
  });

  it('keeps the finalizer a PUT or a server-side apply would drop, and other finalizers with it', async () => {
    const live = await getPush(ns, 'fresh');
    const replaced = (await custom.replaceNamespacedCustomObject({
      ...base,
      namespace: ns,
      name: 'fresh',
      body: { ...live, metadata: { ...live.metadata, finalizers: ['example.com/other'] } },
    })) as ConfigPush;
    expect([...(replaced.metadata.finalizers ?? [])].sort()).toEqual(['configpush.io/finalizer', 'example.com/other']);

    // A server-side apply by a manager that never listed the finalizer, with the one it does list removed again.
    const applied = (await custom.patchNamespacedCustomObject(
      {
        ...base,
        namespace: ns,
        name: 'fresh',
        fieldManager: 'someone',
        force: true,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name: 'fresh', namespace: ns, finalizers: [] }, spec: live.spec },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    )) as ConfigPush;
    expect(applied.metadata.finalizers).toContain(FINALIZER);
    const cleared = await getPush(ns, 'fresh');
    await custom.replaceNamespacedCustomObject({ ...base, namespace: ns, name: 'fresh', body: { ...cleared, metadata: { ...cleared.metadata, finalizers: [] } } });
    expect((await getPush(ns, 'fresh')).metadata.finalizers).toEqual([FINALIZER]);
    expect(pushWrites('fresh')).toHaveLength(0);
  });

  it('deleting a push still applies its deletionPolicy; the operator then removes the finalizer', async () => {
    await createPush(ns, 'dropped', { targets: [{ kind: 'ConfigMap', name: 'dropped' }], data: { a: '1' }, deletionPolicy: 'Delete' });
    await waitReady(ns, 'dropped');
    await deletePush(ns, 'dropped');
    await eventually(async () => !(await pushExists(ns, 'dropped')), 'the push to be gone');
    expect(await readConfigMap(ns, 'dropped')).toBeUndefined();
    // The one write to the push itself: the finalizer's removal, after the cleanup.
    expect(pushWrites('dropped').map((w) => w.verb)).toEqual(['patch']);
  });

  it('a push deleted while no operator runs waits for one, which releases it', async () => {
    await operator?.stop();
    operator = undefined;
    await createPush(ns, 'unseen', { targets: [{ kind: 'ConfigMap', name: 'unseen' }], data: { a: '1' } });
    await deletePush(ns, 'unseen');
    const held = await getPush(ns, 'unseen');
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expect(held.metadata.finalizers).toEqual([FINALIZER]);

    operator = await startTestOperator();
    await eventually(async () => !(await pushExists(ns, 'unseen')), 'the push to be gone');
    expect(await readConfigMap(ns, 'unseen')).toBeUndefined();
  });

  it('without the policy the operator patches the finalizer in itself, once', async () => {
    await removeFinalizerPolicy(kubeConfig, repoRoot);
    expect(await admissionSetsFinalizer(kubeConfig)).toBe(false);
    const created = await createPush(ns, 'patched', { targets: [{ kind: 'ConfigMap', name: 'patched' }], data: { a: '1' } });
    expect(created.metadata.finalizers).toBeUndefined();
    await waitReady(ns, 'patched');
    expect((await getPush(ns, 'patched')).metadata.finalizers).toEqual([FINALIZER]);
    expect(pushWrites('patched').map((w) => w.verb)).toEqual(['patch']);
  });
});

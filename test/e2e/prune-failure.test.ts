import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { operationKey } from '../../src/core/operation-key.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, readConfigMap, sleep, testKubeConfig, updateSpec, waitReady } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

const rbac = testKubeConfig().makeApiClient(RbacAuthorizationV1Api);

/** Stays in the spec: the tenant may create, read and update it. */
const KEPT = 'alpha-cm';
/** Dropped from the spec: the tenant may create and read it, but not update it, so its Retain release is Forbidden. */
const ORPHAN = 'bravo-cm';
const SERVICE_ACCOUNT = 'pruner';

/**
 * A tenant ServiceAccount whose RBAC lets the operator (impersonating it)
 * create both ConfigMaps and read them, but update only KEPT. Create cannot be
 * restricted by resourceNames, so it is granted without them.
 */
async function tenant(namespace: string): Promise<void> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: SERVICE_ACCOUNT } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'configmaps-no-release' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: [KEPT, ORPHAN] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['update'], resourceNames: [KEPT] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'pruner-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps-no-release' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace }],
    },
  });
}

describe('a prune failure after targets were written', () => {
  let operator: TestOperator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('prune-fail');
    await tenant(ns);
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('still ends with a status write that reports it', async () => {
    const operatorWrites = (name: string, includeFailed = false) =>
      writes({ resource: 'configmaps', namespace: ns, name, subresource: '', userAgent: 'configpush-operator', includeFailed });

    // Generation 1: both targets are created (create is allowed).
    const created = await createPush(ns, 'push', {
      targets: [
        { kind: 'ConfigMap', name: KEPT },
        { kind: 'ConfigMap', name: ORPHAN },
      ],
      data: { value: 'one' },
      deletionPolicy: 'Retain',
      serviceAccountName: SERVICE_ACCOUNT,
    });
    const uid = created.metadata.uid;
    const key1 = operationKey(uid, 1);
    await waitReady(ns, 'push');
    for (const name of [KEPT, ORPHAN]) {
      const cm = await readConfigMap(ns, name);
      expect(cm?.data).toEqual({ value: 'one' });
      expect(cm?.metadata?.annotations?.[ANNOTATION.ownerUid]).toBe(uid);
      expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key1);
      expect(operatorWrites(name).map((w) => w.verb)).toEqual(['create']);
    }

    // Generation 2: only KEPT, with new data. KEPT is updated; releasing ORPHAN is an update the tenant may not make.
    const changed = await updateSpec(ns, 'push', (spec) => ({ ...spec, targets: [{ kind: 'ConfigMap', name: KEPT }], data: { value: 'two' } }));
    expect(changed.metadata.generation).toBe(2);
    const key2 = operationKey(uid, 2);

    // The new generation's target was written...
    const kept = await eventually(async () => {
      const cm = await readConfigMap(ns, KEPT);
      return cm?.metadata?.annotations?.[ANNOTATION.operationKey] === key2 ? cm : undefined;
    }, `${KEPT} to carry ${key2}`);
    expect(kept.data).toEqual({ value: 'two' });
    expect(kept.metadata?.annotations?.[ANNOTATION.ownerUid]).toBe(uid);

    // ...then the prune was tried, as the tenant, and refused with 403.
    const refused = await eventually(
      async () => {
        const failed = operatorWrites(ORPHAN, true).filter((w) => w.verb === 'update' && w.responseStatus?.code === 403);
        return failed.length > 0 ? failed : undefined;
      },
      `a Forbidden release (update) of ${ORPHAN} in the audit log`,
    );
    expect(refused[0]?.impersonatedUser?.username).toBe(`system:serviceaccount:${ns}:${SERVICE_ACCOUNT}`);

    // The status is still written for generation 2, and says what failed.
    const reportsPruneFailure = (push: ConfigPush) => {
      expect(push.metadata.generation).toBe(2);
      expect(push.status?.observedGeneration).toBe(2);
      expect(push.status?.operationKey).toBe(key2);
      const ready = condition(push, 'Ready');
      expect(ready?.status).toBe('False');
      expect(ready?.observedGeneration).toBe(2);
      expect(ready?.reason).toMatch(/^[A-Z][a-zA-Z0-9]*$/);
      expect(ready?.reason).not.toBe('Applied');
      expect(ready?.message).toContain(ORPHAN);
      expect(ready?.message).toMatch(/forbidden/i);
    };
    const firstReport = await eventually(async () => {
      const push = await getPush(ns, 'push');
      return push.status?.observedGeneration === 2 ? push : undefined;
    }, 'a status write for generation 2');
    reportsPruneFailure(firstReport);

    // Pruning failed: ORPHAN is untouched, still generation 1's and still owned by the push.
    const orphan = await readConfigMap(ns, ORPHAN);
    expect(orphan).toBeDefined();
    expect(orphan?.data).toEqual({ value: 'one' });
    expect(orphan?.metadata?.annotations?.[ANNOTATION.ownerUid]).toBe(uid);
    expect(orphan?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key1);

    // The failing prune does not make the operator write KEPT again: one create, one update for generation 2, nothing more.
    await sleep(3_000);
    expect(operatorWrites(KEPT).map((w) => w.verb)).toEqual(['create', 'update']);
    expect(operatorWrites(ORPHAN).map((w) => w.verb)).toEqual(['create']);
    expect((await readConfigMap(ns, KEPT))?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key2);
    // And the status it ended with still reports the failure.
    reportsPruneFailure(await getPush(ns, 'push'));
  });
});

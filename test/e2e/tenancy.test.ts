import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import { readAudit, writes } from '../support/audit.js';
import { acceptingPushesFrom, condition, core, createPush, newNamespace, readConfigMap, sleep, testKubeConfig, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

const rbac = testKubeConfig().makeApiClient(RbacAuthorizationV1Api);

/** A tenant ServiceAccount in `namespace`, allowed to manage ConfigMaps there and nowhere else. */
async function tenant(namespace: string): Promise<void> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'tenant' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'configmaps' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update', 'delete'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenant-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
      subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace }],
    },
  });
}

describe('tenant isolation', () => {
  let operator: TestOperator;
  let a: string;
  let b: string;

  beforeAll(async () => {
    a = await newNamespace('tenant-a');
    // B even accepts pushes from A: with a serviceAccountName, only the tenant's RBAC matters.
    b = await newNamespace('tenant-b', { [ALLOWED_SOURCES_ANNOTATION]: '*' });
    await tenant(a);
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('writes impersonate spec.serviceAccountName: allowed in its namespace, Forbidden in another, with 0 writes there', async () => {
    await createPush(a, 'home', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' }, serviceAccountName: 'tenant' });
    await waitReady(a, 'home');
    const written = writes({ resource: 'configmaps', namespace: a, name: 'cfg' });
    // Authenticated as the operator, authorized as the tenant.
    expect(written.map((w) => [w.user.username, w.impersonatedUser?.username])).toEqual([
      ['system:serviceaccount:configpush-system:configpush-operator', `system:serviceaccount:${a}:tenant`],
    ]);

    await createPush(a, 'escape', { targets: [{ kind: 'ConfigMap', name: 'cfg', namespace: b }], data: { k: 'v' }, serviceAccountName: 'tenant' });
    const push = await waitReason(a, 'escape', 'Forbidden');
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(condition(push, 'Ready')?.message).toContain('forbidden');
    await sleep(1_000);
    expect(await readConfigMap(b, 'cfg')).toBeUndefined();
    const inB = readAudit().filter((e) => e.objectRef?.namespace === b && (e.responseStatus?.code ?? 0) < 300);
    expect(inB.filter((e) => e.objectRef?.resource !== 'namespaces')).toEqual([]);
  });

  it('without a serviceAccountName, refuses a cross-namespace target until that namespace opts in', async () => {
    const c = await newNamespace('tenant-c');
    await createPush(a, 'cross', { targets: [{ kind: 'ConfigMap', name: 'shared', namespace: c }], data: { k: 'v' } });
    const refused = await waitReason(a, 'cross', 'CrossNamespaceNotAllowed');
    expect(condition(refused, 'Ready')?.message).toContain(ALLOWED_SOURCES_ANNOTATION);
    expect(writes({ resource: 'configmaps', namespace: c })).toHaveLength(0);

    // Opting in is a change to the Namespace: the operator notices it by itself.
    const ns = await core.readNamespace({ name: c });
    ns.metadata!.annotations = { ...ns.metadata?.annotations, [ALLOWED_SOURCES_ANNOTATION]: `other, ${a}` };
    await core.replaceNamespace({ name: c, body: ns });
    await waitReady(a, 'cross');
    expect((await readConfigMap(c, 'shared'))?.data).toEqual({ k: 'v' });
  });

  it('reports a cross-namespace target in a namespace that does not exist, and writes it once the namespace is created', async () => {
    const later = `gone-${a}`;
    await createPush(a, 'nowhere', { targets: [{ kind: 'ConfigMap', name: 'x', namespace: later }], data: { k: 'v' } });
    const push = await waitReason(a, 'nowhere', 'NamespaceNotFound');
    expect(condition(push, 'Stalled')?.status).toBe('True');

    // Stalled is not retried: only the Namespace's own event can bring the push back (the resync is 10 minutes away).
    await core.createNamespace({ body: { metadata: { name: later, annotations: acceptingPushesFrom(a) } } });
    await waitReady(a, 'nowhere');
    expect((await readConfigMap(later, 'x'))?.data).toEqual({ k: 'v' });
  });

  it('with --require-service-account, refuses a push without one', async () => {
    await operator.stop();
    operator = await startTestOperator({ controller: { requireServiceAccount: true } });
    await createPush(a, 'anonymous', { targets: [{ kind: 'ConfigMap', name: 'anon' }], data: { k: 'v' } });
    const push = await waitReason(a, 'anonymous', 'ServiceAccountRequired');
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(await readConfigMap(a, 'anon')).toBeUndefined();
  });
});

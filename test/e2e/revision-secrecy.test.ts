import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import { REVISION_OF_LABEL } from '../../src/core/revisions.js';
import { core, createPush, getPush, impersonating, newNamespace, testKubeConfig, updateSpec, waitReady } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

/*
 * A revision holds content. The content of a push that copies a Secret (or
 * writes Secrets) must be no more readable as a revision than the Secret
 * itself: a user who may read ControllerRevisions and ConfigPushes in the
 * push's namespace, but not Secrets, finds no value in either, and is refused
 * the revision's payload; a user who may read Secrets there reads it back.
 */

const kubeConfig = testKubeConfig();
const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** API clients acting as `user` (impersonated from the admin kubeconfig, as kubectl --as does). */
function as(user: string) {
  const configuration = impersonating(user);
  return { apps: new AppsV1Api(configuration), core: new CoreV1Api(configuration) };
}

async function grant(namespace: string, user: string, resources: { group: string; resource: string }[]): Promise<void> {
  const name = `read-${user}`;
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name }, rules: resources.map((r) => ({ apiGroups: [r.group], resources: [r.resource], verbs: ['get', 'list'] })) },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'User', name: user }] },
  });
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describe('revisions of Secret content', () => {
  let operator: TestOperator;
  let ns: string;
  const secretValue = `rev-S3CRET-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    ns = await newNamespace('rev-secrecy');
    await grant(ns, 'viewer', [
      { group: 'apps', resource: 'controllerrevisions' },
      { group: 'configpush.io', resource: 'configpushes' },
    ]);
    await grant(ns, 'reader', [
      { group: 'apps', resource: 'controllerrevisions' },
      { group: '', resource: 'secrets' },
    ]);
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('keeps a Secret-derived payload in a Secret: refused to a user who cannot read Secrets, readable to one who can', async () => {
    const target = await newNamespace('rev-secrecy-target', { [ALLOWED_SOURCES_ANNOTATION]: ns });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, data: { password: b64(secretValue) } } });
    await createPush(ns, 'db', { targets: [{ kind: 'Secret', name: 'db', namespace: target }], sources: [{ secretRef: { name: 'db' } }] });
    const { metadata } = await waitReady(ns, 'db');
    // A second revision with inline content written to a ConfigMap-free Secret push: spec data is kept with the Secret too.
    await updateSpec(ns, 'db', (s) => ({ ...s, data: { extra: `inline-${secretValue}` } }));
    await waitReady(ns, 'db');

    const viewer = as('viewer');
    const revisions = await viewer.apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: `${REVISION_OF_LABEL}=${metadata.uid}` });
    expect(revisions.items).toHaveLength(2);
    for (const revision of revisions.items) {
      const text = JSON.stringify(revision);
      expect(text).not.toContain(secretValue);
      expect(text).not.toContain(b64(secretValue));
      expect(revision.data).toEqual({ contentSecret: revision.metadata?.name });
      expect(await statusOf(viewer.core.readNamespacedSecret({ namespace: ns, name: revision.metadata!.name! }))).toBe(403);
    }
    // Nor does the push's status (history names revisions and keyed digests only).
    const push = await getPush(ns, 'db');
    expect(push.status?.history?.map((h) => h.revision)).toEqual([2, 1]);
    expect(JSON.stringify(push.status)).not.toContain(secretValue);

    // A user who may read Secrets here reads the payload back: the revision is exactly as readable as the source.
    const reader = as('reader');
    const newest = revisions.items.sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0]!;
    const payloadSecret = await reader.core.readNamespacedSecret({ namespace: ns, name: newest.metadata!.name! });
    expect(payloadSecret.type).toBe('configpush.io/revision');
    const payload = JSON.parse(Buffer.from(payloadSecret.data!['revision.json']!, 'base64').toString('utf8')) as {
      content: { data: Record<string, string>; binaryData: Record<string, string> };
      spec: { data?: Record<string, string> };
    };
    expect(payload.content.binaryData.password).toBe(b64(secretValue));
    expect(payload.spec.data).toEqual({ extra: `inline-${secretValue}` });
    // The payload Secret is never mistaken for a target: no managed-by label, no owner annotation.
    expect(payloadSecret.metadata?.labels).toEqual({ [REVISION_OF_LABEL]: metadata.uid });
    expect(Object.keys(payloadSecret.metadata?.annotations ?? {}).some((k) => k === 'configpush.io/owner-uid')).toBe(false);
  });

  it('keeps a ConfigMap push payload in the ControllerRevision itself', async () => {
    await createPush(ns, 'plain', { targets: [{ kind: 'ConfigMap', name: 'plain' }], data: { color: 'blue' } });
    const { metadata } = await waitReady(ns, 'plain');
    const [revision] = (await as('viewer').apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: `${REVISION_OF_LABEL}=${metadata.uid}` })).items;
    expect(revision?.data).toEqual({ 'revision.json': { spec: { data: { color: 'blue' } } } });
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  ApiException,
  AppsV1Api,
  AuthorizationV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type KubernetesObject,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, GROUP, MANAGED_BY_LABEL, PLURAL, VERSION } from '../../src/api/constants.js';
import { restartAnnotationKey } from '../../src/configpush/workload-restarter.js';
import { CONSUMER_VALUE_PREFIX } from '../../src/core/consumers.js';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { readAudit, writes, type AuditEvent } from '../support/audit.js';
import { core, createPush, getPush, impersonating, newNamespace, pushExists, readConfigMap, readSecret, eventually, retryOnConflict, testKubeConfig, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { OPERATOR_USERNAME } from '../support/operator-identity.js';
import { kubeconfigPath, repoRoot } from '../support/paths.js';
import { createDeployment, playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

/*
 * manifests/admission-policy.yaml on a real apiserver: a ConfigPush may only
 * cause what its author could cause directly. The operator runs (as the
 * manifests' ServiceAccount, which may write every Secret) throughout, so a
 * push the policy wrongly admitted would be acted on, and "nothing was
 * written" is a real observation, not the absence of an operator.
 */

const kubeConfig = testKubeConfig();
const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const apps = kubeConfig.makeApiClient(AppsV1Api);
const base = { group: GROUP, version: VERSION, plural: PLURAL };
const policyDocuments = loadAllYaml(readFileSync(join(repoRoot, 'manifests/admission-policy.yaml'), 'utf8')) as KubernetesObject[];
const POLICY = 'configpush-author-rights';

/** API clients that act as `user` (impersonated from the admin kubeconfig, as kubectl --as does). */
function as(user: string, group = 'system:authenticated') {
  const configuration = impersonating(user, group);
  const custom = new CustomObjectsApi(configuration);
  const authorization = new AuthorizationV1Api(configuration);
  return {
    create: (namespace: string, name: string, spec: ConfigPushSpec, dryRun?: 'All') =>
      custom.createNamespacedCustomObject({
        ...base,
        namespace,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace }, spec },
        ...(dryRun ? { dryRun } : {}),
      }) as Promise<ConfigPush>,
    remove: (namespace: string, name: string, dryRun?: 'All') =>
      custom.deleteNamespacedCustomObject({ ...base, namespace, name, ...(dryRun ? { dryRun } : {}) }) as Promise<unknown>,
    /** What the namespace controller does to each resource of a namespace being deleted. */
    removeAll: (namespace: string) => custom.deleteCollectionNamespacedCustomObject({ ...base, namespace }) as Promise<unknown>,
    /** Reads the push as this user, changes it and replaces it, again from a fresh read on a 409 (retryOnConflict). */
    edit: (namespace: string, name: string, change: (push: ConfigPush) => ConfigPush) =>
      retryOnConflict(async () => {
        const push = (await custom.getNamespacedCustomObject({ ...base, namespace, name })) as ConfigPush;
        return (await custom.replaceNamespacedCustomObject({ ...base, namespace, name, body: change(push) })) as ConfigPush;
      }),
    /** What `kubectl auth can-i <verb> <resource> -n <namespace>` answers for this user. */
    canI: async (verb: string, resource: string, namespace: string, name?: string) => {
      const [plural = '', ...group] = resource.split('.');
      const attributes = { verb, resource: plural, group: group.join('.'), namespace, ...(name ? { name } : {}) };
      return (await authorization.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } })).status?.allowed === true;
    },
  };
}

/** A Role in `namespace` and its RoleBinding to `user`. */
async function grant(namespace: string, user: string, name: string, rules: V1PolicyRule[]): Promise<void> {
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name: `${name}-${user}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'User', name: user }] },
  });
}

/** The shipped configpush-edit ClusterRole, bound in `namespace`: create, update, patch and delete ConfigPushes there. */
async function pushEditor(namespace: string, user: string): Promise<void> {
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `configpush-edit-${user}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'configpush-edit' },
      subjects: [{ kind: 'User', name: user }],
    },
  });
}

/** A Role in `namespace` bound to the ServiceAccount `name` there. */
async function serviceAccountRole(namespace: string, name: string, rules: V1PolicyRule[]): Promise<void> {
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace }] },
  });
}

const secretsRW = (verbs: string[], resourceNames?: string[]): V1PolicyRule => ({ apiGroups: [''], resources: ['secrets'], verbs, ...(resourceNames ? { resourceNames } : {}) });
const configMapsRW = (verbs: string[]): V1PolicyRule => ({ apiGroups: [''], resources: ['configmaps'], verbs });
const patchWorkloads = (resources: string[]): V1PolicyRule => ({ apiGroups: ['apps'], resources, verbs: ['patch'] });
const WORKLOAD_RESOURCES = ['deployments', 'statefulsets', 'daemonsets'];

/** A Deployment whose pod template reads ConfigMap `configMap` whole (envFrom): a consumer restartConsumers would restart. */
async function createReader(namespace: string, name: string, configMap: string): Promise<void> {
  const labels = { app: name };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1', envFrom: [{ configMapRef: { name: configMap } }] }] } },
      },
    },
  });
}

/** The refusal a create or update must end with: HTTP 403 Forbidden from this policy, naming the missing right. */
async function expectRefused(request: Promise<unknown>, message: string): Promise<void> {
  const error = await request.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, 'the request was admitted').toBeInstanceOf(ApiException);
  const api = error as ApiException<string>;
  const status = JSON.parse(api.body) as { reason?: string; message?: string };
  expect(api.code).toBe(403);
  expect(status.reason).toBe('Forbidden');
  // The whole reason, nothing after it: "<resource> "<name>" is forbidden: ValidatingAdmissionPolicy ... denied request: <message>".
  expect(status.message).toMatch(/^configpushes\.configpush\.io "[a-z0-9-]+" is forbidden: /);
  expect(status.message?.endsWith(`: ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: ${message}`), status.message).toBe(true);
}

/** Successful writes to one object, by anyone. */
function writesTo(resource: string, namespace: string, name: string, events?: AuditEvent[]): AuditEvent[] {
  return writes({ resource, namespace, name }, events);
}

async function installPolicy(): Promise<void> {
  for (const doc of policyDocuments) {
    const live = await objects.read(doc as KubernetesObject & { metadata: { name: string } }).catch(() => undefined);
    if (live) await objects.replace({ ...doc, metadata: { ...doc.metadata, resourceVersion: live.metadata?.resourceVersion ?? '' } } as KubernetesObject);
    else await objects.create(doc);
  }
}

async function removeBinding(): Promise<void> {
  await deletePolicyObject('ValidatingAdmissionPolicyBinding');
}

async function deletePolicyObject(kind: string): Promise<void> {
  const doc = policyDocuments.find((d) => d.kind === kind);
  if (doc) await objects.delete(doc).catch((err: unknown) => (err instanceof ApiException && err.code === 404 ? undefined : Promise.reject(err)));
}

/**
 * The apiserver picks up a new policy or binding asynchronously: probe with a
 * dry-run create by a user who may create ConfigPushes but no Secrets, until
 * the policy answers (or, after removing the binding, until it no longer does).
 */
let probeNamespace = '';
async function policyActive(): Promise<boolean> {
  try {
    await as('probe').create(probeNamespace, 'probe', { targets: [{ kind: 'Secret', name: 'probe' }], data: { k: 'v' } }, 'All');
    return false;
  } catch (err) {
    if (err instanceof ApiException && err.code === 403 && String(err.body).includes(POLICY)) return true;
    throw err;
  }
}

describe('a ConfigPush may only cause what its author could cause (manifests/admission-policy.yaml)', () => {
  let operator: TestOperator;

  beforeAll(async () => {
    probeNamespace = await newNamespace('authz-probe');
    await pushEditor(probeNamespace, 'probe');
    await installPolicy();
    await eventually(policyActive, 'the admission policy to take effect');
    operator = await startTestOperator();
  });

  afterAll(async () => {
    await operator?.stop();
    // Other test files create pushes as admin and must not depend on this policy.
    await removeBinding();
    await deletePolicyObject('ValidatingAdmissionPolicy');
  });

  it('1. refuses alice (configpush-edit only) adopting a Secret she may not update: 403 naming the right, and the Secret is untouched', async () => {
    const ns = await newNamespace('authz-adopt');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
    await pushEditor(ns, 'alice');
    const alice = as('alice');
    // What kubectl auth can-i says: she may manage ConfigPushes, not Secrets.
    expect(await alice.canI('create', 'configpushes.configpush.io', ns)).toBe(true);
    for (const verb of ['get', 'create', 'update']) expect(await alice.canI(verb, 'secrets', ns, 'db')).toBe(false);

    const spec: ConfigPushSpec = { adopt: true, targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'alice-was-here' } };
    const message = `alice may not update secrets ${ns}/db: a ConfigPush may only write what its author could write`;
    await expectRefused(alice.create(ns, 'takeover', spec), message);

    // The same through kubectl, as a user would see it.
    const manifest = JSON.stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name: 'takeover', namespace: ns }, spec });
    const kubectl = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, '--as', 'alice', '--as-group', 'system:authenticated', 'apply', '-f', '-'], {
      input: manifest,
      encoding: 'utf8',
    });
    expect(kubectl.error).toBeUndefined();
    expect(kubectl.status).toBe(1);
    expect(kubectl.stderr).toContain(`is forbidden: ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: ${message}\n`);

    await settled(operator);
    expect(await pushExists(ns, 'takeover')).toBe(false);
    expect(Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('original');
    const audit = readAudit();
    // The only write to the Secret is its creation; both refusals are in the audit log as 403s by alice.
    expect(writesTo('secrets', ns, 'db', audit).map((w) => w.verb)).toEqual(['create']);
    const refused = writes({ resource: 'configpushes', namespace: ns, includeFailed: true }, audit);
    expect(refused.map((w) => [w.impersonatedUser?.username, w.responseStatus?.code])).toEqual([
      ['alice', 403],
      ['alice', 403],
    ]);
  });

  describe('2. deletion', () => {
    it('refuses deletionPolicy Delete on a target its author may write but not delete; with Retain the same push is admitted', async () => {
      const ns = await newNamespace('authz-delete');
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
      await pushEditor(ns, 'dora');
      await grant(ns, 'dora', 'secrets-write', [secretsRW(['get', 'create', 'update'])]);
      const dora = as('dora');
      expect(await dora.canI('delete', 'secrets', ns, 'db')).toBe(false);

      const spec: ConfigPushSpec = { adopt: true, deletionPolicy: 'Delete', targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'dora' } };
      await expectRefused(
        dora.create(ns, 'doomed', spec),
        `dora may not delete secrets ${ns}/db: a ConfigPush may only delete what its author could delete (deletionPolicy Delete)`,
      );
      await settled(operator);
      expect(await pushExists(ns, 'doomed')).toBe(false);
      expect(writesTo('secrets', ns, 'db').map((w) => w.verb)).toEqual(['create']);

      // Her write rights are enough for the same push with Retain: the refusal was about delete alone.
      await dora.create(ns, 'kept', { ...spec, deletionPolicy: 'Retain' });
      await waitReady(ns, 'kept');
      expect(Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('dora');
    });

    it('refuses an update that drops a target which deletionPolicy Delete would then delete, when the author may not delete it', async () => {
      const ns = await newNamespace('authz-prune');
      // Rights name by name (resourceNames): everything on "keep", nothing on "drop"; create cannot be scoped by name.
      await pushEditor(ns, 'dora');
      await grant(ns, 'dora', 'keep-only', [secretsRW(['get', 'update', 'delete'], ['keep']), secretsRW(['create'])]);
      await createPush(ns, 'pair', { deletionPolicy: 'Delete', targets: [{ kind: 'Secret', name: 'keep' }, { kind: 'Secret', name: 'drop' }], data: { k: 'v' } });
      await waitReady(ns, 'pair');
      const before = await getPush(ns, 'pair');

      const dora = as('dora');
      await expectRefused(
        dora.edit(ns, 'pair', (push) => ({ ...push, spec: { ...push.spec, targets: [{ kind: 'Secret' as const, name: 'keep' }] } })),
        `dora may not delete secrets ${ns}/drop: a ConfigPush may only delete what its author could delete (spec.targets no longer names it, and deletionPolicy Delete deletes it)`,
      );
      await settled(operator);
      expect((await getPush(ns, 'pair')).metadata.generation).toBe(before.metadata.generation);
      expect(await readSecret(ns, 'drop')).toBeDefined();
      expect(writesTo('secrets', ns, 'drop').map((w) => w.verb)).toEqual(['create']);

      // Her name-scoped grant does admit a push of her own that names only "keep" (a dry run: "pair" owns it).
      await dora.create(ns, 'mine', { deletionPolicy: 'Delete', targets: [{ kind: 'Secret', name: 'keep' }], data: { k: 'v' } }, 'All');
    });

    it('refuses deleting a deletionPolicy Delete push to a user who may delete ConfigPushes but not its target; allowed once she may, the operator deletes it', async () => {
      const ns = await newNamespace('authz-delpush');
      await createPush(ns, 'doomed', { deletionPolicy: 'Delete', targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'admin' } });
      await waitReady(ns, 'doomed');
      await pushEditor(ns, 'erin');
      const erin = as('erin');
      expect(await erin.canI('delete', 'configpushes.configpush.io', ns, 'doomed')).toBe(true);
      expect(await erin.canI('delete', 'secrets', ns, 'db')).toBe(false);

      const message = `erin may not delete secrets ${ns}/db: whoever deletes a ConfigPush must be able to delete what it deletes (deletionPolicy Delete)`;
      await expectRefused(erin.remove(ns, 'doomed'), message);
      // kubectl delete says the same.
      const kubectl = spawnSync(
        'kubectl',
        ['--kubeconfig', kubeconfigPath, '--as', 'erin', '--as-group', 'system:authenticated', 'delete', '-n', ns, `${PLURAL}.${GROUP}`, 'doomed'],
        { encoding: 'utf8' },
      );
      expect(kubectl.status).toBe(1);
      expect(kubectl.stderr).toContain(`is forbidden: ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: ${message}\n`);

      await settled(operator);
      // Nothing happened: the push is not even Terminating, and the Secret was never deleted.
      expect((await getPush(ns, 'doomed')).metadata.deletionTimestamp).toBeUndefined();
      expect(Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('admin');
      let audit = readAudit();
      expect(writesTo('secrets', ns, 'db', audit).map((w) => w.verb)).not.toContain('delete');
      const refused = writes({ resource: 'configpushes', namespace: ns, name: 'doomed', includeFailed: true }, audit).filter((w) => w.verb === 'delete');
      expect(refused.map((w) => [w.impersonatedUser?.username, w.responseStatus?.code])).toEqual([
        ['erin', 403],
        ['erin', 403],
      ]);

      // Granted delete on that Secret (by name), she may delete the push, and the operator deletes the Secret for it.
      await grant(ns, 'erin', 'delete-db', [secretsRW(['delete'], ['db'])]);
      await eventually(() => erin.canI('delete', 'secrets', ns, 'db'), 'the grant to take effect');
      await erin.remove(ns, 'doomed');
      await eventually(async () => !(await pushExists(ns, 'doomed')), 'the push to be finalized and gone');
      expect(await readSecret(ns, 'db')).toBeUndefined();
      audit = readAudit();
      expect(writesTo('secrets', ns, 'db', audit).filter((w) => w.verb === 'delete').map((w) => w.user.username)).toEqual([OPERATOR_USERNAME]);
    });

    it('deleting a deletionPolicy Retain push needs no right on its targets (the operator only releases them)', async () => {
      const ns = await newNamespace('authz-delretain');
      await createPush(ns, 'kept', { deletionPolicy: 'Retain', targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'admin' } });
      await waitReady(ns, 'kept');
      await pushEditor(ns, 'rhea');
      const rhea = as('rhea');
      for (const verb of ['get', 'update', 'delete']) expect(await rhea.canI(verb, 'secrets', ns, 'db')).toBe(false);

      await rhea.remove(ns, 'kept');
      await eventually(async () => !(await pushExists(ns, 'kept')), 'the push to be finalized and gone');
      // The Secret stays, its content untouched, only the operator's own markers removed.
      const secret = await readSecret(ns, 'db');
      expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString()).toBe('admin');
      expect(secret?.metadata?.labels?.[MANAGED_BY_LABEL]).toBeUndefined();
      expect(writesTo('secrets', ns, 'db').map((w) => w.verb)).not.toContain('delete');
    });

    it('deleting the namespace of a deletionPolicy Delete push still works: the namespace controller is never refused, and the namespace goes away', async () => {
      const ns = await newNamespace('authz-delns');
      await createPush(ns, 'doomed', { deletionPolicy: 'Delete', targets: [{ kind: 'Secret', name: 'db' }, { kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
      await waitReady(ns, 'doomed');
      const started = Date.now();
      await core.deleteNamespace({ name: ns });

      // This control plane has no controller-manager: play the namespace controller with its own identity (its
      // bootstrap RBAC) as it empties a namespace: a deletecollection per resource, then the finalize call.
      const namespaceController = as('system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccounts');
      await namespaceController.removeAll(ns);
      await eventually(async () => !(await pushExists(ns, 'doomed')), 'the operator to finalize the push in the terminating namespace');
      expect(await readSecret(ns, 'db')).toBeUndefined();
      expect(await readConfigMap(ns, 'cfg')).toBeUndefined();
      const namespace = await core.readNamespace({ name: ns });
      await core.replaceNamespaceFinalize({ name: ns, body: { ...namespace, spec: { finalizers: [] } } });
      await eventually(
        () => core.readNamespace({ name: ns }).then(() => false, (err: unknown) => err instanceof ApiException && err.code === 404),
        'the namespace to be gone',
      );
      const seconds = (Date.now() - started) / 1000;
      expect(seconds).toBeLessThan(20);
      // No deletion was refused (a 404 from a finalizer patch racing the push's removal is not a refusal).
      const refusals = writes({ resource: 'configpushes', namespace: ns, includeFailed: true }).filter((w) => w.responseStatus?.code === 403);
      expect(refusals).toEqual([]);
      const deletions = writes({ resource: 'configpushes', namespace: ns }).filter((w) => w.verb === 'deletecollection' || w.verb === 'delete');
      expect(deletions.map((w) => [w.verb, w.impersonatedUser?.username])).toEqual([['deletecollection', 'system:serviceaccount:kube-system:namespace-controller']]);
    });

    it('exempts the cluster\'s own deleters by name: the controller-manager identity passes where a user with the same grant is refused', async () => {
      // A controller-manager without --use-service-account-credentials deletes as system:kube-controller-manager,
      // whose bootstrap role may not delete ConfigMaps: without the exemption it could not empty this namespace.
      const ns = await newNamespace('authz-delexempt');
      await createPush(ns, 'doomed', { deletionPolicy: 'Delete', targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
      await waitReady(ns, 'doomed');
      const controllerManager = as('system:kube-controller-manager');
      await pushEditor(ns, 'system:kube-controller-manager');
      await pushEditor(ns, 'cm-lookalike');
      expect(await controllerManager.canI('delete', 'configmaps', ns, 'cfg')).toBe(false);

      // Dry runs: admission runs, nothing is deleted.
      await expectRefused(
        as('cm-lookalike').remove(ns, 'doomed', 'All'),
        `cm-lookalike may not delete configmaps ${ns}/cfg: whoever deletes a ConfigPush must be able to delete what it deletes (deletionPolicy Delete)`,
      );
      await controllerManager.remove(ns, 'doomed', 'All');
      expect((await getPush(ns, 'doomed')).metadata.deletionTimestamp).toBeUndefined();
      expect(await readConfigMap(ns, 'cfg')).toBeDefined();
    });
  });

  it('3. refuses spec.rollout.restart of a Deployment its author may not patch, and the Deployment is untouched', async () => {
    const ns = await newNamespace('authz-restart');
    await createDeployment(ns, 'web');
    await pushEditor(ns, 'rob');
    await grant(ns, 'rob', 'configmaps-write', [configMapsRW(['get', 'create', 'update'])]);
    expect(await as('rob').canI('patch', 'deployments.apps', ns, 'web')).toBe(false);

    await expectRefused(
      as('rob').create(ns, 'roll', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' }, rollout: { restart: [{ kind: 'Deployment', name: 'web' }] } }),
      `rob may not patch deployments.apps ${ns}/web: a ConfigPush may only restart what its author could restart (spec.rollout.restart[0])`,
    );
    await settled(operator);
    expect(await pushExists(ns, 'roll')).toBe(false);
    expect(await readConfigMap(ns, 'cfg')).toBeUndefined();
    expect(writes({ resource: 'deployments', namespace: ns, name: 'web' }).map((w) => w.verb)).toEqual(['create']);
    const web = await apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(web.spec?.template.metadata?.annotations ?? {}).toEqual({});
  });

  it('3b. refuses spec.rollout.restartConsumers (on create and when turned on) to an author who may not patch every workload kind of the target namespace; admits it once she may', async () => {
    const ns = await newNamespace('authz-consumers');
    // A consumer of the target: a push admitted by mistake would restart it.
    await createReader(ns, 'reader', 'cfg');
    await pushEditor(ns, 'cora');
    await grant(ns, 'cora', 'configmaps-write', [configMapsRW(['get', 'create', 'update'])]);
    const cora = as('cora');
    for (const r of WORKLOAD_RESOURCES) expect(await cora.canI('patch', `${r}.apps`, ns)).toBe(false);
    // The right is namespace-wide: which workloads consume the target is decided later, by the operator.
    const refusal = (resource: string) =>
      `cora may not patch ${resource}.apps in namespace ${ns}: a ConfigPush may only restart what its author could restart (spec.rollout.restartConsumers)`;

    const plain: ConfigPushSpec = { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } };
    await expectRefused(cora.create(ns, 'consumers', { ...plain, rollout: { restartConsumers: true } }), refusal('deployments'));
    await settled(operator);
    expect(await pushExists(ns, 'consumers')).toBe(false);
    expect(await readConfigMap(ns, 'cfg')).toBeUndefined();
    let audit = readAudit();
    expect(writes({ resource: 'configmaps', namespace: ns }, audit)).toEqual([]);
    expect(writes({ resource: 'deployments', namespace: ns, name: 'reader' }, audit).map((w) => w.verb)).toEqual(['create']);
    expect(
      writes({ resource: 'configpushes', namespace: ns, includeFailed: true }, audit).map((w) => [w.verb, w.impersonatedUser?.username, w.responseStatus?.code]),
    ).toEqual([['create', 'cora', 403]]);

    // Without the field the same push is hers to make: the refusal was about the restarts alone.
    await cora.create(ns, 'consumers', plain);
    const ready = await waitReady(ns, 'consumers');
    expect((await readConfigMap(ns, 'cfg'))?.data).toEqual({ k: 'v' });

    // Turning it on later is a spec change, checked like a create; patch on Deployments alone is not enough.
    const turnOn = () => cora.edit(ns, 'consumers', (push) => ({ ...push, spec: { ...push.spec, rollout: { restartConsumers: true } } }));
    await expectRefused(turnOn(), refusal('deployments'));
    await grant(ns, 'cora', 'deployments-patch', [patchWorkloads(['deployments'])]);
    await eventually(() => cora.canI('patch', 'deployments.apps', ns), 'the Deployment grant to take effect');
    await expectRefused(turnOn(), refusal('statefulsets'));
    await settled(operator);
    expect((await getPush(ns, 'consumers')).metadata.generation).toBe(ready.metadata.generation);
    audit = readAudit();
    expect(writes({ resource: 'deployments', namespace: ns, name: 'reader' }, audit).map((w) => w.verb)).toEqual(['create']);
    expect(
      writes({ resource: 'configpushes', namespace: ns, includeFailed: true }, audit)
        // A 409 is a race with the operator's status write, retried from a fresh read: not a decision about her rights.
        .filter((w) => w.impersonatedUser?.username === 'cora' && w.responseStatus?.code !== 409)
        .map((w) => [w.verb, w.responseStatus?.code]),
    ).toEqual([
      ['create', 403],
      ['create', 201],
      ['update', 403],
      ['update', 403],
    ]);

    // With patch on all three kinds there she may, and the operator restarts the consumer (first seen: once).
    await grant(ns, 'cora', 'workloads-patch', [patchWorkloads(['statefulsets', 'daemonsets'])]);
    await eventually(async () => (await cora.canI('patch', 'statefulsets.apps', ns)) && cora.canI('patch', 'daemonsets.apps', ns), 'the grant to take effect');
    const controller: FakeDeploymentController = playDeploymentController(() => [ns]);
    try {
      await turnOn();
      await waitReady(ns, 'consumers');
    } finally {
      await controller.stop();
    }
    const admitted = await getPush(ns, 'consumers');
    expect(admitted.spec.rollout?.restartConsumers).toBe(true);
    const reader = await apps.readNamespacedDeployment({ namespace: ns, name: 'reader' });
    expect(reader.spec?.template.metadata?.annotations?.[restartAnnotationKey(admitted.metadata.uid ?? '')]).toMatch(new RegExp(`^${CONSUMER_VALUE_PREFIX}[0-9a-f]{32}$`));
    const restarts = writes({ resource: 'deployments', namespace: ns, name: 'reader', subresource: '' }).filter((w) => w.verb === 'patch');
    expect(restarts.map((w) => w.user.username)).toEqual([OPERATOR_USERNAME]);
  });

  it('3c. requires restartConsumers\' patch rights in every namespace when a target has a namespaceSelector', async () => {
    const label = `authz-${Math.random().toString(36).slice(2, 8)}`;
    const home = await newNamespace('authz-consumers-fanout');
    const matched = await newNamespace('authz-consumers-matched', { [ALLOWED_SOURCES_ANNOTATION]: home }, { fanout: label });
    await pushEditor(home, 'nico');
    // Every workload kind namespace-wide in both namespaces that exist today: not enough for a namespace that matches later.
    for (const ns of [home, matched]) await grant(ns, 'nico', 'workloads-patch', [patchWorkloads(WORKLOAD_RESOURCES)]);
    const targetRights = `${label}-nico-configmaps`;
    const restartRights = `${label}-nico-workloads`;
    const clusterGrant = async (name: string, rules: V1PolicyRule[]) => {
      await rbac.createClusterRole({ body: { metadata: { name }, rules } });
      await rbac.createClusterRoleBinding({
        body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'User', name: 'nico' }] },
      });
    };
    const spec: ConfigPushSpec = {
      targets: [{ kind: 'ConfigMap', name: 'cfg', namespaceSelector: { matchLabels: { fanout: label } } }],
      data: { k: 'v' },
      rollout: { restartConsumers: true },
    };
    try {
      // The selector target's own rights cluster-wide, so that the restart is what is missing.
      await clusterGrant(targetRights, [configMapsRW(['get', 'create', 'update'])]);
      await eventually(() => as('nico').canI('update', 'configmaps', matched, 'cfg'), 'the ConfigMap grant to take effect');
      await expectRefused(
        as('nico').create(home, 'fanout', spec, 'All'),
        `nico may not patch deployments.apps in every namespace: a ConfigPush may only restart what its author could restart` +
          ` (spec.rollout.restartConsumers, in every namespace because a target has a namespaceSelector)`,
      );
      await clusterGrant(restartRights, [patchWorkloads(WORKLOAD_RESOURCES)]);
      await eventually(() => as('nico').canI('patch', 'daemonsets.apps', ''), 'the workload grant to take effect');
      await as('nico').create(home, 'fanout', spec, 'All');
    } finally {
      for (const name of [targetRights, restartRights]) {
        await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
        await rbac.deleteClusterRole({ name }).catch(() => undefined);
      }
    }
    expect(await pushExists(home, 'fanout')).toBe(false);
  });

  it('4. refuses a cross-namespace target in a namespace that opted in by annotation, where its author has no rights', async () => {
    const home = await newNamespace('authz-home');
    // The opt-in only lets the operator write there; it grants carol nothing.
    const other = await newNamespace('authz-other', { [ALLOWED_SOURCES_ANNOTATION]: home });
    await core.createNamespacedSecret({ namespace: other, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
    await pushEditor(home, 'carol');
    await grant(home, 'carol', 'secrets-write', [secretsRW(['get', 'create', 'update', 'delete'])]);
    expect(await as('carol').canI('update', 'secrets', other, 'db')).toBe(false);

    await expectRefused(
      as('carol').create(home, 'reach', { adopt: true, targets: [{ kind: 'Secret', name: 'db', namespace: other }], data: { password: 'carol' } }),
      `carol may not update secrets ${other}/db: a ConfigPush may only write what its author could write`,
    );
    await settled(operator);
    expect(await pushExists(home, 'reach')).toBe(false);
    expect(Buffer.from((await readSecret(other, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('original');
    expect(writesTo('secrets', other, 'db').map((w) => w.verb)).toEqual(['create']);
  });

  it('5. refuses a serviceAccountName its author may not impersonate (a more privileged ServiceAccount of the namespace)', async () => {
    const ns = await newNamespace('authz-sa');
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'deployer' } } });
    await serviceAccountRole(ns, 'deployer', [secretsRW(['get', 'create', 'update', 'delete']), configMapsRW(['get', 'create', 'update', 'delete'])]);
    await pushEditor(ns, 'sam');
    await grant(ns, 'sam', 'configmaps-write', [configMapsRW(['get', 'create', 'update'])]);
    expect(await as('sam').canI('impersonate', 'serviceaccounts', ns, 'deployer')).toBe(false);

    await expectRefused(
      as('sam').create(ns, 'borrowed', { serviceAccountName: 'deployer', targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } }),
      `sam may not impersonate serviceaccounts ${ns}/deployer: a ConfigPush may only act as a ServiceAccount its author may impersonate (spec.serviceAccountName)`,
    );
    await settled(operator);
    expect(await pushExists(ns, 'borrowed')).toBe(false);
    expect(await readConfigMap(ns, 'cfg')).toBeUndefined();
    expect(writes({ resource: 'configmaps', namespace: ns })).toEqual([]);
  });

  it('refuses spec.sources naming a Secret its author may not read; admits it once she may', async () => {
    const ns = await newNamespace('authz-sources');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
    await pushEditor(ns, 'sid');
    // Every right on the target, none on the source.
    await grant(ns, 'sid', 'copy-target', [secretsRW(['get', 'update'], ['copy']), secretsRW(['create'])]);
    expect(await as('sid').canI('get', 'secrets', ns, 'db')).toBe(false);

    const spec: ConfigPushSpec = { targets: [{ kind: 'Secret', name: 'copy' }], sources: [{ secretRef: { name: 'db' } }] };
    await expectRefused(
      as('sid').create(ns, 'copier', spec),
      `sid may not get secrets ${ns}/db: a ConfigPush may only read what its author could read (spec.sources[0])`,
    );
    await settled(operator);
    expect(await pushExists(ns, 'copier')).toBe(false);
    expect(await readSecret(ns, 'copy')).toBeUndefined();

    await grant(ns, 'sid', 'read-source', [secretsRW(['get'], ['db'])]);
    await as('sid').create(ns, 'copier', spec, 'All');
  });

  it('6. refuses a namespaceSelector target without the rights in every namespace; admits it once they are granted cluster-wide', async () => {
    const label = `authz-${Math.random().toString(36).slice(2, 8)}`;
    const home = await newNamespace('authz-fanout');
    const matched = await newNamespace('authz-matched', { [ALLOWED_SOURCES_ANNOTATION]: home }, { fanout: label });
    await pushEditor(home, 'nina');
    // Rights in both namespaces she can see today are not enough: a namespace that matches later is not known at admission.
    for (const ns of [home, matched]) await grant(ns, 'nina', 'configmaps-write', [configMapsRW(['get', 'create', 'update'])]);

    const spec: ConfigPushSpec = { targets: [{ kind: 'ConfigMap', name: 'cfg', namespaceSelector: { matchLabels: { fanout: label } } }], data: { k: 'v' } };
    await expectRefused(
      as('nina').create(home, 'fanout', spec),
      `nina may not update configmaps named cfg in every namespace: a ConfigPush may only write what its author could write` +
        ` (a target with a namespaceSelector: admission cannot know its namespaces, so it needs the right in every namespace)`,
    );
    await settled(operator);
    expect(await pushExists(home, 'fanout')).toBe(false);
    expect(writes({ resource: 'configmaps', namespace: matched })).toEqual([]);

    // Cluster-wide, scoped to the name where RBAC can scope it (create cannot be).
    await rbac.createClusterRole({
      body: {
        metadata: { name: `${label}-nina` },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['cfg'] }, configMapsRW(['create'])],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${label}-nina` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${label}-nina` },
        subjects: [{ kind: 'User', name: 'nina' }],
      },
    });
    try {
      await as('nina').create(home, 'fanout', spec);
      // Both layers hold: admission (nina's rights) and the operator's own rule (the matched namespace opted in).
      await waitReady(home, 'fanout');
      expect((await readConfigMap(matched, 'cfg'))?.data).toEqual({ k: 'v' });
    } finally {
      await rbac.deleteClusterRoleBinding({ name: `${label}-nina` });
      await rbac.deleteClusterRole({ name: `${label}-nina` });
    }
  });

  it('7. admits an author with every right: the operator adopts, impersonates and restarts; (8.) its finalizer and status writes pass the policy', async () => {
    const ns = await newNamespace('authz-allowed');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
    await createDeployment(ns, 'web');
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'pusher' } } });
    const pusher = `system:serviceaccount:${ns}:pusher`;
    await serviceAccountRole(ns, 'pusher', [secretsRW(['get', 'create', 'update', 'delete']), { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'patch'] }]);
    await pushEditor(ns, 'ursula');
    await grant(ns, 'ursula', 'owner', [
      secretsRW(['get', 'create', 'update', 'delete']),
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: ['web'] },
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['pusher'] },
    ]);

    const controller: FakeDeploymentController = playDeploymentController(() => [ns]);
    try {
      await as('ursula').create(ns, 'full', {
        adopt: true,
        deletionPolicy: 'Delete',
        serviceAccountName: 'pusher',
        targets: [{ kind: 'Secret', name: 'db' }],
        data: { password: 'ursula' },
        rollout: { restart: [{ kind: 'Deployment', name: 'web' }] },
      });
      await waitReady(ns, 'full');
    } finally {
      await controller.stop();
    }
    expect(Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('ursula');
    const audit = readAudit();
    // The write and the restart: authenticated as the operator, authorized as the tenant's ServiceAccount.
    const secretWrites = writesTo('secrets', ns, 'db', audit).filter((w) => w.verb !== 'create');
    expect(secretWrites.map((w) => [w.verb, w.user.username, w.impersonatedUser?.username])).toEqual([['update', OPERATOR_USERNAME, pusher]]);
    expect(writes({ resource: 'deployments', namespace: ns, name: 'web' }, audit).filter((w) => w.verb === 'patch').map((w) => w.impersonatedUser?.username)).toEqual([pusher]);
    // 8: the operator's own writes to the push pass under the policy: the finalizer (a patch that leaves spec alone) and status.
    const pushWrites = writes({ resource: 'configpushes', namespace: ns, name: 'full' }, audit).filter((w) => w.user.username === OPERATOR_USERNAME);
    expect(pushWrites.some((w) => w.verb === 'patch' && (w.objectRef?.subresource ?? '') === '')).toBe(true);
    expect(pushWrites.some((w) => w.verb === 'update' && w.objectRef?.subresource === 'status')).toBe(true);
    expect(writes({ resource: 'configpushes', namespace: ns, name: 'full', includeFailed: true }, audit).filter((w) => (w.responseStatus?.code ?? 0) === 403)).toEqual([]);
  });

  it('8. after its author loses the rights, an update that leaves the spec alone passes and a spec change is refused; the push keeps working', async () => {
    const ns = await newNamespace('authz-revoked');
    await pushEditor(ns, 'victor');
    await grant(ns, 'victor', 'secrets-write', [secretsRW(['get', 'create', 'update'])]);
    const victor = as('victor');
    await victor.create(ns, 'owned', { targets: [{ kind: 'Secret', name: 'app' }], data: { token: 'one' } });
    const ready = await waitReady(ns, 'owned');

    await rbac.deleteNamespacedRoleBinding({ namespace: ns, name: 'secrets-write-victor' });
    await eventually(async () => !(await victor.canI('update', 'secrets', ns, 'app')), 'the revocation to take effect');

    const labelled = await victor.edit(ns, 'owned', (fresh) => ({ ...fresh, metadata: { ...fresh.metadata, labels: { team: 'a' } } }));
    expect(labelled.metadata.labels).toEqual({ team: 'a' });
    expect(labelled.metadata.generation).toBe(ready.metadata.generation);

    await expectRefused(
      victor.edit(ns, 'owned', (current) => ({ ...current, spec: { ...current.spec, data: { token: 'two' } } })),
      `victor may not update secrets ${ns}/app: a ConfigPush may only write what its author could write`,
    );
    await settled(operator);
    const after = await getPush(ns, 'owned');
    expect(after.spec.data).toEqual({ token: 'one' });
    expect(after.status?.observedGeneration).toBe(ready.metadata.generation);
    expect(Buffer.from((await readSecret(ns, 'app'))?.data?.token ?? '', 'base64').toString()).toBe('one');
  });

  it('a push admitted before the policy existed is not re-checked: it keeps working until its spec changes', async () => {
    const ns = await newNamespace('authz-legacy');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, stringData: { password: 'original' } } });
    await pushEditor(ns, 'mallory');
    const mallory = as('mallory');
    await removeBinding();
    try {
      await eventually(async () => !(await policyActive()), 'the policy binding to be gone');
      // Without the policy: the confused deputy, as before this change.
      await mallory.create(ns, 'legacy', { adopt: true, targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'mallory-was-here' } });
      await waitReady(ns, 'legacy');
    } finally {
      await installPolicy();
      await eventually(policyActive, 'the policy to take effect again');
    }
    expect(Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString()).toBe('mallory-was-here');

    // Admission does not re-run on existing objects: the operator still enforces this push (it corrects drift).
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'db' });
    await core.replaceNamespacedSecret({ namespace: ns, name: 'db', body: { ...secret, data: { ...secret.data, password: Buffer.from('restored-by-admin').toString('base64') } } });
    await eventually(
      async () => Buffer.from((await readSecret(ns, 'db'))?.data?.password ?? '', 'base64').toString() === 'mallory-was-here',
      'the existing push to correct the drift',
    );
    // Her next spec change is checked like any other.
    await expectRefused(
      mallory.edit(ns, 'legacy', (push) => ({ ...push, spec: { ...push.spec, data: { password: 'again' } } })),
      `mallory may not update secrets ${ns}/db: a ConfigPush may only write what its author could write`,
    );
  });
});

describe('manifests/components/unsafe-no-author-checks', () => {
  /** The kinds and names `kubectl kustomize` renders for a kustomization. */
  function rendered(dir: string): string[] {
    const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    if (result.error) throw new Error(`kubectl is needed for this test: ${result.error.message}`);
    expect(result.stderr).toBe('');
    return (loadAllYaml(result.stdout) as KubernetesObject[]).map((o) => `${o.kind}/${o.metadata?.name}`).sort();
  }

  it('is opt-in: the default install has the policy and its binding, an overlay with the component has neither and nothing else removed', () => {
    const installed = rendered(join(repoRoot, 'manifests'));
    expect(installed).toContain(`ValidatingAdmissionPolicy/${POLICY}`);
    expect(installed).toContain(`ValidatingAdmissionPolicyBinding/${POLICY}`);

    const overlay = mkdtempSync(join(tmpdir(), 'authz-overlay-'));
    try {
      const manifests = relative(overlay, join(repoRoot, 'manifests'));
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `resources:\n  - ${manifests}\ncomponents:\n  - ${manifests}/components/unsafe-no-author-checks\n`,
      );
      expect(rendered(overlay)).toEqual(installed.filter((id) => !id.startsWith('ValidatingAdmissionPolicy')));
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });
});

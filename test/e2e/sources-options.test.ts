import { randomBytes } from 'node:crypto';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, GROUP, PLURAL, SOURCE_COPY_TO_ANNOTATION, VERSION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, custom, eventually, getPush, newNamespace, readConfigMap, readSecret, sleep, testKubeConfig, waitReady, waitReason } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { b64, createConfigMap, createSecret, decoded, editConfigMap, editSecret } from '../support/source-objects.js';

/*
 * spec.sources, option by option, on a real apiserver: items, `as`, prefix,
 * optional, ConfigMap sources, precedence of inline data, the Secret ->
 * ConfigMap refusal, the cross-namespace opt-in, missing keys and RBAC, and
 * source edits that change no copied byte. Target writes are counted in the
 * audit log.
 */

const OPERATOR = { userAgent: 'configpush-operator' };
const rbac = testKubeConfig().makeApiClient(RbacAuthorizationV1Api);

describe('spec.sources options', () => {
  let operator: TestOperator;
  let ns: string;
  let shared: string;

  const targetWrites = (resource: 'secrets' | 'configmaps', name: string, namespace = ns) => writes({ resource, namespace, name, ...OPERATOR });

  beforeAll(async () => {
    ns = await newNamespace('srcopt');
    shared = await newNamespace('srcopt-shared');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('items select and rename, prefix prepends, an absent optional source adds nothing; when it appears, the watch brings it in', async () => {
    await createSecret(ns, 'db', { password: 'pw-1', username: 'app', unused: 'x' });
    await createPush(ns, 'db-env', {
      targets: [{ kind: 'Secret', name: 'db-env' }],
      sources: [
        { secretRef: { name: 'db' }, items: [{ key: 'password', as: 'PASSWORD' }, { key: 'username' }], prefix: 'DB_' },
        { secretRef: { name: 'later' }, optional: true, prefix: 'LATER_' },
      ],
    });
    const push = await waitReady(ns, 'db-env');
    expect(decoded(await readSecret(ns, 'db-env'))).toEqual({ DB_PASSWORD: 'pw-1', DB_username: 'app' });
    expect(push.status?.sources).toEqual([
      { kind: 'Secret', namespace: ns, name: 'db', revision: expect.stringMatching(/^[0-9a-f]{12}$/) },
      { kind: 'Secret', namespace: ns, name: 'later' },
    ]);

    // No spec change: the source watch queues the push when the optional source appears.
    await createSecret(ns, 'later', { token: 't-1' });
    await eventually(async () => decoded(await readSecret(ns, 'db-env')).LATER_token === 't-1', 'the optional source to be copied');
    const after = await waitReady(ns, 'db-env');
    expect(after.metadata.generation).toBe(1);
    expect(after.status?.operationKey).not.toBe(push.status?.operationKey);
    expect(decoded(await readSecret(ns, 'db-env'))).toEqual({ DB_PASSWORD: 'pw-1', DB_username: 'app', LATER_token: 't-1' });
    await sleep(500);
    expect(targetWrites('secrets', 'db-env').map((w) => w.verb)).toEqual(['create', 'update']);
  });

  it('a source edit that changes no copied byte (a label, an unselected key) writes nothing and keeps the operation key', async () => {
    const before = await waitReady(ns, 'db-env');
    const writesBefore = targetWrites('secrets', 'db-env').length;
    const reconcilesBefore = operator.reconciles.get(`${ns}/db-env`) ?? 0;
    await editSecret(ns, 'db', (s) => {
      s.metadata = { ...s.metadata, labels: { ...s.metadata?.labels, edited: 'yes' } };
    });
    await editSecret(ns, 'db', (s) => {
      s.data = { ...s.data, unused: b64('changed') };
    });
    // Each edit queued the push (the watch), and the reconciles found nothing to do.
    await eventually(async () => (operator.reconciles.get(`${ns}/db-env`) ?? 0) >= reconcilesBefore + 2, 'the source edits to be reconciled');
    await settled(operator);
    const after = await getPush(ns, 'db-env');
    expect(after.status?.operationKey).toBe(before.status?.operationKey);
    expect(after.status?.contentDigest).toBe(before.status?.contentDigest);
    expect(targetWrites('secrets', 'db-env')).toHaveLength(writesBefore);
  });

  it('a wiped status is rebuilt from the targets and the sources, without a target write', async () => {
    const original = await waitReady(ns, 'db-env');
    const writesBefore = targetWrites('secrets', 'db-env').length;
    await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'db-env', body: { ...original, status: {} } });
    const rebuilt = await eventually(async () => {
      const push = await getPush(ns, 'db-env');
      return push.status?.operationKey ? push : undefined;
    }, 'status to be rebuilt');
    await settled(operator);
    expect(targetWrites('secrets', 'db-env')).toHaveLength(writesBefore);
    for (const field of ['operationKey', 'contentDigest', 'sources', 'targets', 'targetSummary', 'rollout'] as const) {
      expect(rebuilt.status?.[field], field).toEqual(original.status?.[field]);
    }
    // The operation the targets carry is in the history again (earlier ones are not on any target any more).
    expect(rebuilt.status?.history?.[0]).toEqual(original.status?.history?.[0]);
  });

  it('an items key the source lacks stops the push with SourceKeyNotFound; the targets keep their content', async () => {
    await createSecret(ns, 'partial', { present: 'p' });
    await createPush(ns, 'partial', {
      targets: [{ kind: 'Secret', name: 'partial-copy' }],
      sources: [{ secretRef: { name: 'partial' }, items: [{ key: 'present' }, { key: 'missing' }] }],
    });
    const push = await waitReason(ns, 'partial', 'SourceKeyNotFound');
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(condition(push, 'Ready')?.message).toContain('has no key "missing"');
    expect(targetWrites('secrets', 'partial-copy')).toHaveLength(0);
    // The key appears in the source: the watch brings the push to Ready.
    await editSecret(ns, 'partial', (s) => {
      s.data = { ...s.data, missing: b64('m') };
    });
    await waitReady(ns, 'partial');
    expect(decoded(await readSecret(ns, 'partial-copy'))).toEqual({ present: 'p', missing: 'm' });
  });

  it('a ConfigMap source feeds ConfigMap targets (text and binary); inline data overrides a source key; later sources override earlier ones', async () => {
    await createConfigMap(ns, 'defaults', { LOG_LEVEL: 'info', REGION: 'eu', TIMEOUT: '30s' });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'overrides' }, data: { TIMEOUT: '60s' }, binaryData: { 'logo.bin': 'AAEC' } } });
    await createPush(ns, 'settings', {
      targets: [{ kind: 'ConfigMap', name: 'settings' }, { kind: 'Secret', name: 'settings' }],
      sources: [{ configMapRef: { name: 'defaults' } }, { configMapRef: { name: 'overrides' } }],
      data: { LOG_LEVEL: 'debug' },
    });
    const push = await waitReady(ns, 'settings');
    // Only ConfigMaps are copied: the digest is plain sha256.
    expect(push.status?.contentDigest).toMatch(/^sha256:/);
    const cm = await readConfigMap(ns, 'settings');
    expect(cm?.data).toEqual({ LOG_LEVEL: 'debug', REGION: 'eu', TIMEOUT: '60s' });
    expect(cm?.binaryData).toEqual({ 'logo.bin': 'AAEC' });
    const secret = await readSecret(ns, 'settings');
    expect(secret?.data).toEqual({ LOG_LEVEL: b64('debug'), REGION: b64('eu'), TIMEOUT: b64('60s'), 'logo.bin': 'AAEC' });
  });

  it('a ConfigMap source deleted and recreated with the same content writes nothing (the key depends only on the copied bytes)', async () => {
    const before = await waitReady(ns, 'settings');
    const writesBefore = targetWrites('configmaps', 'settings').length;
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'defaults' });
    await waitReason(ns, 'settings', 'SourceNotFound');
    await createConfigMap(ns, 'defaults', { LOG_LEVEL: 'info', REGION: 'eu', TIMEOUT: '30s' });
    const after = await waitReady(ns, 'settings');
    expect(after.status?.operationKey).toBe(before.status?.operationKey);
    await settled(operator);
    expect(targetWrites('configmaps', 'settings')).toHaveLength(writesBefore);
    expect(targetWrites('secrets', 'settings')).toHaveLength(1);
  });

  it('refuses a Secret source feeding a ConfigMap target: InvalidSpec, nothing written', async () => {
    await createSecret(ns, 'api-key', { key: 'k-1' });
    await createPush(ns, 'leak', {
      targets: [{ kind: 'Secret', name: 'leak-ok' }, { kind: 'ConfigMap', name: 'leak' }],
      sources: [{ secretRef: { name: 'api-key' } }],
    });
    const push = await waitReason(ns, 'leak', 'InvalidSpec');
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(condition(push, 'Ready')?.message).toMatch(/copies from a Secret, but spec\.targets\[1\] is a ConfigMap/);
    await sleep(500);
    expect(targetWrites('configmaps', 'leak')).toHaveLength(0);
    expect(targetWrites('secrets', 'leak-ok')).toHaveLength(0);
  });

  it('copies from another namespace only once the source opts in (SourceNotAllowed names the annotation)', async () => {
    await createSecret(shared, 'registry', { '.dockerconfigjson': '{"auths":{}}' });
    await createPush(ns, 'pull', { targets: [{ kind: 'Secret', name: 'registry' }], sources: [{ secretRef: { name: 'registry', namespace: shared } }] });
    const refused = await waitReason(ns, 'pull', 'SourceNotAllowed');
    expect(condition(refused, 'Ready')?.message).toContain(`${SOURCE_COPY_TO_ANNOTATION}: "${ns}"`);
    expect(targetWrites('secrets', 'registry')).toHaveLength(0);

    // The source's owner opts in: the watch on the source re-queues the push.
    await editSecret(shared, 'registry', (s) => {
      s.metadata = { ...s.metadata, annotations: { ...s.metadata?.annotations, [SOURCE_COPY_TO_ANNOTATION]: `other, ${ns}` } };
    });
    const push: ConfigPush = await waitReady(ns, 'pull');
    expect(push.status?.sources).toEqual([{ kind: 'Secret', namespace: shared, name: 'registry', revision: expect.any(String) }]);
    expect(decoded(await readSecret(ns, 'registry'))).toEqual({ '.dockerconfigjson': '{"auths":{}}' });
  });

  it('reads as spec.serviceAccountName: without get on the source, SourceForbidden', async () => {
    const tenantNs = await newNamespace('srcopt-tenant');
    await core.createNamespacedServiceAccount({ namespace: tenantNs, body: { metadata: { name: 'tenant' } } });
    const bind = async (namespace: string, name: string, rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]) => {
      await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: tenantNs }] },
      });
    };
    await bind(tenantNs, 'targets', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update', 'delete'] }]);
    await createConfigMap(shared, 'flags', { FEATURE_X: 'on' }, { [SOURCE_COPY_TO_ANNOTATION]: '*' });
    await createPush(tenantNs, 'flags', {
      targets: [{ kind: 'ConfigMap', name: 'flags' }],
      sources: [{ configMapRef: { name: 'flags', namespace: shared } }],
      serviceAccountName: 'tenant',
    });
    const refused = await waitReason(tenantNs, 'flags', 'SourceForbidden');
    expect(condition(refused, 'Ready')?.message).toContain(`ServiceAccount ${tenantNs}/tenant may not get ConfigMap ${shared}/flags`);
    expect(targetWrites('configmaps', 'flags', tenantNs)).toHaveLength(0);

    // Granted, and the source touched (an RBAC change itself queues nothing): applied.
    await bind(shared, `read-flags-${tenantNs}`, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['flags'] }]);
    await editConfigMap(shared, 'flags', (cm) => {
      cm.metadata = { ...cm.metadata, labels: { touched: 'yes' } };
    });
    await waitReady(tenantNs, 'flags');
    expect((await readConfigMap(tenantNs, 'flags'))?.data).toEqual({ FEATURE_X: 'on' });
    // Target writes impersonated the tenant, as without sources.
    expect(targetWrites('configmaps', 'flags', tenantNs).map((w) => w.impersonatedUser?.username)).toEqual([`system:serviceaccount:${tenantNs}:tenant`]);
  });

  it('a namespaceSelector that reaches the source’s own namespace leaves the source itself alone (as Reflector does)', async () => {
    const label = `skip-${randomBytes(3).toString('hex')}`;
    const home = `${label}-home`;
    const away = `${label}-away`;
    await core.createNamespace({ body: { metadata: { name: home, labels: { fan: label } } } });
    await core.createNamespace({ body: { metadata: { name: away, labels: { fan: label }, annotations: { [ALLOWED_SOURCES_ANNOTATION]: home } } } });
    await createSecret(home, 'tls', { 'tls.crt': 'C' });
    await createPush(home, 'tls', { targets: [{ kind: 'Secret', name: 'tls', namespaceSelector: { matchLabels: { fan: label } } }], sources: [{ secretRef: { name: 'tls' } }] });
    const push = await waitReady(home, 'tls');
    expect(push.status?.targets?.map((t) => `${t.namespace}/${t.name}`)).toEqual([`${away}/tls`]);
    expect(decoded(await readSecret(away, 'tls'))).toEqual({ 'tls.crt': 'C' });
    expect(targetWrites('secrets', 'tls', home)).toHaveLength(0);
  });

  it('without a serviceAccountName, the target namespaces still need their own opt-in (sources change nothing there)', async () => {
    const elsewhere = await newNamespace('srcopt-target', { [ALLOWED_SOURCES_ANNOTATION]: ns });
    await createPush(ns, 'fan', { targets: [{ kind: 'ConfigMap', name: 'fan', namespace: elsewhere }], sources: [{ configMapRef: { name: 'defaults' } }] });
    await waitReady(ns, 'fan');
    expect((await readConfigMap(elsewhere, 'fan'))?.data).toEqual({ LOG_LEVEL: 'info', REGION: 'eu', TIMEOUT: '30s' });
  });
});

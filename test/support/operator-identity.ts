import { readFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from '../../src/kube/api-errors.js';

export const OPERATOR_NAMESPACE = 'configpush-system';
export const OPERATOR_SERVICE_ACCOUNT = 'configpush-operator';
export const OPERATOR_USERNAME = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`;

/**
 * Installs the manifests' namespace, ServiceAccount and RBAC, mints a token
 * for that ServiceAccount with the TokenRequest API, and writes a kubeconfig
 * that uses it. The e2e operators run with it: the suite passing is the proof
 * that the shipped RBAC is enough.
 */
export async function writeOperatorKubeconfig(admin: KubeConfig, repoRoot: string, path: string): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) {
    const docs = loadAllYaml(await readFile(join(repoRoot, 'manifests', file), 'utf8')) as KubernetesObject[];
    for (const doc of docs) if (doc) await applyObject(api, doc);
  }
  const core = admin.makeApiClient(CoreV1Api);
  const token = await core.createNamespacedServiceAccountToken({
    name: OPERATOR_SERVICE_ACCOUNT,
    namespace: OPERATOR_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 4 * 3600 } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error('could not mint a ServiceAccount token');
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: OPERATOR_SERVICE_ACCOUNT, token: token.status.token }],
    contexts: [{ name: 'operator', cluster: cluster.name, user: OPERATOR_SERVICE_ACCOUNT }],
    currentContext: 'operator',
  });
  writeFileSync(path, kubeconfig.exportConfig(), { mode: 0o600 });
}

/** Create, or replace at the version read: the same conditional writes the operator makes. */
async function applyObject(api: KubernetesObjectApi, object: KubernetesObject): Promise<void> {
  for (let round = 0; round < 5; round++) {
    let live: KubernetesObject | undefined;
    try {
      live = await api.read(object as KubernetesObject & { metadata: { name: string } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      if (!live) await api.create(object);
      else await api.replace({ ...object, metadata: { ...object.metadata, resourceVersion: live.metadata?.resourceVersion ?? '' } } as KubernetesObject);
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  throw new Error(`${object.kind} ${object.metadata?.name} kept changing`);
}

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clusterDir, kubeconfigPath, repoRoot } from './paths.js';

export const CHART_DIR = join(repoRoot, 'charts/configpush-operator');

/**
 * The pinned helm binary: hack/helm/build.sh prints its path, building it
 * from the Go module proxy first when the cache does not have it (minutes, on
 * a cold machine; instant afterwards).
 */
export function helmBinary(): string {
  const build = spawnSync('bash', [join(repoRoot, 'hack/helm/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const path = build.stdout.trim();
  if (build.status !== 0 || !path) throw new Error(`hack/helm/build.sh failed (exit ${build.status})`);
  return path;
}

/**
 * Runs helm against the test control plane. HELM_*_HOME point into the
 * cluster dir, so nothing is read from or written to the user's helm config.
 */
export function runHelm(helm: string, args: string[], input?: string): SpawnSyncReturns<string> {
  const home = join(clusterDir, 'helm');
  mkdirSync(home, { recursive: true });
  const result = spawnSync(helm, [...args, '--kubeconfig', kubeconfigPath], {
    cwd: repoRoot,
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
    env: { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') },
  });
  if (result.error) throw result.error;
  return result;
}

export function kubectl(args: string[], input?: string): SpawnSyncReturns<string> {
  const result = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { cwd: repoRoot, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (result.error) throw new Error(`kubectl is needed for this test: ${result.error.message}`);
  return result;
}

/** A kubeconfig that authenticates with a TokenRequest token of one ServiceAccount (as test/support/operator-identity.ts does for the manifests'). */
export async function serviceAccountKubeconfig(admin: KubeConfig, namespace: string, name: string, path: string): Promise<void> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error(`could not mint a token for ${namespace}/${name}`);
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  writeFileSync(path, kubeconfig.exportConfig(), { mode: 0o600 });
}

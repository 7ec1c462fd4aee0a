import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../src/kube/install-crds.js';
import { writeOperatorKubeconfig } from './operator-identity.js';
import { clusterDir, kubeconfigPath, operatorKubeconfigPath, repoRoot, runStartedPath } from './paths.js';

/**
 * Starts (or reuses) the real control plane once per vitest run, like
 * controller-runtime's envtest, installs crds/, and makes the kubeconfig the
 * operators run with: the manifests' ServiceAccount, by TokenRequest. A cluster this run
 * started is stopped at the end unless CONFIGPUSH_KEEP_CLUSTER=1.
 */
export default async function setup(): Promise<() => void> {
  const cluster = join(repoRoot, 'hack/cluster.sh');
  const wasRunning = spawnSync('bash', [cluster, 'status'], { stdio: 'ignore', env: { ...process.env, CLUSTER_DIR: clusterDir } }).status === 0;
  const up = spawnSync('bash', [cluster, 'up'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CLUSTER_DIR: clusterDir } });
  if (up.status !== 0 || !existsSync(kubeconfigPath)) {
    throw new Error(`hack/cluster.sh up failed (exit ${up.status}); see the output above`);
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  writeFileSync(runStartedPath, new Date().toISOString());
  await installCrds(kubeConfig, join(repoRoot, 'crds'));
  await writeOperatorKubeconfig(kubeConfig, repoRoot, operatorKubeconfigPath);

  return () => {
    if (wasRunning || process.env.CONFIGPUSH_KEEP_CLUSTER === '1') return;
    spawnSync('bash', [cluster, 'down'], { stdio: 'inherit', env: { ...process.env, CLUSTER_DIR: clusterDir } });
  };
}

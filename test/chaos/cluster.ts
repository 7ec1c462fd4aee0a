import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';
import { chaosClusterDir } from './profile.js';

/** What hack/cluster.sh writes to $CLUSTER_DIR/env, for the suite's own control plane. */
export interface ClusterEnv {
  dir: string;
  kubeconfig: string;
  auditLog: string;
  apiserverUrl: string;
  apiserverPort: number;
  caCert: string;
  pki: string;
}

export function clusterEnv(dir = chaosClusterDir): ClusterEnv {
  const values = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    if (line.startsWith('#') || !line.includes('=')) continue;
    const at = line.indexOf('=');
    values.set(line.slice(0, at), line.slice(at + 1));
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`${dir}/env has no ${key}`);
    return value;
  };
  return {
    dir,
    kubeconfig: get('KUBECONFIG'),
    auditLog: get('AUDIT_LOG'),
    apiserverUrl: get('APISERVER_URL'),
    apiserverPort: Number(get('APISERVER_PORT')),
    caCert: get('CA_CERT'),
    pki: join(dir, 'pki'),
  };
}

/** Runs hack/cluster.sh COMMAND on the suite's cluster; throws with its stderr on failure. */
export function clusterCommand(command: 'up' | 'down' | 'restart' | 'status', dir = chaosClusterDir): string {
  const result = spawnSync('bash', [join(repoRoot, 'hack/cluster.sh'), command], {
    env: { ...process.env, CLUSTER_DIR: dir },
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`hack/cluster.sh ${command} failed (exit ${String(result.status)}):\n${result.stderr.slice(-4_000)}`);
  }
  return result.stdout;
}

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository: the nearest folder above this file with a package.json.
 * Two levels up from test/support, but the soak (npm run soak) runs this file
 * compiled into .cache/soak-dist/test/support, where two levels up is not it.
 */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '../..');
  }
}
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
/**
 * The e2e suite's own control plane, never `npm start`'s (.cache/cluster): an
 * operator left running there by `npm start` would reconcile every push the
 * tests make, beside the tests' own operators, and double the writes they
 * count (the README's two commands are often run side by side).
 */
export const E2E_CLUSTER_DIR = '.cache/cluster-e2e';
export const clusterDir = process.env.CLUSTER_DIR ?? join(repoRoot, E2E_CLUSTER_DIR);
export const kubeconfigPath = join(clusterDir, 'kubeconfig');
export const auditLogPath = join(clusterDir, 'audit.log');
/** The operator's own kubeconfig: a TokenRequest token of the manifests' ServiceAccount (written by the e2e setup). */
export const operatorKubeconfigPath = join(clusterDir, 'operator.kubeconfig');
/** When this test run's setup started (RFC 3339), to tell this run's audit events from a reused cluster's history. */
export const runStartedPath = join(clusterDir, 'run-started');

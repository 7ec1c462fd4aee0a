import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const clusterDir = process.env.CLUSTER_DIR ?? join(repoRoot, '.cache/cluster');
export const kubeconfigPath = join(clusterDir, 'kubeconfig');
export const auditLogPath = join(clusterDir, 'audit.log');
/** The operator's own kubeconfig: a TokenRequest token of the manifests' ServiceAccount (written by the e2e setup). */
export const operatorKubeconfigPath = join(clusterDir, 'operator.kubeconfig');
/** When this test run's setup started (RFC 3339), to tell this run's audit events from a reused cluster's history. */
export const runStartedPath = join(clusterDir, 'run-started');

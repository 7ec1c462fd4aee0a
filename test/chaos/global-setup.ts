import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../src/kube/install-crds.js';
import { installFinalizerPolicy } from '../support/finalizer-policy.js';
import { repoRoot } from '../support/paths.js';
import { clusterCommand, clusterEnv } from './cluster.js';
import { killRecordedChildren } from './operator-process.js';
import { chaosClusterDir, operatorMain, profile, runDir } from './profile.js';
import { writeReport } from './report.js';

/**
 * The fault suite's setup: compiles src/ into .cache/chaos/dist and bundles
 * its client-node module as the build does (the operator runs as a real
 * child process there, so it can be SIGKILLed), starts the
 * suite's own control plane in .cache/cluster-chaos and installs crds/ and
 * the finalizer policy (manifests/finalizer-policy.yaml), as manifests/ does.
 * Teardown writes the figures of the run, ends every operator process the
 * suite started (by pid) and stops the control plane unless it was already
 * running or CONFIGPUSH_KEEP_CLUSTER=1.
 */
export default async function setup(): Promise<() => void> {
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });

  if (process.env.CHAOS_OPERATOR_DIST === undefined) {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', join(repoRoot, 'test/chaos/tsconfig.operator.json')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 5 * 60_000,
    });
    if (build.status !== 0) throw new Error(`building the operator for the fault suite failed:\n${build.stdout}${build.stderr}`);
    // As `npm run build` does: the suite runs the operator that ships, client-node bundled (src/kube/client-node.ts).
    const bundle = spawnSync(process.execPath, [join(repoRoot, 'hack/bundle-client-node.mjs'), join(repoRoot, '.cache/chaos/dist')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 5 * 60_000,
    });
    if (bundle.status !== 0) throw new Error(`bundling client-node for the fault suite failed:\n${bundle.stdout}${bundle.stderr}`);
  }
  if (!existsSync(operatorMain)) throw new Error(`no operator at ${operatorMain}`);

  let wasRunning = true;
  try {
    clusterCommand('status');
  } catch {
    wasRunning = false;
  }
  clusterCommand('up');
  const env = clusterEnv();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfig);
  await installCrds(kubeConfig, join(repoRoot, 'crds'));
  // As manifests/ installs it on 1.36+: the apiserver sets the finalizer, so the faults hit the path that ships.
  await installFinalizerPolicy(kubeConfig, repoRoot);
  process.stderr.write(`chaos: profile ${profile.name}, control plane ${env.apiserverUrl} (${chaosClusterDir}), operator ${operatorMain}\n`);

  return () => {
    try {
      writeReport();
    } finally {
      killRecordedChildren();
      if (!wasRunning && process.env.CONFIGPUSH_KEEP_CLUSTER !== '1') clusterCommand('down');
    }
  };
}

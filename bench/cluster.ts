import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import { installCrds } from '../src/kube/install-crds.js';
import { installFinalizerPolicy } from '../test/support/finalizer-policy.js';

/**
 * The bench's own control plane (hack/cluster.sh with its own CLUSTER_DIR),
 * so it never disturbs the tests' cluster. fresh() is down + up: an empty
 * etcd and an empty audit log, so every phase starts from the same state.
 */
export class BenchCluster {
  readonly kubeconfig: string;
  readonly auditLog: string;

  constructor(
    private readonly root: string,
    readonly dir: string,
  ) {
    this.kubeconfig = join(dir, 'kubeconfig');
    this.auditLog = join(dir, 'audit.log');
  }

  async fresh(): Promise<void> {
    // Under heavy load kube-apiserver sometimes dies in its post-start hooks
    // ("timed out waiting for caches to sync"): try again before giving up.
    for (let attempt = 1; ; attempt++) {
      this.run('down');
      try {
        this.run('up');
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
        process.stderr.write(`bench: control plane did not start (attempt ${attempt}); retrying\n`);
      }
    }
    if (!existsSync(this.kubeconfig)) throw new Error(`hack/cluster.sh up wrote no ${this.kubeconfig}`);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(this.kubeconfig);
    await installCrds(kubeConfig, join(this.root, 'crds'));
    // Established is not enough: right after it the custom resource storage
    // answers 429 "storage is (re)initializing" for a moment.
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** manifests/finalizer-policy.yaml, in effect when this returns. */
  async installFinalizerPolicy(): Promise<void> {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(this.kubeconfig);
    await installFinalizerPolicy(kubeConfig, this.root);
  }

  down(): void {
    this.run('down');
  }

  private run(command: 'up' | 'down'): void {
    const result = spawnSync('bash', [join(this.root, 'hack/cluster.sh'), command], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CLUSTER_DIR: this.dir },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`hack/cluster.sh ${command} failed (exit ${result.status}):\n${result.stderr}`);
  }
}

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { core, createPush, eventually, newNamespace, readConfigMap, sleep, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { clusterDir, repoRoot } from '../support/paths.js';

/**
 * client-node's informer stops for good when its watch fails. These tests
 * break the watches for real: the control plane is restarted under a running
 * operator, and the watches are re-listed every half second.
 */
describe('watches', () => {
  let operator: Operator;
  let ns: string;
  const operatorWrites = () => writes({ resource: 'configmaps', namespace: ns, userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('watch');
    operator = await startTestOperator({ controller: { relistPeriodMs: 500 } });
  });
  afterAll(async () => operator?.stop());

  it('keep working across frequent re-lists without writing anything extra', async () => {
    await createPush(ns, 'before', { targets: [{ kind: 'ConfigMap', name: 'before' }], data: { a: '1' } });
    await waitReady(ns, 'before');
    await sleep(2_000); // about four re-lists of every watch
    expect(operatorWrites()).toHaveLength(1);
  });

  it('recover after the apiserver and etcd restart', async () => {
    const restart = spawnSync('bash', [join(repoRoot, 'hack/cluster.sh'), 'restart'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, CLUSTER_DIR: clusterDir },
    });
    expect(restart.status).toBe(0);

    // A new push is seen (the ConfigPush watch is back)...
    await createPush(ns, 'after', { targets: [{ kind: 'ConfigMap', name: 'after' }], data: { b: '2' } });
    await waitReady(ns, 'after', 60_000);
    // ...and drift on an old target is seen (the ConfigMap watch is back).
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'before' });
    cm.data = { a: 'tampered' };
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'before', body: cm });
    await eventually(async () => (await readConfigMap(ns, 'before'))?.data?.a === '1', 'the drift to be corrected', 60_000);

    expect(operatorWrites().map((w) => `${w.objectRef?.name}:${w.verb}`)).toEqual(['before:create', 'after:create', 'before:update']);
  });
});

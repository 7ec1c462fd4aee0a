import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { E2E_CLUSTER_DIR, repoRoot } from '../support/paths.js';

/**
 * `npm start` leaves an operator running on its control plane. Were the e2e
 * suite to reuse that control plane, the operator would reconcile the tests'
 * pushes beside the tests' own operators and double the writes they count
 * (seen: efficiency.test.ts failed with `npm start` running). So the suites
 * and `npm start` default to different CLUSTER_DIRs.
 */
describe("the test suites' control planes", () => {
  const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

  it("are never npm start's", () => {
    const startDefault = /KUBECONFIG="\$\{CLUSTER_DIR:-\$root\/([^}]+)\}\/kubeconfig"/.exec(read('hack/start.sh'))?.[1];
    const clusterShDefault = /CLUSTER_DIR:-\$root\/([^}]+)\}/.exec(read('hack/cluster.sh'))?.[1];
    expect(startDefault).toBe('.cache/cluster');
    expect(clusterShDefault).toBe(startDefault);
    expect(E2E_CLUSTER_DIR).not.toBe(startDefault);
    const chaosDefault = /new URL\('\.\/([^']+)', import\.meta\.url\)/.exec(read('vitest.config.ts'))?.[1];
    expect(chaosDefault).toBe('.cache/cluster-chaos');
    expect([startDefault, chaosDefault]).not.toContain(E2E_CLUSTER_DIR);
  });

  it('are all stopped by CI when a run dies half-way', () => {
    const cleanup = /for dir in ([^;]+); do/.exec(read('.ci/run'))?.[1]?.split(/\s+/) ?? [];
    expect(cleanup).toEqual(expect.arrayContaining(['.cache/cluster', E2E_CLUSTER_DIR, '.cache/cluster-chaos']));
  });
});

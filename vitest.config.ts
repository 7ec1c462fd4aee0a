import { defineConfig } from 'vitest/config';

// Two projects: unit tests on plain objects (fast, parallel), and e2e tests on
// the real kube-apiserver that hack/cluster.sh starts. e2e files run one at a
// time: each starts its own operator, and two operators watching one cluster
// would both reconcile every push and blur the write counts the tests assert.
export default defineConfig({
  test: {
    // CI also keeps a machine-readable result, from which .ci/run prints its closing line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.cache/test-results.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The fault suite (docs/reliability.md): the operator as a real child
        // process on its own control plane (.cache/cluster-chaos), killed,
        // behind a lossy proxy, replicated, restarted, raced and fed hostile
        // input. The short profile runs here; `npm run chaos` runs the long one.
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/chaos/global-setup.ts'],
          // test/support/paths.ts reads CLUSTER_DIR at import: point it at the suite's own cluster (CHAOS_CLUSTER_DIR, profile.ts).
          env: { CLUSTER_DIR: process.env.CHAOS_CLUSTER_DIR ?? new URL('./.cache/cluster-chaos', import.meta.url).pathname },
          fileParallelism: false,
          testTimeout: process.env.CHAOS_PROFILE === 'long' ? 40 * 60_000 : 240_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});

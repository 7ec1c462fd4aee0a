/**
 * What one status write costs the apiserver, by the shape of the status: the
 * operator's status for a settled single-target push as buildStatus makes it
 * now (Ready alone), the same with the three abnormal-true conditions at False
 * as the operator wrote them before 2026-11-30, and the baseline's (one
 * condition, no history or rollout). Each round creates N pushes per shape
 * and gives each one PUT /status at the resourceVersion read (one reconcile's
 * write), 4 at a time; kube-apiserver's own process_cpu_seconds_total is read
 * around the PUTs. Shapes alternate within each round, so the ratios compare
 * shapes measured minutes apart on one control plane.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/status-write-cost.js [--pushes 400] [--rounds 3] [--targets 1] [--cluster-dir DIR]
 *
 * `--targets 5000` gives each push the status of a fan-out to 5,000
 * namespaces (1,000 of them listed, as both sides list at most that many).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import type { ConfigPush, ConfigPushStatus } from '../src/api/types.js';
import { TARGET_STATUS_LIMIT, buildStatus } from '../src/core/build-status.js';
import { readApiserver } from './apiserver-metrics.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, createPush, forEachLimit, makeApi, pushSpec } from './kube.js';
import { median, round } from './stats.js';

/** Run from the repository root, as bench/run.ts is. */
const root = process.cwd();
const NAMESPACE = 'status-cost';
const DIGEST = `sha256:${'0'.repeat(64)}`;

type Shape = (push: ConfigPush, now: string) => ConfigPushStatus;

/** Targets per push (--targets): 1 as a single-target push, or a fan-out's, one ConfigMap per namespace `fan-<i>`. */
let TARGETS = 1;
const targetAt = (push: ConfigPush, i: number) =>
  TARGETS === 1 ? { kind: 'ConfigMap' as const, name: push.spec.targets[0]?.name ?? 'cfg', namespace: NAMESPACE } : { kind: 'ConfigMap' as const, name: 'fanout', namespace: `fan-${i}` };

/** The operator's status of a push whose targets were just written under its key. */
const operator: Shape = (push, now) => {
  const key = `1-${push.metadata.uid.replace(/-/g, '').slice(0, 10)}`;
  return buildStatus({
    push,
    operationKey: key,
    digest: DIGEST,
    outcomes: Array.from({ length: TARGETS }, (_, i) => ({ target: targetAt(push, i), state: 'Applied' as const, operationKey: key, resourceVersion: String(1000 + i), wrote: 'created' as const, driftCorrected: false })),
    suspended: false,
    rollout: { phase: 'Complete', currentWave: 1, totalWaves: 1, progress: `${TARGETS}/${TARGETS} targets, wave 1/1` },
    revision: 1,
    now,
  });
};

/** The same, with Reconciling, Stalled and Drifted at False, as written before they became abnormal-true only. */
const withFalseConditions: Shape = (push, now) => {
  const status = operator(push, now);
  const generation = push.metadata.generation;
  const falseOnes = [
    { type: 'Reconciling', status: 'False', reason: 'Applied', message: 'no work in progress', observedGeneration: generation, lastTransitionTime: now },
    { type: 'Stalled', status: 'False', reason: 'Applied', message: 'not stalled', observedGeneration: generation, lastTransitionTime: now },
    { type: 'Drifted', status: 'False', reason: 'NoDrift', message: 'targets match the desired content', observedGeneration: generation, lastTransitionTime: now },
  ] as const;
  return { ...status, conditions: [...(status.conditions ?? []), ...falseOnes] };
};

/** bench/baseline.ts's status. */
const baseline: Shape = (push, now) => ({
  observedGeneration: push.metadata.generation,
  conditions: [{ type: 'Ready', status: 'True', reason: 'Applied', message: `applied to ${TARGETS} targets`, observedGeneration: push.metadata.generation, lastTransitionTime: now }],
  contentDigest: DIGEST,
  targetSummary: `${TARGETS}/${TARGETS}`,
  targets: Array.from({ length: Math.min(TARGETS, TARGET_STATUS_LIMIT) }, (_, i) => ({ ...targetAt(push, i), state: 'Applied' as const, resourceVersion: String(1000 + i) })),
});

const SHAPES: Record<string, Shape> = { operator, 'operator, three False conditions': withFalseConditions, baseline };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pushes: { type: 'string', default: '400' }, rounds: { type: 'string', default: '3' }, targets: { type: 'string', default: '1' }, 'cluster-dir': { type: 'string' } } });
  const pushes = Number(values.pushes);
  TARGETS = Number(values.targets);
  const rounds = Number(values.rounds);
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-status-cost'));
  await cluster.fresh();
  try {
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    await createNamespaces(api, [NAMESPACE]);
    const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: NAMESPACE };
    const perWrite: Record<string, number[]> = {};
    const bytes: Record<string, number> = {};
    let serial = 0;
    for (let r = 0; r < rounds; r++) {
      for (const [name, shape] of Object.entries(SHAPES)) {
        const created: ConfigPush[] = [];
        await forEachLimit(Array.from({ length: pushes }, () => serial++), 4, async (n, i) => {
          created[i] = await createPush(api, NAMESPACE, `p${n}`, pushSpec(n, [{ kind: 'ConfigMap', name: `cfg-${n}` }]));
        });
        await new Promise((resolve) => setTimeout(resolve, 1_500)); // let the creates' own work settle
        const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
        const before = await readApiserver(cluster.dir);
        await forEachLimit(created, 4, async (push) => {
          const status = shape(push, now);
          bytes[name] = JSON.stringify(status).length;
          const { name: pushName, resourceVersion } = push.metadata;
          await api.custom.replaceNamespacedCustomObjectStatus({ ...base, name: pushName, body: { apiVersion: push.apiVersion, kind: push.kind, metadata: { name: pushName, namespace: NAMESPACE, resourceVersion }, status } });
        });
        const after = await readApiserver(cluster.dir);
        (perWrite[name] ??= []).push(round(((after.cpuSeconds - before.cpuSeconds) * 1000) / pushes, 2));
        process.stdout.write(`round ${r + 1}/${rounds} ${name}: ${perWrite[name]!.at(-1)} ms of apiserver CPU per status write (${bytes[name]} B)\n`);
      }
    }
    const base0 = median(perWrite.baseline ?? []);
    process.stdout.write('\n| status shape | bytes | apiserver CPU per status write, ms (rounds; median) | / baseline |\n|---|---|---|---|\n');
    for (const name of Object.keys(SHAPES)) {
      const m = median(perWrite[name] ?? []);
      process.stdout.write(`| ${name} | ${bytes[name]} | ${(perWrite[name] ?? []).join(', ')} (${m}) | ${round(m / base0, 2)} |\n`);
    }
  } finally {
    cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`status-write-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

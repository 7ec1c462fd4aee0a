import { createHash, randomBytes } from 'node:crypto';
import type { AppsV1Api, V1ConfigMap, V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { FakeDeploymentController } from '../support/workload-controller.js';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { targetId, type TargetRef } from './ledger.js';
import type { Scenario } from './scenario.js';
import { ALLOWED_SOURCES, ANNOTATION_DIGEST, ANNOTATION_KEY, ANNOTATION_OWNER_UID, code, describe, getPush, listTargets, operationKey, retrying, sleep, type Clients } from './workload.js';

/**
 * A push under failurePolicy Rollback over a fleet of namespaces, for the
 * fault suite: waves of `batchSize` namespaces (by name), a ConfigMap and a
 * Secret in each, and a Deployment `web` restarted in each. Generation 1
 * completes (revision 1); generation 2 is made to fail its health gate at
 * `failingWave` (the fake Deployment controller leaves that wave's first
 * namespace stuck), so the operator rolls waves 1..failingWave back to
 * revision 1 under the rollback's key, and waves after it are never reached.
 *
 * The keys are recomputed here from the documented formats (docs/revisions.md),
 * not imported from src/: the suite checks the operator against its contract.
 */
export interface RollbackPush {
  home: string;
  name: string;
  /** The fleet label its namespaceSelector matches. */
  label: string;
  /** Fleet namespaces in name order, and their waves. */
  fleet: string[];
  waves: string[][];
  /** 1-based. */
  failingWave: number;
  deadlineS: number;
  /** Known once generation 1 completed. */
  uid?: string;
  gen1Key?: string;
  gen1Digest?: string;
}

export const CONFIG = 'app-config';
export const SECRET = 'app-secret';
export const WORKLOAD = 'web';

/** `<generation>-r<first 10 hex of sha256(uid/generation/rollback/digest)>` (docs/revisions.md). */
export function rollbackKeyOf(uid: string, generation: number, digest: string): string {
  return `${generation}-r${createHash('sha256').update(`${uid}/${generation}/rollback/${digest}`).digest('hex').slice(0, 10)}`;
}

/** The pod-template annotation a push restarts workloads with (one key per push uid), and its value for an operation. */
export function restartAnnotation(uid: string): string {
  return `restart.configpush.io/${createHash('sha256').update(uid).digest('hex').slice(0, 12)}`;
}
export function restartValue(key: string, digest: string): string {
  return `${key}/${digest.replace(/^(?:hmac-)?sha256:/, '').slice(0, 16)}`;
}

export function rollbackData(push: Pick<RollbackPush, 'name'>, version: number): Record<string, string> {
  return { version: String(version), note: `${push.name} at version ${version}` };
}

export function rollbackSpec(push: Pick<RollbackPush, 'name' | 'label' | 'fleet' | 'waves' | 'deadlineS'>, version: number): ConfigPushSpec {
  const batchSize = push.waves[0]?.length ?? 1;
  const selector = { matchLabels: { fleet: push.label } };
  return {
    targets: [
      { kind: 'ConfigMap', name: CONFIG, namespaceSelector: selector },
      { kind: 'Secret', name: SECRET, namespaceSelector: selector },
    ],
    data: rollbackData(push, version),
    // Generation 1 must complete whatever the machine's load: only the failing generation gets the short deadline.
    strategy: { batchSize, failurePolicy: 'Rollback', progressDeadlineSeconds: version === 1 ? 120 : push.deadlineS },
    rollout: { restart: [{ kind: 'Deployment', name: WORKLOAD }] },
  };
}

/** Creates the fleet's namespaces (labelled, accepting pushes from `home`), each with its Deployment; returns them in name order. */
export async function createFleet(s: Pick<Scenario, 'c' | 'namespaces'>, apps: AppsV1Api, label: string, count: number, home: string): Promise<string[]> {
  const fleet: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `chaos-rb-${randomBytes(3).toString('hex')}`;
    await retrying(`create namespace ${ns}`, async () => {
      try {
        await s.c.core.createNamespace({ body: { metadata: { name: ns, labels: { fleet: label }, annotations: { [ALLOWED_SOURCES]: home } } } });
      } catch (err) {
        if (code(err) !== 409) throw err;
      }
    });
    s.namespaces.push(ns);
    await retrying(`create Deployment ${ns}/${WORKLOAD}`, () =>
      apps.createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: WORKLOAD, labels: { app: WORKLOAD } },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: WORKLOAD } },
            template: { metadata: { labels: { app: WORKLOAD } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
          },
        },
      }),
    );
    fleet.push(ns);
  }
  return fleet.sort();
}

export function wavesOf(fleet: string[], batchSize: number): string[][] {
  const waves: string[][] = [];
  for (let i = 0; i < fleet.length; i += batchSize) waves.push(fleet.slice(i, i + batchSize));
  return waves;
}

/** The namespace left stuck so that the failing wave misses its deadline. */
export function stuckNamespace(push: RollbackPush): string {
  const ns = push.waves[push.failingWave - 1]?.[0];
  if (!ns) throw new Error(`${push.name}: no wave ${push.failingWave}`);
  return ns;
}

export function targetsOf(push: RollbackPush): { ref: TargetRef; wave: number }[] {
  return push.waves.flatMap((wave, i) =>
    wave.flatMap((namespace) => [
      { ref: { resource: 'configmaps' as const, namespace, name: CONFIG }, wave: i + 1 },
      { ref: { resource: 'secrets' as const, namespace, name: SECRET }, wave: i + 1 },
    ]),
  );
}

/** Whether a target's wave was reached by generation 2 (so it was written forward, then back). */
export function reached(push: RollbackPush, wave: number): boolean {
  return wave <= push.failingWave;
}

/** Records what generation 1 left: uid, key and content digest (revision 1's). */
export function noteGeneration1(push: RollbackPush, live: ConfigPush): void {
  push.uid = live.metadata.uid;
  push.gen1Key = operationKey(live.metadata.uid, 1);
  const digest = live.status?.contentDigest;
  if (!digest) throw new Error(`${push.home}/${push.name}: no contentDigest at generation 1`);
  push.gen1Digest = digest;
}

type Target = V1ConfigMap | V1Secret;

function sameData(ref: TargetRef, target: Target, data: Record<string, string>): boolean {
  const want =
    ref.resource === 'configmaps' ? data : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
  const actual = (target as { data?: Record<string, string> }).data ?? {};
  const keys = Object.keys(want);
  return Object.keys(actual).length === keys.length && keys.every((k) => actual[k] === want[k]);
}

/**
 * Why the push has not ended as a rollback of generation 2 to revision 1
 * must leave it ([] when it has): Stalled and not Ready with reason
 * RolledBack at generation 2, the rollback (revision 1, its key, the failed
 * wave) in status.rollout; every target of a reached wave at revision 1's
 * content with the rollback's key, every other one untouched at generation 1's.
 */
export async function rollbackProblems(c: Clients, push: RollbackPush, options: { failedWave?: boolean } = {}): Promise<string[]> {
  const { uid, gen1Key, gen1Digest } = push;
  if (!uid || !gen1Key || !gen1Digest) return ['generation 1 not recorded'];
  const key = rollbackKeyOf(uid, 2, gen1Digest);
  const live = await getPush(c, push.home, push.name);
  const problems: string[] = [];
  const condition = (type: string) => live.status?.conditions?.find((x) => x.type === type);
  const ready = condition('Ready');
  const stalled = condition('Stalled');
  if (live.metadata.generation !== 2 || live.status?.observedGeneration !== 2) problems.push(`observedGeneration ${String(live.status?.observedGeneration)}`);
  if (ready?.status !== 'False' || ready.reason !== 'RolledBack' || ready.observedGeneration !== 2) problems.push(`Ready ${ready?.status}/${ready?.reason}: ${ready?.message}`);
  if (stalled?.status !== 'True' || stalled.reason !== 'RolledBack') problems.push(`Stalled ${stalled?.status}/${stalled?.reason}`);
  const rollout = live.status?.rollout;
  if (rollout?.phase !== 'RolledBack') problems.push(`rollout.phase ${rollout?.phase}: ${rollout?.message ?? ''}`);
  const rollback = rollout?.rollback;
  if (rollback?.revision !== 1 || rollback.operationKey !== key) problems.push(`rollout.rollback ${JSON.stringify(rollback)}, want revision 1 key ${key}`);
  if (options.failedWave !== false && (rollback?.failedWave !== push.failingWave || rollback.reason !== 'ProgressDeadlineExceeded')) {
    problems.push(`rollback says wave ${String(rollback?.failedWave)} failed (${rollback?.reason}: ${rollback?.message}), want wave ${push.failingWave} ProgressDeadlineExceeded`);
  }
  const found = new Map<string, Target>();
  for (const namespace of push.fleet) for (const [id, t] of await listTargets(c, namespace)) found.set(id, t);
  for (const { ref, wave } of targetsOf(push)) {
    const target = found.get(targetId(ref));
    const id = targetId(ref);
    if (!target) {
      problems.push(`${id}: missing`);
      continue;
    }
    const annotations = target.metadata?.annotations ?? {};
    const wantKey = reached(push, wave) ? key : gen1Key;
    if (annotations[ANNOTATION_OWNER_UID] !== uid) problems.push(`${id}: owner ${annotations[ANNOTATION_OWNER_UID]}`);
    if (annotations[ANNOTATION_KEY] !== wantKey) problems.push(`${id} (wave ${wave}): key ${annotations[ANNOTATION_KEY]}, want ${wantKey}`);
    if (annotations[ANNOTATION_DIGEST] !== gen1Digest) problems.push(`${id}: digest is not revision 1's`);
    if (!sameData(ref, target, rollbackData(push, 1))) problems.push(`${id}: data is not revision 1's`);
  }
  return problems;
}

export interface RollbackConvergence {
  lost: { push: string; why: string }[];
  /** When the last push was found rolled back (ms since the epoch). */
  at: number;
}

/** Polls until every push ended as rollbackProblems wants, or the deadline. */
export async function waitRolledBack(c: Clients, pushes: RollbackPush[], timeoutMs: number, options: { failedWave?: boolean } = {}): Promise<RollbackConvergence> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(pushes.map((p) => [`${p.home}/${p.name}`, p]));
  const why = new Map<string, string>();
  let at = Date.now();
  while (pending.size > 0) {
    for (const [id, push] of pending) {
      try {
        const problems = await rollbackProblems(c, push, options);
        if (problems.length === 0) {
          pending.delete(id);
          why.delete(id);
          at = Date.now();
        } else {
          why.set(id, problems.slice(0, 6).join('; '));
        }
      } catch (err) {
        why.set(id, describe(err));
      }
    }
    if (pending.size === 0 || Date.now() > deadline) break;
    await sleep(300);
  }
  return { lost: [...pending.keys()].map((id) => ({ push: id, why: why.get(id) ?? 'unknown' })), at };
}

/**
 * The fake Deployment controller of test/support/workload-controller.ts
 * (the control plane runs no controller-manager), with one LIST of all
 * Deployments per round instead of one per namespace: the fault suite keeps
 * hundreds of namespaces, and a round that walks them one by one takes longer
 * than a short progress deadline. A Deployment whose generation moved is
 * reported rolled out (conditional status write), except in `stuck` namespaces.
 */
export function fleetDeploymentController(apps: AppsV1Api, inScope: (namespace: string) => boolean, pollMs = 100): FakeDeploymentController {
  const stuck = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const list = await apps.listDeploymentForAllNamespaces().catch(() => ({ items: [] as V1Deployment[] }));
      for (const d of list.items) {
        const namespace = d.metadata?.namespace ?? '';
        if (!inScope(namespace) || stuck.has(namespace)) continue;
        const generation = d.metadata?.generation ?? 0;
        const replicas = d.spec?.replicas ?? 1;
        if ((d.status?.observedGeneration ?? 0) >= generation && d.status?.updatedReplicas === replicas) continue;
        d.status = { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
        await apps.replaceNamespacedDeploymentStatus({ namespace, name: d.metadata?.name ?? '', body: d }).catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();
  return {
    stuck,
    async stop() {
      running = false;
      await loop;
    },
  };
}

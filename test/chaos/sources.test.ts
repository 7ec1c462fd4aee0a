import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigPushSpec } from '../../src/api/types.js';
import { targetId, type TargetRef } from './ledger.js';
import { LossyProxy } from './lossy-proxy.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile, runDir } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { ANNOTATION_KEY, ANNOTATION_OWNER_UID, createPush, forEachLimit, listPushes, listTargets, purgePushes, sleep, type PlannedPush } from './workload.js';

/**
 * Content from a source changes while the operator is killed, while its
 * answers are lost, or while three unleased replicas race on it. A source change is a new operation without a new
 * generation: its key comes from the push's uid, its generation and the
 * copied bytes, so a kill, a retry or a lost answer must recognise the work
 * as done, never write it twice, and never lose the last revision.
 */
const { pushes: P, sources: S, changes: R, kills: K } = profile.sources;

interface SourcedPush extends PlannedPush {
  source: string;
}

const sourceData = (source: number, revision: number): Record<string, string> => ({
  token: `s${source}-r${revision}-${'x'.repeat(revision % 7)}`,
  'ca.crt': `ca-${source}-${revision}`,
});
const b64 = (data: Record<string, string>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

async function writeSource(s: Scenario, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  let existing: V1Secret | undefined;
  try {
    existing = await s.c.core.readNamespacedSecret({ namespace, name });
  } catch {
    existing = undefined;
  }
  if (!existing) {
    await s.c.core.createNamespacedSecret({ namespace, body: { metadata: { name }, data: b64(data) } });
    return;
  }
  existing.data = b64(data);
  await s.c.core.replaceNamespacedSecret({ namespace, name, body: existing });
}

function plan(namespace: string): { pushes: SourcedPush[]; sources: string[] } {
  const sources = Array.from({ length: S }, (_, i) => `source-${i}`);
  const pushes = Array.from({ length: P }, (_, j): SourcedPush => {
    const source = sources[j % S]!;
    const targets: TargetRef[] = [{ resource: 'secrets', namespace, name: `copy-${j}` }];
    const spec = { targets: [{ kind: 'Secret', name: `copy-${j}` }], sources: [{ secretRef: { name: source } }] } as unknown as ConfigPushSpec;
    return { namespace, name: `push-${j}`, spec, updates: [], targets, source };
  });
  return { pushes, sources };
}

/** Polls until every push is Ready at its generation and each target holds its source's final data, with the push's uid and current key. */
async function converged(s: Scenario, namespace: string, pushes: SourcedPush[], final: Map<string, Record<string, string>>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let why = new Map<string, string>();
  for (;;) {
    why = new Map();
    try {
      const lives = new Map((await listPushes(s.c, namespace)).map((p) => [p.metadata.name, p]));
      const targets = await listTargets(s.c, namespace);
      for (const push of pushes) {
        const live = lives.get(push.name);
        const ready = live?.status?.conditions?.find((c) => c.type === 'Ready');
        if (!live || ready?.status !== 'True' || live.status?.observedGeneration !== live.metadata.generation) {
          why.set(push.name, `not Ready: ${ready?.reason ?? 'no status'} ${ready?.message ?? ''}`);
          continue;
        }
        const target = targets.get(targetId(push.targets[0]!)) as V1Secret | undefined;
        const want = b64(final.get(push.source) ?? {});
        const annotations = target?.metadata?.annotations ?? {};
        if (!target) why.set(push.name, 'target missing');
        else if (annotations[ANNOTATION_OWNER_UID] !== live.metadata.uid) why.set(push.name, 'target not owned');
        else if (annotations[ANNOTATION_KEY] !== live.status?.operationKey) why.set(push.name, `target key ${annotations[ANNOTATION_KEY]} != status ${live.status?.operationKey}`);
        else if (JSON.stringify(Object.entries(target.data ?? {}).sort()) !== JSON.stringify(Object.entries(want).sort())) why.set(push.name, 'target data is not the last revision');
      }
    } catch (err) {
      why.set('(poll)', String(err));
    }
    if (why.size === 0 || Date.now() > deadline) return { lost: [...why].map(([push, reason]) => ({ push, reason })), at: Date.now() };
    await sleep(500);
  }
}

describe('source changes under faults', () => {
  let scenario: Scenario | undefined;
  let proxy: LossyProxy | undefined;
  afterAll(async () => {
    await stopAll();
    await proxy?.stop();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${R} source changes with ${K} kills -9 among them, ${P} pushes: each target written once per revision, the last revision everywhere`, async () => {
    const s = (scenario = await startScenario('sources-kill', 9));
    const namespace = await s.namespace('src-kill');
    const { pushes, sources } = plan(namespace);
    const final = new Map<string, Record<string, string>>();
    for (const [i, name] of sources.entries()) {
      final.set(name, sourceData(i, 0));
      await writeSource(s, namespace, name, sourceData(i, 0));
    }
    const op = new OperatorProcess({ name: 'sources-kill', kubeconfig: s.env.kubeconfig, workers: 4, requestTimeoutS: 10 });
    await op.start();
    await forEachLimit(pushes, 4, async (push) => createPush(s.c, push));
    const first = await converged(s, namespace, pushes, final, profile.convergeTimeoutMs);
    expect(first.lost).toEqual([]);

    // Each change rewrites every source; kills fall at random instants among them.
    // K distinct changes (of R) are followed by a kill.
    const order = Array.from({ length: R }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = s.rnd.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const killRounds = new Set(order.slice(0, Math.min(K, R)));
    let kills = 0;
    const started = Date.now();
    for (let r = 1; r <= R; r++) {
      for (const [i, name] of sources.entries()) {
        final.set(name, sourceData(i, r));
        await writeSource(s, namespace, name, sourceData(i, r));
      }
      if (killRounds.has(r - 1)) {
        await sleep(s.rnd.int(0, 400));
        await op.kill9();
        kills++;
        await op.start();
      } else {
        await sleep(s.rnd.int(200, 1_200));
      }
    }
    const lastFault = Date.now();
    const result = await converged(s, namespace, pushes, final, profile.convergeTimeoutMs);
    await sleep(2_000);
    const allowed = new Map(pushes.map((p) => [targetId(p.targets[0]!), 1 + R]));
    const doubles = await s.soleCreatorDoubleApplies(allowed);
    const writes = s.operatorTargetWrites();
    const crashes = op.crashes.length;
    await op.stop();

    recordFigures({
      scenario: 'source changes, kill -9',
      order: 9,
      seed: s.seed,
      pushes: P,
      faults: `${kills} kills among ${R} changes of ${S} sources`,
      faultCount: kills,
      operatorTargetWrites: writes,
      doubleApplies: doubles.length,
      lost: result.lost.length,
      crashes,
      convergeAfterLastFaultS: (result.at - lastFault) / 1000,
      totalS: (result.at - started) / 1000,
      extra: { 'target writes allowed (1 + one per revision)': P * (1 + R) },
    });
    expect(crashes).toBe(0);
    expect(result.lost, JSON.stringify(result.lost.slice(0, 10))).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    // Every target was written. Not 2 per push: a push whose first write a
    // kill cut short can be written for the first time after the last change,
    // straight at the last revision (the checks above prove it holds it).
    expect(writes).toBeGreaterThanOrEqual(P);
  });

  it(`${R} source changes with 3 active replicas (no leader election), ${P} pushes: no replica writes an older revision back`, async () => {
    const s = (scenario = await startScenario('sources-replicas', 11));
    const namespace = await s.namespace('src-replicas');
    const { pushes, sources } = plan(namespace);
    const final = new Map<string, Record<string, string>>();
    for (const [i, name] of sources.entries()) {
      final.set(name, sourceData(i, 0));
      await writeSource(s, namespace, name, sourceData(i, 0));
    }
    const replicas = [0, 1, 2].map((i) => new OperatorProcess({ name: `sources-replica-${i}`, kubeconfig: s.env.kubeconfig, workers: 4, requestTimeoutS: 10 }));
    await Promise.all(replicas.map((r) => r.start()));
    await forEachLimit(pushes, 4, async (push) => createPush(s.c, push));
    const first = await converged(s, namespace, pushes, final, profile.convergeTimeoutMs);
    expect(first.lost).toEqual([]);
    const started = Date.now();
    // Changes close together, so replicas reconcile one push from different revisions at once.
    for (let r = 1; r <= R; r++) {
      for (const [i, name] of sources.entries()) {
        final.set(name, sourceData(i, r));
        await writeSource(s, namespace, name, sourceData(i, r));
      }
      await sleep(s.rnd.int(50, 400));
    }
    const lastChange = Date.now();
    const result = await converged(s, namespace, pushes, final, profile.convergeTimeoutMs);
    await sleep(2_000);
    const allowed = new Map(pushes.map((p) => [targetId(p.targets[0]!), 1 + R]));
    const doubles = await s.soleCreatorDoubleApplies(allowed);
    const writes = s.operatorTargetWrites();
    const crashes = replicas.reduce((n, r) => n + r.crashes.length, 0);
    await Promise.all(replicas.map((r) => r.stop()));

    recordFigures({
      scenario: 'source changes, 3 replicas',
      order: 11,
      seed: s.seed,
      pushes: P,
      faults: `3 unleased replicas during ${R} changes of ${S} sources`,
      faultCount: R,
      operatorTargetWrites: writes,
      doubleApplies: doubles.length,
      lost: result.lost.length,
      crashes,
      convergeAfterLastFaultS: (result.at - lastChange) / 1000,
      totalS: (result.at - started) / 1000,
      extra: { 'target writes allowed (1 + one per revision)': P * (1 + R) },
    });
    expect(crashes).toBe(0);
    expect(result.lost, JSON.stringify(result.lost.slice(0, 10))).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
  });

  it(`${R} source changes with ${Math.round(profile.lost.dropRate * 100)}% of write answers lost, ${P} pushes: each target written once per revision, the last revision everywhere`, async () => {
    const s = (scenario = await startScenario('sources-lost', 10));
    const namespace = await s.namespace('src-lost');
    const { pushes, sources } = plan(namespace);
    const final = new Map<string, Record<string, string>>();
    for (const [i, name] of sources.entries()) {
      final.set(name, sourceData(i, 0));
      await writeSource(s, namespace, name, sourceData(i, 0));
    }
    proxy = new LossyProxy({ cluster: s.env, dropRate: profile.lost.dropRate, seed: s.seed, mode: 'mixed', holdMs: 10_000, maxLifetimeMs: 30 * 60_000 });
    await proxy.start();
    const kubeconfig = join(runDir, 'sources-lost.kubeconfig');
    writeFileSync(kubeconfig, proxy.kubeconfig(), { mode: 0o600 });
    const op = new OperatorProcess({ name: 'sources-lost', kubeconfig, workers: 4, requestTimeoutS: profile.lost.requestTimeoutS });
    await op.start();
    const started = Date.now();
    await forEachLimit(pushes, 4, async (push) => createPush(s.c, push));
    for (let r = 1; r <= R; r++) {
      await sleep(s.rnd.int(500, 2_000));
      for (const [i, name] of sources.entries()) {
        final.set(name, sourceData(i, r));
        await writeSource(s, namespace, name, sourceData(i, r));
      }
    }
    const result = await converged(s, namespace, pushes, final, profile.convergeTimeoutMs);
    const lastDrop = proxy.stats.dropped.at(-1)?.at ?? started;
    proxy.dropRate = 0;
    await sleep(2_000);
    const allowed = new Map(pushes.map((p) => [targetId(p.targets[0]!), 1 + R]));
    const doubles = await s.soleCreatorDoubleApplies(allowed);
    const writes = s.operatorTargetWrites();
    const crashes = op.crashes.length;
    const droppedTargetWrites = proxy.stats.dropped.filter((d) => /\/secrets(\/|\?|$)/.test(d.path) && d.status >= 200 && d.status < 300).length;
    await op.stop();

    recordFigures({
      scenario: 'source changes, lost responses',
      order: 10,
      seed: s.seed,
      pushes: P,
      faults: `${proxy.stats.dropped.length} dropped responses during ${R} changes of ${S} sources`,
      faultCount: proxy.stats.dropped.length,
      operatorTargetWrites: writes,
      doubleApplies: doubles.length,
      lost: result.lost.length,
      crashes,
      convergeAfterLastFaultS: Math.max(0, result.at - lastDrop) / 1000,
      totalS: (result.at - started) / 1000,
      extra: { 'dropped after a successful target write': droppedTargetWrites },
    });
    expect(crashes).toBe(0);
    expect(result.lost, JSON.stringify(result.lost.slice(0, 10))).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    // Every target was written. Not 2 per push, as this once asserted: a first
    // write lost before it reached the apiserver is retried after the request
    // timeout, by when the sources may have moved to their last revision (CI
    // on 2026-12-01: 23 writes for 12 pushes, the last revision everywhere).
    expect(writes).toBeGreaterThanOrEqual(P);
    // The fault happened: answers were lost.
    expect(proxy.stats.dropped.length).toBeGreaterThan(0);
  });
});

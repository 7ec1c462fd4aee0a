import { afterAll, describe, expect, it } from 'vitest';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import {
  ALLOWED_SOURCES,
  allowedWrites,
  createPush,
  finalSpec,
  forEachLimit,
  planPushes,
  purgePushes,
  randomContent,
  sleep,
  updateSpec,
  waitConverged,
} from './workload.js';

/**
 * Three replicas with leader election off (the flag is opt-in and not
 * passed), all reconciling every push at once. Some pushes get a new spec
 * (new content) shortly after they are created, while the replicas race on
 * them: a replica whose cache still holds the old generation must not write
 * the old content back. A target may be written once per content it had to
 * carry; more is a double apply.
 */
const { replicas: R, pushes: P, specUpdates: U } = profile.replicas;

describe('concurrent replicas', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${R} replicas without leader election on ${P} pushes (${U} updated): no target written twice per operation`, async () => {
    const s = (scenario = await startScenario('replicas', 3));
    const homes = [await s.namespace('replicas'), await s.namespace('replicas')];
    const cross = await s.namespace('replicas-x', { [ALLOWED_SOURCES]: '*' });
    const pushes = planPushes(s.rnd, P, homes, cross, 'push');
    const targets = pushes.reduce((n, p) => n + p.targets.length, 0);

    const ops = Array.from({ length: R }, (_, i) => new OperatorProcess({ name: `replica-${i}`, kubeconfig: s.env.kubeconfig, workers: 4 }));
    await Promise.all(ops.map((op) => op.start()));

    const updated = new Set(pushes.slice(0, U).map((p) => p.name));
    const updateDelays = new Map(pushes.map((p) => [p.name, s.rnd.int(0, 1_500)]));
    const firstCreate = Date.now();
    await forEachLimit(pushes, 6, async (push) => {
      await createPush(s.c, push);
      if (!updated.has(push.name)) return;
      await sleep(updateDelays.get(push.name) ?? 0);
      await updateSpec(s.c, push, { ...finalSpec(push), ...randomContent(s.rnd, `${push.name}-g2`) });
    });
    const lastUpdate = Date.now();
    const convergence = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    await sleep(3_000);

    const doubles = s.doubleApplies(allowedWrites(pushes));
    const ledgers = s.ledgers();
    const operatorWrites = s.operatorTargetWrites();
    const refused = [...ledgers.values()].reduce((n, l) => n + l.refusedOperatorWrites.length, 0);
    const writers = new Map<string, number>();
    for (const op of ops) writers.set(op.logFile, op.incarnations.reduce((n, i) => n + i.targetWrites, 0));
    const crashes = ops.reduce((n, op) => n + op.crashes.length, 0);
    await Promise.all(ops.map((op) => op.stop()));

    recordFigures({
      scenario: 'concurrent replicas',
      order: 3,
      seed: s.seed,
      pushes: P,
      faults: `${R} replicas, ${U} spec updates`,
      faultCount: R,
      operatorTargetWrites: operatorWrites,
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: (convergence.at - lastUpdate) / 1000,
      totalS: (convergence.at - firstCreate) / 1000,
      extra: {
        targets,
        'target writes allowed (one per content)': [...allowedWrites(pushes).values()].reduce((a, b) => a + b, 0),
        'refused (409) operator target writes': refused,
        'target writes per replica': [...writers.values()].join(' / '),
      },
    });

    expect(crashes, ops.flatMap((op) => op.crashes.map((c) => c.stderrTail)).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    expect(operatorWrites).toBeGreaterThanOrEqual(targets);
  });
});

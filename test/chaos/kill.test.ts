import { afterAll, describe, expect, it } from 'vitest';
import { isOperator } from './ledger.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { ALLOWED_SOURCES, allowedWrites, createPush, forEachLimit, planPushes, purgePushes, sleep, waitConverged } from './workload.js';

/**
 * kill -9 at random instants while pushes apply; the operator is started
 * again at once each time (without waiting for it to be ready, so some kills
 * land during start-up, some during the initial re-list, some between a
 * target write and its status write). Pushes are created throughout the
 * kill window so there is always work in flight.
 */
const { pushes: P, kills: K, minDelayMs, maxDelayMs } = profile.kill;

describe('kill -9', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${K} kills while ${P} pushes apply: no target written twice, every push Ready with its content`, async () => {
    const s = (scenario = await startScenario('kill-9', 1));
    const homes = [await s.namespace('kill'), await s.namespace('kill')];
    const cross = await s.namespace('kill-x', { [ALLOWED_SOURCES]: '*' });
    const pushes = planPushes(s.rnd, P, homes, cross, 'push');
    const targets = pushes.reduce((n, p) => n + p.targets.length, 0);

    const op = new OperatorProcess({ name: 'kill-9', kubeconfig: s.env.kubeconfig, workers: 4, requestTimeoutS: 10 });
    await op.start();
    const delays = Array.from({ length: K }, () => s.rnd.int(minDelayMs, maxDelayMs));
    const window = delays.reduce((a, b) => a + b, 0);
    const spacing = (window * 0.7) / P;
    const firstCreate = Date.now();
    const creating = forEachLimit(pushes, 4, async (push, i) => {
      const due = firstCreate + i * spacing;
      if (due > Date.now()) await sleep(due - Date.now());
      await createPush(s.c, push);
    });

    const kills: { at: number; beforeReady: boolean }[] = [];
    for (const delay of delays) {
      await sleep(delay);
      const current = op.incarnations.at(-1);
      kills.push({ at: Date.now(), beforeReady: current?.readyAt === undefined });
      await op.kill9();
      await op.start(false);
    }
    await creating;
    const lastKill = kills.at(-1)?.at ?? Date.now();

    const convergence = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    // A late duplicate (a retry still in a backoff) would land now.
    await sleep(3_000);
    const doubles = s.doubleApplies(allowedWrites(pushes));
    const ledgers = s.ledgers();
    const operatorWrites = s.operatorTargetWrites();
    const refused = [...ledgers.values()].reduce((n, l) => n + l.refusedOperatorWrites.length, 0);
    // A kill "during writes": the operator completed a write in the scenario within 500 ms before it.
    const scope = new Set(s.namespaces);
    const writeTimes = s
      .events()
      .filter((e) => isOperator(e) && e.objectRef?.namespace !== undefined && scope.has(e.objectRef.namespace))
      .map((e) => Date.parse(e.stageTimestamp))
      .sort((a, b) => a - b);
    const duringWrites = kills.filter((k) => writeTimes.some((t) => t <= k.at && t > k.at - 500)).length;
    const crashes = op.crashes.length;
    await op.stop();

    recordFigures({
      scenario: 'kill -9',
      order: 1,
      seed: s.seed,
      pushes: P,
      faults: `${kills.length} kills`,
      faultCount: kills.length,
      operatorTargetWrites: operatorWrites,
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: (convergence.at - lastKill) / 1000,
      totalS: (convergence.at - firstCreate) / 1000,
      extra: {
        targets,
        'kills before ready': kills.filter((k) => k.beforeReady).length,
        'kills within 500 ms of a write': duringWrites,
        'refused (409/404) operator target writes': refused,
        incarnations: op.incarnations.length,
      },
    });

    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    // Every target was written at least once, and the kills did hit work in flight.
    expect(operatorWrites).toBeGreaterThanOrEqual(targets);
    expect(duringWrites).toBeGreaterThan(0);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { isOperator } from './ledger.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { ALLOWED_SOURCES, allowedWrites, createPush, forEachLimit, planPushes, purgePushes, sleep, waitConverged } from './workload.js';

/**
 * kill -9 at random instants while pushes apply, and the operator started
 * again at once each time: some kills land during start-up, some at random
 * once it runs, some aimed between a target write and its status write.
 * Pushes are created throughout the kill window so there is always work in
 * flight.
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
    // Each kill is one of: during start-up (a random instant after the spawn,
    // ready or not); at a random instant after the caches synced; or aimed,
    // 0-30 ms after the operator logs a target write, i.e. between a target
    // write and the status write that records it.
    type Phase = 'start-up' | 'random' | 'aimed';
    const plan = Array.from({ length: K }, () => {
      const roll = s.rnd.float();
      const phase: Phase = roll < 0.2 ? 'start-up' : roll < 0.6 ? 'random' : 'aimed';
      return { phase, delay: s.rnd.int(minDelayMs, maxDelayMs) };
    });
    // Creation is spread over most of the kill window (start-up takes ~2-4 s here).
    const window = plan.reduce((n, k) => n + k.delay + (k.phase === 'start-up' ? 0 : 3_000), 0);
    const spacing = (window * 0.7) / P;
    const firstCreate = Date.now();
    const creating = forEachLimit(pushes, 4, async (push, i) => {
      const due = firstCreate + i * spacing;
      if (due > Date.now()) await sleep(due - Date.now());
      await createPush(s.c, push);
    });

    const nextWrite = (timeoutMs: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const off = op.onLine((line) => {
          if (line.msg === 'target written') done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    const kills: { at: number; beforeReady: boolean; phase: Phase }[] = [];
    for (const { phase, delay } of plan) {
      if (phase === 'start-up') {
        await sleep(delay);
      } else {
        await op.ready(60_000);
        if (phase === 'aimed') {
          await nextWrite(delay);
          await sleep(s.rnd.int(0, 30));
        } else {
          await sleep(delay);
        }
      }
      const current = op.incarnations.at(-1);
      kills.push({ at: Date.now(), beforeReady: current?.readyAt === undefined, phase });
      await op.kill9();
      await op.start(false);
    }
    await creating;
    const lastKill = kills.at(-1)?.at ?? Date.now();

    const convergence = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    // A late duplicate (a retry still in a backoff) would land now.
    await sleep(3_000);
    // The operator is the only creator of these targets: a create that a kill
    // cut short (answered 504, maybe committed) is counted from the target's
    // existence, and any rewrite after it counts, whatever its answer.
    const doubles = await s.soleCreatorDoubleApplies(allowedWrites(pushes));
    const ledgers = s.ledgers();
    const operatorWrites = s.operatorTargetWrites();
    const unknownOutcome = s.unknownOutcomeTargetWrites();
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
        'kills aimed just after a target write': kills.filter((k) => k.phase === 'aimed').length,
        'kills before ready': kills.filter((k) => k.beforeReady).length,
        'kills within 500 ms of a write': duringWrites,
        'refused (409/404) operator target writes': refused,
        'operator target writes answered 500/504 (cut short by a kill)': unknownOutcome,
        incarnations: op.incarnations.length,
      },
    });

    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    // Every target's write is in the audit log: answered 2xx, or 504 when the
    // kill closed the connection mid-request (the write may still commit; the
    // target then exists and no 2xx create of it is logged).
    expect(operatorWrites + unknownOutcome).toBeGreaterThanOrEqual(targets);
    // The kills did hit work in flight.
    expect(duringWrites).toBeGreaterThan(0);
  });
});

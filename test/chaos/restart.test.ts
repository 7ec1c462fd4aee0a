import { afterAll, describe, expect, it } from 'vitest';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, restartControlPlane, startScenario, type Scenario } from './scenario.js';
import { ALLOWED_SOURCES, allowedWrites, createPush, forEachLimit, planPushes, purgePushes, sleep, waitConverged } from './workload.js';

/**
 * The control plane (etcd and kube-apiserver) is stopped and started again
 * (hack/cluster.sh restart: same ports, same data) in the middle of a run,
 * while pushes are being created and applied. The operator process keeps
 * running through it: its watches break, its requests fail, and it must come
 * back by itself and converge, writing no target twice.
 */
const { pushes: P, restarts: N } = profile.restart;

describe('control-plane restart', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${N} restart(s) of apiserver and etcd during ${P} pushes: the operator converges, no target written twice`, async () => {
    const s = (scenario = await startScenario('restart', 4));
    const homes = [await s.namespace('restart'), await s.namespace('restart')];
    const cross = await s.namespace('restart-x', { [ALLOWED_SOURCES]: '*' });
    const pushes = planPushes(s.rnd, P, homes, cross, 'push');
    const targets = pushes.reduce((n, p) => n + p.targets.length, 0);

    const op = new OperatorProcess({ name: 'restart', kubeconfig: s.env.kubeconfig, workers: 4, requestTimeoutS: 10 });
    await op.start();

    // Pushes are created in N+1 waves; a restart starts right after each of
    // the first N waves, while the operator is busy with it. The next wave is
    // created during the outage (the test's client retries until it is back).
    const firstCreate = Date.now();
    const waves = Array.from({ length: N + 1 }, (_, w) => pushes.filter((_p, i) => i % (N + 1) === w));
    const outages: number[] = [];
    let lastRestart = firstCreate;
    for (const [w, wave] of waves.entries()) {
      if (w === 0) {
        await forEachLimit(wave, 4, async (push) => createPush(s.c, push));
        continue;
      }
      await sleep(s.rnd.int(200, 1_500));
      const restart = restartControlPlane();
      await forEachLimit(wave, 4, async (push) => createPush(s.c, push));
      outages.push(await restart);
      lastRestart = Date.now();
    }
    const convergence = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    await sleep(3_000);

    const doubles = await s.soleCreatorDoubleApplies(allowedWrites(pushes));
    const operatorWrites = s.operatorTargetWrites();
    const crashes = op.crashes.length;
    const still = op.running;
    await op.stop();

    recordFigures({
      scenario: 'control-plane restart',
      order: 4,
      seed: s.seed,
      pushes: P,
      faults: `${outages.length} restart(s) of apiserver+etcd`,
      faultCount: outages.length,
      operatorTargetWrites: operatorWrites,
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: (convergence.at - lastRestart) / 1000,
      totalS: (convergence.at - firstCreate) / 1000,
      extra: {
        targets,
        'restart durations (s)': outages.map((ms) => (ms / 1000).toFixed(1)).join(', '),
        'operator retries logged': op.incarnations.reduce((n, i) => n + i.retries, 0),
      },
    });

    expect(still, 'the operator process was still running').toBe(true);
    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    expect(operatorWrites).toBe(targets);
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LossyProxy } from './lossy-proxy.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile, runDir } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { ALLOWED_SOURCES, allowedWrites, createPush, forEachLimit, planPushes, purgePushes, sleep, waitConverged } from './workload.js';

/**
 * The operator talks to the apiserver only through the lossy proxy, with a
 * 2 s request timeout. A share of its writes (targets, status, finalizers,
 * events) reach the apiserver and complete, and the answer is lost: the
 * socket is reset, or held silent until the operator's timeout fires. This
 * is the seeds' story (a timeout on a write that happened) on every write the
 * operator makes. The drops go on until every push has converged.
 */
const { pushes: P, dropRate, requestTimeoutS } = profile.lost;

describe('lost responses', () => {
  let scenario: Scenario | undefined;
  let proxy: LossyProxy | undefined;
  afterAll(async () => {
    await stopAll();
    await proxy?.stop();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${Math.round(dropRate * 100)}% of write responses lost on ${P} pushes: no target written twice, none lost`, async () => {
    const s = (scenario = await startScenario('lost-responses', 2));
    const homes = [await s.namespace('lost'), await s.namespace('lost')];
    const cross = await s.namespace('lost-x', { [ALLOWED_SOURCES]: '*' });
    const pushes = planPushes(s.rnd, P, homes, cross, 'push');
    const targets = pushes.reduce((n, p) => n + p.targets.length, 0);

    proxy = new LossyProxy({ cluster: s.env, dropRate, seed: s.seed, mode: 'mixed', holdMs: 10_000, maxRequests: 200_000, maxLifetimeMs: 45 * 60_000 });
    await proxy.start();
    const kubeconfig = join(runDir, 'lost-responses.kubeconfig');
    writeFileSync(kubeconfig, proxy.kubeconfig(), { mode: 0o600 });
    const op = new OperatorProcess({ name: 'lost-responses', kubeconfig, workers: 4, requestTimeoutS });
    await op.start();

    const firstCreate = Date.now();
    await forEachLimit(pushes, 4, async (push) => createPush(s.c, push));
    const convergence = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    const stats = proxy.stats;
    const lastDrop = stats.dropped.at(-1)?.at ?? firstCreate;
    await sleep(3_000);

    const doubles = await s.soleCreatorDoubleApplies(allowedWrites(pushes));
    const operatorWrites = s.operatorTargetWrites();
    const isTarget = (path: string) => /\/(configmaps|secrets)(\/|\?|$)/.test(path);
    const ok = (status: number) => status >= 200 && status < 300;
    const droppedTargetWrites = stats.dropped.filter((d) => isTarget(d.path) && ok(d.status)).length;
    const droppedStatusWrites = stats.dropped.filter((d) => d.path.includes('/status') && ok(d.status)).length;
    const crashes = op.crashes.length;
    await op.stop();

    recordFigures({
      scenario: 'lost responses',
      order: 2,
      seed: s.seed,
      pushes: P,
      faults: `${stats.dropped.length} dropped responses (${Math.round(dropRate * 100)}% of ${stats.writes} writes)`,
      faultCount: stats.dropped.length,
      operatorTargetWrites: operatorWrites,
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: Math.max(0, convergence.at - lastDrop) / 1000,
      totalS: (convergence.at - firstCreate) / 1000,
      extra: {
        targets,
        'dropped after a successful target write': droppedTargetWrites,
        'dropped after a successful status write': droppedStatusWrites,
        'reset / held': `${stats.dropped.filter((d) => d.mode === 'reset').length} / ${stats.dropped.filter((d) => d.mode === 'hold').length}`,
        'requests through the proxy': stats.requests,
        'operator retries logged': op.incarnations.reduce((n, i) => n + i.retries, 0),
      },
    });

    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    expect(operatorWrites).toBe(targets);
    // The fault really happened: target writes that landed and whose answer the operator never saw.
    expect(droppedTargetWrites).toBeGreaterThan(0);
  });
});

import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { targetId, type TargetRef } from './ledger.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import {
  clients,
  code,
  createPush,
  forEachLimit,
  getPush,
  planPushes,
  purgePushes,
  sleep,
  waitConverged,
  type Clients,
  type PlannedPush,
} from './workload.js';

/**
 * A third party rewrites managed targets while the operator works: it edits
 * their data (drift), deletes them (drift), or only adds an annotation of its
 * own (not drift: the operator must not write for it). Half the pushes have
 * driftPolicy Correct, half Report. Checked: the operator writes a target at
 * most once per drifting edit (plus its first write) and never for a foreign
 * annotation; under Report it never writes again after the first apply and
 * the drift is reported; afterwards it goes quiet (no hot loop).
 */
const { pushes: P, thirdPartyWrites: N, intervalMs } = profile.writer;
type Action = 'data' | 'delete' | 'foreign';

interface TargetState {
  ref: TargetRef;
  push: PlannedPush;
  policy: 'Correct' | 'Report';
  drifting: number;
  deletes: number;
  foreign: number;
  last?: Action;
}

async function thirdPartyEdit(c: Clients, t: TargetState, action: Action, n: number): Promise<boolean> {
  const { namespace, name } = t.ref;
  const isCm = t.ref.resource === 'configmaps';
  try {
    if (action === 'delete') {
      if (isCm) await c.core.deleteNamespacedConfigMap({ namespace, name });
      else await c.core.deleteNamespacedSecret({ namespace, name });
      return true;
    }
    const live: V1ConfigMap | V1Secret = isCm ? await c.core.readNamespacedConfigMap({ namespace, name }) : await c.core.readNamespacedSecret({ namespace, name });
    if (action === 'foreign') {
      live.metadata = { ...live.metadata, annotations: { ...live.metadata?.annotations, 'thirdparty.example/touched': String(n) } };
    } else {
      const value = `third-party edit ${n}`;
      live.data = { ...live.data, 'third-party': isCm ? value : Buffer.from(value).toString('base64') };
    }
    // A conditional replace at the version read, like a careful third party.
    if (isCm) await c.core.replaceNamespacedConfigMap({ namespace, name, body: live as V1ConfigMap });
    else await c.core.replaceNamespacedSecret({ namespace, name, body: live as V1Secret });
    return true;
  } catch (err) {
    if (code(err) === 404 || code(err) === 409) return false;
    throw err;
  }
}

describe('a concurrent writer', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${N} third-party writes to ${P} pushes' targets: bounded operator writes, no hot loop, drift policy respected`, async () => {
    const s = (scenario = await startScenario('concurrent-writer', 5));
    const home = await s.namespace('writer');
    const pushes = planPushes(s.rnd, P, [home], undefined, 'push');
    const policyOf = new Map<string, 'Correct' | 'Report'>();
    for (const [i, push] of pushes.entries()) {
      const policy = i % 2 === 0 ? 'Correct' : 'Report';
      push.spec.driftPolicy = policy;
      policyOf.set(push.name, policy);
    }
    const states: TargetState[] = pushes.flatMap((push) =>
      push.targets.map((ref) => ({ ref, push, policy: policyOf.get(push.name) ?? 'Correct', drifting: 0, deletes: 0, foreign: 0 })),
    );

    const op = new OperatorProcess({ name: 'concurrent-writer', kubeconfig: s.env.kubeconfig, workers: 4, metrics: true });
    await op.start();
    const firstCreate = Date.now();
    await forEachLimit(pushes, 4, async (push) => createPush(s.c, push));
    const initial = await waitConverged(s.c, pushes, profile.convergeTimeoutMs);
    expect(initial.lost, JSON.stringify(initial.lost.slice(0, 5))).toEqual([]);
    const reconcilesBefore = await op.metric('configpush_reconcile_total');

    // The third party: N edits, one every intervalMs, at random targets.
    const third = clients(s.env.kubeconfig, 'configpush-chaos-third-party');
    let refused = 0;
    const writerStart = Date.now();
    for (let n = 0; n < N; n++) {
      const t = s.rnd.pick(states);
      const roll = s.rnd.float();
      const action: Action = roll < 0.5 ? 'data' : roll < 0.8 ? 'foreign' : 'delete';
      if (await thirdPartyEdit(third, t, action, n)) {
        if (action === 'foreign') t.foreign++;
        else t.drifting++;
        if (action === 'delete') t.deletes++;
        t.last = action;
      } else {
        refused++;
      }
      await sleep(intervalMs);
    }
    const lastEdit = Date.now();

    // Correct: back to the spec. Report: the drift stays, and is reported.
    const correct = pushes.filter((p) => policyOf.get(p.name) === 'Correct');
    const convergence = await waitConverged(s.c, correct, profile.convergeTimeoutMs);
    const reportProblems: string[] = [];
    const reportDeadline = Date.now() + 30_000;
    for (const push of pushes.filter((p) => policyOf.get(p.name) === 'Report')) {
      const mine = states.filter((t) => t.push === push);
      const drifted = mine.some((t) => t.drifting > 0);
      let problem: string | undefined = 'not checked';
      while (problem !== undefined && Date.now() < reportDeadline) {
        const live = await getPush(s.c, push.namespace, push.name);
        const cond = (type: string) => live.status?.conditions?.find((c) => c.type === type);
        problem = undefined;
        // Drifted is written only while True: absent is False (kstatus's abnormal-true conditions).
        const driftedStatus = cond('Drifted')?.status ?? 'False';
        if (driftedStatus !== (drifted ? 'True' : 'False')) problem = `Drifted=${cond('Drifted')?.status ?? 'absent'}, want ${drifted ? 'True' : 'False (absent)'}`;
        else if (!drifted && cond('Ready')?.status !== 'True') problem = `Ready=${cond('Ready')?.status ?? 'none'}`;
        if (problem) await sleep(250);
      }
      if (problem) reportProblems.push(`${push.name}: ${problem}`);
      for (const t of mine) {
        if (t.last !== 'delete' && t.last !== 'data') continue;
        const { namespace, name } = t.ref;
        const live = t.ref.resource === 'configmaps' ? await s.c.core.readNamespacedConfigMap({ namespace, name }).catch(() => undefined) : await s.c.core.readNamespacedSecret({ namespace, name }).catch(() => undefined);
        if (t.last === 'delete' && live) reportProblems.push(`${targetId(t.ref)}: deleted by the third party under driftPolicy Report, but exists again`);
        if (t.last === 'data' && live?.data?.['third-party'] === undefined) reportProblems.push(`${targetId(t.ref)}: the third party's edit was reverted under driftPolicy Report`);
      }
    }

    // Quiet: nothing left to do, so nothing may run or be written for 5 s.
    await sleep(2_000);
    const writesSettled = s.operatorTargetWrites();
    const reconcilesSettled = await op.metric('configpush_reconcile_total');
    await sleep(5_000);
    const quietWrites = s.operatorTargetWrites() - writesSettled;
    const quietReconciles = (await op.metric('configpush_reconcile_total')) - reconcilesSettled;

    const byId = new Map(states.map((t) => [targetId(t.ref), t]));
    const expected = new Map(states.map((t) => [targetId(t.ref), 1]));
    // A drifting edit under Correct earns one correction; a deletion under Report
    // is not a repeat of the same write (the object was gone), counted below instead.
    const doubles = s.doubleApplies(expected, (ledger, base) => {
      const t = byId.get(targetId(ledger.target));
      if (!t) return base;
      return base + (t.policy === 'Correct' ? t.drifting : t.deletes);
    });
    const ledgers = s.ledgers();
    const policyViolations = states
      .filter((t) => t.policy === 'Report')
      .map((t) => ({ id: targetId(t.ref), extra: (ledgers.get(targetId(t.ref))?.operatorWrites.length ?? 0) - 1 }))
      .filter((v) => v.extra > 0);
    const foreignOnly = states.filter((t) => t.foreign > 0 && t.drifting === 0);
    const foreignWrites = foreignOnly.reduce((n, t) => n + (ledgers.get(targetId(t.ref))?.operatorWrites.length ?? 0) - 1, 0);
    const thirdPartyDone = states.reduce((n, t) => n + t.drifting + t.foreign, 0);
    const reconcilesDuring = reconcilesSettled - reconcilesBefore;
    const operatorWrites = s.operatorTargetWrites();
    const crashes = op.crashes.length;
    await op.stop();

    recordFigures({
      scenario: 'concurrent writer',
      order: 5,
      seed: s.seed,
      pushes: P,
      faults: `${thirdPartyDone} third-party writes`,
      faultCount: thirdPartyDone,
      operatorTargetWrites: operatorWrites,
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: (convergence.at - lastEdit) / 1000,
      totalS: (convergence.at - firstCreate) / 1000,
      extra: {
        targets: states.length,
        'drifting edits (Correct / Report)': `${states.filter((t) => t.policy === 'Correct').reduce((n, t) => n + t.drifting, 0)} / ${states
          .filter((t) => t.policy === 'Report')
          .reduce((n, t) => n + t.drifting, 0)}`,
        'foreign-annotation edits': states.reduce((n, t) => n + t.foreign, 0),
        'third-party writes refused (409/404)': refused,
        'operator writes for foreign edits': foreignWrites,
        'Report-policy violations': policyViolations.length,
        'reconciles during the writer phase': reconcilesDuring,
        'reconciles / writes in 5 s of quiet': `${quietReconciles} / ${quietWrites}`,
        'writer phase (s)': ((lastEdit - writerStart) / 1000).toFixed(1),
      },
    });

    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    expect(foreignWrites).toBe(0);
    expect(policyViolations, JSON.stringify(policyViolations.slice(0, 10))).toEqual([]);
    expect(reportProblems, reportProblems.slice(0, 10).join('\n')).toEqual([]);
    expect(quietWrites).toBe(0);
    expect(quietReconciles).toBeLessThanOrEqual(2);
    // Bounded work: a handful of reconciles per third-party write (its watch
    // event, the correction's, the status write's), not a loop.
    expect(reconcilesDuring).toBeLessThanOrEqual(6 * thirdPartyDone + 4 * P);
  });
});

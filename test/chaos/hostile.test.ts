import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigPush } from '../../src/api/types.js';
import type { ClusterEnv } from './cluster.js';
import { hostileCases, type HostileCase } from './hostile-input.js';
import { operatorWriteCount } from './ledger.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { allowedWrites, createPush, forEachLimit, getPush, planPushes, purgePushes, sleep, waitConverged } from './workload.js';

/**
 * Hostile input: bad ConfigPushes sent as raw requests (so even bodies that
 * are not JSON reach the apiserver), while good pushes are created beside
 * them. Each bad one must be rejected at admission with a message, or end
 * Ready=False with a reason (Ready=True with exactly its content for input
 * that is strange but legal). The operator must not crash, must not loop on
 * any of them, and the good pushes must converge.
 */
const { bad: B, good: G } = profile.hostile;

interface Outcome {
  case: HostileCase;
  status: number;
  message: string;
  name?: string;
  /** 'rejected' | 'ready' | 'stalled:<Reason>' | 'pending: ...' */
  result: string;
  ok: boolean;
}

function send(env: ClusterEnv, namespace: string, body: HostileCase['body']): Promise<{ status: number; text: string }> {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: env.apiserverPort,
        method: 'POST',
        path: `/apis/configpush.io/v1alpha1/namespaces/${namespace}/configpushes`,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, 'user-agent': 'configpush-chaos-suite/hostile' },
        ca: readFileSync(join(env.pki, 'ca.crt')),
        cert: readFileSync(join(env.pki, 'admin.crt')),
        key: readFileSync(join(env.pki, 'admin.key')),
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function ready(push: ConfigPush) {
  const cond = push.status?.conditions?.find((c) => c.type === 'Ready');
  return cond && cond.observedGeneration === push.metadata.generation ? cond : undefined;
}

async function contentProblem(s: Scenario, push: ConfigPush, c: HostileCase): Promise<string | undefined> {
  for (const t of push.spec.targets) {
    const namespace = t.namespace ?? push.metadata.namespace;
    if (t.kind === 'ConfigMap') {
      const cm: V1ConfigMap = await s.c.core.readNamespacedConfigMap({ namespace, name: t.name });
      if (c.data && JSON.stringify(cm.data ?? {}) !== JSON.stringify(c.data)) return `ConfigMap ${t.name}: data differs`;
      if (c.binaryData && JSON.stringify(cm.binaryData ?? {}) !== JSON.stringify(c.binaryData)) return `ConfigMap ${t.name}: binaryData ${JSON.stringify(cm.binaryData)}`;
    } else {
      const secret: V1Secret = await s.c.core.readNamespacedSecret({ namespace, name: t.name });
      for (const [k, v] of Object.entries(c.data ?? {})) {
        if (Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8') !== v) return `Secret ${t.name}: ${k} differs`;
      }
    }
  }
  return undefined;
}

describe('hostile input', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${B} bad ConfigPushes: each rejected with a message or Ready=False with a reason; no crash, no loop; good pushes converge`, async () => {
    const s = (scenario = await startScenario('hostile', 6));
    const badNs = await s.namespace('hostile');
    const goodNs = await s.namespace('hostile-good');
    const cases = hostileCases(s.rnd, B, badNs);
    const good = planPushes(s.rnd, G, [goodNs], undefined, 'good');

    const op = new OperatorProcess({ name: 'hostile', kubeconfig: s.env.kubeconfig, workers: 4, metrics: true });
    await op.start();
    const started = Date.now();
    const outcomes: Outcome[] = [];
    // Good pushes go in among the bad ones: one every 300 ms.
    const creatingGood = forEachLimit(good, 2, async (push, i) => {
      const due = started + i * 300;
      if (due > Date.now()) await sleep(due - Date.now());
      await createPush(s.c, push);
    });
    await forEachLimit(cases, 3, async (c) => {
      const { status, text } = await send(s.env, badNs, c.body);
      let message = '';
      let name: string | undefined;
      try {
        const parsed = JSON.parse(text) as { message?: string; metadata?: { name?: string } };
        message = parsed.message ?? '';
        name = parsed.metadata?.name;
      } catch {
        message = text.slice(0, 300);
      }
      const rejected = status >= 400;
      const outcome: Outcome = { case: c, status, message, result: rejected ? 'rejected' : 'pending', ok: rejected && message.trim() !== '' };
      if (name !== undefined) outcome.name = name;
      outcomes.push(outcome);
    });
    await creatingGood;
    // The good pushes are watched from now on, while the bad ones are checked.
    const goodConverged = waitConverged(s.c, good, profile.convergeTimeoutMs);

    // Accepted ones: wait for an answer at their generation.
    const deadline = Date.now() + 90_000;
    for (const o of outcomes.filter((x) => x.result === 'pending')) {
      for (;;) {
        const push = await getPush(s.c, badNs, o.name ?? '');
        const cond = ready(push);
        if (cond?.status === 'False' && cond.reason && cond.reason !== 'RetryingAfterError') {
          o.result = `stalled:${cond.reason}`;
          o.message = cond.message;
          o.ok = true;
          break;
        }
        if (cond?.status === 'True') {
          const problem = await contentProblem(s, push, o.case);
          o.result = problem ? `ready with wrong content: ${problem}` : 'ready';
          o.ok = problem === undefined && o.case.expect === 'either';
          break;
        }
        if (Date.now() > deadline) {
          o.result = `no answer: ${cond ? `${cond.status}/${cond.reason}: ${cond.message.slice(0, 200)}` : 'no Ready condition at its generation'}`;
          break;
        }
        await sleep(500);
      }
    }
    const convergence = await goodConverged;
    const answeredAt = Date.now();

    // No loop: once everything has answered, 5 s without reconciles or writes.
    await sleep(3_000);
    const reconciles0 = await op.metric('configpush_reconcile_total');
    const writes0 = operatorWriteCount(s.events(), s.namespaces).total;
    await sleep(5_000);
    const quietReconciles = (await op.metric('configpush_reconcile_total')) - reconciles0;
    const quietWrites = operatorWriteCount(s.events(), s.namespaces).total - writes0;
    const writesByResource = operatorWriteCount(s.events(), [badNs]).byResource;
    // Which bad pushes kept the operator writing: their targets' write counts, named by case.
    const caseOfTarget = new Map<string, string>();
    for (const o of outcomes) {
      const spec = Buffer.isBuffer(o.case.body) ? undefined : (o.case.body.spec as { targets?: unknown } | undefined);
      if (!Array.isArray(spec?.targets)) continue;
      for (const t of spec.targets as { name?: unknown }[]) if (typeof t?.name === 'string') caseOfTarget.set(t.name, `${o.name ?? '?'} (${o.case.what})`);
    }
    const hot = [...s.ledgers().values()]
      .filter((l) => l.target.namespace === badNs && l.operatorWrites.length > 1)
      .map((l) => `${l.target.resource}/${l.target.name}: ${l.operatorWrites.length} writes, ${caseOfTarget.get(l.target.name) ?? 'unknown case'}`);
    const doubles = s.doubleApplies(allowedWrites(good), (ledger, base) => (ledger.target.namespace === badNs ? 1 : base));
    const crashes = op.crashes.length;
    const alive = op.running;
    await op.stop();

    const count = (f: (o: Outcome) => boolean) => outcomes.filter(f).length;
    const reasons = new Map<string, number>();
    for (const o of outcomes) reasons.set(o.result.split(':')[0] === 'stalled' ? o.result : o.result.split(':')[0] ?? '', (reasons.get(o.result) ?? 0) + 1);
    const failures = outcomes.filter((o) => !o.ok);
    recordFigures({
      scenario: 'hostile input',
      order: 6,
      seed: s.seed,
      pushes: B + G,
      faults: `${B} bad ConfigPushes`,
      faultCount: B,
      operatorTargetWrites: s.operatorTargetWrites(),
      doubleApplies: doubles.length,
      lost: convergence.lost.length,
      crashes,
      convergeAfterLastFaultS: (convergence.at - started) / 1000,
      totalS: (answeredAt - started) / 1000,
      extra: {
        'rejected at admission': count((o) => o.result === 'rejected'),
        'Ready=False with a reason': count((o) => o.result.startsWith('stalled')),
        'legal, Ready with its content': count((o) => o.result === 'ready'),
        'without a proper answer': failures.length,
        'stall reasons': [...new Set(outcomes.filter((o) => o.result.startsWith('stalled')).map((o) => o.result.slice(8)))].join(' '),
        'reconciles / writes in 5 s of quiet': `${quietReconciles} / ${quietWrites}`,
        'operator writes in the bad namespace': JSON.stringify(writesByResource),
        'good pushes converged': `${convergence.converged}/${G}`,
        'targets written more than once': hot.length > 0 ? hot.join('; ') : 'none',
      },
    });

    const describeFailure = (o: Outcome) => `${o.name ?? ''} [${o.case.category}] ${o.case.what}: HTTP ${o.status}, ${o.result}; ${o.message.slice(0, 300)}`;
    expect(alive, 'the operator is still running').toBe(true);
    expect(crashes, op.crashes.map((c) => c.stderrTail).join('\n---\n')).toBe(0);
    expect(failures.map(describeFailure), failures.map(describeFailure).join('\n')).toEqual([]);
    expect(convergence.lost, JSON.stringify(convergence.lost.slice(0, 10), null, 2)).toEqual([]);
    expect(doubles, `${hot.join('\n')}\n${evidence(doubles)}`).toEqual([]);
    expect(quietWrites, `${JSON.stringify(writesByResource)}\n${hot.join('\n')}`).toBe(0);
    expect(quietReconciles).toBeLessThanOrEqual(2);
  });
});

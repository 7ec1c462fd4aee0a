import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigPush } from '../../src/api/types.js';
import { operatorWriteCount, targetId } from './ledger.js';
import { OperatorProcess, stopAll } from './operator-process.js';
import { profile } from './profile.js';
import { recordFigures } from './report.js';
import { evidence, startScenario, type Scenario } from './scenario.js';
import { samplePushes, shrink, type FuzzPush, type FuzzScope } from './fuzz-input.js';
import { ALLOWED_SOURCES, GROUP, PLURAL, VERSION, code, forEachLimit, getPush, listPushes, listTargets, purgePushes, sleep, type Clients } from './workload.js';

/**
 * Fuzzed input: ConfigPushes drawn by fast-check (fuzz-input.ts) from the
 * suite's seed, valid, edge-case and malformed, created as admin through the
 * test's client. Each must be refused at admission with a message, or get a
 * Ready condition at its generation with a CamelCase reason (True/Applied,
 * or False with why). One operator process runs throughout: it must not
 * crash, must not loop (5 s of quiet afterwards: no target writes, few
 * reconciles), and every target is written at most once.
 */
const { pushes: N, huge: HUGE } = profile.fuzz;
const CAMEL = /^[A-Z][A-Za-z0-9]*$/;
/** Reasons that say the operator is still at work, not an answer. */
const UNSETTLED = new Set(['Progressing', 'Paused', 'RetryingAfterError']);

interface Outcome {
  index: number;
  input: FuzzPush;
  name: string;
  /**
   * 'refused': a 4xx at admission. 'tooLarge': etcd refused to store it
   * (the apiserver answers 500 "etcdserver: request is too large" for an
   * object between etcd's ~1.5 MiB and the 3 MiB request limit: the
   * apiserver's behaviour, nothing the operator or the CRD sees). 'error':
   * anything else, a failure of the scenario.
   */
  admission: 'refused' | 'tooLarge' | 'accepted' | 'error';
  status: number;
  message: string;
  ready?: { status: string; reason: string; message: string };
  targets: string[];
}

/** The input, short enough to read: long strings cut, with their length. */
function show(input: FuzzPush): string {
  return JSON.stringify(input, (_k, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v)).slice(0, 2_000);
}

function readyAt(push: ConfigPush) {
  const cond = push.status?.conditions?.find((c) => c.type === 'Ready');
  return push.status?.observedGeneration === push.metadata.generation && cond?.observedGeneration === push.metadata.generation ? cond : undefined;
}

/** The apiserver's message from a refused create (a Status body). */
function refusal(err: unknown): { status: number; message: string } {
  const e = err as { code?: number; body?: unknown; message?: string };
  let message = '';
  try {
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
    message = body?.message ?? '';
  } catch {
    message = String(e.body ?? '').slice(0, 300);
  }
  return { status: code(err) ?? 0, message };
}

/** Creates one push as admin; a refusal is classified (see Outcome.admission). */
async function create(c: Clients, namespace: string, name: string, spec: unknown): Promise<Pick<Outcome, 'admission' | 'status' | 'message'>> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace }, spec };
  try {
    await c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, body });
    return { admission: 'accepted', status: 201, message: '' };
  } catch (err) {
    const r = refusal(err);
    const admission = r.status >= 400 && r.status < 500 ? 'refused' : r.status === 500 && /request is too large/.test(r.message) ? 'tooLarge' : 'error';
    return { admission, ...r };
  }
}

describe('fuzzed input', () => {
  let scenario: Scenario | undefined;
  afterAll(async () => {
    await stopAll();
    if (scenario) await purgePushes(scenario.c, scenario.namespaces);
  });

  it(`${N} fast-check ConfigPushes: each refused with a message or answered with a reason; no crash, no loop; each target written at most once`, async () => {
    const s = (scenario = await startScenario('fuzz', 12));
    const runLabel = { key: 'fuzz.chaos.configpush.io/run', value: `r${s.seed}` };
    const home = await s.namespace('fuzz');
    const cross = await s.namespace('fuzz-x', { [ALLOWED_SOURCES]: '*' });
    for (const ns of [home, cross]) await s.c.core.patchNamespace({ name: ns, body: [{ op: 'add', path: '/metadata/labels', value: { [runLabel.key]: runLabel.value } }] });
    const scope: FuzzScope = { home, cross, runLabel };
    const inputs = samplePushes(scope, N, s.seed, HUGE);
    process.stdout.write(`fuzz: seed ${s.seed} (CHAOS_SEED=${profile.seed}), ${N} pushes, ${inputs.filter((p) => p.huge !== undefined).length} near the size limits\n`);

    const op = new OperatorProcess({ name: 'fuzz', kubeconfig: s.env.kubeconfig, workers: 4, metrics: true });
    await op.start();
    const started = Date.now();

    const outcomes: Outcome[] = [];
    await forEachLimit(inputs, 3, async (input, index) => {
      const name = input.name === 'ok' ? `fz-${index}` : input.name;
      outcomes.push({ index, input, name, ...(await create(s.c, home, name, input.spec)), targets: [] });
    });
    outcomes.sort((a, b) => a.index - b.index);
    const accepted = outcomes.filter((o) => o.admission === 'accepted');
    const created = Date.now();

    // One list a round: every accepted push needs a settled Ready at its generation.
    const deadline = Date.now() + profile.convergeTimeoutMs;
    let live = new Map<string, ConfigPush>();
    for (;;) {
      live = new Map((await listPushes(s.c, home)).map((p) => [p.metadata.name, p]));
      for (const o of accepted) {
        const push = live.get(o.name);
        const cond = push ? readyAt(push) : undefined;
        if (cond) o.ready = { status: cond.status, reason: cond.reason, message: cond.message };
        else delete o.ready;
      }
      if (accepted.every((o) => o.ready && !UNSETTLED.has(o.ready.reason))) break;
      if (Date.now() > deadline || !op.running) break;
      await sleep(500);
    }
    const answeredAt = Date.now();

    // What each accepted push resolved its targets to (the operator's own status), for the ledger's allowance.
    const allowed = new Map<string, number>();
    for (const o of accepted) {
      for (const t of live.get(o.name)?.status?.targets ?? []) {
        const id = targetId({ resource: t.kind === 'Secret' ? 'secrets' : 'configmaps', namespace: t.namespace, name: t.name });
        o.targets.push(id);
        allowed.set(id, 1);
      }
    }

    // No loop: once all have answered, 5 s of quiet without target writes and with at most a few reconciles.
    await sleep(2_000);
    const reconciles0 = await op.metric('configpush_reconcile_total');
    const targetWrites0 = s.operatorTargetWrites();
    const writes0 = operatorWriteCount(s.events(), s.namespaces).total;
    await sleep(5_000);
    const quietReconciles = (await op.metric('configpush_reconcile_total')) - reconciles0;
    const quietTargetWrites = s.operatorTargetWrites() - targetWrites0;
    const quietWrites = operatorWriteCount(s.events(), s.namespaces).total - writes0;
    const doubles = await s.soleCreatorDoubleApplies(allowed);
    const alive = op.running;
    const crashes = op.crashes;

    const unanswered = accepted.filter((o) => !o.ready || UNSETTLED.has(o.ready.reason) || !CAMEL.test(o.ready.reason));
    const badRefusals = outcomes.filter((o) => o.admission === 'error' || (o.admission !== 'accepted' && o.message.trim() === ''));
    // Shrink the first two failures (with the operator still up): the smallest input that still gets no proper answer.
    const shrunk = new Map<number, string>();
    let tries = 0;
    const fails = async (input: FuzzPush): Promise<boolean> => {
      const name = input.name === 'ok' ? `fz-shrink-${tries++}` : input.name;
      const r = await create(s.c, home, name, input.spec);
      if (r.admission !== 'accepted') return r.admission === 'error' || r.message.trim() === '';
      const until = Date.now() + 20_000;
      while (Date.now() < until && op.running) {
        const cond = readyAt(await getPush(s.c, home, name));
        if (cond && !UNSETTLED.has(cond.reason)) return !CAMEL.test(cond.reason);
        await sleep(500);
      }
      return true;
    };
    if (alive) {
      for (const o of [...badRefusals, ...unanswered].slice(0, 2)) {
        const min = await shrink(scope, s.seed, o.index, fails, 60_000);
        shrunk.set(o.index, min ? show(min) : 'did not fail again on replay');
      }
    }
    await op.stop();
    const readyTrue = accepted.filter((o) => o.ready?.status === 'True');
    // Ready=True is Applied, or Suspended with every target already at its content (docs/api.md; 0/0 when a selector matches nothing).
    const wrongTrue = readyTrue.filter((o) => o.ready?.reason !== 'Applied' && o.ready?.reason !== 'Suspended');
    // Applied exactly once: every target of an Applied push exists (written) and, from the ledger above, was written at most once.
    const existing = new Set<string>();
    for (const ns of s.namespaces) for (const id of (await listTargets(s.c, ns)).keys()) existing.add(id);
    const applied = readyTrue.filter((o) => o.ready?.reason === 'Applied');
    const missingTargets = applied.flatMap((o) => o.targets.filter((id) => !existing.has(id)).map((id) => `${o.name}: ${id}`));
    const reasons = new Map<string, number>();
    for (const o of accepted) if (o.ready) reasons.set(`${o.ready.status}/${o.ready.reason}`, (reasons.get(`${o.ready.status}/${o.ready.reason}`) ?? 0) + 1);
    const statuses = new Map<number, number>();
    for (const o of outcomes.filter((x) => x.admission !== 'accepted')) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);

    recordFigures({
      scenario: 'fuzzed input',
      order: 12,
      seed: s.seed,
      pushes: N,
      faults: `${N} fast-check ConfigPushes`,
      faultCount: N,
      operatorTargetWrites: s.operatorTargetWrites(),
      doubleApplies: doubles.length,
      lost: unanswered.length,
      crashes: crashes.length,
      convergeAfterLastFaultS: (answeredAt - created) / 1000,
      totalS: (answeredAt - started) / 1000,
      extra: {
        'refused at admission': outcomes.filter((o) => o.admission === 'refused').length,
        'refused by etcd (500, too large)': outcomes.filter((o) => o.admission === 'tooLarge').length,
        'refusal codes': [...statuses].map(([c, n]) => `${c}×${n}`).join(' '),
        'Ready=True Applied': applied.length,
        'Ready=True Suspended (targets up to date)': readyTrue.length - applied.length,
        'Ready=False with a reason': accepted.filter((o) => o.ready?.status === 'False' && !UNSETTLED.has(o.ready.reason)).length,
        'without an answer': unanswered.length,
        reasons: [...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}×${n}`).join(' '),
        'near the size limits': inputs.filter((p) => p.huge !== undefined).map((p) => p.huge).join(' '),
        'reconciles / target writes / all writes in 5 s of quiet': `${quietReconciles} / ${quietTargetWrites} / ${quietWrites}`,
        'targets named in statuses': allowed.size,
      },
    });

    const describeOutcome = (o: Outcome) =>
      `#${o.index} ${o.name}: HTTP ${o.status} ${o.admission}${o.ready ? `, Ready=${o.ready.status}/${o.ready.reason}: ${o.ready.message.slice(0, 200)}` : ', no Ready at its generation'}${o.message ? `; ${o.message.slice(0, 200)}` : ''}\n    input: ${show(o.input)}${
        shrunk.has(o.index) ? `\n    shrunk: ${shrunk.get(o.index) ?? ''}` : ''
      }`;
    // The draw must reach the operator, not only admission: some valid pushes applied, some malformed ones refused.
    expect(applied.length, `no push applied (seed ${s.seed})`).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.admission === 'refused').length, `no push refused (seed ${s.seed})`).toBeGreaterThan(0);
    expect(crashes.map((c) => c.stderrTail), 'the operator crashed').toEqual([]);
    expect(alive, 'the operator is still running').toBe(true);
    expect(badRefusals.map(describeOutcome), 'refused without a message, or not a 4xx').toEqual([]);
    expect(unanswered.map(describeOutcome), `accepted pushes without a settled answer (seed ${s.seed})`).toEqual([]);
    expect(wrongTrue.map(describeOutcome), 'Ready=True with a reason other than Applied or Suspended').toEqual([]);
    expect(doubles, evidence(doubles)).toEqual([]);
    expect(missingTargets, 'targets of Applied pushes that do not exist').toEqual([]);
    expect(quietTargetWrites, 'target writes in 5 s of quiet').toBe(0);
    // A reconcile per push at most (a periodic requeue of a few is not a loop; one push over and over is).
    expect(quietReconciles, 'reconciles in 5 s of quiet').toBeLessThanOrEqual(accepted.length);
  });
});

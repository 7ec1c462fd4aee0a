import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPushSpec } from '../../src/api/types.js';
import { readAudit, writes, type AuditEvent } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, readConfigMap, sleep, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';
import { createDeployment, playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

const OPERATOR = 'configpush-operator';

/** `count` labelled namespaces that accept pushes from anywhere, each with a Deployment "web"; sorted by name. */
async function fleet(label: string, count: number, home: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${label}-${String(i).padStart(2, '0')}`;
    await core.createNamespace({ body: { metadata: { name, labels: { fleet: label }, annotations: { [ALLOWED_SOURCES_ANNOTATION]: home } } } });
    await createDeployment(name);
    names.push(name);
  }
  return names.sort();
}

const templateWrites = (namespace: string, events?: AuditEvent[]) =>
  writes({ resource: 'deployments', namespace, name: 'web', subresource: '', userAgent: OPERATOR }, events);

describe('staged rollout', () => {
  let operator: TestOperator;
  let deployments: FakeDeploymentController;
  const watched: string[] = [];
  let home: string;

  const spec = (label: string, extra: Partial<ConfigPushSpec> = {}): ConfigPushSpec => ({
    targets: [{ kind: 'ConfigMap', name: 'app-config', namespaceSelector: { matchLabels: { fleet: label } } }],
    data: { version: '1' },
    rollout: { restart: [{ kind: 'Deployment', name: 'web' }] },
    ...extra,
  });

  beforeAll(async () => {
    home = `rollout-home-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: home } } });
    deployments = playDeploymentController(() => watched);
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await operator?.stop();
    await deployments?.stop();
  });

  it('pushes to 50 namespaces chosen by selector in 5 waves, each wave after the previous one rolled out', async () => {
    const label = `f50-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 50, home);
    watched.push(...namespaces);
    await createPush(home, 'fifty', spec(label, { strategy: { batchSize: 10, maxParallel: 10 } }));
    const push = await waitReady(home, 'fifty', 120_000);
    expect(push.status?.targetSummary).toBe('50/50');
    expect(push.status?.rollout).toMatchObject({ phase: 'Complete', currentWave: 5, totalWaves: 5 });

    const events = readAudit();
    const waves = [0, 1, 2, 3, 4].map((w) => namespaces.slice(w * 10, w * 10 + 10));
    const times = (list: AuditEvent[]) => list.map((e) => e.requestReceivedTimestamp).sort();
    for (let w = 0; w < 5; w++) {
      const creates = waves[w]!.flatMap((ns) => writes({ resource: 'configmaps', namespace: ns, name: 'app-config', userAgent: OPERATOR }, events));
      expect(creates).toHaveLength(10);
      for (const ns of waves[w]!) expect(templateWrites(ns, events)).toHaveLength(1);
      if (w === 4) continue;
      // The health gate: the next wave's first write comes after this wave's workloads reported rolled out.
      const rolledOut = waves[w]!.flatMap((ns) => writes({ resource: 'deployments', namespace: ns, subresource: 'status' }, events));
      const nextCreates = waves[w + 1]!.flatMap((ns) => writes({ resource: 'configmaps', namespace: ns, userAgent: OPERATOR }, events));
      expect(times(rolledOut).at(-1)! <= times(nextCreates)[0]!).toBe(true);
      expect(times(creates).at(-1)! <= times(nextCreates)[0]!).toBe(true);
    }
  });

  it('a new generation with unchanged content restarts no workload; a new namespace that matches gets the config', async () => {
    const label = `f3-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 3, home);
    watched.push(...namespaces);
    await createPush(home, 'three', spec(label));
    await waitReady(home, 'three');

    await updateSpec(home, 'three', (s) => ({ ...s, strategy: { maxParallel: 2 } }));
    const push = await waitReady(home, 'three');
    expect(push.metadata.generation).toBe(2);
    await sleep(500);
    for (const ns of namespaces) expect(templateWrites(ns)).toHaveLength(1);

    const [late] = await fleet(`${label}-late`, 1, home);
    const ns = await core.readNamespace({ name: late! });
    ns.metadata!.labels = { fleet: label };
    await core.replaceNamespace({ name: late!, body: ns });
    watched.push(late!);
    await eventually(async () => (await readConfigMap(late!, 'app-config'))?.data?.version === '1', 'the new namespace to get the config');
    await eventually(async () => (await getPush(home, 'three')).status?.targetSummary === '4/4', 'status to count the new target');

    // A namespace that stops matching is handled per deletionPolicy (Retain: released, content kept).
    const gone = await core.readNamespace({ name: namespaces[0]! });
    gone.metadata!.labels = { fleet: 'elsewhere' };
    await core.replaceNamespace({ name: namespaces[0]!, body: gone });
    await eventually(async () => {
      const cm = await readConfigMap(namespaces[0]!, 'app-config');
      return cm?.metadata?.annotations?.['configpush.io/owner-uid'] === undefined && cm?.data?.version === '1';
    }, 'the unmatched target to be released');
  });

  it('rolls each workload once per operation across re-queues and an operator restart in the middle of a wave', async () => {
    const label = `f4-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 4, home);
    watched.push(...namespaces);
    deployments.stuck.add(namespaces[2]!); // wave 2 of 2 waits here
    await createPush(home, 'four', spec(label, { strategy: { batchSize: 2 } }));
    await eventually(async () => {
      const p = await getPush(home, 'four');
      return p.status?.rollout?.phase === 'Waiting' && p.status.rollout.currentWave === 2;
    }, 'wave 2 to wait for its workloads');

    for (let i = 0; i < 20; i++) {
      operator.controller.enqueue(`${home}/four`);
      await sleep(20);
    }
    await operator.stop();
    operator = await startTestOperator();
    await sleep(500);
    deployments.stuck.delete(namespaces[2]!);
    await waitReady(home, 'four', 30_000);
    for (const ns of namespaces) expect(templateWrites(ns)).toHaveLength(1);

    // The next operation rolls each workload exactly once more.
    await updateSpec(home, 'four', (s) => ({ ...s, data: { version: '2' } }));
    await eventually(async () => {
      const p = await getPush(home, 'four');
      return p.metadata.generation === 2 && condition(p, 'Ready')?.status === 'True' && condition(p, 'Ready')?.observedGeneration === 2;
    }, 'generation 2 to be Ready', 30_000);
    await sleep(500);
    for (const ns of namespaces) expect(templateWrites(ns)).toHaveLength(2);
  });

  it('halts at a failing wave, names the failing target, and leaves later waves untouched', async () => {
    const label = `f6-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 6, home);
    watched.push(...namespaces);
    // Wave 2 of 3 holds a ConfigMap nobody manages: a Conflict.
    await core.createNamespacedConfigMap({ namespace: namespaces[2]!, body: { metadata: { name: 'app-config' }, data: { mine: 'yes' } } });
    await createPush(home, 'six', spec(label, { strategy: { batchSize: 2 } }));
    const push = await waitReason(home, 'six', 'Conflict');
    expect(condition(push, 'Stalled')).toMatchObject({ status: 'True', reason: 'Conflict' });
    expect(condition(push, 'Ready')?.message).toContain(`wave 2/3 halted at ConfigMap ${namespaces[2]}/app-config`);
    expect(push.status?.rollout).toMatchObject({ phase: 'Halted', currentWave: 2, failed: `ConfigMap ${namespaces[2]}/app-config` });
    await sleep(500);
    for (const ns of namespaces.slice(4)) {
      expect(writes({ resource: 'configmaps', namespace: ns, userAgent: OPERATOR })).toHaveLength(0);
      expect(templateWrites(ns)).toHaveLength(0);
    }
  });

  it('with failurePolicy Continue, goes on past a failed wave and reports the failure at the end', async () => {
    const label = `f4c-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 4, home);
    watched.push(...namespaces);
    await core.createNamespacedConfigMap({ namespace: namespaces[0]!, body: { metadata: { name: 'app-config' }, data: { mine: 'yes' } } });
    await createPush(home, 'onward', spec(label, { strategy: { batchSize: 2, failurePolicy: 'Continue', maxParallel: 1 } }));
    const push = await waitReason(home, 'onward', 'Conflict');
    expect(push.status?.rollout?.phase).toBe('Complete');
    expect(push.status?.targetSummary).toBe('3/4');
    for (const ns of namespaces.slice(1)) expect((await readConfigMap(ns, 'app-config'))?.data).toEqual({ version: '1' });
    expect(templateWrites(namespaces[0]!)).toHaveLength(0);
    expect(templateWrites(namespaces[1]!)).toHaveLength(1);
  });

  it('halts when a wave\'s workloads miss the progress deadline', async () => {
    const label = `f2-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 2, home);
    watched.push(...namespaces);
    deployments.stuck.add(namespaces[0]!);
    await createPush(home, 'slow', spec(label, { strategy: { batchSize: 1, progressDeadlineSeconds: 2 } }));
    const push = await waitReason(home, 'slow', 'ProgressDeadlineExceeded', 30_000);
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(push.status?.rollout?.failed).toBe(`Deployment ${namespaces[0]}/web`);
    expect(condition(push, 'Ready')?.message).toContain('did not roll out within 2s');
    expect(writes({ resource: 'configmaps', namespace: namespaces[1]!, userAgent: OPERATOR })).toHaveLength(0);
  });

  it('pauses between waves; suspend holds the rollout and resume continues without re-applying a finished wave', async () => {
    const label = `f3p-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 3, home);
    watched.push(...namespaces);
    await createPush(home, 'paced', spec(label, { strategy: { batchSize: 1, pauseSeconds: 3 } }));
    await eventually(async () => {
      const p = await getPush(home, 'paced');
      return p.status?.rollout?.phase === 'Paused' && p.status.rollout.currentWave === 2;
    }, 'the pause after wave 1');
    expect(condition(await getPush(home, 'paced'), 'Ready')?.reason).toBe('Paused');

    await updateSpec(home, 'paced', (s) => ({ ...s, suspend: true }));
    await waitReason(home, 'paced', 'Suspended');
    await sleep(4_000); // longer than the pause: a suspended rollout must not move on
    expect(writes({ resource: 'configmaps', namespace: namespaces[1]!, userAgent: OPERATOR })).toHaveLength(0);

    await updateSpec(home, 'paced', (s) => ({ ...s, suspend: false }));
    const done = await waitReady(home, 'paced', 30_000);
    expect(done.status?.rollout?.phase).toBe('Complete');
    for (const ns of namespaces) {
      expect(writes({ resource: 'configmaps', namespace: ns, userAgent: OPERATOR })).toHaveLength(1);
      expect(templateWrites(ns)).toHaveLength(1);
    }
  });
});

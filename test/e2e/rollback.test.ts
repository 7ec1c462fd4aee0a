import { randomBytes } from 'node:crypto';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPushSpec } from '../../src/api/types.js';
import { rollbackKey } from '../../src/core/operation-key.js';
import { REVISION_OF_LABEL } from '../../src/core/revisions.js';
import { readAudit, writes, type AuditEvent } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, readConfigMap, sleep, testKubeConfig, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';
import { createDeployment, playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

/**
 * failurePolicy Rollback on the real apiserver, counted from its audit log: a
 * wave that fails its health gate returns every target the failed operation
 * changed to the last revision that completed, writing each once and
 * restarting each workload once, however often the rollback is re-queued,
 * restarted or run by a second replica; revisions stay bounded by the limit.
 */
const OPERATOR = 'configpush-operator';
const apps = testKubeConfig().makeApiClient(AppsV1Api);

async function fleet(label: string, count: number, home: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${label}-${i}`;
    await core.createNamespace({ body: { metadata: { name, labels: { fleet: label }, annotations: { [ALLOWED_SOURCES_ANNOTATION]: home } } } });
    await createDeployment(name);
    names.push(name);
  }
  return names.sort();
}

const configWrites = (namespace: string, events?: AuditEvent[]) =>
  writes({ resource: 'configmaps', namespace, name: 'app-config', userAgent: OPERATOR }, events);
const templateWrites = (namespace: string, events?: AuditEvent[]) =>
  writes({ resource: 'deployments', namespace, name: 'web', subresource: '', userAgent: OPERATOR }, events);
const operatorWrites = (events = readAudit()) => events.filter((e) => (e.userAgent ?? '').startsWith(OPERATOR) && e.objectRef?.resource !== 'leases');

async function revisionsOf(namespace: string, uid: string) {
  const list = await apps.listNamespacedControllerRevision({ namespace, labelSelector: `${REVISION_OF_LABEL}=${uid}` });
  return list.items.sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}

describe('failurePolicy Rollback', () => {
  let operator: TestOperator;
  let replica: TestOperator | undefined;
  let deployments: FakeDeploymentController;
  const watched: string[] = [];
  let home: string;

  beforeAll(async () => {
    home = `rollback-home-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: home } } });
    deployments = playDeploymentController(() => watched);
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await replica?.stop();
    await operator?.stop();
    await deployments?.stop();
  });

  it('a 5-wave rollout whose wave 3 fails its health gate: waves 1-3 return to revision 1, one write per target, one restart per workload; re-queues, a restart and a second replica add nothing', async () => {
    const label = `rb-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 5, home);
    watched.push(...namespaces);
    const spec = (version: string): ConfigPushSpec => ({
      targets: [{ kind: 'ConfigMap', name: 'app-config', namespaceSelector: { matchLabels: { fleet: label } } }],
      data: { version },
      strategy: { batchSize: 1, failurePolicy: 'Rollback', progressDeadlineSeconds: 4 },
      rollout: { restart: [{ kind: 'Deployment', name: 'web' }] },
    });
    await createPush(home, 'web', spec('1'));
    const first = await waitReady(home, 'web', 60_000);
    const uid = first.metadata.uid;
    expect(first.status?.history?.[0]).toMatchObject({ generation: 1, revision: 1 });
    const [revision1] = await revisionsOf(home, uid);
    expect(revision1?.revision).toBe(1);
    expect(revision1?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ConfigPush', name: 'web', uid, controller: true });
    // Without sources the content is the spec's own: only the spec is kept (docs/revisions.md).
    expect((revision1?.data as { 'revision.json'?: unknown })['revision.json']).toEqual({ spec: { data: { version: '1' } } });

    const before = readAudit();
    deployments.stuck.add(namespaces[2]!); // wave 3 never rolls out
    await updateSpec(home, 'web', () => spec('2'));
    // The rollback waits on wave 3's (stuck) workload too: the window in which to re-queue, restart and replicate.
    await eventually(async () => (await getPush(home, 'web')).status?.rollout?.phase === 'RollingBack', 'the rollback to start', 60_000);
    for (let i = 0; i < 20; i++) {
      operator.controller.enqueue(`${home}/web`);
      await sleep(20);
    }
    await operator.stop();
    operator = await startTestOperator();
    replica = await startTestOperator();

    const pushed = await waitReason(home, 'web', 'RolledBack', 60_000);
    expect(condition(pushed, 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(condition(pushed, 'Ready')?.message).toMatch(/^wave 3\/5 failed \(ProgressDeadlineExceeded\): .*web.*; rolled back to revision 1 \(operation 2-r[0-9a-f]{10}\)$/);
    const key = rollbackKey(uid, 2, revision1!.metadata!.annotations!['configpush.io/content-digest']!);
    expect(pushed.status?.rollout).toMatchObject({ phase: 'RolledBack', rollback: { revision: 1, operationKey: key, failedWave: 3, reason: 'ProgressDeadlineExceeded' } });
    expect(pushed.status?.history?.[0]).toMatchObject({ key, generation: 2, revision: 1 });

    // Let the replicas settle: then count.
    await sleep(3_000);
    const after = readAudit().slice(before.length);
    for (const [i, ns] of namespaces.entries()) {
      const cm = await readConfigMap(ns, 'app-config');
      expect(cm?.data).toEqual({ version: '1' });
      if (i <= 2) {
        // Waves 1-3: generation 2 once, then the rollback once.
        expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key);
        expect(configWrites(ns, after)).toHaveLength(2);
        expect(templateWrites(ns, after)).toHaveLength(2);
      } else {
        // Waves 4-5 were never reached: untouched.
        expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(first.status?.operationKey);
        expect(configWrites(ns, after)).toHaveLength(0);
        expect(templateWrites(ns, after)).toHaveLength(0);
      }
    }
    // The rollback writes a wave per reconcile (it waits on each wave's workloads), and the process was stopped
    // in the middle: its Events may be several (one per process), and a reconcile cut short by the stop emits none
    // (Events are a report; the audit log above is the ledger). Together they never count a target twice.
    const events = (await core.listNamespacedEvent({ namespace: home, fieldSelector: 'reason=RolledBack' })).items.filter((e) => e.involvedObject.uid === uid);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e.message).toMatch(/^wave 3\/5 failed \(ProgressDeadlineExceeded\): .*; rolled back to revision 1 \(operation 2-r[0-9a-f]{10}\): \d+ targets? written back$/);
    const writtenBack = events.reduce((sum, e) => sum + Number(/(\d+) targets? written back$/.exec(e.message ?? '')?.[1]) * (e.count ?? 1), 0);
    expect(writtenBack).toBeGreaterThan(0);
    expect(writtenBack).toBeLessThanOrEqual(3);

    // Nothing more: 20 more re-queues on both replicas, then a quiet look at the ledger.
    const settled = readAudit().length;
    for (let i = 0; i < 20; i++) {
      operator.controller.enqueue(`${home}/web`);
      replica.controller.enqueue(`${home}/web`);
      await sleep(20);
    }
    await sleep(2_000);
    expect(operatorWrites(readAudit().slice(settled))).toEqual([]);

    // A new generation supersedes the rollback: it rolls out normally.
    deployments.stuck.delete(namespaces[2]!);
    await updateSpec(home, 'web', () => spec('3'));
    const third = await waitReady(home, 'web', 60_000);
    expect(third.status?.rollout?.rollback).toBeUndefined();
    for (const ns of namespaces) expect((await readConfigMap(ns, 'app-config'))?.data).toEqual({ version: '3' });
    expect((await revisionsOf(home, uid)).map((r) => r.revision)).toEqual([1, 2]);
  });

  it('a permanent target failure (a Conflict) triggers it too; with no earlier revision the push halts and says so', async () => {
    const label = `rbc-${randomBytes(3).toString('hex')}`;
    const namespaces = await fleet(label, 2, home);
    const spec = (version: string): ConfigPushSpec => ({
      targets: [{ kind: 'ConfigMap', name: 'app-config', namespaceSelector: { matchLabels: { fleet: label } } }],
      data: { version },
      strategy: { batchSize: 1, failurePolicy: 'Rollback' },
    });
    await createPush(home, 'conflicted', spec('1'));
    const first = await waitReady(home, 'conflicted', 30_000);

    // Someone else's push takes over wave 2's target: generation 1 now fails there, and nothing completed before it.
    const stolen = (await readConfigMap(namespaces[1]!, 'app-config'))!;
    stolen.metadata!.annotations = { ...stolen.metadata!.annotations, [ANNOTATION.ownerUid]: 'another-push-uid', [ANNOTATION.owner]: 'elsewhere/other' };
    await core.replaceNamespacedConfigMap({ namespace: namespaces[1]!, name: 'app-config', body: stolen });
    const halted = await waitReason(home, 'conflicted', 'Conflict', 30_000);
    expect(halted.status?.rollout?.phase).toBe('Halted');
    expect(condition(halted, 'Ready')?.message).toMatch(/is owned by elsewhere\/other; no earlier revision to roll back to \(failurePolicy Rollback\)$/);
    // Halting wrote nothing: the (older) revision 1 is its own content, not something to return to.
    expect((await readConfigMap(namespaces[0]!, 'app-config'))?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(first.status?.operationKey);

    const before = readAudit();
    await updateSpec(home, 'conflicted', () => spec('2'));
    const rolledBack = await waitReason(home, 'conflicted', 'RolledBack', 30_000);
    expect(rolledBack.status?.rollout?.rollback).toMatchObject({ revision: 1, failedWave: 2, reason: 'Conflict' });
    expect(condition(rolledBack, 'Ready')?.message).toMatch(/^wave 2\/2 failed \(Conflict\): ConfigMap .*app-config: ConfigMap .* is owned by elsewhere\/other; rolled back to revision 1/);
    expect((await readConfigMap(namespaces[0]!, 'app-config'))?.data).toEqual({ version: '1' });
    await sleep(1_000);
    const after = readAudit().slice(before.length);
    expect(configWrites(namespaces[0]!, after)).toHaveLength(2); // generation 2, then the rollback
    expect(configWrites(namespaces[1]!, after)).toHaveLength(0); // someone else's: never written
  });

  it('keeps at most revisionHistoryLimit revisions over 50 generations', async () => {
    const ns = `rb-limit-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await createPush(ns, 'many', { targets: [{ kind: 'ConfigMap', name: 'many' }], data: { n: '1' }, revisionHistoryLimit: 3 });
    const { metadata } = await waitReady(ns, 'many');
    for (let n = 2; n <= 50; n++) {
      await updateSpec(ns, 'many', (s) => ({ ...s, data: { n: String(n) } }));
      await waitReady(ns, 'many');
      expect((await revisionsOf(ns, metadata.uid)).length).toBeLessThanOrEqual(3);
    }
    const kept = await revisionsOf(ns, metadata.uid);
    expect(kept.map((r) => r.revision)).toEqual([48, 49, 50]);
    expect(kept.map((r) => (r.data as { 'revision.json': { spec: { data: unknown } } })['revision.json'].spec.data)).toEqual([{ n: '48' }, { n: '49' }, { n: '50' }]);
  }, 180_000);
});

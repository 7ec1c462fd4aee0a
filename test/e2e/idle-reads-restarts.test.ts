import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { writes } from '../support/audit.js';
import { createPush, custom, eventually, getPush, newNamespace, sleep, testKubeConfig, updateSpec, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { requestLog } from '../support/request-log.js';
import { playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

/**
 * Rule 5 for pushes that restart workloads: a reconcile that finds the work
 * done reads nothing its cache can vouch for. Once a push's status records
 * its rollout Complete under the operation key its targets carry, and the
 * reconcile writes no target, its workloads have nothing left to do for that
 * operation: an idle resync reads no Deployment (neither the explicit list's
 * GETs nor consumers mode's LISTs). A new operation still restarts them once,
 * and a status that lost its rollout (status is a report) makes the next
 * reconcile look at the workloads again, reading but writing nothing.
 * Reads are counted by the operator's own client middleware; writes by the
 * audit log.
 */

const OPERATOR = 'configpush-operator';
const apps = testKubeConfig().makeApiClient(AppsV1Api);

async function createDeployment(namespace: string, name: string, readsConfigMap?: string): Promise<void> {
  const labels = { app: name };
  const container = { name: 'app', image: 'registry.invalid/app:1', ...(readsConfigMap ? { envFrom: [{ configMapRef: { name: readsConfigMap } }] } : {}) };
  await apps.createNamespacedDeployment({
    namespace,
    body: { metadata: { name, labels }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } } },
  });
}

describe('idle resyncs of pushes that restart workloads', () => {
  const log = requestLog();
  const resyncPeriodMs = 2_000;
  const idleMs = 10_000;
  let operator: TestOperator;
  let deployments: FakeDeploymentController;
  let ns: string;

  const workloadReads = (calls: readonly string[]) => calls.filter((c) => c.startsWith('GET ') && c.includes(`/apis/apps/v1/namespaces/${ns}/`));
  const restarts = (name: string) => writes({ resource: 'deployments', namespace: ns, name, subresource: '', userAgent: OPERATOR }).length;
  const reconciles = () => [...operator.reconciles].filter(([key]) => key.startsWith(`${ns}/`)).reduce((sum, [, n]) => sum + n, 0);

  /** The operator idle for idleMs: its workload reads, reconciles and writes meanwhile. */
  async function idleWindow() {
    await settled(operator);
    const start = { calls: log.calls.length, reconciles: reconciles(), explicit: restarts('web'), consumer: restarts('reader') };
    await sleep(idleMs);
    await settled(operator);
    return {
      workloadReads: workloadReads(log.calls.slice(start.calls)),
      reconciles: reconciles() - start.reconciles,
      restarts: restarts('web') - start.explicit + restarts('reader') - start.consumer,
    };
  }

  beforeAll(async () => {
    ns = await newNamespace('idle-restart');
    deployments = playDeploymentController(() => [ns]);
    await createDeployment(ns, 'web');
    await createDeployment(ns, 'reader', 'consumed');
    operator = await startTestOperator({ middleware: [log.middleware], controller: { resyncPeriodMs } });
  });
  afterAll(async () => {
    await operator?.stop();
    await deployments?.stop();
  });

  it('an applied push with an explicit restart list and one in consumers mode: 0 workload reads per idle resync', async () => {
    await createPush(ns, 'explicit', { targets: [{ kind: 'ConfigMap', name: 'plain' }], data: { a: '1' }, rollout: { restart: [{ kind: 'Deployment', name: 'web' }] } });
    await createPush(ns, 'consumers', { targets: [{ kind: 'ConfigMap', name: 'consumed' }], data: { b: '1' }, rollout: { restartConsumers: true } });
    await waitReady(ns, 'explicit');
    await waitReady(ns, 'consumers');
    expect(restarts('web')).toBe(1);
    expect(restarts('reader')).toBe(1);

    const idle = await idleWindow();
    // Both pushes were resynced several times: a window without reconciles would prove nothing.
    expect(idle.reconciles).toBeGreaterThanOrEqual(2 * 3);
    expect(idle.workloadReads).toEqual([]);
    expect(idle.restarts).toBe(0);
  });

  it('a new operation still restarts each workload once, then idles without reads again', async () => {
    await updateSpec(ns, 'explicit', (spec) => ({ ...spec, data: { a: '2' } }));
    await updateSpec(ns, 'consumers', (spec) => ({ ...spec, data: { b: '2' } }));
    await waitReady(ns, 'explicit');
    await waitReady(ns, 'consumers');
    expect((await getPush(ns, 'explicit')).status?.observedGeneration).toBe(2);
    expect(restarts('web')).toBe(2);
    expect(restarts('reader')).toBe(2);

    const idle = await idleWindow();
    expect(idle.reconciles).toBeGreaterThanOrEqual(2 * 3);
    expect(idle.workloadReads).toEqual([]);
    expect(idle.restarts).toBe(0);
  });

  it('a status without its rollout is rebuilt from the targets and workloads: they are read again, nothing is restarted', async () => {
    const before = log.calls.length;
    const push = await getPush(ns, 'explicit');
    // Another writer drops the rollout from the status (a restore from a backup, a status edited by hand); conditional on the version read.
    const { rollout: _dropped, ...rest } = push.status ?? {};
    await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns, name: 'explicit', body: { ...push, status: rest } });
    await eventually(async () => (await getPush(ns, 'explicit')).status?.rollout?.phase === 'Complete', 'the rollout to be reported again');
    await waitReady(ns, 'explicit');
    await settled(operator);
    expect((await getPush(ns, 'explicit')).status?.rollout?.phase).toBe('Complete');
    expect(workloadReads(log.calls.slice(before)).length).toBeGreaterThan(0);
    expect(restarts('web')).toBe(2);
  });
});

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, custom, deletePush, eventually, getPush, newNamespace, pushExists, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { kstatus, kstatusBinary } from '../support/kstatus.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';
import { kubeconfigPath, repoRoot } from '../support/paths.js';
import { createDeployment, playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

/**
 * What sigs.k8s.io/cli-utils' kstatus (status.Compute, the library Flux's
 * `wait: true` and `kpt live apply --reconcile-timeout` wait with) reports
 * for a ConfigPush in each phase of its life. The verdicts come from the real
 * library (hack/kstatus, built from the Go module proxy) run on the objects
 * as this apiserver returns them. docs/kstatus.md has the table.
 */
describe('kstatus on a ConfigPush', () => {
  let operator: TestOperator | undefined;
  let deployments: FakeDeploymentController | undefined;
  let ns: string;

  const verdictOf = async (name: string) => kstatus(await getPush(ns, name))[0]!;
  const kubectl = (...args: string[]) => {
    const result = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { cwd: repoRoot, encoding: 'utf8' });
    if (result.error) throw new Error(`kubectl is needed for this test: ${result.error.message}`);
    return result;
  };
  const kubectlWaitReady = (name: string, timeout: string) => kubectl('wait', '--for=condition=Ready', `--timeout=${timeout}`, '-n', ns, `configpush/${name}`);
  const stopOperator = async () => {
    await operator?.stop();
    operator = undefined;
  };

  beforeAll(async () => {
    // Builds hack/kstatus when the binary cache lacks it (.ci/run builds it
    // ahead; a cold build takes 1-2 min on 2 cores), instant once cached.
    kstatusBinary();
    ns = await newNamespace('kstatus');
  }, 600_000);
  afterAll(async () => {
    await operator?.stop();
    await deployments?.stop();
  });

  it('just created, before the operator has seen it: InProgress (the CRD defaults status.observedGeneration to -1)', async () => {
    const created = await createPush(ns, 'app', { targets: [{ kind: 'ConfigMap', name: 'app' }], data: { v: '1' } });
    const read = await getPush(ns, 'app');
    const list = await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns });

    // The create response (what kubectl apply, kpt and Flux's server-side
    // apply get back), a GET and a LIST...
    const verdicts = kstatus(created, read, list);
    expect(verdicts).toHaveLength(3);
    for (const verdict of verdicts) {
      expect(verdict).toMatchObject({ name: 'app', status: 'InProgress', message: 'ConfigPush generation is 1, but latest observed generation is -1' });
    }
    // ...all carry the schema default...
    expect(created.status).toEqual({ observedGeneration: -1 });
    expect(read.status).toEqual({ observedGeneration: -1 });
    // ...which is a read default, not a write: nothing has written this push's status.
    expect(writes({ resource: 'configpushes', namespace: ns, name: 'app', subresource: 'status' })).toHaveLength(0);

    // Control: without the default (no status at all) the library calls the same object Current.
    const { status: _defaulted, ...bare } = read;
    expect(kstatus(bare)[0]).toMatchObject({ status: 'Current', message: 'Resource is current' });

    // kubectl wait --for=condition=Ready does not pass on it either.
    const wait = kubectlWaitReady('app', '1s');
    expect(wait.status).not.toBe(0);
    expect(wait.stderr).toContain('timed out');
  });

  it('applied: Current, with no more status writes than before', async () => {
    operator = await startTestOperator();
    await waitReady(ns, 'app');
    expect(await verdictOf('app')).toMatchObject({ status: 'Current', message: 'Resource is Ready' });
    expect(kubectlWaitReady('app', '10s').status).toBe(0);
    // The bound apply-once.test.ts holds for a push without the default: at most two status writes.
    expect(writes({ resource: 'configpushes', namespace: ns, name: 'app', subresource: 'status' }).length).toBeLessThanOrEqual(2);
  });

  it('a new generation the operator has not observed yet: InProgress, then Current once applied', async () => {
    await stopOperator();
    await updateSpec(ns, 'app', (spec) => ({ ...spec, data: { v: '2' } }));
    expect(await verdictOf('app')).toMatchObject({ status: 'InProgress', message: 'ConfigPush generation is 2, but latest observed generation is 1' });
    expect(kubectlWaitReady('app', '1s').status).not.toBe(0);

    operator = await startTestOperator();
    await waitReady(ns, 'app');
    expect(await verdictOf('app')).toMatchObject({ status: 'Current', message: 'Resource is Ready' });
  });

  it('a target owned by someone else: Failed (Stalled=True, reason Conflict)', async () => {
    await createPush(ns, 'rival', { targets: [{ kind: 'ConfigMap', name: 'app' }], data: { v: 'other' } });
    const rival = await waitReason(ns, 'rival', 'Conflict');
    expect(condition(rival, 'Stalled')?.status).toBe('True');
    const [verdict] = kstatus(rival);
    expect(verdict?.status).toBe('Failed');
    expect(verdict?.message).toContain(`${ns}/app`);
  });

  it('a spec that admission could not reject: Failed (Stalled=True, reason InvalidSpec)', async () => {
    // Duplicates only after defaulting: the second target names the push's own namespace.
    await createPush(ns, 'dup', { targets: [{ kind: 'ConfigMap', name: 'x' }, { kind: 'ConfigMap', name: 'x', namespace: ns }], data: { a: 'b' } });
    const dup = await waitReason(ns, 'dup', 'InvalidSpec');
    expect(condition(dup, 'Stalled')?.status).toBe('True');
    const [verdict] = kstatus(dup);
    expect(verdict?.status).toBe('Failed');
    expect(verdict?.message).toContain('duplicates');
  });

  it('suspended and up to date: Current; suspended with a change held back: InProgress', async () => {
    await updateSpec(ns, 'app', (spec) => ({ ...spec, suspend: true }));
    const upToDate = await waitReason(ns, 'app', 'Suspended');
    expect(condition(upToDate, 'Ready')?.status).toBe('True');
    expect(kstatus(upToDate)[0]).toMatchObject({ status: 'Current', message: 'Resource is Ready' });

    // Ready=False (Suspended) with neither Reconciling nor Stalled: the library
    // falls through to its Ready rule, so a wait keeps waiting (the targets
    // do not hold the spec) until it times out or the push is resumed.
    await updateSpec(ns, 'app', (spec) => ({ ...spec, data: { v: '3' } }));
    const held = await eventually(async () => {
      const push = await getPush(ns, 'app');
      const ready = condition(push, 'Ready');
      return ready?.reason === 'Suspended' && ready.status === 'False' && ready.observedGeneration === push.metadata.generation ? push : undefined;
    }, 'Ready=False reason Suspended at the new generation');
    expect(condition(held, 'Reconciling')).toBeUndefined();
    expect(condition(held, 'Stalled')).toBeUndefined();
    expect(kstatus(held)[0]).toMatchObject({ status: 'InProgress', message: condition(held, 'Ready')?.message });

    await updateSpec(ns, 'app', (spec) => ({ ...spec, suspend: false }));
    await waitReady(ns, 'app');
    expect(await verdictOf('app')).toMatchObject({ status: 'Current' });
  });

  it('a staged rollout waiting for workloads and pausing between waves: InProgress (Reconciling=True), then Current', async () => {
    const label = `ks-${randomBytes(3).toString('hex')}`;
    const fleet: string[] = [];
    for (let i = 0; i < 2; i++) {
      const name = `${label}-${i}`;
      await core.createNamespace({ body: { metadata: { name, labels: { fleet: label }, annotations: { [ALLOWED_SOURCES_ANNOTATION]: ns } } } });
      await createDeployment(name);
      fleet.push(name);
    }
    // No Deployment controller yet: wave 1's workload never reports rolled out.
    await createPush(ns, 'waves', {
      targets: [{ kind: 'ConfigMap', name: 'waves', namespaceSelector: { matchLabels: { fleet: label } } }],
      data: { v: '1' },
      strategy: { batchSize: 1, pauseSeconds: 3 },
      rollout: { restart: [{ kind: 'Deployment', name: 'web' }] },
    });
    const phaseIs = (phase: string, wave: number) => async (): Promise<ConfigPush | undefined> => {
      const push = await getPush(ns, 'waves');
      return push.status?.rollout?.phase === phase && push.status.rollout.currentWave === wave ? push : undefined;
    };
    const waiting = await eventually(phaseIs('Waiting', 1), 'wave 1 to wait for its workloads');
    expect(condition(waiting, 'Reconciling')?.status).toBe('True');
    expect(kstatus(waiting)[0]).toMatchObject({ status: 'InProgress', message: expect.stringContaining('wave 1/2') });

    deployments = playDeploymentController(() => fleet);
    const paused = await eventually(phaseIs('Paused', 2), 'the pause after wave 1');
    expect(condition(paused, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Paused' });
    expect(kstatus(paused)[0]).toMatchObject({ status: 'InProgress', message: expect.stringContaining('wave 2/2') });

    const done = await waitReady(ns, 'waves', 30_000);
    expect(done.status?.rollout?.phase).toBe('Complete');
    expect(kstatus(done)[0]).toMatchObject({ status: 'Current', message: 'Resource is Ready' });
  });

  it('deleted, while the finalizer still holds it: Terminating', async () => {
    await stopOperator();
    await deletePush(ns, 'app');
    const deleting = await getPush(ns, 'app');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect(kstatus(deleting)[0]).toMatchObject({ status: 'Terminating' });

    operator = await startTestOperator();
    await eventually(async () => !(await pushExists(ns, 'app')), 'the operator to finish the deletion');
  });
});

import { AppsV1Api, type V1Container, type V1Volume } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPushSpec } from '../../src/api/types.js';
import { CONSUMER_VALUE_PREFIX, consumedTargets, consumerDigestKey, consumerRestartValue } from '../../src/core/consumers.js';
import { restartAnnotationKey } from '../../src/configpush/workload-restarter.js';
import { writes } from '../support/audit.js';
import { acceptingPushesFrom, condition, core, createPush, eventually, getPush, newNamespace, readConfigMap, sleep, testKubeConfig, updateSpec, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { requestLog } from '../support/request-log.js';
import { playDeploymentController, type FakeDeploymentController } from '../support/workload-controller.js';

/**
 * Consumers mode (spec.rollout.restartConsumers) on a real apiserver: the
 * operator finds the Deployments whose pod templates read the push's target
 * and restarts exactly those whose read keys changed, each once per change,
 * however often it is re-queued, restarted or replicated. Restarts are
 * counted as the operator's successful PATCHes of each Deployment in the
 * audit log (the ledger of writes); reads, which the audit policy does not
 * record, are counted by the operator's own client middleware.
 */

const OPERATOR = 'configpush-operator';
const apps = testKubeConfig().makeApiClient(AppsV1Api);

const container = (extra: Partial<V1Container>): V1Container => ({ name: 'app', image: 'registry.invalid/app:1', ...extra });

/** The six Deployments: four read key a (or the whole object), one reads only key b, one reads nothing. */
const WORKLOADS: Record<string, { containers: V1Container[]; volumes?: V1Volume[] }> = {
  'env-a': { containers: [container({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'a' } } }] })] },
  'env-from': { containers: [container({ envFrom: [{ configMapRef: { name: 'app-config' } }] })] },
  volume: {
    containers: [container({ volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] })],
    volumes: [{ name: 'cfg', configMap: { name: 'app-config' } }],
  },
  'projected-a': {
    containers: [container({ volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] })],
    volumes: [{ name: 'cfg', projected: { sources: [{ configMap: { name: 'app-config', items: [{ key: 'a', path: 'a.txt' }] } }] } }],
  },
  'env-b': { containers: [container({ env: [{ name: 'B', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'b' } } }] })] },
  none: { containers: [container({ env: [{ name: 'PLAIN', value: 'app-config' }] })] },
};
const NAMES = Object.keys(WORKLOADS);

async function createWorkloads(namespace: string, workloads = WORKLOADS): Promise<void> {
  for (const [name, pod] of Object.entries(workloads)) {
    const labels = { app: name };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name, labels },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } },
      },
    });
  }
}

describe('restartConsumers: exactly the workloads that read what changed', () => {
  const log = requestLog();
  let operator: TestOperator;
  let replica: TestOperator | undefined;
  let deployments: FakeDeploymentController;
  let ns: string;

  /** The operator's restarts (successful PATCHes of the Deployment itself) per Deployment, from the audit log. */
  const restarts = (): Record<string, number> =>
    Object.fromEntries(NAMES.map((name) => [name, writes({ resource: 'deployments', namespace: ns, name, subresource: '', userAgent: OPERATOR }).length]));
  const added = (before: Record<string, number>, after: Record<string, number>) => Object.fromEntries(NAMES.map((n) => [n, after[n]! - before[n]!]));
  const readyAt = async (generation: number) =>
    eventually(async () => {
      const push = await getPush(ns, 'app-config');
      const ready = condition(push, 'Ready');
      return push.metadata.generation === generation && ready?.status === 'True' && ready.observedGeneration === generation ? push : undefined;
    }, `generation ${generation} Ready`, 30_000);
  const setData = (data: Record<string, string>) => updateSpec(ns, 'app-config', (s) => ({ ...s, data }));
  /** Where the counts of a phase start: the reconciles so far, and the operator's requests so far. */
  const mark = () => ({ reconciles: operator.reconciles.get(`${ns}/app-config`) ?? 0, from: log.calls.length });
  /** The reconciles of the push since `mark`, and the operator's requests for workloads of its namespace meanwhile. */
  const measure = (reconcilesBefore: number, from: number) => {
    const calls = log.calls.slice(from);
    const count = (method: string, resource: string, named: boolean) =>
      calls.filter((c) => new RegExp(`^${method} /apis/apps/v1/namespaces/${ns}/${resource}${named ? '/[^/]+$' : '$'}`).test(c)).length;
    return {
      reconciles: (operator.reconciles.get(`${ns}/app-config`) ?? 0) - reconcilesBefore,
      listDeployments: count('GET', 'deployments', false),
      listStatefulSets: count('GET', 'statefulsets', false),
      listDaemonSets: count('GET', 'daemonsets', false),
      getDeployments: count('GET', 'deployments', true),
      patchDeployments: count('PATCH', 'deployments', true),
    };
  };

  beforeAll(async () => {
    ns = await newNamespace('consumers');
    await createWorkloads(ns);
    deployments = playDeploymentController(() => [ns]);
    operator = await startTestOperator({ middleware: [log.middleware] });
  });
  afterAll(async () => {
    await replica?.stop();
    await operator?.stop();
    await deployments?.stop();
  });

  it('restarts each consumer once when first seen, and the workload that reads nothing never', async () => {
    const spec: ConfigPushSpec = {
      targets: [{ kind: 'ConfigMap', name: 'app-config' }],
      data: { a: '1', b: '1' },
      rollout: { restartConsumers: true },
    };
    await createPush(ns, 'app-config', spec);
    const push = await waitReady(ns, 'app-config', 30_000);
    expect(push.status?.rollout?.phase).toBe('Complete');
    await settled(operator);
    expect(restarts()).toEqual({ 'env-a': 1, 'env-from': 1, volume: 1, 'projected-a': 1, 'env-b': 1, none: 0 });

    // The annotation is keyed by the push and carries a digest, never a value.
    const key = restartAnnotationKey(push.metadata.uid);
    for (const name of NAMES.filter((n) => n !== 'none')) {
      const value = (await apps.readNamespacedDeployment({ namespace: ns, name })).spec?.template.metadata?.annotations?.[key];
      expect(value).toMatch(new RegExp(`^${CONSUMER_VALUE_PREFIX}[0-9a-f]{32}$`));
    }
    expect((await apps.readNamespacedDeployment({ namespace: ns, name: 'none' })).spec?.template.metadata?.annotations?.[key]).toBeUndefined();
  });

  it('a change of key a restarts exactly the four that read it, each once; the reader of b and the non-reader not at all', async () => {
    const before = restarts();
    const { reconciles, from } = mark();
    await setData({ a: '2', b: '1' });
    await readyAt(2);
    await settled(operator);
    expect((await readConfigMap(ns, 'app-config'))?.data).toEqual({ a: '2', b: '1' });
    expect(added(before, restarts())).toEqual({ 'env-a': 1, 'env-from': 1, volume: 1, 'projected-a': 1, 'env-b': 0, none: 0 });

    // What the change cost (reconciles include those that waited for the rollouts and the echoes of status writes).
    const measured = measure(reconciles, from);
    console.log(`consumers mode, one change of key a: ${JSON.stringify(measured)}`);
    expect(measured.listDeployments).toBeLessThanOrEqual(measured.reconciles);
    expect(measured.listStatefulSets).toBeLessThanOrEqual(measured.reconciles);
    expect(measured.listDaemonSets).toBeLessThanOrEqual(measured.reconciles);
    expect(measured.patchDeployments).toBe(4);
  });

  it('20 forced re-queues restart nothing and read no workload: the status vouches for the completed rollout (rule 5)', async () => {
    const before = restarts();
    const { reconciles: reconcilesBefore, from } = mark();
    for (let i = 0; i < 20; i++) {
      operator.controller.enqueue(`${ns}/app-config`);
      await sleep(25);
    }
    await settled(operator);
    expect(added(before, restarts())).toEqual(Object.fromEntries(NAMES.map((n) => [n, 0])));

    const measured = measure(reconcilesBefore, from);
    // The figure docs/restarts.md quotes.
    console.log(`consumers mode, idle re-queues: ${JSON.stringify(measured)}`);
    const { reconciles } = measured;
    expect(reconciles).toBeGreaterThan(0);
    // A settled push whose status reports this operation's rollout Complete at the targets' current versions
    // has nothing left for its workloads: no LIST, no GET, no PATCH (was: one LIST per kind per reconcile).
    expect(measured).toEqual({ reconciles, listDeployments: 0, listStatefulSets: 0, listDaemonSets: 0, getDeployments: 0, patchDeployments: 0 });
  });

  it('an operator restart and a second replica restart nothing', async () => {
    const before = restarts();
    await operator.stop();
    operator = await startTestOperator({ middleware: [log.middleware] });
    replica = await startTestOperator();
    // Both reconcile every push at start-up (no leader election: the worst case).
    await eventually(async () => (operator.reconciles.get(`${ns}/app-config`) ?? 0) > 0 && (replica!.reconciles.get(`${ns}/app-config`) ?? 0) > 0, 'both replicas to reconcile the push');
    await settled(operator);
    await settled(replica);
    expect(added(before, restarts())).toEqual(Object.fromEntries(NAMES.map((n) => [n, 0])));
  });

  it('with two replicas racing, a change of key b restarts exactly its reader and the two that read the whole object, each once', async () => {
    const before = restarts();
    await setData({ a: '2', b: '2' });
    await readyAt(3);
    await settled(operator);
    await settled(replica!);
    await sleep(500);
    expect(added(before, restarts())).toEqual({ 'env-a': 0, 'env-from': 1, volume: 1, 'projected-a': 0, 'env-b': 1, none: 0 });
  });

  it('a spec change that changes no content (a label on the targets) restarts nothing', async () => {
    const before = restarts();
    await updateSpec(ns, 'app-config', (s) => ({ ...s, labels: { team: 'web' } }));
    await readyAt(4);
    await settled(operator);
    await settled(replica!);
    expect((await readConfigMap(ns, 'app-config'))?.metadata?.labels?.team).toBe('web');
    expect(added(before, restarts())).toEqual(Object.fromEntries(NAMES.map((n) => [n, 0])));
  });
});

describe('restartConsumers in waves, beside the explicit list', () => {
  let operator: TestOperator;
  let deployments: FakeDeploymentController;
  let home: string;
  let first: string;
  let second: string;
  const spec = (data: Record<string, string>): ConfigPushSpec => ({
    targets: [
      { kind: 'ConfigMap', name: 'app-config', namespace: first },
      { kind: 'ConfigMap', name: 'app-config', namespace: second },
    ],
    data,
    strategy: { waves: [{ namespaces: [first] }] },
    rollout: { restart: [{ kind: 'Deployment', name: 'web' }], restartConsumers: true },
  });
  // web reads the whole object and is also named by the explicit list; worker reads key a.
  const workloads = { web: WORKLOADS['env-from']!, worker: WORKLOADS['env-a']! };
  const restarts = (namespace: string, name: string) => writes({ resource: 'deployments', namespace, name, subresource: '', userAgent: OPERATOR }).length;
  const counts = () => ({
    firstWeb: restarts(first, 'web'),
    firstWorker: restarts(first, 'worker'),
    secondWeb: restarts(second, 'web'),
    secondWorker: restarts(second, 'worker'),
  });

  beforeAll(async () => {
    home = await newNamespace('consumers-home');
    first = await newNamespace('consumers-w1', acceptingPushesFrom(home));
    second = await newNamespace('consumers-w2', acceptingPushesFrom(home));
    await createWorkloads(first, workloads);
    await createWorkloads(second, workloads);
    deployments = playDeploymentController(() => [first, second]);
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await operator?.stop();
    await deployments?.stop();
  });

  it('a wave waits for its restarted consumers to roll out before the next wave is written', async () => {
    deployments.stuck.add(first);
    await createPush(home, 'waves', spec({ a: '1', b: '1' }));
    await eventually(async () => {
      const p = await getPush(home, 'waves');
      return p.status?.rollout?.phase === 'Waiting' && p.status.rollout.currentWave === 1 ? p : undefined;
    }, 'wave 1 to wait for its workloads');
    await sleep(1_000);
    const waiting = await getPush(home, 'waves');
    expect(waiting.status?.rollout?.message).toContain(`Deployment ${first}/worker`);
    expect(writes({ resource: 'configmaps', namespace: second, userAgent: OPERATOR })).toHaveLength(0);
    expect(counts()).toEqual({ firstWeb: 1, firstWorker: 1, secondWeb: 0, secondWorker: 0 });

    deployments.stuck.delete(first);
    await waitReady(home, 'waves', 30_000);
    await settled(operator);
    expect(counts()).toEqual({ firstWeb: 1, firstWorker: 1, secondWeb: 1, secondWorker: 1 });
  });

  it('a workload the explicit list names keeps its value (no flip-flop with the consumer value), and re-queues restart nothing', async () => {
    const key = restartAnnotationKey((await getPush(home, 'waves')).metadata.uid);
    const annotation = async (namespace: string, name: string) =>
      (await apps.readNamespacedDeployment({ namespace, name })).spec?.template.metadata?.annotations?.[key];
    expect(await annotation(first, 'web')).toMatch(/^1-[0-9a-f]+\/[0-9a-f]{16}$/);
    expect(await annotation(first, 'worker')).toMatch(new RegExp(`^${CONSUMER_VALUE_PREFIX}`));
    const before = counts();
    for (let i = 0; i < 10; i++) {
      operator.controller.enqueue(`${home}/waves`);
      await sleep(25);
    }
    await settled(operator);
    expect(counts()).toEqual(before);
  });

  it('a change of key b restarts the explicitly named workload (as the list always does) and not the reader of a', async () => {
    const before = counts();
    await updateSpec(home, 'waves', () => spec({ a: '1', b: '2' }));
    await eventually(async () => {
      const p = await getPush(home, 'waves');
      const ready = condition(p, 'Ready');
      return p.metadata.generation === 2 && ready?.status === 'True' && ready.observedGeneration === 2;
    }, 'generation 2 Ready', 30_000);
    await settled(operator);
    const after = counts();
    expect({
      firstWeb: after.firstWeb - before.firstWeb,
      firstWorker: after.firstWorker - before.firstWorker,
      secondWeb: after.secondWeb - before.secondWeb,
      secondWorker: after.secondWorker - before.secondWorker,
    }).toEqual({ firstWeb: 1, firstWorker: 0, secondWeb: 1, secondWorker: 0 });
  });
});

describe('restartConsumers with a copied Secret (spec.sources)', () => {
  let operator: TestOperator;
  let deployments: FakeDeploymentController;
  let ns: string;
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const restarts = (name: string) => writes({ resource: 'deployments', namespace: ns, name, subresource: '', userAgent: OPERATOR }).length;

  beforeAll(async () => {
    ns = await newNamespace('consumers-src');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'db' }, data: { password: b64('pw-1'), user: b64('app') } } });
    const reads = (key: string): V1Container[] => [container({ env: [{ name: 'V', valueFrom: { secretKeyRef: { name: 'db-copy', key } } }] })];
    await createWorkloads(ns, { password: { containers: reads('password') }, user: { containers: reads('user') } });
    deployments = playDeploymentController(() => [ns]);
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await operator?.stop();
    await deployments?.stop();
  });

  it('keys the digest with the copied Secret\'s uid too, and restarts only the reader of the copied key that changed', async () => {
    await createPush(ns, 'db', { targets: [{ kind: 'Secret', name: 'db-copy' }], sources: [{ secretRef: { name: 'db' } }], rollout: { restartConsumers: true } });
    const push = await waitReady(ns, 'db', 30_000);
    await settled(operator);
    expect([restarts('password'), restarts('user')]).toEqual([1, 1]);

    // The value a ConfigPush reader could compute without the Secret's uid is not the one set.
    const source = await core.readNamespacedSecret({ namespace: ns, name: 'db' });
    const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'password' });
    const reads = consumedTargets(deployment.spec?.template, [{ kind: 'Secret', name: 'db-copy' }]);
    const content = { data: {}, binaryData: { password: b64('pw-1'), user: b64('app') }, labels: {}, annotations: {} };
    const set = deployment.spec?.template.metadata?.annotations?.[restartAnnotationKey(push.metadata.uid)];
    expect(set).toBe(consumerRestartValue(reads, content, consumerDigestKey(push.metadata.uid, source.metadata?.uid)));
    expect(set).not.toBe(consumerRestartValue(reads, content, consumerDigestKey(push.metadata.uid, undefined)));

    // The source changes one key; the operator is asked to look again (as its source watch would).
    source.data = { ...source.data, password: b64('pw-2') };
    await core.replaceNamespacedSecret({ namespace: ns, name: 'db', body: source });
    await eventually(async () => {
      operator.controller.enqueue(`${ns}/db`);
      const copy = await core.readNamespacedSecret({ namespace: ns, name: 'db-copy' });
      return copy.data?.password === b64('pw-2') && condition(await getPush(ns, 'db'), 'Ready')?.status === 'True';
    }, 'the new password copied and Ready', 30_000);
    await settled(operator);
    expect([restarts('password'), restarts('user')]).toEqual([2, 1]);
  });
});

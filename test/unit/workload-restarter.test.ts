import { ApiException, type V1Deployment } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { WorkloadKind } from '../../src/api/types.js';
import type { Workload } from '../../src/core/workload-health.js';
import type { WorkloadClient } from '../../src/kube/workload-client.js';
import { createConfigPushMetrics } from '../../src/configpush/metrics.js';
import { restartConsumers, restartWorkloads } from '../../src/configpush/workload-restarter.js';

/**
 * The I/O half of consumers mode on a fake apps API that behaves as the
 * apiserver does for these calls: resourceVersions move on every write, a
 * patch at a stale resourceVersion is a 409, and every call is recorded.
 */

const KEY = 'restart.configpush.io/abc';
const NS = 'ns';
const log = pino({ level: 'silent' });

function deployment(name: string, reads: string | undefined, annotations: Record<string, string> = {}): V1Deployment {
  return {
    metadata: { name, namespace: NS, resourceVersion: '1', generation: 1 },
    spec: {
      replicas: 1,
      selector: {},
      template: {
        metadata: { annotations },
        spec: { containers: [{ name: 'c', ...(reads ? { envFrom: [{ configMapRef: { name: reads } }] } : {}) }] },
      },
    },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
  };
}

function world(initial: V1Deployment[]) {
  const objects = new Map(initial.map((d) => [d.metadata!.name!, structuredClone(d)]));
  const calls: string[] = [];
  /** Runs before a patch is applied: lets a test play another writer. */
  let beforePatch: (name: string) => void = () => undefined;
  let revision = 100;
  const client: WorkloadClient = {
    async find() {
      throw new Error('not used');
    },
    async list(kind: WorkloadKind, namespace: string) {
      calls.push(`LIST ${kind} ${namespace}`);
      return kind === 'Deployment' ? [...objects.values()].map((d) => structuredClone(d) as Workload) : [];
    },
    async read(kind, namespace, name) {
      calls.push(`GET ${kind} ${namespace}/${name}`);
      const found = objects.get(name);
      return found ? (structuredClone(found) as Workload) : undefined;
    },
    async setTemplateAnnotation(kind, namespace, name, resourceVersion, key, value) {
      beforePatch(name);
      const live = objects.get(name)!;
      if (live.metadata!.resourceVersion !== resourceVersion) {
        calls.push(`PATCH ${kind} ${namespace}/${name} 409`);
        throw new ApiException(409, 'Conflict', JSON.stringify({ reason: 'Conflict' }), {});
      }
      calls.push(`PATCH ${kind} ${namespace}/${name}`);
      live.spec!.template.metadata = { annotations: { ...live.spec!.template.metadata?.annotations, [key]: value } };
      live.metadata!.resourceVersion = String(++revision);
      live.metadata!.generation = (live.metadata!.generation ?? 0) + 1;
      return structuredClone(live) as Workload;
    },
  };
  return {
    client,
    calls,
    objects,
    onPatch(hook: (name: string) => void) {
      beforePatch = hook;
    },
    /** Another writer changes a Deployment: a new resourceVersion. */
    touch(name: string, mutate: (d: V1Deployment) => void = () => undefined) {
      const d = objects.get(name)!;
      mutate(d);
      d.metadata!.resourceVersion = String(++revision);
    },
  };
}

/** The value a consumer of ConfigMap cfg gets: here just a marker per what it reads (the digest is core's, tested in consumers.test.ts). */
const valueOf = (w: Workload) => {
  const name = w.spec?.template.spec?.containers[0]?.envFrom?.[0]?.configMapRef?.name;
  return name === 'cfg' ? 'reads:v2' : undefined;
};
const patches = (calls: string[]) => calls.filter((c) => c.startsWith('PATCH') && !c.endsWith('409'));
const metrics = () => createConfigPushMetrics(new Registry());

describe('restartConsumers', () => {
  it('lists each kind once and patches exactly the consumers whose value differs', async () => {
    const w = world([deployment('reads-cfg', 'cfg'), deployment('done', 'cfg', { [KEY]: 'reads:v2' }), deployment('reads-other', 'other'), deployment('reads-nothing', undefined)]);
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(w.calls.filter((c) => c.startsWith('LIST'))).toEqual(['LIST Deployment ns', 'LIST StatefulSet ns', 'LIST DaemonSet ns']);
    expect(patches(w.calls)).toEqual(['PATCH Deployment ns/reads-cfg']);
    expect(result.restarted.map((r) => r.name)).toEqual(['reads-cfg']);
    expect(result.handled.map((r) => r.name)).toEqual(['reads-cfg', 'done']);
    // Its new template has not rolled out yet (generation moved, status did not).
    expect(result.pending.map((r) => r.name)).toEqual(['reads-cfg']);
    expect(w.objects.get('reads-other')!.spec!.template.metadata!.annotations).toEqual({});
  });

  it('a second run (a retry, a re-queue, another replica) patches nothing', async () => {
    const w = world([deployment('a', 'cfg'), deployment('b', 'cfg')]);
    await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    w.calls.length = 0;
    const again = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(patches(w.calls)).toEqual([]);
    expect(again.restarted).toEqual([]);
  });

  it('on a 409 reads again and finds the value already set (another replica won): no second patch', async () => {
    const w = world([deployment('a', 'cfg')]);
    w.onPatch(() => {
      w.onPatch(() => undefined);
      // Another replica's patch lands between our LIST and our patch.
      w.touch('a', (d) => (d.spec!.template.metadata = { annotations: { [KEY]: 'reads:v2' } }));
    });
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(w.calls).toContain('PATCH Deployment ns/a 409');
    expect(w.calls).toContain('GET Deployment ns/a');
    expect(patches(w.calls)).toEqual([]);
    expect(result.restarted).toEqual([]);
  });

  it('on a 409 recomputes from what it reads again: a workload that stopped reading the target is left alone', async () => {
    const w = world([deployment('a', 'cfg')]);
    w.onPatch(() => {
      w.onPatch(() => undefined);
      w.touch('a', (d) => (d.spec!.template.spec!.containers[0]!.envFrom = []));
    });
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(patches(w.calls)).toEqual([]);
    expect(result.handled).toEqual([]);
  });

  it('on a 409 from an unrelated change, patches once at the new resourceVersion', async () => {
    const w = world([deployment('a', 'cfg')]);
    w.onPatch(() => {
      w.onPatch(() => undefined);
      w.touch('a');
    });
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(patches(w.calls)).toEqual(['PATCH Deployment ns/a']);
    expect(result.restarted.map((r) => r.name)).toEqual(['a']);
  });

  it('leaves the explicit list\'s workloads (skip) and workloads being deleted alone', async () => {
    const deleting = deployment('deleting', 'cfg');
    deleting.metadata!.deletionTimestamp = new Date();
    const w = world([deployment('named', 'cfg'), deleting, deployment('other', 'cfg')]);
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(['Deployment ns/named']), log, metrics());
    expect(patches(w.calls)).toEqual(['PATCH Deployment ns/other']);
    expect(result.handled.map((r) => r.name)).toEqual(['other']);
  });

  it('reports a consumer already at its value but not rolled out as pending', async () => {
    const stuck = deployment('stuck', 'cfg', { [KEY]: 'reads:v2' });
    stuck.metadata!.generation = 2;
    const w = world([stuck]);
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(patches(w.calls)).toEqual([]);
    expect(result.pending.map((r) => r.name)).toEqual(['stuck']);
  });
});

describe('when the pending workloads were restarted', () => {
  // The progress deadline runs from the later of the wave's target writes and this (core/rollout-plan.ts).
  it('reports the latest restart of a pending workload from the operator\'s managedFields, not another manager\'s', async () => {
    const stuck = (name: string, operatorAt: string) => {
      const d = deployment(name, 'cfg', { [KEY]: 'reads:v2' });
      d.metadata!.generation = 2;
      d.metadata!.managedFields = [
        { manager: 'configpush-operator', operation: 'Update', time: new Date(operatorAt) },
        { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', time: new Date('2024-05-01T12:10:00Z') },
      ];
      return d;
    };
    const w = world([stuck('a', '2024-05-01T12:00:05Z'), stuck('b', '2024-05-01T12:00:07Z')]);
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(result.pending.map((r) => r.name)).toEqual(['a', 'b']);
    expect(result.restartedAt).toBe('2024-05-01T12:00:07Z');
  });

  it('says nothing when no workload is pending', async () => {
    const w = world([deployment('done', 'cfg', { [KEY]: 'reads:v2' })]);
    const result = await restartConsumers(w.client, NS, valueOf, KEY, new Set(), log, metrics());
    expect(result.pending).toEqual([]);
    expect(result.restartedAt).toBeUndefined();
  });
});

describe('restartWorkloads (the explicit list) reports what it handled', () => {
  it('names every workload it found, so consumers mode can leave them to it', async () => {
    const w = world([deployment('web', undefined)]);
    w.client.find = async () => [structuredClone(w.objects.get('web')!) as Workload];
    const result = await restartWorkloads(w.client, NS, [{ kind: 'Deployment', name: 'web' }], KEY, '2-abc/0123', log, metrics());
    expect(patches(w.calls)).toEqual(['PATCH Deployment ns/web']);
    expect(result.handled).toEqual([{ kind: 'Deployment', namespace: NS, name: 'web' }]);
  });
});

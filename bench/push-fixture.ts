import { createHash } from 'node:crypto';

/**
 * A single-target ConfigPush as the operator leaves it applied (spec, the
 * finalizer, managedFields, the status it writes: 4 conditions, one history
 * entry, the rollout, one target), as JSON text: what a watch or a LIST
 * delivers. Push `i` goes to namespace bench-(i % 10) and became Ready at
 * the memory phase's rate (~46 a second), so neighbours share transition
 * times. For the per-entry memory scripts (cache-memory.ts,
 * initial-fill-memory.ts).
 */

export const start = Date.parse('2026-11-29T19:06:15Z');
export const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export const uidOf = (i: number) => {
  const h = createHash('sha256').update(`uid${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};
export const digestOf = (i: number) => `sha256:${createHash('sha256').update(String(i)).digest('hex')}`;
export const keyOf = (i: number) => `1-${createHash('sha256').update(`k${i}`).digest('hex').slice(0, 10)}`;

export function pushJson(i: number): string {
  const namespace = `bench-${i % 10}`;
  const name = `mem-${i}`;
  const digest = digestOf(i);
  const key = keyOf(i);
  const at = iso(start + (i / 46) * 1000);
  const condition = (type: string, status: string, reason: string, message: string) => ({ lastTransitionTime: at, message, observedGeneration: 1, reason, status, type });
  return JSON.stringify({
    apiVersion: 'configpush.io/v1alpha1',
    kind: 'ConfigPush',
    metadata: {
      creationTimestamp: at,
      finalizers: ['configpush.io/finalizer'],
      generation: 1,
      managedFields: [
        { apiVersion: 'configpush.io/v1alpha1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { '.': {}, 'f:data': {}, 'f:targets': {} } }, manager: 'bench', operation: 'Update', time: at },
        { apiVersion: 'configpush.io/v1alpha1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { '.': {}, 'f:conditions': {}, 'f:history': {} } }, manager: 'configpush-operator', operation: 'Update', subresource: 'status', time: at },
      ],
      name,
      namespace,
      resourceVersion: String(1000 + 4 * i),
      uid: uidOf(i),
    },
    spec: {
      adopt: false,
      data: { 'app.properties': `color=blue\nindex=${i}\nrevision=1\n`, mode: 'fast' },
      deletionPolicy: 'Retain',
      driftPolicy: 'Correct',
      revisionHistoryLimit: 10,
      suspend: false,
      targets: [{ kind: 'ConfigMap', name: `mem-cfg-${i}` }],
    },
    status: {
      conditions: [
        condition('Ready', 'True', 'Applied', `operation ${key} applied to 1 target`),
        condition('Reconciling', 'False', 'Applied', 'no work in progress'),
        condition('Stalled', 'False', 'Applied', 'not stalled'),
        condition('Drifted', 'False', 'NoDrift', 'targets match the desired content'),
      ],
      contentDigest: digest,
      driftCorrections: 0,
      history: [{ appliedAt: at, digest, generation: 1, key, revision: 1 }],
      observedGeneration: 1,
      operationKey: key,
      rollout: { currentWave: 1, phase: 'Complete', progress: '1/1 targets, wave 1/1', totalWaves: 1 },
      targetSummary: '1/1',
      targets: [{ kind: 'ConfigMap', name: `mem-cfg-${i}`, namespace, operationKey: key, resourceVersion: String(1001 + 4 * i), state: 'Applied' }],
    },
  });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { operationKey } from '../../src/core/operation-key.js';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { createPush, newNamespace, readConfigMap, sleep, updateSpec, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('a spec change', () => {
  let operator: Operator;
  let ns: string;
  let uid: string;
  const names = ['one', 'two'];
  const targetWrites = () => names.flatMap((name) => writes({ resource: 'configmaps', namespace: ns, name, userAgent: 'configpush-operator' }));

  beforeAll(async () => {
    ns = await newNamespace('change');
    operator = await startTestOperator();
    const push = await createPush(ns, 'push', {
      targets: names.map((name) => ({ kind: 'ConfigMap' as const, name })),
      data: { keep: 'v1', drop: 'gone soon' },
      labels: { team: 'blue' },
    });
    uid = push.metadata.uid;
    await waitReady(ns, 'push');
  });
  afterAll(async () => operator?.stop());

  it('gets a new key and exactly one more write per target; removed keys are gone', async () => {
    expect(targetWrites()).toHaveLength(2);
    await updateSpec(ns, 'push', (spec) => ({ ...spec, data: { keep: 'v2', added: 'new' }, labels: { tier: 'web' } }));
    const push = await waitReady(ns, 'push');
    const key = operationKey(uid, 2);
    expect(push.status?.operationKey).toBe(key);
    expect(push.status?.history?.map((h) => h.key)).toEqual([key, operationKey(uid, 1)]);

    for (const name of names) {
      const cm = await readConfigMap(ns, name);
      expect(cm?.data).toEqual({ keep: 'v2', added: 'new' });
      expect(cm?.metadata?.labels?.tier).toBe('web');
      expect(cm?.metadata?.labels?.team).toBeUndefined();
      expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(key);
    }
    await sleep(500);
    expect(targetWrites().map((w) => `${w.objectRef?.name}:${w.verb}`).sort()).toEqual(['one:create', 'one:update', 'two:create', 'two:update']);
  });

  it('that leaves the content unchanged writes no target', async () => {
    const before = targetWrites().length;
    // Same content written in another order, plus a policy change: a new generation, same digest.
    const changed = await updateSpec(ns, 'push', (spec) => ({ ...spec, data: { added: 'new', keep: 'v2' }, deletionPolicy: 'Delete' }));
    expect(changed.metadata.generation).toBe(3);
    const push = await waitReady(ns, 'push');
    expect(push.status?.observedGeneration).toBe(3);
    expect(push.status?.operationKey).toBe(operationKey(uid, 3));
    // The targets still carry the key of the operation that last changed them.
    expect(push.status?.targets?.every((t) => t.operationKey === operationKey(uid, 2))).toBe(true);
    await sleep(500);
    expect(targetWrites()).toHaveLength(before);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, newNamespace, readConfigMap, sleep, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('ownership', () => {
  let operator: Operator;
  let ns: string;
  const operatorWrites = (name: string) => writes({ resource: 'configmaps', namespace: ns, name, userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('owner');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('a target owned by another ConfigPush gives Conflict naming the owner, and is left unchanged', async () => {
    await createPush(ns, 'first', { targets: [{ kind: 'ConfigMap', name: 'shared' }], data: { from: 'first' } });
    await waitReady(ns, 'first');
    const before = await readConfigMap(ns, 'shared');

    await createPush(ns, 'second', { targets: [{ kind: 'ConfigMap', name: 'shared' }], data: { from: 'second' } });
    const second = await waitReason(ns, 'second', 'Conflict');
    expect(condition(second, 'Ready')?.status).toBe('False');
    expect(condition(second, 'Ready')?.message).toContain(`${ns}/first`);
    expect(condition(second, 'Stalled')?.status).toBe('True');
    expect(second.status?.targets?.[0]).toMatchObject({ state: 'Conflict', owner: `${ns}/first` });

    await sleep(500);
    const after = await readConfigMap(ns, 'shared');
    expect(after?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    expect(after?.data).toEqual({ from: 'first' });
    expect(operatorWrites('shared')).toHaveLength(1);

    const events = await eventually(async () => {
      const list = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=second,reason=Conflict' });
      return list.items.length > 0 ? list.items : undefined;
    }, 'a Conflict event');
    expect(events.some((e) => e.reason === 'Conflict' && e.type === 'Warning' && e.message?.includes(`${ns}/first`))).toBe(true);
  });

  it('an unmanaged target is left alone unless adopt is true', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'handmade', labels: { keep: 'me' } }, data: { old: 'x' } } });
    const push = await createPush(ns, 'adopter', { targets: [{ kind: 'ConfigMap', name: 'handmade' }], data: { new: 'y' } });
    const conflicted = await waitReason(ns, 'adopter', 'Conflict');
    expect(conflicted.status?.targets?.[0]).toMatchObject({ state: 'Conflict', owner: 'unmanaged' });
    expect(operatorWrites('handmade')).toHaveLength(0);

    await updateSpec(ns, 'adopter', (spec) => ({ ...spec, adopt: true }));
    await waitReady(ns, 'adopter');
    const cm = await readConfigMap(ns, 'handmade');
    expect(cm?.data).toEqual({ new: 'y' });
    expect(cm?.metadata?.labels?.keep).toBe('me');
    expect(cm?.metadata?.annotations?.[ANNOTATION.ownerUid]).toBe(push.metadata.uid);
    expect(operatorWrites('handmade').map((w) => w.verb)).toEqual(['update']);
  });

  it('a target released by hand (its owner annotations removed) is seen by the push that owned it at once, not at the next resync', async () => {
    await createPush(ns, 'releaser', { targets: [{ kind: 'ConfigMap', name: 'released' }], data: { k: 'v' } });
    await waitReady(ns, 'releaser');
    const cm = (await readConfigMap(ns, 'released'))!;
    const annotations = { ...cm.metadata?.annotations };
    delete annotations[ANNOTATION.ownerUid];
    delete annotations[ANNOTATION.owner];
    // The managed-by label stays, so the target watch reports an update whose owner changed to none.
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'released', body: { ...cm, metadata: { ...cm.metadata, annotations } } });
    // Only the target's event can queue the push (its resync is 10 minutes away): it now finds the target unmanaged.
    const push = await waitReason(ns, 'releaser', 'Conflict');
    expect(push.status?.targets?.[0]).toMatchObject({ state: 'Conflict', owner: 'unmanaged' });
  });
});

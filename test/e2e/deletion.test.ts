import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION, MANAGED_BY_LABEL } from '../../src/api/constants.js';
import type { Operator } from '../../src/operator/operator.js';
import { core, createPush, deletePush, eventually, newNamespace, pushExists, readConfigMap, readSecret, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('deleting a ConfigPush', () => {
  let operator: Operator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('delete');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('with deletionPolicy Retain keeps the targets and strips the ownership markers', async () => {
    await createPush(ns, 'keep', { targets: [{ kind: 'ConfigMap', name: 'kept' }], data: { a: '1' }, labels: { team: 'x' } });
    await waitReady(ns, 'keep');
    await deletePush(ns, 'keep');
    await eventually(async () => !(await pushExists(ns, 'keep')), 'the push to be gone');

    const cm = await readConfigMap(ns, 'kept');
    expect(cm?.data).toEqual({ a: '1' });
    expect(cm?.metadata?.labels?.team).toBe('x');
    expect(cm?.metadata?.labels?.[MANAGED_BY_LABEL]).toBeUndefined();
    for (const key of Object.values(ANNOTATION)) expect(cm?.metadata?.annotations?.[key]).toBeUndefined();
  });

  it('with deletionPolicy Delete removes the targets it still owns, and only those', async () => {
    await createPush(ns, 'drop', {
      targets: [{ kind: 'ConfigMap', name: 'owned' }, { kind: 'Secret', name: 'owned-secret' }, { kind: 'ConfigMap', name: 'taken' }],
      data: { a: '1' },
      deletionPolicy: 'Delete',
    });
    await waitReady(ns, 'drop');
    // Someone takes one target over: it no longer carries this push's uid.
    const taken = await core.readNamespacedConfigMap({ namespace: ns, name: 'taken' });
    taken.metadata!.annotations![ANNOTATION.ownerUid] = 'someone-else';
    taken.metadata!.annotations![ANNOTATION.owner] = `${ns}/someone-else`;
    await core.replaceNamespacedConfigMap({ namespace: ns, name: 'taken', body: taken });

    await deletePush(ns, 'drop');
    await eventually(async () => !(await pushExists(ns, 'drop')), 'the push to be gone');
    expect(await readConfigMap(ns, 'owned')).toBeUndefined();
    expect(await readSecret(ns, 'owned-secret')).toBeUndefined();
    expect((await readConfigMap(ns, 'taken'))?.data).toEqual({ a: '1' });
  });
});

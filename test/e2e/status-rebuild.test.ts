import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { createPush, custom, eventually, getPush, newNamespace, sleep, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('status wiped by hand', () => {
  let operator: Operator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('wipe');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('is rebuilt from the targets without writing any target', async () => {
    await createPush(ns, 'push', {
      targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'Secret', name: 'b' }],
      data: { x: '1' },
    });
    const original = await waitReady(ns, 'push');
    // By name: the push's revision (a Secret too, since it writes a Secret: docs/revisions.md) is not a target.
    const targetWrites = () => [
      ...writes({ resource: 'configmaps', namespace: ns, name: 'a', userAgent: 'configpush-operator' }),
      ...writes({ resource: 'secrets', namespace: ns, name: 'b', userAgent: 'configpush-operator' }),
    ];
    expect(targetWrites()).toHaveLength(2);

    const live = await getPush(ns, 'push');
    await custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: ns,
      name: 'push',
      body: { ...live, status: {} },
    });

    const rebuilt = await eventually(async () => {
      const push = await getPush(ns, 'push');
      return push.status?.operationKey ? push : undefined;
    }, 'status to be rebuilt');
    await sleep(500);
    expect(targetWrites()).toHaveLength(2);
    const { conditions: beforeConditions, ...beforeRest } = original.status ?? {};
    const { conditions: afterConditions, ...afterRest } = rebuilt.status ?? {};
    expect(afterRest).toEqual(beforeRest);
    expect(afterConditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual(
      beforeConditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration]),
    );
  });
});

import type { Middleware, RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { condition, createPush, eventually, getPush, newNamespace, readConfigMap, sleep, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

/**
 * The operator dies after writing the target and before writing status. The
 * "death" is made exact with a middleware that refuses the status request
 * (it never reaches the apiserver) and stops the operator: the apiserver is
 * left in the same state a kill -9 at that instant would leave.
 */
describe('a crash between the target write and the status write', () => {
  let operator: Operator | undefined;
  let ns: string;

  afterAll(async () => operator?.stop());
  beforeAll(async () => {
    ns = await newNamespace('crash');
  });

  it('leaves the target written once; the restarted operator only catches status up', async () => {
    let killed = false;
    const kill: Middleware = {
      pre: async (context: RequestContext) => {
        if (context.getUrl().includes(`/namespaces/${ns}/configpushes/push/status`)) {
          killed = true;
          throw new Error('operator killed before the status write');
        }
        return context;
      },
      post: async (context) => context,
    };
    const first = await startTestOperator({ middleware: [kill] });
    operator = first;
    await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
    await eventually(async () => killed, 'the operator to reach the status write');
    await first.stop();
    operator = undefined;

    const targetWrites = () => writes({ resource: 'configmaps', namespace: ns, name: 'cfg', userAgent: 'configpush-operator' });
    const statusWrites = () => writes({ resource: 'configpushes', namespace: ns, name: 'push', subresource: 'status' });
    expect(targetWrites()).toHaveLength(1);
    expect(statusWrites()).toHaveLength(0);
    expect((await getPush(ns, 'push')).status?.observedGeneration ?? -1).toBe(-1);

    operator = await startTestOperator();
    const push = await waitReady(ns, 'push');
    await sleep(500);
    expect(targetWrites()).toHaveLength(1);
    expect(statusWrites()).toHaveLength(1);
    expect(condition(push, 'Ready')?.reason).toBe('Applied');
    expect((await readConfigMap(ns, 'cfg'))?.data).toEqual({ k: 'v' });
  });
});

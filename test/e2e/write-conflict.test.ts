import type { Middleware, RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.js';
import { writes } from '../support/audit.js';
import { core, createPush, newNamespace, readConfigMap, sleep, updateSpec, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

/**
 * A third party edits the target between the operator's read and its write.
 * The edit is injected deterministically: a client middleware holds the
 * operator's first update of the target until the third party's write lands.
 */
describe('a concurrent edit between read and write', () => {
  let operator: Operator;
  let ns: string;
  let armed = false;
  let injected = 0;

  const intercept: Middleware = {
    pre: async (context: RequestContext) => {
      const url = context.getUrl();
      if (armed && context.getHttpMethod() === 'PUT' && url.includes(`/namespaces/${ns}/configmaps/target`)) {
        armed = false;
        const live = await core.readNamespacedConfigMap({ namespace: ns, name: 'target' });
        live.data = { ...live.data, intruder: 'third party' };
        await core.replaceNamespacedConfigMap({ namespace: ns, name: 'target', body: live });
        injected++;
      }
      return context;
    },
    post: async (context) => context,
  };

  beforeAll(async () => {
    ns = await newNamespace('race');
    operator = await startTestOperator({ middleware: [intercept] });
    await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'target' }], data: { a: '1' } });
    await waitReady(ns, 'push');
  });
  afterAll(async () => operator?.stop());

  it('re-reads on 409 and converges to exactly the spec', async () => {
    armed = true;
    await updateSpec(ns, 'push', (spec) => ({ ...spec, data: { a: '2', b: '3' } }));
    await waitReady(ns, 'push');
    await sleep(500);

    expect(injected).toBe(1);
    const cm = await readConfigMap(ns, 'target');
    expect(cm?.data).toEqual({ a: '2', b: '3' });

    const attempts = writes({ resource: 'configmaps', namespace: ns, name: 'target', userAgent: 'configpush-operator', includeFailed: true });
    // create; the update refused with 409 (stale resourceVersion); the update after re-reading.
    expect(attempts.map((w) => `${w.verb}:${w.responseStatus?.code}`)).toEqual(['create:201', 'update:409', 'update:200']);
    const thirdParty = writes({ resource: 'configmaps', namespace: ns, name: 'target' }).filter((w) => !w.userAgent?.startsWith('configpush-operator'));
    expect(thirdParty).toHaveLength(1);
  });
});

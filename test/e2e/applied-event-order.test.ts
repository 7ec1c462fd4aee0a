import type { Middleware, RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationKey } from '../../src/core/operation-key.js';
import { writes } from '../support/audit.js';
import { core, createPush, eventually, newNamespace, sleep, waitReady } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

/**
 * The Applied Event is sent after the status write, not beside it: the
 * status is what users wait on, and an Event POST in flight at the same time
 * competes with it at the apiserver. It is sent whether or not the status
 * write went through, since the targets were written either way.
 */
describe('the Applied Event and the status write', () => {
  let operator: TestOperator | undefined;
  let ns: string;
  let refusedOnce = false;

  beforeAll(async () => {
    ns = await newNamespace('event-order');
    // The first status write of the push named "refused" never reaches the apiserver.
    const refuseFirstStatus: Middleware = {
      pre: async (context: RequestContext) => {
        if (!refusedOnce && context.getUrl().includes(`/namespaces/${ns}/configpushes/refused/status`)) {
          refusedOnce = true;
          throw new Error('status write refused by the test');
        }
        return context;
      },
      post: async (context) => context,
    };
    operator = await startTestOperator({ middleware: [refuseFirstStatus] });
  });
  afterAll(async () => operator?.stop());

  const appliedEvents = async (name: string) =>
    (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name},reason=Applied` })).items;

  it('reaches the apiserver only once the status write has been answered', async () => {
    const push = await createPush(ns, 'ordered', { targets: [{ kind: 'ConfigMap', name: 'ordered' }], data: { k: 'v' } });
    await waitReady(ns, 'ordered');
    await eventually(async () => (await appliedEvents('ordered')).length === 1, 'the Applied Event');

    const [status] = writes({ resource: 'configpushes', namespace: ns, name: 'ordered', subresource: 'status' });
    const [event] = writes({ resource: 'events', namespace: ns }).filter((e) => e.objectRef?.name?.startsWith('ordered.'));
    expect(status).toBeDefined();
    expect(event).toBeDefined();
    // Audit timestamps are RFC 3339 with microseconds: equal-length strings compare in time order.
    expect(event?.requestReceivedTimestamp.length).toBe(status?.stageTimestamp.length);
    expect((event?.requestReceivedTimestamp ?? '') >= (status?.stageTimestamp ?? '~')).toBe(true);
    const [applied] = await appliedEvents('ordered');
    expect(applied?.message).toContain(operationKey(push.metadata.uid, 1));
  });

  it('is still sent when the status write fails, once, and the retry only writes the status', async () => {
    const push = await createPush(ns, 'refused', { targets: [{ kind: 'ConfigMap', name: 'refused' }], data: { k: 'v' } });
    await waitReady(ns, 'refused');
    expect(refusedOnce).toBe(true);
    await eventually(async () => (await appliedEvents('refused')).length === 1, 'the Applied Event');
    await sleep(500);

    const events = await appliedEvents('refused');
    expect(events).toHaveLength(1);
    expect(events[0]?.count ?? 1).toBe(1);
    expect(events[0]?.message).toContain(operationKey(push.metadata.uid, 1));
    expect(writes({ resource: 'configmaps', namespace: ns, name: 'refused', userAgent: 'configpush-operator' })).toHaveLength(1);
    expect(writes({ resource: 'configpushes', namespace: ns, name: 'refused', subresource: 'status' })).toHaveLength(1);
  });
});

import { CoordinationV1Api, type Middleware, type RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writes } from '../support/audit.js';
import { createPush, eventually, newNamespace, testKubeConfig, waitReady } from '../support/kube.js';
import { OPERATOR_NAMESPACE } from '../support/operator-identity.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

const coordination = testKubeConfig().makeApiClient(CoordinationV1Api);

describe('leader election', () => {
  const lease = `leader-${Date.now().toString(36)}`;
  const election = (identity: string) => ({ namespace: OPERATOR_NAMESPACE, name: lease, identity });
  let first: TestOperator;
  let second: TestOperator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('leader');
    first = await startTestOperator({ leaderElection: election('first') });
    await eventually(async () => first.isLeader(), 'the first operator to lead');
    second = await startTestOperator({ leaderElection: election('second') });
  });
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('lets only the leader write', async () => {
    await createPush(ns, 'one', { targets: [{ kind: 'ConfigMap', name: 'one' }], data: { k: 'v' } });
    await waitReady(ns, 'one');
    expect(second.isLeader()).toBe(false);
    const agents = writes({ resource: 'configmaps', namespace: ns, userAgent: 'configpush-operator' }).map((w) => w.userAgent);
    expect(agents).toEqual(['configpush-operator (first)']);
    const held = await coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: lease });
    expect(held.spec?.holderIdentity).toBe('first');
  });

  it('hands over within the lease duration when the leader dies', async () => {
    const died = Date.now();
    await first.abandon(); // like kill -9: the lease is not released
    await eventually(async () => second.isLeader(), 'the standby to take over', 20_000);
    const tookOverMs = Date.now() - died;
    // 15 s lease, observed from the standby's own clock, plus one 2 s retry period.
    expect(tookOverMs).toBeLessThanOrEqual(15_000 + 2_000 + 1_000);

    await createPush(ns, 'two', { targets: [{ kind: 'ConfigMap', name: 'two' }], data: { k: 'v' } });
    await waitReady(ns, 'two');
    expect(writes({ resource: 'configmaps', namespace: ns, name: 'two', userAgent: 'configpush-operator' }).map((w) => w.userAgent)).toEqual([
      'configpush-operator (second)',
    ]);
    const held = await coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: lease });
    expect(held.spec).toMatchObject({ holderIdentity: 'second', leaseTransitions: 1, leaseDurationSeconds: 15 });
  });

  it('steps down (and would exit) when it cannot renew', async () => {
    const name = `${lease}-renew`;
    let blocked = false;
    const blockRenewals: Middleware = {
      pre: async (context: RequestContext) => {
        if (blocked && context.getUrl().includes(`/leases/${name}`)) throw new Error('apiserver unreachable');
        return context;
      },
      post: async (context) => context,
    };
    let lostAt = 0;
    const lonely = await startTestOperator({
      leaderElection: { namespace: OPERATOR_NAMESPACE, name, identity: 'lonely' },
      middleware: [blockRenewals],
      onLostLeadership: () => (lostAt = Date.now()),
    });
    try {
      await eventually(async () => lonely.isLeader(), 'the operator to lead');
      const cut = Date.now();
      blocked = true;
      await eventually(async () => lostAt > 0, 'leadership to be lost', 20_000);
      // Renew deadline 10 s, checked every 2 s.
      expect(lostAt - cut).toBeLessThanOrEqual(10_000 + 2_000 + 1_000);
      expect(lonely.isLeader()).toBe(false);
    } finally {
      await lonely.abandon();
    }
  });

  it('releases the lease on a graceful stop, so a standby takes over at once', async () => {
    const started = Date.now();
    await second.stop();
    const third = await startTestOperator({ leaderElection: election('third') });
    try {
      await eventually(async () => third.isLeader(), 'the new operator to lead', 10_000);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await third.stop();
    }
  });
});

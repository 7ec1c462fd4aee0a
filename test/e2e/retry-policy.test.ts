import { ApiException, type Middleware, type RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, sleep, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';

/**
 * Transient errors back off per key; a new generation resets the backoff;
 * permanent errors become conditions and are not retried in a loop.
 */
describe('retry policy', () => {
  let operator: TestOperator;
  let ns: string;
  let failing = false;

  // The apiserver answering 503 to every request about one target: its reads
  // and replaces (…/configmaps/flaky) and its create (POST …/configmaps; the
  // only ConfigMap of this namespace).
  const unavailable: Middleware = {
    pre: async (context: RequestContext) => {
      if (failing && new URL(context.getUrl()).pathname.match(`/namespaces/${ns}/configmaps(/flaky)?$`)) {
        throw new ApiException(503, 'HTTP-Code: 503', JSON.stringify({ reason: 'ServiceUnavailable', message: 'try later', code: 503 }), {});
      }
      return context;
    },
    post: async (context) => context,
  };

  beforeAll(async () => {
    ns = await newNamespace('retry');
    operator = await startTestOperator({ middleware: [unavailable], controller: { backoffBaseMs: 250, backoffMaxMs: 60_000 } });
  });
  afterAll(async () => operator?.stop());

  it('backs off exponentially on a transient error, and a new generation starts the backoff again', async () => {
    failing = true;
    await createPush(ns, 'flaky', { targets: [{ kind: 'ConfigMap', name: 'flaky' }], data: { v: '1' } });
    const retrying = await waitReason(ns, 'flaky', 'RetryingAfterError');
    expect(condition(retrying, 'Reconciling')?.status).toBe('True');
    expect(condition(retrying, 'Stalled')).toBeUndefined();

    // Delays 250, 500, 1000, 2000 ms (minus jitter): about 5 runs in 4 s, then 4 s and more between runs.
    await sleep(4_000);
    const runs = operator.reconciles.get(`${ns}/flaky`) ?? 0;
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(runs).toBeLessThanOrEqual(9);
    await sleep(1_500);
    const backedOff = operator.reconciles.get(`${ns}/flaky`) ?? 0;
    expect(backedOff - runs).toBeLessThanOrEqual(2);

    const key = `${ns}/flaky`;
    const attemptsBefore = operator.controller.queue.attempts(key);
    expect(attemptsBefore).toBeGreaterThanOrEqual(4);

    // A spec change: the failures of the old generation must not delay the new one.
    await updateSpec(ns, 'flaky', (spec) => ({ ...spec, data: { v: '2' } }));
    await eventually(async () => {
      const p = await getPush(ns, 'flaky');
      return p.status?.observedGeneration === 2 && condition(p, 'Ready')?.reason === 'RetryingAfterError';
    }, 'generation 2 to be retrying');
    // The backoff counts from zero again: the new generation's first
    // failures retry after 250 ms, 500 ms, ... and not after 8 s or more.
    expect(operator.controller.queue.attempts(key)).toBeLessThan(attemptsBefore);
    expect(operator.controller.queue.attempts(key)).toBeLessThanOrEqual(3);

    failing = false;
    const ready = await waitReady(ns, 'flaky', 30_000);
    expect(ready.status?.operationKey?.startsWith('2-')).toBe(true);
  });

  it('turns a permanent error from the apiserver into a condition, without a retry loop', async () => {
    // Adopting a TLS Secret keeps its type, and content without tls.crt and
    // tls.key is invalid for that type: the apiserver answers 422 every time.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } },
    });
    await createPush(ns, 'invalid-write', { targets: [{ kind: 'Secret', name: 'tls' }], data: { a: 'b' }, adopt: true });
    const push = await waitReason(ns, 'invalid-write', 'Invalid');
    expect(condition(push, 'Ready')?.status).toBe('False');
    expect(condition(push, 'Stalled')?.status).toBe('True');
    expect(condition(push, 'Ready')?.message).toContain('tls.crt');
    expect(push.status?.targets?.[0]?.state).toBe('Failed');

    await sleep(3_000);
    const runs = operator.reconciles.get(`${ns}/invalid-write`) ?? 0;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(4);
    expect(writes({ resource: 'secrets', namespace: ns, name: 'tls', userAgent: 'configpush-operator', includeFailed: true }).length).toBe(runs);
  });
});

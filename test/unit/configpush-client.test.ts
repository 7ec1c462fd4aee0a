import type { CustomObjectsApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ConfigPush } from '../../src/api/types.js';
import { kubeConfigPushClient } from '../../src/kube/configpush-client.js';

describe('kubeConfigPushClient.writeStatus', () => {
  it('PUTs the status at the resourceVersion read, with no spec in the body (the status subresource ignores it)', async () => {
    const calls: Record<string, unknown>[] = [];
    const custom = {
      replaceNamespacedCustomObjectStatus: async (request: Record<string, unknown>) => {
        calls.push(request);
        return request.body;
      },
    } as unknown as CustomObjectsApi;
    const push = {
      apiVersion: 'configpush.io/v1alpha1',
      kind: 'ConfigPush',
      metadata: { name: 'p', namespace: 'ns', uid: 'u', generation: 3, resourceVersion: '42' },
      spec: { targets: [{ kind: 'ConfigMap', name: 'a' }], data: { big: 'x'.repeat(100_000) } },
    } as unknown as ConfigPush;
    await kubeConfigPushClient(custom).writeStatus(push, { observedGeneration: 3, targetSummary: '1/1' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ group: 'configpush.io', version: 'v1alpha1', plural: 'configpushes', namespace: 'ns', name: 'p', fieldManager: 'configpush-operator' });
    expect(calls[0]?.body).toEqual({
      apiVersion: 'configpush.io/v1alpha1',
      kind: 'ConfigPush',
      metadata: { name: 'p', namespace: 'ns', resourceVersion: '42' },
      status: { observedGeneration: 3, targetSummary: '1/1' },
    });
    expect(JSON.stringify(calls[0]?.body).length).toBeLessThan(300);
  });
});

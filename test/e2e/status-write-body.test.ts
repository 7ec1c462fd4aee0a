import { describe, expect, it } from 'vitest';
import { ApiException } from '@kubernetes/client-node';
import type { ConfigPushStatus } from '../../src/api/types.js';
import { kubeConfigPushClient } from '../../src/kube/configpush-client.js';
import { createPush, custom, getPush, newNamespace } from '../support/kube.js';

/**
 * The operator's status write sends no spec (src/kube/configpush-client.ts):
 * the status subresource must keep the stored spec whole, still refuse a
 * stale resourceVersion, and record the status as the operator's field.
 */
describe('status write without the spec in its body', () => {
  const pushes = kubeConfigPushClient(custom);
  const status: ConfigPushStatus = { observedGeneration: 1, targetSummary: '0/2', contentDigest: 'sha256:test' };

  it('keeps the stored spec, writes the status, and is refused at a stale resourceVersion', async () => {
    const namespace = await newNamespace('status-body');
    const data = { 'app.properties': 'x'.repeat(4096), mode: 'fast' };
    const created = await createPush(namespace, 'p', { targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'ConfigMap', name: 'b' }], data, suspend: true });

    const written = await pushes.writeStatus(created, status);
    expect(written.status).toEqual(status);
    const stored = await getPush(namespace, 'p');
    expect(stored.spec).toEqual(created.spec);
    expect(stored.spec.data).toEqual(data);
    expect(stored.status).toEqual(status);
    expect(stored.metadata.generation).toBe(1);
    const { managedFields } = stored.metadata as { managedFields?: { manager?: string; subresource?: string; fieldsV1?: object }[] };
    const statusManager = managedFields?.find((m) => m.subresource === 'status');
    expect(statusManager?.manager).toBe('configpush-operator');
    expect(Object.keys((statusManager?.fieldsV1 ?? {}) as object)).toEqual(['f:status']);

    // The write is still conditional: the version `created` was read at is gone.
    const refused = await pushes.writeStatus(created, { ...status, targetSummary: '2/2' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ApiException);
    expect((refused as ApiException<unknown>).code).toBe(409);
    expect((await getPush(namespace, 'p')).status?.targetSummary).toBe('0/2');
  });
});

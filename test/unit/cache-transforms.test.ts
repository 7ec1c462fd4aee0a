import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { keepTargetMetadataOnly, trimPush } from '../../src/runtime/cache-transforms.js';

describe('cache transforms', () => {
  it('keep of a target only what ownership lookups and echo detection read', () => {
    const secret: V1Secret = {
      metadata: {
        name: 's',
        namespace: 'ns',
        uid: 'u',
        resourceVersion: '7',
        labels: { 'app.kubernetes.io/managed-by': 'configpush-operator' },
        annotations: { [ANNOTATION.owner]: 'ns/p', [ANNOTATION.ownerUid]: 'pu', [ANNOTATION.operationKey]: '1-abc', other: 'x' },
        managedFields: [{ manager: 'configpush-operator', operation: 'Update' }],
      },
      type: 'Opaque',
      data: { password: 'c2VjcmV0' },
      stringData: { token: 'plain' },
    };
    keepTargetMetadataOnly(secret);
    expect(secret.metadata).toEqual({
      name: 's',
      namespace: 'ns',
      resourceVersion: '7',
      annotations: { [ANNOTATION.owner]: 'ns/p', [ANNOTATION.ownerUid]: 'pu' },
    });
    expect(secret.data).toBeUndefined();
    expect(secret.stringData).toBeUndefined();
    // What a write or a log would serialize carries no Secret value.
    expect(JSON.stringify(secret)).not.toMatch(/c2VjcmV0|plain/);
  });

  it('drop managedFields and kubectl\'s copy of the last applied push, keeping spec and status', () => {
    const push = {
      metadata: {
        name: 'p',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"spec":{}}', team: 'a' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { data: { a: '1' } },
      status: { observedGeneration: 1 },
    } as KubernetesObject & { spec: unknown; status: unknown };
    trimPush(push);
    expect(push.metadata).toEqual({ name: 'p', annotations: { team: 'a' } });
    expect(push.spec).toEqual({ data: { a: '1' } });
    expect(push.status).toEqual({ observedGeneration: 1 });
    expect(JSON.stringify(push)).not.toContain('managedFields');
  });
});

import { createSecretKey } from 'node:crypto';
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, FIELD_MANAGER, FINALIZER } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { finalizerState } from '../../src/configpush/finalizer.js';
import { contentDigest } from '../../src/core/content-digest.js';
import { renderTarget } from '../../src/core/desired-target.js';
import { desiredTargetDigest } from '../../src/core/target-digest.js';
import { cachedTargetFacts, keepTargetFacts, keepTargetMetadataOnly, shareTargetOwnership, targetOwnership, trimPush } from '../../src/runtime/cache-transforms.js';

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
    expect(secret.metadata).toEqual({ name: 's', namespace: 'ns', resourceVersion: '7', owner: 'ns/p', ownerUid: 'pu', facts: undefined });
    expect(targetOwnership(secret)).toEqual({ owner: 'ns/p', ownerUid: 'pu' });
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

describe('keepTargetFacts: the target watches\' transform', () => {
  const key = createSecretKey(Buffer.alloc(32, 1));
  const content = { data: { password: 'secret' }, binaryData: {}, labels: {}, annotations: {} };
  const digest = contentDigest(content);
  const live = (): V1Secret => {
    const body = renderTarget('Secret', 's', 'ns', content, { ownerUid: 'pu', owner: 'ns/p', operationKey: '1-0123456789', generation: 1, contentDigest: digest }, undefined) as V1Secret;
    body.metadata = {
      ...body.metadata,
      resourceVersion: '7',
      managedFields: [{ manager: FIELD_MANAGER, operation: 'Update', time: new Date('2026-11-29T10:00:00Z') }],
      // A real annotation named as the cache's facts once were is not trusted: the cache keeps its facts apart.
      annotations: { ...body.metadata?.annotations, 'cache.configpush.io/target-facts': 'forged 2026-01-01T00:00:00Z =1-0123456789' },
    };
    return JSON.parse(JSON.stringify(body)) as V1Secret;
  };

  it('keeps the metadata, a keyed digest equal to the desired one, the operation key and the last write time; no value', () => {
    const secret = live();
    keepTargetFacts('Secret', key)(secret);
    expect(secret.data).toBeUndefined();
    expect(targetOwnership(secret).ownerUid).toBe('pu');
    expect(cachedTargetFacts(secret)).toEqual({ targetDigest: desiredTargetDigest('Secret', content, digest, key), operationKey: '1-0123456789', lastWrittenAt: '2026-11-29T10:00:00Z' });
    const text = JSON.stringify(secret);
    expect(text).not.toContain(Buffer.from('secret').toString('base64'));
    expect(text).not.toContain('secret"');
  });

  it('a target edited by someone else keeps a digest that differs from the desired one', () => {
    const secret = live();
    secret.data = { password: Buffer.from('tampered').toString('base64') };
    keepTargetFacts('Secret', key)(secret);
    expect(cachedTargetFacts(secret)?.targetDigest).not.toBe(desiredTargetDigest('Secret', content, digest, key));
  });

  it('packs an operation key with spaces, a missing key and a missing write time losslessly', () => {
    const secret = live();
    secret.metadata!.annotations![ANNOTATION.operationKey] = 'edited by hand = 2';
    delete secret.metadata!.managedFields;
    keepTargetFacts('Secret', key)(secret);
    expect(cachedTargetFacts(secret)).toMatchObject({ operationKey: 'edited by hand = 2', lastWrittenAt: undefined });
    const bare = live();
    delete bare.metadata!.annotations![ANNOTATION.operationKey];
    keepTargetFacts('Secret', key)(bare);
    expect(cachedTargetFacts(bare)?.operationKey).toBeUndefined();
    expect(cachedTargetFacts({ metadata: { annotations: {} } })).toBeUndefined();
  });
});

describe('trimPush shares the strings pushes repeat', () => {
  it('two pushes parsed apart hold one copy of their repeated status strings, values unchanged', () => {
    const text = (name: string) =>
      JSON.stringify({
        apiVersion: 'configpush.io/v1alpha1',
        kind: 'ConfigPush',
        metadata: { name },
        spec: { targets: [{ kind: 'ConfigMap', name }] },
        status: { targetSummary: '1/1', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied', message: 'all 1 targets applied', lastTransitionTime: '2026-11-29T10:00:00Z' }], targets: [{ kind: 'ConfigMap', name, namespace: 'team-a', state: 'Applied' }] },
      });
    const [a, b] = ['p1', 'p2'].map((name) => {
      const push = JSON.parse(text(name)) as KubernetesObject & { status: { conditions: { message: string }[] } };
      trimPush(push);
      return push;
    });
    expect(a).toEqual(JSON.parse(text('p1')));
    expect(b).toEqual(JSON.parse(text('p2')));
    // Equal content either way; sharing is not observable from JavaScript, so this checks the values only.
    expect(a?.status.conditions[0]?.message).toBe(b?.status.conditions[0]?.message);
  });
});

describe('trimPush shares what a status repeats', () => {
  const at = '2026-11-29T10:00:00Z';
  const condition = (type: string, status: string, reason: string, message: string) => ({ lastTransitionTime: at, message, observedGeneration: 1, reason, status, type });
  const text = (name: string, key: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      apiVersion: 'configpush.io/v1alpha1',
      kind: 'ConfigPush',
      metadata: { name, namespace: 'team-a', creationTimestamp: at, finalizers: ['configpush.io/finalizer'], generation: 1 },
      spec: { targets: [{ kind: 'ConfigMap', name: 'app-config', namespaceSelector: { matchLabels: { team: 'a' } } }] },
      status: {
        conditions: [condition('Ready', 'True', 'Applied', `operation ${key} applied to 2 targets`), { ...condition('Reconciling', 'False', 'Applied', 'no work in progress'), ...extra }, condition('Stalled', 'False', 'Applied', 'not stalled')],
        contentDigest: `sha256:${key}`,
        operationKey: key,
        history: [{ appliedAt: at, digest: `sha256:${key}`, generation: 1, key, revision: 1 }],
        rollout: { currentWave: 1, phase: 'Complete', progress: '2/2 targets, wave 1/1', totalWaves: 1 },
        targets: ['ns-1', 'ns-2'].map((namespace) => ({ kind: 'ConfigMap', name: 'app-config', namespace, operationKey: key, resourceVersion: '9', state: 'Applied' })),
      },
    });
  type Trimmed = KubernetesObject & { status: { conditions: object[] } };
  const trimmed = (name: string, key: string, extra?: Record<string, unknown>) => {
    const push = JSON.parse(text(name, key, extra)) as Trimmed;
    trimPush(push);
    return push;
  };

  it('leaves every value as parsed', () => {
    expect(trimmed('p1', '1-aaa')).toEqual(JSON.parse(text('p1', '1-aaa')));
    expect(trimmed('p2', '1-bbb', { extra: 'x' })).toEqual(JSON.parse(text('p2', '1-bbb', { extra: 'x' })));
  });

  it('pushes with equal conditions hold one frozen condition object; a different message, or another field, keeps its own', () => {
    const a = trimmed('p1', '1-aaa');
    const b = trimmed('p2', '1-bbb');
    const c = trimmed('p3', '1-ccc', { extra: 'x' });
    expect(a.status.conditions[1]).toBe(b.status.conditions[1]); // Reconciling: all six fields equal
    expect(a.status.conditions[2]).toBe(b.status.conditions[2]);
    expect(Object.isFrozen(a.status.conditions[1])).toBe(true);
    expect(a.status.conditions[0]).not.toBe(b.status.conditions[0]); // Ready: the message names the key
    expect(c.status.conditions[1]).not.toBe(a.status.conditions[1]); // a field the table does not know
    expect(c.status.conditions[1]).toEqual({ ...condition('Reconciling', 'False', 'Applied', 'no work in progress'), extra: 'x' });
    // A write into a shared condition would change every push holding it: it throws instead.
    expect(() => {
      (a.status.conditions[1] as { message: string }).message = 'changed';
    }).toThrow(TypeError);
    expect((b.status.conditions[1] as { message: string }).message).toBe('no work in progress');
  });

  it('finished pushes with the same rollout summary hold one frozen status.rollout; a status without one gets none', () => {
    const a = trimmed('p1', '1-aaa') as Trimmed & { status: { rollout: object } };
    const b = trimmed('p2', '1-bbb') as Trimmed & { status: { rollout: object } };
    expect(a.status.rollout).toBe(b.status.rollout);
    expect(Object.isFrozen(a.status.rollout)).toBe(true);
    const bare = JSON.parse(JSON.stringify({ metadata: { name: 'p' }, status: { conditions: [] } })) as KubernetesObject & { status: object };
    trimPush(bare);
    expect(Object.keys(bare.status)).toEqual(['conditions']);
  });

  it('a condition whose transition time differs is not shared', () => {
    const a = trimmed('p1', '1-aaa');
    const later = JSON.parse(text('p4', '1-ddd').replaceAll(at, '2026-11-29T10:00:01Z')) as Trimmed;
    trimPush(later);
    expect(later.status.conditions[1]).not.toBe(a.status.conditions[1]);
    expect(later.status.conditions[1]).toEqual({ ...condition('Reconciling', 'False', 'Applied', 'no work in progress'), lastTransitionTime: '2026-11-29T10:00:01Z' });
  });
});

describe('trimPush shares equal finalizer lists', () => {
  const text = (name: string, finalizers: string[]) =>
    JSON.stringify({ apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', metadata: { name, namespace: 'team-a', finalizers }, spec: {} });
  const trimmed = (name: string, finalizers: string[]) => {
    const push = JSON.parse(text(name, finalizers)) as ConfigPush;
    trimPush(push as unknown as KubernetesObject);
    return push;
  };

  it('pushes with the same finalizers hold one frozen array, values as parsed; the finalizer state reads it as before', () => {
    const a = trimmed('p1', [FINALIZER]);
    const b = trimmed('p2', [FINALIZER]);
    expect(a).toEqual(JSON.parse(text('p1', [FINALIZER])));
    expect(a.metadata.finalizers).toBe(b.metadata.finalizers);
    expect(Object.isFrozen(a.metadata.finalizers)).toBe(true);
    expect(finalizerState(a)).toBe('present');
    // A write into the shared list would change every push holding it: it throws instead.
    expect(() => a.metadata.finalizers?.push('x')).toThrow(TypeError);
    expect(b.metadata.finalizers).toEqual([FINALIZER]);
  });

  it('a different list keeps its own; a push without finalizers gets none', () => {
    const a = trimmed('p1', [FINALIZER]);
    const other = trimmed('p3', ['example.com/other', FINALIZER]);
    expect(other.metadata.finalizers).not.toBe(a.metadata.finalizers);
    expect(other.metadata.finalizers).toEqual(['example.com/other', FINALIZER]);
    const bare = JSON.parse(JSON.stringify({ metadata: { name: 'p' } })) as KubernetesObject;
    trimPush(bare);
    expect(bare.metadata).toEqual({ name: 'p' });
    expect(JSON.stringify(bare)).toBe('{"metadata":{"name":"p"}}');
  });
});

describe('cached target metadata: one fixed shape, what the readers read', () => {
  const key = createSecretKey(Buffer.alloc(32, 2));
  const configMap = (annotations: Record<string, string>) =>
    JSON.parse(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c', namespace: 'ns', uid: 'u', resourceVersion: '5', labels: { a: 'b' }, annotations },
        data: { k: 'v' },
      }),
    ) as V1ConfigMap;

  it('keeps name, namespace, resourceVersion, the owner annotations and the facts, the same fields in the same order for every target', () => {
    const owned = configMap({ [ANNOTATION.owner]: 'ns/p', [ANNOTATION.ownerUid]: 'pu', [ANNOTATION.operationKey]: '1-abc', other: 'x' });
    const foreign = configMap({ other: 'x' });
    for (const target of [owned, foreign]) keepTargetFacts('ConfigMap', key)(target);
    expect(targetOwnership(owned)).toEqual({ owner: 'ns/p', ownerUid: 'pu' });
    expect(cachedTargetFacts(owned)?.operationKey).toBe('1-abc');
    expect(owned.metadata?.resourceVersion).toBe('5');
    expect(Object.keys(owned.metadata ?? {})).toEqual(['name', 'namespace', 'resourceVersion', 'owner', 'ownerUid', 'facts']);
    expect(Object.keys(foreign.metadata ?? {})).toEqual(Object.keys(owned.metadata ?? {}));
    // A target without the owner annotations reads as one without them (undefined), and serializes without them.
    expect(targetOwnership(foreign)).toEqual({ owner: undefined, ownerUid: undefined });
    expect(Object.keys(JSON.parse(JSON.stringify(foreign.metadata)) as object)).toEqual(['name', 'namespace', 'resourceVersion', 'facts']);
    expect(owned.data).toBeUndefined();
    expect(JSON.stringify(owned)).not.toMatch(/"v"|labels|"uid"|annotations/);
  });

  it('trimming twice keeps the facts of the first (the second has no content to digest)', () => {
    const target = configMap({ [ANNOTATION.ownerUid]: 'pu', [ANNOTATION.operationKey]: '1-abc' });
    keepTargetFacts('ConfigMap', key)(target);
    const once = structuredClone(target.metadata);
    keepTargetFacts('ConfigMap', key)(target);
    expect(target.metadata).toEqual(once);
  });

  it('reads the owner annotations of a target as the apiserver sends it too (a DELETE event is not trimmed), and shares strings only into a trimmed one', () => {
    const sent = configMap({ [ANNOTATION.owner]: 'ns/p', [ANNOTATION.ownerUid]: 'pu' });
    expect(targetOwnership(sent)).toEqual({ owner: 'ns/p', ownerUid: 'pu' });
    const before = structuredClone(sent);
    shareTargetOwnership(sent, { ownerUid: 'pu' });
    expect(sent).toEqual(before);
    const kept = structuredClone(sent);
    keepTargetFacts('ConfigMap', key)(kept);
    shareTargetOwnership(kept, { ownerUid: 'other' });
    expect(targetOwnership(kept).ownerUid).toBe('pu');
    shareTargetOwnership(kept, { ownerUid: 'pu' });
    expect(targetOwnership(kept).ownerUid).toBe('pu');
  });

  it('keepTargetMetadataOnly keeps no facts', () => {
    const target = configMap({ [ANNOTATION.owner]: 'ns/p' });
    keepTargetMetadataOnly(target);
    expect(cachedTargetFacts(target)).toBeUndefined();
    expect(JSON.parse(JSON.stringify(target.metadata)) as object).toEqual({ name: 'c', namespace: 'ns', resourceVersion: '5', owner: 'ns/p' });
  });
});

import { describe, expect, it } from 'vitest';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { InvalidSpecError } from '../../src/core/errors.js';
import { planWaves } from '../../src/core/wave-plan.js';
import { readsNamespaces, resolveSpec, type NamespaceInfo } from '../../src/core/resolve-spec.js';

const push = (spec: Partial<ConfigPushSpec>): ConfigPush => ({
  apiVersion: 'configpush.io/v1alpha1',
  kind: 'ConfigPush',
  metadata: { name: 'p', namespace: 'home', uid: 'u', generation: 1, resourceVersion: '1' },
  spec: { targets: [{ kind: 'ConfigMap', name: 'a' }], ...spec } as ConfigPushSpec,
});

describe('resolveSpec', () => {
  it('defaults the target namespace and the policies', () => {
    const spec = resolveSpec(push({}));
    expect(spec.targets).toEqual([{ kind: 'ConfigMap', name: 'a', namespace: 'home' }]);
    expect(spec).toMatchObject({ suspend: false, adopt: false, deletionPolicy: 'Retain', driftPolicy: 'Correct' });
  });

  it.each([
    ['no targets', { targets: [] }, /at least one target/],
    ['duplicates after defaulting', { targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'ConfigMap', name: 'a', namespace: 'home' }] }, /duplicates/],
    ['an unknown kind', { targets: [{ kind: 'Pod', name: 'a' }] }, /kind must be one of/],
    ['a bad name', { targets: [{ kind: 'ConfigMap', name: 'A_B' }] }, /DNS-1123/],
    ['bad base64', { binaryData: { k: 'not base64!' } }, /not valid base64/],
    ['a bad key', { data: { 'a b': 'x' } }, /data key/],
    ['a key in both maps', { data: { k: 'x' }, binaryData: { k: 'AA==' } }, /both/],
    ['a non-string value', { data: { k: 1 as unknown as string } }, /must be a string/],
    ["the operator's own label", { labels: { 'app.kubernetes.io/managed-by': 'me' } }, /managed-by/],
    ["the operator's own annotations", { annotations: { 'configpush.io/owner-uid': 'x' } }, /configpush\.io/],
  ])('rejects %s with a message that names the field', (_what, spec, message) => {
    expect(() => resolveSpec(push(spec as Partial<ConfigPushSpec>))).toThrow(InvalidSpecError);
    expect(() => resolveSpec(push(spec as Partial<ConfigPushSpec>))).toThrow(message);
  });

  it('normalises binaryData to canonical base64, as the apiserver stores it', () => {
    expect(resolveSpec(push({ binaryData: { k: 'YR==' } })).content.binaryData).toEqual({ k: 'YQ==' });
  });

  it('allows the same name as a ConfigMap and as a Secret', () => {
    const spec = resolveSpec(push({ targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'Secret', name: 'a' }] }));
    expect(spec.targets).toHaveLength(2);
  });
});

describe('readsNamespaces: whether a push needs the namespace cache at all', () => {
  const namespaces: NamespaceInfo[] = [
    { name: 'home', labels: { tier: 'web' } },
    { name: 'b', labels: { tier: 'web', ring: '1' } },
    { name: 'c', labels: {} },
  ];

  it('is false for named targets and named waves, and they resolve and plan the same with no namespaces', () => {
    const named = push({
      targets: [
        { kind: 'ConfigMap', name: 'a' },
        { kind: 'Secret', name: 's', namespace: 'b' },
      ],
      strategy: { waves: [{ namespaces: ['b'] }] },
    } as Partial<ConfigPushSpec>);
    expect(readsNamespaces(named)).toBe(false);
    const withAll = resolveSpec(named, namespaces);
    const withNone = resolveSpec(named, []);
    expect(withNone).toEqual(withAll);
    expect(planWaves(withNone.targets, withNone.strategy, [])).toEqual(planWaves(withAll.targets, withAll.strategy, namespaces));
  });

  it('is true for a target or a wave with a namespaceSelector, which do read them', () => {
    const fanOut = push({ targets: [{ kind: 'ConfigMap', name: 'a', namespaceSelector: { matchLabels: { tier: 'web' } } }] } as Partial<ConfigPushSpec>);
    expect(readsNamespaces(fanOut)).toBe(true);
    expect(resolveSpec(fanOut, namespaces).targets.map((t) => t.namespace)).toEqual(['b', 'home']);
    expect(resolveSpec(fanOut, []).targets).toEqual([]);
    const selectedWave = push({ targets: [{ kind: 'ConfigMap', name: 'a' }], strategy: { waves: [{ namespaceSelector: { matchLabels: { ring: '1' } } }] } } as Partial<ConfigPushSpec>);
    expect(readsNamespaces(selectedWave)).toBe(true);
  });

  it('reads a malformed spec without throwing (resolveSpec reports what is wrong with it)', () => {
    for (const spec of [undefined, {}, { targets: 'x' }, { targets: [null] }, { strategy: null }, { strategy: { waves: [null, 3] } }]) {
      expect(readsNamespaces({ ...push({}), spec } as unknown as ConfigPush)).toBe(false);
    }
  });
});

import type { V1Container, V1PodTemplateSpec, V1Volume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import type { DesiredContent } from '../../src/core/content-digest.js';
import {
  CONSUMER_VALUE_PREFIX,
  consumedTargets,
  consumerDigestKey,
  consumerRestartValue,
  type ConsumedTarget,
  type TargetName,
} from '../../src/core/consumers.js';
import { InvalidSpecError } from '../../src/core/errors.js';
import { resolveSpec } from '../../src/core/resolve-spec.js';

const TARGETS: TargetName[] = [
  { kind: 'ConfigMap', name: 'cfg' },
  { kind: 'Secret', name: 'creds' },
];

const template = (containers: V1Container[], volumes: V1Volume[] = [], initContainers: V1Container[] = []): V1PodTemplateSpec => ({
  spec: { containers, volumes, initContainers },
});
const app = (container: Partial<V1Container>): V1Container => ({ name: 'app', image: 'app:1', ...container });
const envKey = (kind: 'ConfigMap' | 'Secret', name: string, key: string): V1Container =>
  app({ env: [{ name: 'E', valueFrom: kind === 'ConfigMap' ? { configMapKeyRef: { name, key } } : { secretKeyRef: { name, key } } }] });

describe('consumedTargets: which targets a pod template reads, and how', () => {
  const cases: { what: string; template: V1PodTemplateSpec | undefined; reads: ConsumedTarget[] }[] = [
    { what: 'env valueFrom configMapKeyRef: that key', template: template([envKey('ConfigMap', 'cfg', 'a')]), reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['a'] }] },
    { what: 'env valueFrom secretKeyRef: that key', template: template([envKey('Secret', 'creds', 'x')]), reads: [{ kind: 'Secret', name: 'creds', keys: ['x'] }] },
    { what: 'envFrom configMapRef: the whole object', template: template([app({ envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'P_' }] })]), reads: [{ kind: 'ConfigMap', name: 'cfg' }] },
    { what: 'envFrom secretRef: the whole object', template: template([app({ envFrom: [{ secretRef: { name: 'creds' } }] })]), reads: [{ kind: 'Secret', name: 'creds' }] },
    { what: 'a configMap volume without items: the whole object', template: template([app({})], [{ name: 'v', configMap: { name: 'cfg' } }]), reads: [{ kind: 'ConfigMap', name: 'cfg' }] },
    { what: 'a configMap volume with empty items: the whole object (as the kubelet reads it)', template: template([app({})], [{ name: 'v', configMap: { name: 'cfg', items: [] } }]), reads: [{ kind: 'ConfigMap', name: 'cfg' }] },
    {
      what: 'a configMap volume with items: their keys, sorted',
      template: template([app({})], [{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'b', path: 'b' }, { key: 'a', path: 'a' }] } }]),
      reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['a', 'b'] }],
    },
    { what: 'a secret volume without items (secretName)', template: template([app({})], [{ name: 'v', secret: { secretName: 'creds' } }]), reads: [{ kind: 'Secret', name: 'creds' }] },
    { what: 'a secret volume with items', template: template([app({})], [{ name: 'v', secret: { secretName: 'creds', items: [{ key: 'x', path: 'x' }] } }]), reads: [{ kind: 'Secret', name: 'creds', keys: ['x'] }] },
    {
      what: 'a projected configMap with items',
      template: template([app({})], [{ name: 'v', projected: { sources: [{ configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }] } }] } }]),
      reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['a'] }],
    },
    {
      what: 'a projected secret without items, beside a projected configMap with items',
      template: template([app({})], [{ name: 'v', projected: { sources: [{ secret: { name: 'creds' } }, { configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }] } }] } }]),
      reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['a'] }, { kind: 'Secret', name: 'creds' }],
    },
    { what: 'an initContainer reads like a container', template: template([app({})], [], [envKey('ConfigMap', 'cfg', 'b')]), reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['b'] }] },
    {
      what: 'read whole anywhere: whole (a key read elsewhere adds nothing)',
      template: template([envKey('ConfigMap', 'cfg', 'a')], [{ name: 'v', configMap: { name: 'cfg' } }]),
      reads: [{ kind: 'ConfigMap', name: 'cfg' }],
    },
    {
      what: 'keys from several references: their union, once each',
      template: template(
        [envKey('ConfigMap', 'cfg', 'b'), app({ name: 'side', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'b' } } }] })],
        [{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'c', path: 'c' }] } }],
      ),
      reads: [{ kind: 'ConfigMap', name: 'cfg', keys: ['a', 'b', 'c'] }],
    },
    { what: 'another object: nothing', template: template([envKey('ConfigMap', 'other', 'a')], [{ name: 'v', secret: { secretName: 'other' } }]), reads: [] },
    { what: 'the kind matters: a ConfigMap named like the Secret target is not it', template: template([app({ envFrom: [{ configMapRef: { name: 'creds' } }] })]), reads: [] },
    { what: 'plain env values, emptyDir and downward API volumes: nothing', template: template([app({ env: [{ name: 'X', value: 'cfg' }] })], [{ name: 'v', emptyDir: {} }, { name: 'd', downwardAPI: {} }]), reads: [] },
    { what: 'no template: nothing', template: undefined, reads: [] },
  ];
  it.each(cases)('$what', ({ template: t, reads }) => {
    expect(consumedTargets(t, TARGETS)).toEqual(reads);
  });

  it('reads a ConfigMap and a Secret of the same name as two targets', () => {
    const targets: TargetName[] = [
      { kind: 'Secret', name: 'app' },
      { kind: 'ConfigMap', name: 'app' },
    ];
    const t = template([app({ envFrom: [{ secretRef: { name: 'app' } }] }), envKey('ConfigMap', 'app', 'k')]);
    expect(consumedTargets(t, targets)).toEqual([
      { kind: 'ConfigMap', name: 'app', keys: ['k'] },
      { kind: 'Secret', name: 'app' },
    ]);
  });
});

const content = (data: Record<string, string>, extra: Partial<DesiredContent> = {}): DesiredContent => ({
  data,
  binaryData: {},
  labels: {},
  annotations: {},
  ...extra,
});
const HMAC = consumerDigestKey('push-uid', undefined);
const cfgKeys = (...keys: string[]): ConsumedTarget[] => [{ kind: 'ConfigMap', name: 'cfg', keys }];
const cfgWhole: ConsumedTarget[] = [{ kind: 'ConfigMap', name: 'cfg' }];

describe('consumerRestartValue: a keyed digest of exactly what a workload reads', () => {
  const before = content({ a: '1', b: '1' });
  const value = (reads: ConsumedTarget[], c: DesiredContent, key = HMAC) => consumerRestartValue(reads, c, key);

  it.each([
    { what: 'key a read, a changes', reads: cfgKeys('a'), after: content({ a: '2', b: '1' }), changes: true },
    { what: 'key a read, only b changes', reads: cfgKeys('a'), after: content({ a: '1', b: '2' }), changes: false },
    { what: 'key a read, a key c is added', reads: cfgKeys('a'), after: content({ a: '1', b: '1', c: '1' }), changes: false },
    { what: 'key a read, a is removed (absent counts)', reads: cfgKeys('a'), after: content({ b: '1' }), changes: true },
    { what: 'absent key z read, z appears', reads: cfgKeys('z'), after: content({ a: '1', b: '1', z: '' }), changes: true },
    { what: 'whole object read, b changes', reads: cfgWhole, after: content({ a: '1', b: '2' }), changes: true },
    { what: 'whole object read, a key is added', reads: cfgWhole, after: content({ a: '1', b: '1', c: '1' }), changes: true },
    { what: 'whole object read, only the targets\' labels and annotations change', reads: cfgWhole, after: content({ a: '1', b: '1' }, { labels: { l: 'x' }, annotations: { n: 'y' } }), changes: false },
    { what: 'a ConfigMap key moves from data to binaryData with the same bytes (env cannot read binaryData)', reads: cfgKeys('a'), after: content({ b: '1' }, { binaryData: { a: 'MQ==' } }), changes: true },
  ])('$what: changes=$changes', ({ reads, after, changes }) => {
    const was = value(reads, before);
    const now = value(reads, after);
    expect(was).toBeDefined();
    expect(now !== was).toBe(changes);
  });

  it('a Secret holds bytes: the same bytes as text or as binaryData are the same value', () => {
    const reads: ConsumedTarget[] = [{ kind: 'Secret', name: 'creds', keys: ['a'] }];
    expect(value(reads, content({ a: 'hi' }))).toBe(value(reads, content({}, { binaryData: { a: 'aGk=' } })));
  });

  it('is deterministic, whatever the order of reads and keys', () => {
    const reads: ConsumedTarget[] = [
      { kind: 'Secret', name: 'creds' },
      { kind: 'ConfigMap', name: 'cfg', keys: ['b', 'a'] },
    ];
    const c = content({ a: '1', b: '2' });
    expect(value(reads, c)).toBe(value([...reads].reverse(), c));
    expect(value(reads, c)).toBe(value([{ kind: 'ConfigMap', name: 'cfg', keys: ['a', 'b'] }, { kind: 'Secret', name: 'creds' }], c));
    expect(value(reads, c)).toMatch(new RegExp(`^${CONSUMER_VALUE_PREFIX}[0-9a-f]{32}$`));
  });

  it('differs by what is read: which keys, which object, whole or keys', () => {
    const c = content({ a: '1', b: '1' });
    const values = [
      value(cfgKeys('a'), c),
      value(cfgKeys('b'), c),
      value(cfgKeys('a', 'b'), c),
      value(cfgWhole, c),
      value([{ kind: 'Secret', name: 'cfg', keys: ['a'] }], c),
      value([{ kind: 'ConfigMap', name: 'other', keys: ['a'] }], c),
    ];
    expect(new Set(values).size).toBe(values.length);
  });

  it('is keyed: another push, or other copied Secrets, give other values for the same reads', () => {
    const c = content({ a: 'guessable' });
    const mine = value(cfgKeys('a'), c);
    expect(value(cfgKeys('a'), c, consumerDigestKey('another-uid', undefined))).not.toBe(mine);
    expect(value(cfgKeys('a'), c, consumerDigestKey('push-uid', 'secret-uid-1'))).not.toBe(mine);
    expect(value(cfgKeys('a'), c, consumerDigestKey('push-uid', 'secret-uid-2'))).not.toBe(value(cfgKeys('a'), c, consumerDigestKey('push-uid', 'secret-uid-1')));
  });

  it('never carries a value', () => {
    const secret = 'hunter2-very-secret';
    const v = value([{ kind: 'Secret', name: 'creds', keys: ['password'] }], content({ password: secret }))!;
    expect(v).not.toContain(secret);
    expect(v).not.toContain(Buffer.from(secret).toString('base64'));
  });

  it('is undefined for a workload that reads nothing', () => {
    expect(value([], content({ a: '1' }))).toBeUndefined();
  });
});

describe('consumers mode end to end in core: six Deployments, a change of key a, then of key b', () => {
  const targets: TargetName[] = [{ kind: 'ConfigMap', name: 'cfg' }];
  const templates: Record<string, V1PodTemplateSpec> = {
    'env-a': template([envKey('ConfigMap', 'cfg', 'a')]),
    'env-from': template([app({ envFrom: [{ configMapRef: { name: 'cfg' } }] })]),
    volume: template([app({})], [{ name: 'v', configMap: { name: 'cfg' } }]),
    'projected-a': template([app({})], [{ name: 'v', projected: { sources: [{ configMap: { name: 'cfg', items: [{ key: 'a', path: 'a' }] } }] } }]),
    'env-b': template([envKey('ConfigMap', 'cfg', 'b')]),
    none: template([app({ env: [{ name: 'X', value: '1' }] })]),
  };
  const valuesFor = (c: DesiredContent) =>
    Object.fromEntries(Object.entries(templates).map(([name, t]) => [name, consumerRestartValue(consumedTargets(t, targets), c, HMAC)]));
  const changed = (from: DesiredContent, to: DesiredContent) => {
    const [a, b] = [valuesFor(from), valuesFor(to)];
    return Object.keys(templates).filter((name) => a[name] !== undefined && a[name] !== b[name]);
  };
  const v1 = content({ a: '1', b: '1' });
  const v2 = content({ a: '2', b: '1' });
  const v3 = content({ a: '2', b: '2' });

  it('a change of key a restarts exactly the four that read a', () => {
    expect(changed(v1, v2)).toEqual(['env-a', 'env-from', 'volume', 'projected-a']);
  });
  it('a change of key b restarts the one that reads b and the two that read the whole object', () => {
    expect(changed(v2, v3)).toEqual(['env-from', 'volume', 'env-b']);
  });
  it('the one that reads nothing is no consumer', () => {
    expect(valuesFor(v1).none).toBeUndefined();
  });
});

describe('resolveSpec: spec.rollout.restartConsumers', () => {
  const push = (rollout: unknown): ConfigPush => ({
    apiVersion: 'configpush.io/v1alpha1',
    kind: 'ConfigPush',
    metadata: { name: 'p', namespace: 'home', uid: 'u', generation: 1, resourceVersion: '1' },
    spec: { targets: [{ kind: 'ConfigMap', name: 'a' }], ...(rollout === undefined ? {} : { rollout: rollout as NonNullable<ConfigPushSpec['rollout']> }) },
  });
  it('is on only when true', () => {
    expect(resolveSpec(push({ restartConsumers: true })).restartConsumers).toBe(true);
    expect(resolveSpec(push({ restartConsumers: false })).restartConsumers).toBeUndefined();
    expect(resolveSpec(push({})).restartConsumers).toBeUndefined();
    expect(resolveSpec(push(undefined)).restartConsumers).toBeUndefined();
  });
  it('goes with the explicit list', () => {
    const spec = resolveSpec(push({ restartConsumers: true, restart: [{ kind: 'Deployment', name: 'web' }] }));
    expect(spec.restart).toEqual([{ kind: 'Deployment', name: 'web' }]);
    expect(spec.restartConsumers).toBe(true);
  });
  it('rejects a non-boolean with a message that names the field', () => {
    expect(() => resolveSpec(push({ restartConsumers: 'yes' }))).toThrow(InvalidSpecError);
    expect(() => resolveSpec(push({ restartConsumers: 'yes' }))).toThrow(/spec\.rollout\.restartConsumers must be true or false/);
  });
});

import { describe, expect, it } from 'vitest';
import { SOURCE_COPY_TO_ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush, SourceSpec, TargetRef } from '../../src/api/types.js';
import type { DesiredContent } from '../../src/core/content-digest.js';
import { InvalidSpecError, PermanentError } from '../../src/core/errors.js';
import { resolveSpec } from '../../src/core/resolve-spec.js';
import {
  copySources,
  digestKeyOf,
  mergeSourcedContent,
  resolveSources,
  withSources,
  type ResolvedSource,
  type SourceObject,
} from '../../src/core/sources.js';

const PUSH_NS = 'apps';
const secretTargets: TargetRef[] = [{ kind: 'Secret', name: 'copy' }];
const configMapTargets: TargetRef[] = [{ kind: 'ConfigMap', name: 'copy' }];
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const noContent: DesiredContent = { data: {}, binaryData: {}, labels: {}, annotations: {} };

function secret(name: string, values: Record<string, string>, extra: Partial<SourceObject> = {}): SourceObject {
  const binaryData = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)]));
  return { kind: 'Secret', namespace: PUSH_NS, name, uid: `uid-${name}`, annotations: {}, data: {}, binaryData, ...extra };
}

function configMap(name: string, data: Record<string, string>, extra: Partial<SourceObject> = {}): SourceObject {
  return { kind: 'ConfigMap', namespace: PUSH_NS, name, uid: `uid-${name}`, annotations: {}, data, binaryData: {}, ...extra };
}

function resolved(specs: SourceSpec[], targets = secretTargets): ResolvedSource[] {
  return resolveSources(specs, PUSH_NS, targets);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('resolveSources', () => {
  it('defaults the namespace to the push’s and keeps items, prefix and optional', () => {
    expect(resolved([{ secretRef: { name: 'tls' }, items: [{ key: 'tls.crt', as: 'ca.crt' }, { key: 'tls.key' }], prefix: 'X_', optional: true }])).toEqual([
      {
        index: 0,
        kind: 'Secret',
        name: 'tls',
        namespace: PUSH_NS,
        prefix: 'X_',
        optional: true,
        items: [
          { key: 'tls.crt', as: 'ca.crt' },
          { key: 'tls.key', as: 'tls.key' },
        ],
      },
    ]);
    expect(resolved([{ configMapRef: { name: 'shared', namespace: 'platform' } }], configMapTargets)).toEqual([
      { index: 0, kind: 'ConfigMap', name: 'shared', namespace: 'platform', prefix: '', optional: false },
    ]);
    expect(resolveSources(undefined, PUSH_NS, secretTargets)).toEqual([]);
  });

  it('refuses a Secret source when any target is a ConfigMap, saying why', () => {
    const err = thrown(() => resolved([{ configMapRef: { name: 'a' } }, { secretRef: { name: 'tls' } }], [...secretTargets, ...configMapTargets]));
    expect(err).toBeInstanceOf(InvalidSpecError);
    expect((err as Error).message).toMatch(/spec\.sources\[1\] copies from a Secret, but spec\.targets\[1\] is a ConfigMap/);
    expect((err as Error).message).toMatch(/only be copied into Secret targets/);
    // A ConfigMap source may feed both kinds.
    expect(resolved([{ configMapRef: { name: 'a' } }], [...secretTargets, ...configMapTargets])).toHaveLength(1);
  });

  it.each<[string, unknown, RegExp]>([
    ['both refs', [{ secretRef: { name: 'a' }, configMapRef: { name: 'b' } }], /exactly one of secretRef and configMapRef/],
    ['no ref', [{ prefix: 'A' }], /exactly one of secretRef and configMapRef/],
    ['a bad name', [{ secretRef: { name: 'Not_Valid' } }], /secretRef\.name/],
    ['a bad namespace', [{ secretRef: { name: 'a', namespace: 'Bad_NS' } }], /secretRef\.namespace/],
    ['a bad items key', [{ secretRef: { name: 'a' }, items: [{ key: 'bad key' }] }], /items\[0\]\.key/],
    ['a bad as', [{ secretRef: { name: 'a' }, items: [{ key: 'a', as: 'no/slash' }] }], /items\[0\]\.as/],
    ['empty items', [{ secretRef: { name: 'a' }, items: [] }], /at least one key/],
    ['two items to one key', [{ secretRef: { name: 'a' }, items: [{ key: 'a', as: 'x' }, { key: 'b', as: 'x' }] }], /items\[1\] copies a second value to key "x"/],
    ['a bad prefix', [{ secretRef: { name: 'a' }, prefix: 'A B' }], /prefix/],
    ['more than 20', Array.from({ length: 21 }, () => ({ secretRef: { name: 'a' } })), /at most 20/],
    ['not a list', { secretRef: { name: 'a' } }, /must be a list/],
  ])('refuses %s', (_what, value, message) => {
    const err = thrown(() => resolveSources(value, PUSH_NS, secretTargets));
    expect(err).toBeInstanceOf(InvalidSpecError);
    expect((err as Error).message).toMatch(message);
  });

  it('is part of resolveSpec, after the targets', () => {
    const push = {
      metadata: { name: 'p', namespace: PUSH_NS, uid: 'u', generation: 1, resourceVersion: '1' },
      spec: { targets: configMapTargets, sources: [{ secretRef: { name: 'tls' } }] },
    } as unknown as ConfigPush;
    expect(() => resolveSpec(push)).toThrow(/is a ConfigMap/);
    const ok = resolveSpec({ ...push, spec: { targets: secretTargets, sources: [{ secretRef: { name: 'tls' } }] } });
    expect(ok.sources?.map((s) => s.name)).toEqual(['tls']);
  });
});

describe('copySources', () => {
  it('copies every key of a Secret as bytes, and of a ConfigMap as text and bytes', () => {
    const [fromSecret, fromConfigMap] = copySources(
      resolved([{ secretRef: { name: 's' } }, { configMapRef: { name: 'c' } }]),
      [secret('s', { user: 'admin', pass: 'hunter2' }), configMap('c', { 'app.conf': 'x=1' }, { binaryData: { 'logo.png': 'AAEC' } })],
      PUSH_NS,
    );
    expect(fromSecret?.entries).toEqual([
      { key: 'pass', binary: true, value: b64('hunter2') },
      { key: 'user', binary: true, value: b64('admin') },
    ]);
    expect(fromConfigMap?.entries).toEqual([
      { key: 'app.conf', binary: false, value: 'x=1' },
      { key: 'logo.png', binary: true, value: 'AAEC' },
    ]);
  });

  it('selects items, renames with as, and prepends the prefix to every copied key', () => {
    const [copy] = copySources(
      resolved([{ secretRef: { name: 'tls' }, items: [{ key: 'tls.crt', as: 'ca.crt' }, { key: 'tls.key' }], prefix: 'edge.' }]),
      [secret('tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'unselected': 'nope' })],
      PUSH_NS,
    );
    expect(copy?.entries.map((e) => e.key)).toEqual(['edge.ca.crt', 'edge.tls.key']);
    const [all] = copySources(resolved([{ configMapRef: { name: 'c' } }], configMapTargets), [configMap('c', { LEVEL: 'info' })], PUSH_NS);
    expect(all?.entries).toEqual([{ key: 'LEVEL', binary: false, value: 'info' }]);
    const [prefixed] = copySources(resolved([{ configMapRef: { name: 'c' }, prefix: 'SHARED_' }], configMapTargets), [configMap('c', { LEVEL: 'info' })], PUSH_NS);
    expect(prefixed?.entries.map((e) => e.key)).toEqual(['SHARED_LEVEL']);
  });

  it('stops on a missing source with SourceNotFound, unless it is optional', () => {
    const err = thrown(() => copySources(resolved([{ secretRef: { name: 'gone' } }]), [undefined], PUSH_NS));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ reason: 'SourceNotFound', message: expect.stringContaining(`Secret ${PUSH_NS}/gone`) });
    expect(copySources(resolved([{ secretRef: { name: 'gone' }, optional: true }]), [undefined], PUSH_NS)).toEqual([
      expect.objectContaining({ found: false, entries: [] }),
    ]);
  });

  it('stops on an items key the source lacks with SourceKeyNotFound, unless optional', () => {
    const source = secret('s', { a: '1' });
    const err = thrown(() => copySources(resolved([{ secretRef: { name: 's' }, items: [{ key: 'b' }] }]), [source], PUSH_NS));
    expect(err).toMatchObject({ reason: 'SourceKeyNotFound', message: expect.stringContaining('has no key "b"') });
    const [copy] = copySources(resolved([{ secretRef: { name: 's' }, items: [{ key: 'a' }, { key: 'b' }], optional: true }]), [source], PUSH_NS);
    expect(copy?.entries.map((e) => e.key)).toEqual(['a']);
  });

  it('copies from another namespace only when the source opts in to the push’s namespace', () => {
    const specs = resolved([{ secretRef: { name: 'tls', namespace: 'cert-manager' } }]);
    const elsewhere = (annotation?: string) =>
      secret('tls', { 'tls.crt': 'C' }, { namespace: 'cert-manager', annotations: annotation === undefined ? {} : { [SOURCE_COPY_TO_ANNOTATION]: annotation } });
    const err = thrown(() => copySources(specs, [elsewhere()], PUSH_NS));
    expect(err).toMatchObject({ reason: 'SourceNotAllowed' });
    expect((err as Error).message).toContain(`${SOURCE_COPY_TO_ANNOTATION}: "${PUSH_NS}"`);
    expect(thrown(() => copySources(specs, [elsewhere('team-a, team-b')], PUSH_NS))).toMatchObject({ reason: 'SourceNotAllowed' });
    expect(copySources(specs, [elsewhere(`team-a, ${PUSH_NS}`)], PUSH_NS)[0]?.entries).toHaveLength(1);
    expect(copySources(specs, [elsewhere('*')], PUSH_NS)[0]?.entries).toHaveLength(1);
  });

  it('validates copied keys after the prefix with the data key rule', () => {
    const long = 'P'.repeat(251);
    const err = thrown(() => copySources(resolved([{ configMapRef: { name: 'c' }, prefix: long }], configMapTargets), [configMap('c', { KEY: 'v' })], PUSH_NS));
    expect(err).toBeInstanceOf(InvalidSpecError);
    expect((err as Error).message).toMatch(/spec\.sources\[0\]: the copied key "P+KEY" must match/);
  });

  it('never puts a value into an error message', () => {
    const source = secret('s', { token: 'TOPSECRET-VALUE' });
    const messages = [
      thrown(() => copySources(resolved([{ secretRef: { name: 's' }, items: [{ key: 'missing' }] }]), [source], PUSH_NS)),
      thrown(() => copySources(resolved([{ secretRef: { name: 's', namespace: 'other' } }]), [{ ...source, namespace: 'other' }], PUSH_NS)),
    ].map((e) => (e as Error).message);
    for (const message of messages) {
      expect(message).not.toContain('TOPSECRET-VALUE');
      expect(message).not.toContain(b64('TOPSECRET-VALUE'));
    }
  });
});

describe('mergeSourcedContent', () => {
  const copies = copySources(
    resolved([{ configMapRef: { name: 'first' } }, { configMapRef: { name: 'second' } }], configMapTargets),
    [configMap('first', { A: 'first', B: 'first' }, { binaryData: { BIN: 'AAAA' } }), configMap('second', { B: 'second', BIN: 'text now' })],
    PUSH_NS,
  );

  it('later sources override earlier keys, and a key lives in one map only', () => {
    const merged = mergeSourcedContent(noContent, copies);
    expect(merged.data).toEqual({ A: 'first', B: 'second', BIN: 'text now' });
    expect(merged.binaryData).toEqual({});
  });

  it('spec.data and spec.binaryData override every source (env over envFrom); labels and annotations come from the spec', () => {
    const merged = mergeSourcedContent({ data: { A: 'inline' }, binaryData: { B: 'AQI=' }, labels: { l: '1' }, annotations: { a: '2' } }, copies);
    expect(merged).toEqual({ data: { A: 'inline', BIN: 'text now' }, binaryData: { B: 'AQI=' }, labels: { l: '1' }, annotations: { a: '2' } });
  });
});

describe('withSources', () => {
  const specs = resolved([{ secretRef: { name: 'tls' }, items: [{ key: 'tls.crt' }] }]);
  const tls = (crt: string, extra: Partial<SourceObject> = {}) => secret('tls', { 'tls.crt': crt, 'tls.key': 'K' }, extra);

  it('digests content from Secrets with an HMAC keyed by their uids, and reports sources without values', () => {
    const result = withSources(noContent, specs, [tls('CERT')], PUSH_NS);
    expect(result.content.binaryData).toEqual({ 'tls.crt': b64('CERT') });
    expect(result.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(result.revision).toMatch(/^[0-9a-f]{64}$/);
    expect(result.statuses).toEqual([{ kind: 'Secret', name: 'tls', namespace: PUSH_NS, revision: expect.stringMatching(/^[0-9a-f]{12}$/) }]);
    expect(JSON.stringify(result.statuses)).not.toContain(b64('CERT'));
    expect(digestKeyOf([tls('CERT')])).toBe('uid-tls');
  });

  it('is plain sha256 when only ConfigMaps are copied', () => {
    const result = withSources(noContent, resolved([{ configMapRef: { name: 'c' } }], configMapTargets), [configMap('c', { A: '1' })], PUSH_NS);
    expect(result.digest).toMatch(/^sha256:/);
  });

  it('is the same for the same copied bytes, whatever else changes on the source', () => {
    const base = withSources(noContent, specs, [tls('CERT')], PUSH_NS);
    const relabelled = withSources(noContent, specs, [tls('CERT', { annotations: { note: 'x' } })], PUSH_NS);
    const unselected = withSources(noContent, specs, [secret('tls', { 'tls.crt': 'CERT', 'tls.key': 'ROTATED', extra: 'new' })], PUSH_NS);
    expect(relabelled).toEqual(base);
    expect(unselected).toEqual(base);
    const changed = withSources(noContent, specs, [tls('CERT2')], PUSH_NS);
    expect(changed.revision).not.toBe(base.revision);
    expect(changed.digest).not.toBe(base.digest);
    expect(changed.statuses[0]?.revision).not.toBe(base.statuses[0]?.revision);
  });

  it('an absent optional source has no revision in status, and contributes nothing', () => {
    const result = withSources({ ...noContent, data: { own: 'v' } }, resolved([{ secretRef: { name: 'later' }, optional: true }]), [undefined], PUSH_NS);
    expect(result.statuses).toEqual([{ kind: 'Secret', name: 'later', namespace: PUSH_NS }]);
    expect(result.content.data).toEqual({ own: 'v' });
    expect(result.digest).toMatch(/^sha256:/);
  });
});

describe('a target that is one of the sources', () => {
  const pushWith = (targets: TargetRef[], sources: SourceSpec[]) =>
    ({ metadata: { name: 'p', namespace: PUSH_NS, uid: 'u', generation: 1, resourceVersion: '1' }, spec: { targets, sources } }) as unknown as ConfigPush;

  it('named outright is InvalidSpec: a push cannot copy an object onto itself', () => {
    expect(() => resolveSpec(pushWith([{ kind: 'Secret', name: 'tls' }], [{ secretRef: { name: 'tls' } }]))).toThrow(/spec\.targets\[0\] is spec\.sources\[0\] itself/);
    expect(() => resolveSpec(pushWith([{ kind: 'Secret', name: 'tls', namespace: 'cm' }], [{ secretRef: { name: 'tls', namespace: 'cm' } }]))).toThrow(InvalidSpecError);
    // Same name, other kind or namespace: a different object.
    expect(resolveSpec(pushWith([{ kind: 'Secret', name: 'tls', namespace: 'other' }], [{ secretRef: { name: 'tls' } }])).targets).toHaveLength(1);
  });

  it('reached by a namespaceSelector is skipped (Reflector skips the source namespace too)', () => {
    const spec = resolveSpec(pushWith([{ kind: 'Secret', name: 'tls', namespaceSelector: { matchLabels: { team: 'x' } } }], [{ secretRef: { name: 'tls', namespace: 'cert-manager' } }]), [
      { name: 'cert-manager', labels: { team: 'x' } },
      { name: 'team-a', labels: { team: 'x' } },
    ]);
    expect(spec.targets).toEqual([{ kind: 'Secret', name: 'tls', namespace: 'team-a' }]);
  });
});

describe('restart and display of keyed digests', () => {
  it('the keyed restart value and the plugin’s short digest read the hex of an hmac-sha256 digest', async () => {
    const { restartAnnotationValue } = await import('../../src/configpush/workload-restarter.js');
    const { shortDigest } = await import('../../src/cli/kubectl-configpush/view/status-view.js');
    const digest = `hmac-sha256:${'cd'.repeat(32)}`;
    expect(restartAnnotationValue('3-0123456789', digest)).toBe(`3-0123456789/${'cd'.repeat(8)}`);
    expect(shortDigest(digest)).toBe(`hmac-sha256:${'cd'.repeat(6)}`);
  });
});

import { describe, expect, it } from 'vitest';
import type { TargetKind } from '../../src/api/types.js';
import { SourceReadMemo } from '../../src/configpush/source-read-memo.js';
import type { DesiredContent } from '../../src/core/content-digest.js';
import { resolveSources, withSources, type SourceObject } from '../../src/core/sources.js';
import { SourceValuesNotRead, withoutSourceValues } from '../../src/core/unread-source-values.js';

const NS = 'team-a';
const spec = { data: { inline: 'yes' }, binaryData: {}, labels: { app: 'db' }, annotations: {} };
const sources = resolveSources([{ secretRef: { name: 'db' } }, { configMapRef: { name: 'settings' } }], NS, [{ kind: 'Secret', name: 'copy' }]);
const secret = (resourceVersion?: string): SourceObject => ({
  kind: 'Secret',
  namespace: NS,
  name: 'db',
  uid: 'uid-db',
  ...(resourceVersion !== undefined ? { resourceVersion } : {}),
  annotations: {},
  data: {},
  binaryData: { password: Buffer.from('pw').toString('base64') },
});
const configMap = (resourceVersion: string): SourceObject => ({ kind: 'ConfigMap', namespace: NS, name: 'settings', uid: 'uid-s', resourceVersion, annotations: {}, data: { LEVEL: 'info' }, binaryData: {} });

/** A memo over a fake watch: `versions` is what the watch shows now, by kind/name. */
function memo(versions: Record<string, string | undefined>, limit?: number) {
  const digests: { kind: TargetKind; content: DesiredContent }[] = [];
  const m = new SourceReadMemo(
    {
      resourceVersionOf: (kind, _namespace, name) => versions[`${kind}/${name}`],
      targetDigest: (kind, content, digest) => {
        digests.push({ kind, content });
        return `${kind}:${digest}`;
      },
    },
    limit,
  );
  return { m, digests };
}

describe('SourceReadMemo', () => {
  const objects = [secret('10'), configMap('11')];
  const sourced = withSources(spec, sources, objects, NS);

  it('recalls the revision, digest, statuses and target digests while the watch shows every source at the version read', () => {
    const { m, digests } = memo({ 'Secret/db': '10', 'ConfigMap/settings': '11' });
    // The target digest was computed from the values when they were read, once, and handed to the reconcile that read them.
    expect(m.remember('push-uid', 3, objects, sourced, ['Secret'])).toEqual({ Secret: `Secret:${sourced.digest}` });
    expect(digests).toEqual([{ kind: 'Secret', content: sourced.content }]);
    expect(m.recall('push-uid', 3, sources)).toEqual({
      revision: sourced.revision,
      digest: sourced.digest,
      statuses: sourced.statuses,
      digestKey: 'uid-db',
      targetDigests: { Secret: `Secret:${sourced.digest}` },
    });
    // It holds no value of any source.
    expect(JSON.stringify(m.recall('push-uid', 3, sources))).not.toContain(Buffer.from('pw').toString('base64'));
    expect(JSON.stringify(m.recall('push-uid', 3, sources))).not.toContain('info');
  });

  it('recalls nothing once a source shows another version, or none (deleted, not yet listed)', () => {
    const versions: Record<string, string | undefined> = { 'Secret/db': '10', 'ConfigMap/settings': '11' };
    const { m } = memo(versions);
    m.remember('push-uid', 3, objects, sourced, ['Secret']);
    versions['ConfigMap/settings'] = '12';
    expect(m.recall('push-uid', 3, sources)).toBeUndefined();
    versions['ConfigMap/settings'] = undefined;
    expect(m.recall('push-uid', 3, sources)).toBeUndefined();
    versions['ConfigMap/settings'] = '11';
    expect(m.recall('push-uid', 3, sources)).toBeDefined();
  });

  it('recalls nothing for another generation, another push, or another list of sources', () => {
    const { m } = memo({ 'Secret/db': '10', 'ConfigMap/settings': '11' });
    m.remember('push-uid', 3, objects, sourced, ['Secret']);
    expect(m.recall('push-uid', 4, sources)).toBeUndefined();
    expect(m.recall('other-uid', 3, sources)).toBeUndefined();
    expect(m.recall('push-uid', 3, sources.slice(0, 1))).toBeUndefined();
  });

  it('remembers nothing when a source was absent or had no version: the watch cannot vouch for an absence', () => {
    const { m } = memo({ 'Secret/db': '10', 'ConfigMap/settings': undefined });
    const optional = resolveSources([{ secretRef: { name: 'db' } }, { configMapRef: { name: 'settings' }, optional: true }], NS, [{ kind: 'Secret', name: 'copy' }]);
    // Nothing kept, nothing handed back: the verifier digests those values itself.
    expect(m.remember('push-uid', 3, [secret('10'), undefined], withSources(spec, optional, [secret('10'), undefined], NS), ['Secret'])).toBeUndefined();
    expect(m.size).toBe(0);
    expect(m.remember('push-uid', 3, [secret(undefined), configMap('11')], sourced, ['Secret'])).toBeUndefined();
    expect(m.size).toBe(0);
    // And a read that cannot be remembered drops what an earlier one left.
    m.remember('push-uid', 3, objects, sourced, ['Secret']);
    expect(m.size).toBe(1);
    m.remember('push-uid', 3, [secret('10'), undefined], withSources(spec, optional, [secret('10'), undefined], NS), ['Secret']);
    expect(m.size).toBe(0);
  });

  it('forgets a deleted push, and holds at most `limit` pushes (the oldest goes first)', () => {
    const { m } = memo({ 'Secret/db': '10', 'ConfigMap/settings': '11' }, 2);
    for (const uid of ['a', 'b', 'c']) m.remember(uid, 1, objects, sourced, ['Secret']);
    expect(m.size).toBe(2);
    expect(m.recall('a', 1, sources)).toBeUndefined();
    expect(m.recall('c', 1, sources)).toBeDefined();
    m.forget('c');
    expect(m.recall('c', 1, sources)).toBeUndefined();
  });
});

describe('withoutSourceValues', () => {
  const content: DesiredContent = { data: { a: '1' }, binaryData: {}, labels: { app: 'x' }, annotations: { note: 'n' } };

  it('keeps labels and annotations, and throws SourceValuesNotRead on any use of the values', () => {
    const unread = withoutSourceValues(content);
    expect(unread.labels).toEqual({ app: 'x' });
    expect(unread.annotations).toEqual({ note: 'n' });
    expect(() => unread.data).toThrow(SourceValuesNotRead);
    expect(() => unread.binaryData).toThrow(SourceValuesNotRead);
    // Copies and serializations touch the values too: no path gets empty data out of it.
    expect(() => ({ ...unread })).toThrow(SourceValuesNotRead);
    expect(() => JSON.stringify(unread)).toThrow(SourceValuesNotRead);
  });

  it('is transient if it ever escaped, so the retry (which reads live) does the work', () => {
    expect(new SourceValuesNotRead().retry).toBe('transient');
  });
});

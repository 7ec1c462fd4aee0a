import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentDigest } from '../../src/core/content-digest.js';
import { generationOfKey, operationKey } from '../../src/core/operation-key.js';
import { resolveSources, withSources, type SourceObject } from '../../src/core/sources.js';

describe('operationKey', () => {
  const uid = '0b6f1b5e-4a55-4b8a-9d44-0f2c3c5b1a11';

  it('depends only on uid and generation: the same inputs give the same key, every time', () => {
    const first = operationKey(uid, 3);
    expect(first).toMatch(/^3-[0-9a-f]{10}$/);
    expect(operationKey(uid, 3)).toBe(first);
  });

  it('differs across generations and across objects', () => {
    expect(operationKey(uid, 4)).not.toBe(operationKey(uid, 3));
    expect(operationKey('another-uid', 3)).not.toBe(operationKey(uid, 3));
  });

  it('is a pure function (no clock, no randomness)', () => {
    const keys = new Set(Array.from({ length: 50 }, () => operationKey(uid, 7)));
    expect(keys.size).toBe(1);
  });

  it('refuses inputs that cannot name an operation', () => {
    expect(() => operationKey('', 1)).toThrow(/uid/);
    expect(() => operationKey(uid, 0)).toThrow(/generation/);
    expect(() => operationKey(uid, 1.5)).toThrow(/generation/);
  });

  it('round-trips the generation', () => {
    expect(generationOfKey(operationKey(uid, 42))).toBe(42);
    expect(generationOfKey('not-a-key')).toBeUndefined();
  });
});

describe('operationKey with a sources revision', () => {
  const uid = '0b6f1b5e-4a55-4b8a-9d44-0f2c3c5b1a11';
  const sources = resolveSources([{ secretRef: { name: 'db' }, items: [{ key: 'password' }] }], 'apps', [{ kind: 'Secret', name: 't' }]);
  const db = (values: Record<string, string>, extra: Partial<SourceObject> = {}): SourceObject => ({
    kind: 'Secret',
    namespace: 'apps',
    name: 'db',
    uid: 'secret-uid',
    annotations: {},
    data: {},
    binaryData: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    ...extra,
  });
  const keyFor = (object: SourceObject, generation = 3) =>
    operationKey(uid, generation, withSources({ data: {}, binaryData: {}, labels: {}, annotations: {} }, sources, [object], 'apps').revision);

  it('without sources is exactly the key minted before sources existed', () => {
    // The value keys on existing targets carry: sha256("<uid>/3"), first 10 hex.
    expect(operationKey(uid, 3)).toBe(`3-${createHash('sha256').update(`${uid}/3`).digest('hex').slice(0, 10)}`);
    expect(operationKey(uid, 3, undefined)).toBe(operationKey(uid, 3));
  });

  it('is deterministic, and keeps the generation readable', () => {
    const key = keyFor(db({ password: 'p1' }));
    expect(key).toBe(keyFor(db({ password: 'p1' })));
    expect(key).toMatch(/^3-[0-9a-f]{10}$/);
    expect(generationOfKey(key)).toBe(3);
    expect(key).not.toBe(operationKey(uid, 3));
  });

  it('differs when the copied bytes differ, in the same generation', () => {
    expect(keyFor(db({ password: 'p2' }))).not.toBe(keyFor(db({ password: 'p1' })));
  });

  it('is equal when only unselected keys or metadata of the source change', () => {
    const key = keyFor(db({ password: 'p1' }));
    expect(keyFor(db({ password: 'p1', username: 'new' }))).toBe(key);
    expect(keyFor(db({ password: 'p1' }, { annotations: { 'example.com/note': 'edited' } }))).toBe(key);
  });

  it('refuses a revision that is not a digest', () => {
    expect(() => operationKey(uid, 1, '')).toThrow(/sourcesRevision/);
    expect(() => operationKey(uid, 1, '2024-01-01T00:00:00Z')).toThrow(/sourcesRevision/);
  });
});

describe('contentDigest', () => {
  const content = { data: { a: '1', b: '2' }, binaryData: {}, labels: { x: 'y' }, annotations: {} };

  it('ignores key order', () => {
    expect(contentDigest({ ...content, data: { b: '2', a: '1' } })).toBe(contentDigest(content));
  });

  it('changes when any part of the content changes', () => {
    const base = contentDigest(content);
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(contentDigest({ ...content, data: { a: '1', b: '3' } })).not.toBe(base);
    expect(contentDigest({ ...content, data: { a: '1' } })).not.toBe(base);
    expect(contentDigest({ ...content, binaryData: { a: 'AA==' } })).not.toBe(base);
    expect(contentDigest({ ...content, labels: {} })).not.toBe(base);
    expect(contentDigest({ ...content, annotations: { n: 'v' } })).not.toBe(base);
  });

  it('is an HMAC when keyed, and the key matters', () => {
    const plain = contentDigest(content);
    const keyed = contentDigest(content, 'uid-1');
    expect(keyed).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(keyed).not.toBe(plain.replace('sha256:', 'hmac-sha256:'));
    expect(contentDigest(content, 'uid-2')).not.toBe(keyed);
    expect(contentDigest(content, 'uid-1')).toBe(keyed);
  });

  it('does not confuse a key moved between maps', () => {
    const inData = contentDigest({ data: { k: 'AA==' }, binaryData: {}, labels: {}, annotations: {} });
    const inBinary = contentDigest({ data: {}, binaryData: { k: 'AA==' }, labels: {}, annotations: {} });
    expect(inData).not.toBe(inBinary);
  });
});

describe('restart annotation', () => {
  it('is deterministic per push and operation, and changes only with them', async () => {
    const { restartAnnotationKey, restartAnnotationValue } = await import('../../src/configpush/workload-restarter.js');
    expect(restartAnnotationKey('uid-1')).toBe(restartAnnotationKey('uid-1'));
    expect(restartAnnotationKey('uid-1')).not.toBe(restartAnnotationKey('uid-2'));
    expect(restartAnnotationKey('uid-1')).toMatch(/^restart\.configpush\.io\/[0-9a-f]{12}$/);
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(restartAnnotationValue('3-0123456789', digest)).toBe(`3-0123456789/${'ab'.repeat(8)}`);
    expect(restartAnnotationValue('3-0123456789', digest)).toBe(restartAnnotationValue('3-0123456789', digest));
  });
});

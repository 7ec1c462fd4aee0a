import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, MANAGED_BY_LABEL } from '../../src/api/constants.js';
import type { TargetKind } from '../../src/api/types.js';
import { contentDigest, type DesiredContent } from '../../src/core/content-digest.js';
import { contentMatches, MANAGED_KEYS_ANNOTATION, renderTarget, type Ownership, type TargetObject } from '../../src/core/desired-target.js';
import { rollbackKey } from '../../src/core/operation-key.js';
import { desiredTargetDigest, newDigestKey, observedTargetDigest, verificationFromCache, type CachedTargetState, type WantedTarget } from '../../src/core/target-digest.js';

const key = createSecretKey(Buffer.alloc(32, 7));
const content: DesiredContent = {
  data: { 'app.properties': 'color=blue\n', mode: 'fast' },
  binaryData: { blob: Buffer.from([0, 1, 2, 250]).toString('base64') },
  labels: { team: 'a' },
  annotations: { 'example.com/note': 'hello' },
};
const digest = contentDigest(content);
const ownership: Ownership = { ownerUid: 'uid-1', owner: 'ns/p', operationKey: '1-0123456789', generation: 1, contentDigest: digest };

/** The target as the operator writes it, then as the apiserver returns it (JSON round trip), with other tools' metadata beside ours. */
function written(kind: TargetKind, c: DesiredContent = content): TargetObject {
  const body = renderTarget(kind, 't', 'ns', c, { ...ownership, contentDigest: contentDigest(c) }, undefined);
  const live = JSON.parse(JSON.stringify(body)) as TargetObject;
  live.metadata = { ...live.metadata, resourceVersion: '42', labels: { ...live.metadata?.labels, 'other.io/x': '1' }, annotations: { ...live.metadata?.annotations, 'other.io/y': '2' } };
  return live;
}

const same = (kind: TargetKind, live: TargetObject) => observedTargetDigest(kind, live, key) === desiredTargetDigest(kind, content, digest, key);

describe('target digest: what a cache keeps instead of a target\'s content', () => {
  it.each<TargetKind>(['ConfigMap', 'Secret'])('a %s as the operator wrote it has the desired digest, whatever other tools added', (kind) => {
    const live = written(kind);
    expect(contentMatches(kind, live, content, digest)).toBe(true);
    expect(same(kind, live)).toBe(true);
  });

  type Edit = (live: TargetObject) => void;
  const data = (live: TargetObject) => (live.data ??= {}) as Record<string, string>;
  const edits: [string, Edit][] = [
    ['a data value changed', (t) => void (data(t)['mode'] = kindOf(t) === 'Secret' ? Buffer.from('slow').toString('base64') : 'slow')],
    ['a data key added', (t) => void (data(t)['extra'] = 'eA==')],
    ['a data key removed', (t) => void delete data(t)['mode']],
    ['the data emptied', (t) => void delete t.data],
    ['a spec label changed', (t) => void (t.metadata!.labels!['team'] = 'b')],
    ['a spec label removed', (t) => void delete t.metadata!.labels!['team']],
    ['a spec annotation changed', (t) => void (t.metadata!.annotations!['example.com/note'] = 'bye')],
    ['the managed-keys record edited', (t) => void (t.metadata!.annotations![MANAGED_KEYS_ANNOTATION] = JSON.stringify({ labels: [], annotations: ['example.com/note'] }))],
    ['the managed-keys record with a key twice', (t) => void (t.metadata!.annotations![MANAGED_KEYS_ANNOTATION] = JSON.stringify({ labels: ['team', 'team'], annotations: ['example.com/note'] }))],
    ['the content-digest annotation changed', (t) => void (t.metadata!.annotations![ANNOTATION.contentDigest] = 'sha256:0')],
    ['the managed-by label changed', (t) => void (t.metadata!.labels![MANAGED_BY_LABEL] = 'someone')],
  ];
  const kindOf = (t: TargetObject): TargetKind => (t.kind === 'Secret' ? 'Secret' : 'ConfigMap');

  it.each(edits.flatMap(([name, edit]) => (['ConfigMap', 'Secret'] as TargetKind[]).map((kind) => [kind, name, edit] as const)))(
    'a %s with %s no longer has the desired digest',
    (kind, _name, edit) => {
      const live = written(kind);
      edit(live);
      expect(same(kind, live)).toBe(false);
    },
  );

  it('a ConfigMap\'s binaryData counts', () => {
    const live = written('ConfigMap');
    (live as { binaryData?: Record<string, string> }).binaryData = { blob: 'AAAA' };
    expect(same('ConfigMap', live)).toBe(false);
  });

  it('equal digests imply contentMatches, for any content and any live target (fast-check)', () => {
    const map = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('', '1', '2'), { maxKeys: 3 });
    const contents = fc.record({ data: map, binaryData: fc.dictionary(fc.constantFrom('x', 'y'), fc.constantFrom('AA==', 'AQ=='), { maxKeys: 2 }), labels: map, annotations: map });
    fc.assert(
      fc.property(fc.constantFrom<TargetKind>('ConfigMap', 'Secret'), contents, contents, fc.boolean(), fc.boolean(), (kind, wanted, other, keepDigest, foreignKeys) => {
        // A target written for `other`, claiming `wanted`'s digest or not, and with `wanted`'s managed keys or not.
        const live = written(kind, other);
        if (keepDigest) live.metadata!.annotations![ANNOTATION.contentDigest] = contentDigest(wanted);
        if (foreignKeys) live.metadata!.annotations![MANAGED_KEYS_ANNOTATION] = JSON.stringify({ labels: Object.keys(wanted.labels), annotations: Object.keys(wanted.annotations) });
        const wantedDigest = contentDigest(wanted);
        const equal = observedTargetDigest(kind, live, key) === desiredTargetDigest(kind, wanted, wantedDigest, key);
        if (equal) expect(contentMatches(kind, live, wanted, wantedDigest)).toBe(true);
        // And the operator's own write of `wanted` always has it.
        expect(observedTargetDigest(kind, written(kind, wanted), key)).toBe(desiredTargetDigest(kind, wanted, wantedDigest, key));
      }),
      { numRuns: 1000, seed: 16 },
    );
    // ~0.3 s on an idle machine; the shared CI machine can be many times slower.
  }, 60_000);

  it('is keyed: another key gives another digest, and the digest carries nothing of the values', () => {
    const live = written('Secret');
    const a = observedTargetDigest('Secret', live, key);
    const b = observedTargetDigest('Secret', live, createSecretKey(Buffer.alloc(32, 8)));
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    for (const value of Object.values(live.data ?? {})) expect(a).not.toContain(value);
  });

  it('is an HMAC-SHA256 under the key, and each process gets a key of its own', () => {
    const raw = Buffer.alloc(32, 9);
    const live = written('ConfigMap');
    const underKeyObject = observedTargetDigest('ConfigMap', live, createSecretKey(raw));
    // The same bytes as a KeyObject or as a Buffer are the same HMAC key: the KeyObject only saves importing it per call.
    const hmac = createHmac('sha256', raw);
    expect(underKeyObject).toBe(observedTargetDigest('ConfigMap', live, createSecretKey(Buffer.from(raw))));
    expect(hmac.update('x').digest('base64')).toBe(createHmac('sha256', createSecretKey(raw)).update('x').digest('base64'));
    const first = newDigestKey();
    const second = newDigestKey();
    expect(first.type).toBe('secret');
    expect(first.symmetricKeySize).toBe(32);
    expect(observedTargetDigest('ConfigMap', live, first)).not.toBe(observedTargetDigest('ConfigMap', live, second));
  });
});

describe('verificationFromCache', () => {
  const cached: CachedTargetState = { resourceVersion: '42', ownerUid: 'uid-1', targetDigest: 'D', operationKey: '1-0123456789', lastWrittenAt: '2026-11-29T10:00:00Z' };
  const wanted = (over: Partial<WantedTarget> = {}): WantedTarget => ({ ownerUid: 'uid-1', digest: 'sha256:abc', client: '', targetDigest: () => 'D', ...over });

  it('verifies a cached target owned by the push with the desired digest, as a read at its version would', () => {
    expect(verificationFromCache(cached, wanted())).toEqual({
      resourceVersion: '42',
      ownerUid: 'uid-1',
      digest: 'sha256:abc',
      client: '',
      operationKey: '1-0123456789',
      lastWrittenAt: '2026-11-29T10:00:00Z',
    });
  });

  it.each<[string, CachedTargetState | undefined, Partial<WantedTarget>]>([
    ['not cached', undefined, {}],
    ['another digest (drifted, or new content)', cached, { targetDigest: () => 'E' }],
    ['another owner', cached, { ownerUid: 'uid-2' }],
    ['no resourceVersion', { ...cached, resourceVersion: undefined }, {}],
    ['a ServiceAccount client (its access is checked by a read)', cached, { client: 'tenant' }],
    ['a rollback\'s key on the target (the planner\'s rollback rule decides, on a read)', { ...cached, operationKey: rollbackKey('uid-1', 1, 'sha256:' + 'a'.repeat(64)) }, { operationKey: '1-0123456789' }],
  ])('gives nothing: %s', (_, state, over) => {
    expect(verificationFromCache(state, wanted(over))).toBeUndefined();
  });

  it('a rollback verifies its own targets from the cache', () => {
    const key = rollbackKey('uid-1', 1, 'sha256:' + 'a'.repeat(64));
    expect(verificationFromCache({ ...cached, operationKey: key }, wanted({ operationKey: key }))?.operationKey).toBe(key);
  });

  it('hashes the desired content only when the rest already holds', () => {
    let computed = 0;
    verificationFromCache(cached, wanted({ ownerUid: 'uid-2', targetDigest: () => String(++computed) }));
    verificationFromCache(cached, wanted({ client: 'tenant', targetDigest: () => String(++computed) }));
    expect(computed).toBe(0);
  });
});

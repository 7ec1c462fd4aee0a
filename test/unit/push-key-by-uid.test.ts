import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { PushKeyByUid } from '../../src/configpush/push-key-by-uid.js';

const push = (namespace: string, name: string, uid: string): KubernetesObject => ({ metadata: { namespace, name, uid } });

function setup(pushes: KubernetesObject[]) {
  let scans = 0;
  let now = 1_000;
  const byUid = new PushKeyByUid(
    () => {
      scans++;
      return pushes;
    },
    { rememberMs: 30_000, limit: 3, now: () => now },
  );
  return { byUid, scans: () => scans, advance: (ms: number) => (now += ms) };
}

describe('PushKeyByUid', () => {
  it('answers the key of the push with that uid, and undefined for a uid the cache does not hold', () => {
    const { byUid } = setup([push('a', 'one', 'u1'), push('b', 'two', 'u2')]);
    expect(byUid.keyOf('u2')).toBe('b/two');
    expect(byUid.keyOf('u1')).toBe('a/one');
    expect(byUid.keyOf('gone')).toBeUndefined();
  });

  it('scans once for a burst of questions about one uid, found or not (a fan-out push releasing its targets)', () => {
    const { byUid, scans } = setup([push('a', 'one', 'u1')]);
    for (let i = 0; i < 5_000; i++) expect(byUid.keyOf('u1')).toBe('a/one');
    for (let i = 0; i < 5_000; i++) expect(byUid.keyOf('deleted')).toBeUndefined();
    expect(scans()).toBe(2);
  });

  it('forgets after its time, so a push that was still on its way through the watch is found', () => {
    const pushes = [push('a', 'one', 'u1')];
    const { byUid, scans, advance } = setup(pushes);
    expect(byUid.keyOf('late')).toBeUndefined();
    pushes.push(push('c', 'late', 'late'));
    advance(29_999);
    expect(byUid.keyOf('late')).toBeUndefined(); // remembered
    advance(1);
    expect(byUid.keyOf('late')).toBe('c/late');
    expect(scans()).toBe(2);
  });

  it('holds at most its limit of answers', () => {
    const { byUid, scans } = setup([push('a', 'one', 'u1')]);
    for (const uid of ['x1', 'x2', 'x3']) byUid.keyOf(uid);
    expect(scans()).toBe(3);
    byUid.keyOf('x1'); // the table was full: cleared, asked again
    expect(scans()).toBe(4);
  });
});

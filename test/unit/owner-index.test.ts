import { describe, expect, it } from 'vitest';
import { OwnerIndex } from '../../src/runtime/owner-index.js';

describe('OwnerIndex', () => {
  it('lists the targets carrying an owner uid, following changes of owner and deletes', () => {
    const index = new OwnerIndex();
    index.upsert('ConfigMap', 'a', 'app', 'uid-1');
    index.upsert('Secret', 'a', 'app', 'uid-1');
    index.upsert('ConfigMap', 'b', 'app', 'uid-2');
    expect(index.owned('uid-1')).toEqual([
      { kind: 'ConfigMap', namespace: 'a', name: 'app' },
      { kind: 'Secret', namespace: 'a', name: 'app' },
    ]);

    index.upsert('ConfigMap', 'a', 'app', 'uid-2'); // adopted by another push
    expect(index.owned('uid-1')).toEqual([{ kind: 'Secret', namespace: 'a', name: 'app' }]);
    expect(index.owned('uid-2')).toHaveLength(2);

    index.upsert('Secret', 'a', 'app', undefined); // released: annotations removed
    index.delete('ConfigMap', 'b', 'app');
    expect(index.owned('uid-1')).toEqual([]);
    expect(index.owned('uid-2')).toEqual([{ kind: 'ConfigMap', namespace: 'a', name: 'app' }]);
  });

  it('returns the push a target was taken from, so that push is queued too', () => {
    const index = new OwnerIndex();
    expect(index.upsert('ConfigMap', 'a', 'app', 'uid-1')).toBeUndefined();
    expect(index.upsert('ConfigMap', 'a', 'app', 'uid-1')).toBeUndefined(); // unchanged owner: nobody lost it
    expect(index.upsert('ConfigMap', 'a', 'app', 'uid-2')).toBe('uid-1'); // taken over
    expect(index.upsert('ConfigMap', 'a', 'app', undefined)).toBe('uid-2'); // released by hand
    expect(index.upsert('ConfigMap', 'a', 'app', 'uid-3')).toBeUndefined(); // adopted from nobody
  });

  it('keeps a push that owns one target, two, then one again, in order', () => {
    const index = new OwnerIndex();
    index.upsert('ConfigMap', 'a', 'one', 'uid-1');
    expect(index.owned('uid-1')).toEqual([{ kind: 'ConfigMap', namespace: 'a', name: 'one' }]);
    index.upsert('ConfigMap', 'a', 'two', 'uid-1');
    index.upsert('ConfigMap', 'a', 'three', 'uid-1');
    expect(index.owned('uid-1').map((t) => t.name)).toEqual(['one', 'two', 'three']);
    index.delete('ConfigMap', 'a', 'one');
    index.delete('ConfigMap', 'a', 'three');
    expect(index.owned('uid-1')).toEqual([{ kind: 'ConfigMap', namespace: 'a', name: 'two' }]);
    index.delete('ConfigMap', 'a', 'two');
    expect(index.owned('uid-1')).toEqual([]);
    // A delete of a target the push does not own leaves its single target alone.
    index.upsert('Secret', 'a', 'only', 'uid-1');
    index.delete('Secret', 'a', 'other');
    expect(index.owned('uid-1')).toEqual([{ kind: 'Secret', namespace: 'a', name: 'only' }]);
  });

  it('is unchanged by repeated upserts of the same owner', () => {
    const index = new OwnerIndex();
    for (let i = 0; i < 3; i++) index.upsert('ConfigMap', 'a', 'app', 'uid-1');
    expect(index.owned('uid-1')).toHaveLength(1);
    expect(index.owned('nobody')).toEqual([]);
  });
});

describe('OwnerIndex keyed by kind, namespace and name', () => {
  it('tells apart targets that share a name across namespaces or kinds', () => {
    const index = new OwnerIndex();
    index.upsert('ConfigMap', 'a', 'app', 'uid-1');
    index.upsert('ConfigMap', 'b', 'app', 'uid-2');
    index.upsert('Secret', 'a', 'app', 'uid-3');
    // Releasing one leaves the owners of its namesakes alone.
    expect(index.upsert('ConfigMap', 'b', 'app', undefined)).toBe('uid-2');
    index.delete('Secret', 'b', 'app'); // never owned
    expect(index.owned('uid-1')).toEqual([{ kind: 'ConfigMap', namespace: 'a', name: 'app' }]);
    expect(index.owned('uid-2')).toEqual([]);
    expect(index.owned('uid-3')).toEqual([{ kind: 'Secret', namespace: 'a', name: 'app' }]);
    // A single-target push keeps its target when a namesake in another namespace moves to it and away.
    index.upsert('ConfigMap', 'c', 'app', 'uid-1');
    index.upsert('ConfigMap', 'c', 'app', 'uid-2');
    expect(index.owned('uid-1')).toEqual([{ kind: 'ConfigMap', namespace: 'a', name: 'app' }]);
    expect(index.upsert('Secret', 'a', 'app', 'uid-1')).toBe('uid-3');
    expect(index.owned('uid-3')).toEqual([]);
  });
});

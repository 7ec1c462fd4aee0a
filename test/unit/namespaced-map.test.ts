import { describe, expect, it } from 'vitest';
import { NamespacedMap } from '../../src/runtime/namespaced-map.js';

describe('NamespacedMap', () => {
  it('keeps one value per namespace and name; the same name in two namespaces is two entries', () => {
    const map = new NamespacedMap<number>();
    map.set('a', 'app', 1);
    map.set('b', 'app', 2);
    map.set('a', 'app', 3); // replaced, not added
    expect(map.get('a', 'app')).toBe(3);
    expect(map.get('b', 'app')).toBe(2);
    expect(map.get('a', 'other')).toBeUndefined();
    expect(map.get('c', 'app')).toBeUndefined();
    expect(map.size).toBe(2);
    expect(map.namespaces).toBe(2);
  });

  it('drops a namespace with its last entry, and counts only real deletes', () => {
    const map = new NamespacedMap<string>();
    map.set('a', 'one', 'x');
    map.set('a', 'two', 'y');
    expect(map.delete('a', 'three')).toBe(false);
    expect(map.delete('b', 'one')).toBe(false);
    expect(map.delete('a', 'one')).toBe(true);
    expect(map.delete('a', 'one')).toBe(false);
    expect(map.size).toBe(1);
    expect(map.namespaces).toBe(1);
    expect(map.delete('a', 'two')).toBe(true);
    expect(map.size).toBe(0);
    expect(map.namespaces).toBe(0);
  });

  it('lists every entry with its namespace and name, and none once deleted', () => {
    const map = new NamespacedMap<number>();
    map.set('a', 'one', 1);
    map.set('b', 'one', 2);
    map.set('a', 'two', 3);
    expect([...map.entries()].sort()).toEqual([
      ['a', 'one', 1],
      ['a', 'two', 3],
      ['b', 'one', 2],
    ]);
    map.delete('a', 'one');
    map.delete('b', 'one');
    expect([...map.entries()]).toEqual([['a', 'two', 3]]);
  });
});

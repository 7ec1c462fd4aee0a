/**
 * A Map keyed by an object's namespace and name, held as one inner Map per
 * namespace. Keyed by a concatenated "namespace/name" string instead, every
 * entry kept a string of its own: a template literal is a concatenation
 * (cons) string, and hashing it as a Map key flattens it into a second,
 * sequential copy, so an entry held ~100 bytes of key (heap snapshot at
 * 10,000 pushes: 174 B an entry in OwnerIndex, 183 B in
 * Controller.generations). Here the keys are the namespace and name strings
 * the caller already holds (those of the cached object), and an empty inner
 * Map is dropped.
 */
export class NamespacedMap<V> {
  private readonly byNamespace = new Map<string, Map<string, V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(namespace: string, name: string): V | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  set(namespace: string, name: string, value: V): void {
    let names = this.byNamespace.get(namespace);
    if (names === undefined) {
      names = new Map();
      this.byNamespace.set(namespace, names);
    }
    if (!names.has(name)) this.count++;
    names.set(name, value);
  }

  /** Returns whether there was an entry. */
  delete(namespace: string, name: string): boolean {
    const names = this.byNamespace.get(namespace);
    if (names === undefined || !names.delete(name)) return false;
    this.count--;
    if (names.size === 0) this.byNamespace.delete(namespace);
    return true;
  }

  /** Every entry, as [namespace, name, value]. */
  *entries(): IterableIterator<[string, string, V]> {
    for (const [namespace, names] of this.byNamespace) {
      for (const [name, value] of names) yield [namespace, name, value];
    }
  }

  /** How many namespaces hold entries (each costs one inner Map). */
  get namespaces(): number {
    return this.byNamespace.size;
  }
}

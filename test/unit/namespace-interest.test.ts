import type { KubernetesObject } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NamespaceInterest } from '../../src/configpush/namespace-interest.js';
import { concernsNamespace, reachesOtherNamespaces } from '../../src/core/resolve-spec.js';
import type { ConfigPush } from '../../src/api/types.js';

/** client-node's ObjectCache layout: a Map per namespace; the handlers are told after the cache changed, as the informer tells them. */
class FakePushCache {
  private readonly objects = new Map<string, Map<string, KubernetesObject>>();
  constructor(private readonly interest: () => NamespaceInterest) {}

  get(name: string, namespace: string): KubernetesObject | undefined {
    return this.objects.get(namespace)?.get(name);
  }
  list(namespace?: string): KubernetesObject[] {
    if (namespace === undefined) return [...this.objects.values()].flatMap((byName) => [...byName.values()]);
    return [...(this.objects.get(namespace)?.values() ?? [])];
  }
  upsert(push: KubernetesObject): void {
    const { namespace = '', name = '' } = push.metadata ?? {};
    if (!this.objects.has(namespace)) this.objects.set(namespace, new Map());
    this.objects.get(namespace)!.set(name, push);
    this.interest().handlers.upsert(push);
  }
  delete(namespace: string, name: string): void {
    const push = this.get(name, namespace);
    if (push === undefined) return;
    this.objects.get(namespace)!.delete(name);
    this.interest().handlers.delete(push);
  }
}

function setup() {
  let interest: NamespaceInterest;
  const cache = new FakePushCache(() => interest);
  interest = new NamespaceInterest(cache);
  return { cache, interest };
}

const push = (namespace: string, name: string, spec: unknown): KubernetesObject =>
  ({ apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', metadata: { namespace, name }, spec }) as KubernetesObject;

/** What every namespace event did before the index: filter the whole push cache. */
const scanned = (cache: FakePushCache, name: string) =>
  cache
    .list()
    .filter((p) => concernsNamespace(p as unknown as ConfigPush, name))
    .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)
    .sort();

describe('concernsNamespace and reachesOtherNamespaces', () => {
  it('a push of targets in its own namespace concerns only that namespace, and reaches no other', () => {
    const own = push('home', 'p', { targets: [{ kind: 'ConfigMap', name: 'a' }, { kind: 'Secret', name: 's', namespace: 'home' }] }) as unknown as ConfigPush;
    expect(concernsNamespace(own, 'home')).toBe(true);
    expect(concernsNamespace(own, 'other')).toBe(false);
    expect(reachesOtherNamespaces(own)).toBe(false);
  });

  it('a target named in another namespace concerns that namespace too', () => {
    const cross = push('home', 'p', { targets: [{ kind: 'ConfigMap', name: 'a', namespace: 'b' }] }) as unknown as ConfigPush;
    expect(concernsNamespace(cross, 'b')).toBe(true);
    expect(concernsNamespace(cross, 'home')).toBe(false);
    expect(reachesOtherNamespaces(cross)).toBe(true);
  });

  it('a namespaceSelector, of a target or of a wave, concerns every namespace', () => {
    for (const spec of [
      { targets: [{ kind: 'ConfigMap', name: 'a', namespaceSelector: { matchLabels: { team: 'x' } } }] },
      { targets: [{ kind: 'ConfigMap', name: 'a' }], strategy: { waves: [{ namespaceSelector: {} }] } },
    ]) {
      const selecting = push('home', 'p', spec) as unknown as ConfigPush;
      expect(concernsNamespace(selecting, 'anything')).toBe(true);
      expect(reachesOtherNamespaces(selecting)).toBe(true);
    }
  });

  it('reads a malformed spec without throwing', () => {
    for (const spec of [undefined, null, {}, { targets: 'x' }, { targets: [null, 3, { namespace: null }] }]) {
      const malformed = push('home', 'p', spec) as unknown as ConfigPush;
      expect(() => concernsNamespace(malformed, 'home')).not.toThrow();
      expect(reachesOtherNamespaces(malformed)).toBe(false);
    }
  });
});

describe('NamespaceInterest', () => {
  it('finds the pushes in the namespace and those reaching into it, not the others', () => {
    const { cache, interest } = setup();
    cache.upsert(push('a', 'own', { targets: [{ kind: 'ConfigMap', name: 'x' }] }));
    cache.upsert(push('a', 'elsewhere', { targets: [{ kind: 'ConfigMap', name: 'x', namespace: 'b' }] }));
    cache.upsert(push('c', 'into-a', { targets: [{ kind: 'ConfigMap', name: 'x', namespace: 'a' }] }));
    cache.upsert(push('d', 'selector', { targets: [{ kind: 'ConfigMap', name: 'x', namespaceSelector: {} }] }));
    cache.upsert(push('e', 'unrelated', { targets: [{ kind: 'ConfigMap', name: 'x' }] }));
    expect(interest.pushesAffectedBy('a').sort()).toEqual(['a/own', 'c/into-a', 'd/selector']);
    expect(interest.pushesAffectedBy('b').sort()).toEqual(['a/elsewhere', 'd/selector']);
    expect(interest.pushesAffectedBy('zzz')).toEqual(['d/selector']);
    expect(interest.pushesAffectedBy(undefined)).toEqual([]);
    // Only the three that reach beyond their own namespace are held.
    expect(interest.reachingCount).toBe(3);
  });

  it('follows a spec edit that stops reaching out, and a delete', () => {
    const { cache, interest } = setup();
    cache.upsert(push('a', 'p', { targets: [{ kind: 'ConfigMap', name: 'x', namespace: 'b' }] }));
    expect(interest.pushesAffectedBy('b')).toEqual(['a/p']);
    cache.upsert(push('a', 'p', { targets: [{ kind: 'ConfigMap', name: 'x' }] }));
    expect(interest.pushesAffectedBy('b')).toEqual([]);
    expect(interest.pushesAffectedBy('a')).toEqual(['a/p']);
    expect(interest.reachingCount).toBe(0);
    cache.upsert(push('a', 'p', { targets: [{ kind: 'ConfigMap', name: 'x', namespaceSelector: {} }] }));
    cache.delete('a', 'p');
    expect(interest.pushesAffectedBy('a')).toEqual([]);
    expect(interest.pushesAffectedBy('b')).toEqual([]);
    expect(interest.reachingCount).toBe(0);
  });

  it('answers what a scan of every push answers, over any sequence of upserts and deletes', () => {
    const namespaces = ['a', 'b', 'c'];
    const target = fc.record(
      {
        kind: fc.constant('ConfigMap'),
        name: fc.constant('x'),
        namespace: fc.constantFrom(...namespaces),
        namespaceSelector: fc.constant({}),
      },
      { requiredKeys: ['kind', 'name'] },
    );
    const spec = fc.oneof(
      fc.record({ targets: fc.array(target, { maxLength: 3 }) }),
      fc.record({ targets: fc.array(target, { maxLength: 2 }), strategy: fc.constant({ waves: [{ namespaceSelector: {} }] }) }),
      fc.constantFrom(undefined, { targets: [null] }, { targets: 'x' }),
    );
    const step = fc.oneof(
      fc.record({ op: fc.constant('upsert' as const), namespace: fc.constantFrom(...namespaces), name: fc.constantFrom('p', 'q'), spec }),
      fc.record({ op: fc.constant('delete' as const), namespace: fc.constantFrom(...namespaces), name: fc.constantFrom('p', 'q') }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const { cache, interest } = setup();
        for (const s of steps) {
          if (s.op === 'upsert') cache.upsert(push(s.namespace, s.name, s.spec));
          else cache.delete(s.namespace, s.name);
          for (const name of [...namespaces, 'other']) expect(interest.pushesAffectedBy(name).sort()).toEqual(scanned(cache, name));
        }
      }),
      { numRuns: 300 },
    );
  });
});

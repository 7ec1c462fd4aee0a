import type { KubernetesObject } from '@kubernetes/client-node';
import type { ConfigPush } from '../api/types.js';
import { concernsNamespace, reachesOtherNamespaces } from '../core/resolve-spec.js';
import type { InformerHandlers } from '../kube/resilient-informer.js';
import { keyOf } from '../runtime/handlers.js';
import { NamespacedMap } from '../runtime/namespaced-map.js';

/** The push cache, as this reads it: one push, or those of one namespace. */
export interface PushCache {
  get(name: string, namespace: string): KubernetesObject | undefined;
  list(namespace: string): readonly KubernetesObject[];
}

/**
 * Which pushes an event on a namespace concerns (core/resolve-spec.ts
 * `concernsNamespace`), found without scanning every push. A push in the
 * namespace is found by the cache's own per-namespace listing; the few that
 * reach beyond their own namespace (a namespaceSelector, or a target named
 * in another namespace) are kept here, and only those cost memory. Before,
 * every namespace event listed and filtered the whole push cache: at 100,000
 * pushes 75 to 127 ms of CPU an event under the image's node flag, now under
 * 1 ms unless the namespace itself holds thousands of pushes
 * (bench/results/namespace-event-cost-2026-12-01.md).
 *
 * Kept by the push informer's handlers, so it always matches the cache they
 * are told from.
 */
export class NamespaceInterest {
  private readonly reaching = new NamespacedMap<true>();

  constructor(private readonly cache: PushCache) {}

  /** The push informer's handlers that keep the index. */
  readonly handlers: InformerHandlers<KubernetesObject> = {
    upsert: (obj) => {
      const { namespace = '', name = '' } = obj.metadata ?? {};
      if (reachesOtherNamespaces(obj as unknown as ConfigPush)) this.reaching.set(namespace, name, true);
      else this.reaching.delete(namespace, name);
    },
    delete: (obj) => {
      const { namespace = '', name = '' } = obj.metadata ?? {};
      this.reaching.delete(namespace, name);
    },
  };

  /** The keys (namespace/name) of the cached pushes that an event on namespace `name` concerns. */
  pushesAffectedBy(name: string | undefined): string[] {
    if (!name) return [];
    const keys: string[] = [];
    for (const push of this.cache.list(name)) {
      if (concernsNamespace(push as unknown as ConfigPush, name)) keys.push(keyOf(push));
    }
    for (const [namespace, pushName] of this.reaching.entries()) {
      if (namespace === name) continue; // listed above
      const push = this.cache.get(pushName, namespace);
      if (push !== undefined && concernsNamespace(push as unknown as ConfigPush, name)) keys.push(keyOf(push));
    }
    return keys;
  }

  /** How many pushes reach beyond their own namespace (what this holds). */
  get reachingCount(): number {
    return this.reaching.size;
  }
}

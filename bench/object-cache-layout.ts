import type { KubernetesObject } from '@kubernetes/client-node';

/** client-node's ObjectCache layout: objects by namespace, then by name; list() of all spreads them. */
export class ObjectCacheLayout {
  private readonly objects = new Map<string, Map<string, KubernetesObject>>();
  add(obj: KubernetesObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    let byName = this.objects.get(namespace);
    if (byName === undefined) this.objects.set(namespace, (byName = new Map()));
    byName.set(obj.metadata?.name ?? '', obj);
  }
  get(name: string, namespace: string): KubernetesObject | undefined {
    return this.objects.get(namespace)?.get(name);
  }
  /** The namespaces held, as ResilientInformer keeps them for objects(). */
  namespaces(): IterableIterator<string> {
    return this.objects.keys();
  }
  list(namespace?: string): KubernetesObject[] {
    if (!namespace) {
      const all: KubernetesObject[] = [];
      for (const byName of this.objects.values()) all.push(...byName.values());
      return all;
    }
    return Array.from(this.objects.get(namespace)?.values() ?? []);
  }
}

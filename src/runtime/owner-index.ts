import type { TargetKind } from '../api/types.js';
import { targetId, type ResolvedTarget } from '../core/resolve-spec.js';
import { NamespacedMap } from './namespaced-map.js';

/**
 * Which cached targets carry which push's uid, kept up to date from the
 * target watches. Pruning and finalizing ask for one push's targets; scanning
 * every cached ConfigMap and Secret for that on each reconcile made a
 * reconcile cost grow with the whole cluster's managed objects.
 */
export class OwnerIndex {
  /** Owner uid by kind, namespace and name: keyed by the target's own strings, not a concatenated id (namespaced-map.ts). */
  private readonly ownerOf = new Map<TargetKind, NamespacedMap<string>>();
  /**
   * Most pushes own one target: that one is held as is, and a Map (in
   * insertion order) only once a second arrives. A Map per push cost
   * ~270 bytes each, 2.6 MiB of the heap at 10,000 pushes.
   */
  private readonly byOwner = new Map<string, ResolvedTarget | Map<string, ResolvedTarget>>();

  /**
   * Records the target's current owner uid (undefined: no longer owned by any
   * push). Returns the uid of the push that owned it until now, if another.
   */
  upsert(kind: TargetKind, namespace: string, name: string, ownerUid: string | undefined): string | undefined {
    let owners = this.ownerOf.get(kind);
    const previous = owners?.get(namespace, name);
    if (previous === ownerUid) return undefined;
    const target: ResolvedTarget = { kind, namespace, name };
    if (previous !== undefined) this.remove(previous, target);
    if (ownerUid === undefined) {
      owners?.delete(namespace, name);
      return previous;
    }
    if (owners === undefined) {
      owners = new NamespacedMap();
      this.ownerOf.set(kind, owners);
    }
    owners.set(namespace, name, ownerUid);
    const owned = this.byOwner.get(ownerUid);
    if (owned === undefined) this.byOwner.set(ownerUid, target);
    // Ids only for a push with several targets (rare), where the Map needs a key.
    else if (owned instanceof Map) owned.set(targetId(target), target);
    else
      this.byOwner.set(
        ownerUid,
        new Map([
          [targetId(owned), owned],
          [targetId(target), target],
        ]),
      );
    return previous;
  }

  delete(kind: TargetKind, namespace: string, name: string): void {
    this.upsert(kind, namespace, name, undefined);
  }

  owned(ownerUid: string): ResolvedTarget[] {
    const owned = this.byOwner.get(ownerUid);
    if (owned === undefined) return [];
    return owned instanceof Map ? [...owned.values()] : [owned];
  }

  private remove(ownerUid: string, target: ResolvedTarget): void {
    const owned = this.byOwner.get(ownerUid);
    if (owned === undefined) return;
    if (!(owned instanceof Map)) {
      if (owned.kind === target.kind && owned.namespace === target.namespace && owned.name === target.name) this.byOwner.delete(ownerUid);
      return;
    }
    owned.delete(targetId(target));
    if (owned.size === 0) this.byOwner.delete(ownerUid);
  }
}

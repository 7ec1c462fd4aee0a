import type { TargetKind } from '../api/types.js';
import { targetId, type ResolvedTarget } from '../core/resolve-spec.js';

/**
 * Which cached targets carry which push's uid, kept up to date from the
 * target watches. Pruning and finalizing ask for one push's targets; scanning
 * every cached ConfigMap and Secret for that on each reconcile made a
 * reconcile cost grow with the whole cluster's managed objects.
 */
export class OwnerIndex {
  private readonly ownerOf = new Map<string, string>();
  private readonly byOwner = new Map<string, Map<string, ResolvedTarget>>();

  /** Records the target's current owner uid (undefined: no longer owned by any push). */
  upsert(kind: TargetKind, namespace: string, name: string, ownerUid: string | undefined): void {
    const target: ResolvedTarget = { kind, namespace, name };
    const id = targetId(target);
    const previous = this.ownerOf.get(id);
    if (previous === ownerUid) return;
    if (previous !== undefined) this.remove(previous, id);
    if (ownerUid === undefined) {
      this.ownerOf.delete(id);
      return;
    }
    this.ownerOf.set(id, ownerUid);
    let owned = this.byOwner.get(ownerUid);
    if (!owned) this.byOwner.set(ownerUid, (owned = new Map()));
    owned.set(id, target);
  }

  delete(kind: TargetKind, namespace: string, name: string): void {
    this.upsert(kind, namespace, name, undefined);
  }

  owned(ownerUid: string): ResolvedTarget[] {
    return [...(this.byOwner.get(ownerUid)?.values() ?? [])];
  }

  private remove(ownerUid: string, id: string): void {
    const owned = this.byOwner.get(ownerUid);
    owned?.delete(id);
    if (owned?.size === 0) this.byOwner.delete(ownerUid);
  }
}

import type { Verification } from '../core/target-plan.js';

/**
 * The targets this process itself verified (core/target-plan.ts,
 * `Verification`), by target id (kind/namespace/name), so that an idle resync
 * can trust its watch cache instead of reading every target live.
 *
 * In memory only: a fresh process knows nothing, so its first reconcile of
 * each push reads live, as before. A verification is dropped as soon as
 * anything shows the target at another resourceVersion (a watch event, a
 * relist, a read) or deleted; it could not be used then anyway, since its use
 * requires the cache to show the very resourceVersion it was made at, and
 * dropping it keeps the map no larger than the set of targets whose cached
 * state this process verified. `limit` bounds it regardless (the oldest entry
 * goes first; a dropped verification only costs one read).
 */
export class VerifiedTargets {
  private readonly byId = new Map<string, Verification>();

  constructor(private readonly limit = 100_000) {}

  get(id: string): Verification | undefined {
    return this.byId.get(id);
  }

  /** A read or our own write showed `id` holding the desired content at `verification.resourceVersion`. */
  record(id: string, verification: Verification): void {
    // Re-inserted, so Map order stays oldest-verified first.
    this.byId.delete(id);
    this.byId.set(id, verification);
    if (this.byId.size > this.limit) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
  }

  /** `id` was seen at `resourceVersion` (undefined: it does not exist): a verification at any other version is void. */
  saw(id: string, resourceVersion: string | undefined): void {
    const verification = this.byId.get(id);
    if (verification !== undefined && verification.resourceVersion !== resourceVersion) this.byId.delete(id);
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

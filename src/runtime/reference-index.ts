/**
 * Which referrers (queued keys, e.g. namespace/name of a push) reference
 * which objects (ids), in both directions: an event on an object queues the
 * keys that reference it, and a referrer's set can be replaced in one call
 * when its spec changes. Referrers that reference nothing hold no memory (at
 * 10,000 pushes most reference nothing).
 */
export class ReferenceIndex {
  private readonly byReferrer = new Map<string, ReadonlySet<string>>();
  private readonly byObject = new Map<string, Set<string>>();

  /**
   * Replaces what `referrer` references. Returns the ids that gained their
   * first referrer and those that lost their last (what a ref-counted watch
   * starts and stops on).
   */
  set(referrer: string, ids: Iterable<string>): { gained: string[]; lost: string[] } {
    const next = new Set(ids);
    const previous = this.byReferrer.get(referrer) ?? new Set<string>();
    const gained: string[] = [];
    const lost: string[] = [];
    for (const id of previous) {
      if (next.has(id)) continue;
      const referrers = this.byObject.get(id);
      referrers?.delete(referrer);
      if (referrers?.size === 0) {
        this.byObject.delete(id);
        lost.push(id);
      }
    }
    for (const id of next) {
      if (previous.has(id)) continue;
      const referrers = this.byObject.get(id);
      if (referrers) referrers.add(referrer);
      else {
        this.byObject.set(id, new Set([referrer]));
        gained.push(id);
      }
    }
    if (next.size === 0) this.byReferrer.delete(referrer);
    else this.byReferrer.set(referrer, next);
    return { gained, lost };
  }

  /** `referrer` is gone: it references nothing. */
  delete(referrer: string): { gained: string[]; lost: string[] } {
    return this.set(referrer, []);
  }

  /** The referrers of `id`, in no particular order. */
  referrers(id: string): string[] {
    return [...(this.byObject.get(id) ?? [])];
  }

  /** Every referenced id. */
  ids(): string[] {
    return [...this.byObject.keys()];
  }

  /** What `referrer` references. */
  referenced(referrer: string): string[] {
    return [...(this.byReferrer.get(referrer) ?? [])];
  }
}

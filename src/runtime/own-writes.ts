/**
 * Tells the watch events that echo the operator's own writes from the ones
 * that bring news, so that an echo does not queue another reconcile.
 *
 * Without this every applied push is reconciled two or three more times (once
 * per target write, once for the finalizer, once for the status write) only
 * to find that nothing changed, and each of those re-reads every target. The
 * reconcile that wrote already decided from exactly that state, so its echo
 * carries nothing new. Any other change to the object has another
 * resourceVersion and still queues the push; the periodic resync remains the
 * safety net for anything missed.
 *
 * The echo usually arrives before the write's own response has been parsed,
 * while the reconcile that wrote is still running, so its resourceVersion is
 * not known yet. Events on a push's objects that arrive during its reconcile
 * are therefore held and judged when the reconcile ends, when every write it
 * made is known; after that, events are judged as they come.
 *
 * Per object it keeps the versions we wrote whose echo has not been seen yet,
 * oldest first (a reconcile may write a push twice: finalizer, then status).
 * The echo of one settles it and every older one: the watch delivers versions
 * in order, so those were skipped (a relist) or already seen.
 */
export class OwnWrites {
  private static readonly MAX_PER_OBJECT = 8;
  private readonly versions = new Map<string, string[]>();
  /** Per push key, the events on its objects that arrived during its reconcile. */
  private readonly held = new Map<string, { id: string; resourceVersion: string | undefined }[]>();

  /** Remembers that our write left `id` at `resourceVersion`. */
  record(id: string, resourceVersion: string | undefined): void {
    if (!resourceVersion) return;
    const pending = this.versions.get(id) ?? [];
    pending.push(resourceVersion);
    if (pending.length > OwnWrites.MAX_PER_OBJECT) pending.shift();
    this.versions.set(id, pending);
  }

  /**
   * A watch event showed `id` (an object of push `pushKey`) at
   * `resourceVersion`: true if the push must be queued now. While the push is
   * being reconciled the event is held for release().
   */
  shouldQueue(pushKey: string, id: string, resourceVersion: string | undefined, reconciling: boolean): boolean {
    if (!reconciling) return !this.isEcho(id, resourceVersion);
    const held = this.held.get(pushKey) ?? [];
    held.push({ id, resourceVersion });
    this.held.set(pushKey, held);
    return false;
  }

  /** The reconcile of `pushKey` ended: true if an event held during it was not one of its writes. */
  release(pushKey: string): boolean {
    const held = this.held.get(pushKey);
    if (!held) return false;
    this.held.delete(pushKey);
    let news = false;
    // Every held event is judged, so each echo settles its entry.
    for (const { id, resourceVersion } of held) if (!this.isEcho(id, resourceVersion)) news = true;
    return news;
  }

  /** True (once) if this event shows a state one of our writes to `id` produced. */
  isEcho(id: string, resourceVersion: string | undefined): boolean {
    const pending = this.versions.get(id);
    const index = resourceVersion === undefined || pending === undefined ? -1 : pending.indexOf(resourceVersion);
    if (index < 0 || pending === undefined) return false;
    if (index === pending.length - 1) this.versions.delete(id);
    else pending.splice(0, index + 1);
    return true;
  }

  forget(id: string): void {
    this.versions.delete(id);
  }

  /** Objects with an echo still expected. */
  get size(): number {
    return this.versions.size;
  }
}

/** The OwnWrites id of a target or ConfigPush. */
export function objectId(kind: string, namespace: string | undefined, name: string | undefined): string {
  return `${kind}/${namespace ?? ''}/${name ?? ''}`;
}

import type { SourceStatus, TargetKind } from '../api/types.js';
import type { DesiredContent } from '../core/content-digest.js';
import type { ResolvedSource, SourceObject, SourcedContent } from '../core/sources.js';

/** What a reconcile needs from a push's sources once they are known, without their values. */
export interface RecalledSources {
  /** The sources revision: operationKey's third input. */
  revision: string;
  /** The content digest (HMAC-keyed when a Secret was copied). */
  digest: string;
  statuses: SourceStatus[];
  digestKey?: string;
  /** Each target kind's desired target digest, as the verifier compares it with the cache (target-digest.ts). */
  targetDigests: Partial<Record<TargetKind, string>>;
}

export interface SourceReadMemoDeps {
  /** The resourceVersion at which the source watch last showed this object; undefined: not seen, or gone. */
  resourceVersionOf(kind: SourceObject['kind'], namespace: string, name: string): string | undefined;
  /** The desired target digest of `content` for `kind` (the verifier's, keyed with this process's key). */
  targetDigest(kind: TargetKind, content: DesiredContent, digest: string): string;
}

interface Entry extends RecalledSources {
  pushUid: string;
  generation: number;
  /** Each source's resourceVersion as read, in spec order. */
  versions: string[];
}

/**
 * Lets an idle resync of a push that copies sources (spec.sources) skip
 * reading them. A source's resourceVersion changes with every edit of it,
 * and its watch (source-watches.ts) delivers every edit; so while the watch
 * shows each source at the version the last live read saw, that read's
 * revision and digests still hold, for the same push and generation. The
 * values themselves are never kept (a source's values live only in the
 * reconcile that reads them): a reconcile that finds something to write
 * reads the sources live (unread-source-values.ts).
 *
 * Never used: for a source that was absent at the read (an optional one: the
 * watch cannot vouch for an absence it may not have synced), or when the
 * watch shows another version or none. In memory only: a fresh process reads
 * once per push, then not again until a source or the spec changes. `limit`
 * bounds it regardless (the oldest entry goes first; a lost entry costs one
 * read per source).
 */
export class SourceReadMemo {
  private readonly byPush = new Map<string, Entry>();

  constructor(
    private readonly deps: SourceReadMemoDeps,
    private readonly limit = 100_000,
  ) {}

  /** What the last live read of these sources gave, if the watch vouches that nothing changed since. */
  recall(pushUid: string, generation: number, sources: readonly ResolvedSource[]): RecalledSources | undefined {
    const entry = this.byPush.get(pushUid);
    if (entry === undefined || entry.generation !== generation || entry.versions.length !== sources.length) return undefined;
    for (const [i, source] of sources.entries()) {
      if (this.deps.resourceVersionOf(source.kind, source.namespace, source.name) !== entry.versions[i]) return undefined;
    }
    const { pushUid: _uid, generation: _generation, versions: _versions, ...recalled } = entry;
    return recalled;
  }

  /**
   * A live read of every source of the push at `generation` gave `sourced`;
   * `kinds`: the push's target kinds. Returns each kind's desired target
   * digest it computed (for the reconcile that read, so the content is not
   * digested twice), or undefined when it keeps nothing.
   */
  remember(
    pushUid: string,
    generation: number,
    objects: readonly (SourceObject | undefined)[],
    sourced: SourcedContent,
    kinds: readonly TargetKind[],
  ): Partial<Record<TargetKind, string>> | undefined {
    const versions: string[] = [];
    for (const object of objects) {
      if (object?.resourceVersion === undefined) {
        this.byPush.delete(pushUid);
        return undefined;
      }
      versions.push(object.resourceVersion);
    }
    const targetDigests: Partial<Record<TargetKind, string>> = {};
    for (const kind of kinds) targetDigests[kind] ??= this.deps.targetDigest(kind, sourced.content, sourced.digest);
    this.byPush.delete(pushUid);
    this.byPush.set(pushUid, {
      pushUid,
      generation,
      versions,
      revision: sourced.revision,
      digest: sourced.digest,
      statuses: sourced.statuses,
      ...(sourced.digestKey !== undefined ? { digestKey: sourced.digestKey } : {}),
      targetDigests,
    });
    if (this.byPush.size > this.limit) this.byPush.delete(this.byPush.keys().next().value!);
    return targetDigests;
  }

  forget(pushUid: string): void {
    this.byPush.delete(pushUid);
  }

  get size(): number {
    return this.byPush.size;
  }
}

import { createHash } from 'node:crypto';

/**
 * The identity of one logical rollout: a function of (metadata.uid,
 * metadata.generation) and, for a push with spec.sources, of the bytes it
 * copies from them (the sources revision, core/sources.ts), and nothing else.
 * A retry, a re-queue, a restart or a second replica computes the same key
 * for the same generation and the same copied content, which is what lets
 * every one of them recognise work that is already done. A source edit that
 * changes what is copied is a new operation in the same generation; one that
 * changes nothing copied (a label, an unselected key) is not.
 *
 * Format: `<generation>-<first 10 hex of sha256(uid/generation[/sourcesRevision])>`.
 * Without a sources revision the key is exactly the one minted before sources
 * existed, so the keys already on targets stay valid. The generation prefix
 * keeps keys readable and sortable in `kubectl get`.
 */
export function operationKey(uid: string, generation: number, sourcesRevision?: string): string {
  if (!uid) throw new TypeError('operationKey: uid is required');
  if (!Number.isSafeInteger(generation) || generation < 1) {
    throw new TypeError(`operationKey: generation must be a positive integer, got ${generation}`);
  }
  if (sourcesRevision !== undefined && !/^[0-9a-f]{16,}$/.test(sourcesRevision)) {
    throw new TypeError('operationKey: sourcesRevision must be a hex digest');
  }
  const identity = sourcesRevision === undefined ? `${uid}/${generation}` : `${uid}/${generation}/${sourcesRevision}`;
  const hash = createHash('sha256').update(identity).digest('hex');
  return `${generation}-${hash.slice(0, 10)}`;
}

/**
 * The key of a rollback (failurePolicy Rollback): a function of (uid,
 * generation, the revision rolled back to), named by that revision's content
 * digest, which a revision number bump does not change. Every reconcile that
 * rolls this generation back to this revision (a retry, a restart, another
 * replica) computes the same key, so each target is written back once.
 *
 * Format: `<generation>-r<first 10 hex of sha256(uid/generation/rollback/digest)>`.
 * The `r` tells a rollback's key from the generation's own on a target, so the
 * forward rollout of the same generation never undoes a rollback (target-plan.ts).
 */
export function rollbackKey(uid: string, generation: number, revisionDigest: string): string {
  if (!uid) throw new TypeError('rollbackKey: uid is required');
  if (!Number.isSafeInteger(generation) || generation < 1) {
    throw new TypeError(`rollbackKey: generation must be a positive integer, got ${generation}`);
  }
  if (!/^(?:hmac-)?sha256:[0-9a-f]{64}$/.test(revisionDigest)) throw new TypeError('rollbackKey: revisionDigest must be a content digest');
  const hash = createHash('sha256').update(`${uid}/${generation}/rollback/${revisionDigest}`).digest('hex');
  return `${generation}-r${hash.slice(0, 10)}`;
}

/** The generation an operation key was minted for, or undefined if it is not one of ours. */
export function generationOfKey(key: string): number | undefined {
  const match = /^(\d+)-r?[0-9a-f]{10}$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

/** Whether `key` is a rollback's (rollbackKey), not a generation's own operation. */
export function isRollbackKey(key: string | undefined): boolean {
  return key !== undefined && /^\d+-r[0-9a-f]{10}$/.test(key);
}

import { createHash } from 'node:crypto';

/**
 * The identity of one logical rollout: a function of (metadata.uid,
 * metadata.generation) and nothing else. A retry, a re-queue, a restart or a
 * second replica computes the same key for the same generation, which is what
 * lets every one of them recognise work that is already done.
 *
 * Format: `<generation>-<first 10 hex of sha256(uid/generation)>`. The
 * generation prefix keeps keys readable and sortable in `kubectl get`.
 */
export function operationKey(uid: string, generation: number): string {
  if (!uid) throw new TypeError('operationKey: uid is required');
  if (!Number.isSafeInteger(generation) || generation < 1) {
    throw new TypeError(`operationKey: generation must be a positive integer, got ${generation}`);
  }
  const hash = createHash('sha256').update(`${uid}/${generation}`).digest('hex');
  return `${generation}-${hash.slice(0, 10)}`;
}

/** The generation an operation key was minted for, or undefined if it is not one of ours. */
export function generationOfKey(key: string): number | undefined {
  const match = /^(\d+)-[0-9a-f]{10}$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

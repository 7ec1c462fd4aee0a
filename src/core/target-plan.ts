import { ANNOTATION } from '../api/constants.js';
import type { DriftPolicy, TargetKind } from '../api/types.js';
import type { DesiredContent } from './content-digest.js';
import { contentMatches, ownedBy, type TargetObject } from './desired-target.js';
import { generationOfKey } from './operation-key.js';

/**
 * What to do with one target, decided from a fresh read. Pure, so the rules
 * that keep the operator from writing twice are unit-testable on their own.
 */
export type TargetPlan =
  /** The target already carries this content for this owner: write nothing. */
  | { action: 'none' }
  | { action: 'create' }
  /** `reason` says why the update is needed; 'drift' is not a new operation. */
  | { action: 'update'; reason: 'new-content' | 'drift' | 'adopt' }
  /** Someone else owns it (another ConfigPush, or nobody while adopt is false). */
  | { action: 'conflict'; owner: string }
  /** Drifted, and driftPolicy Report forbids correcting it. */
  | { action: 'report-drift' }
  /**
   * The target already carries a later generation of this push: the push
   * this reconcile read is stale (another replica, or an earlier run of this
   * one, acted on a newer spec). Writing would put old content back, and the
   * newer generation would then write it again: a double apply.
   */
  | { action: 'stale'; liveGeneration: number };

export interface PlanInput {
  kind: TargetKind;
  live: TargetObject | undefined;
  ownerUid: string;
  /** The push generation this reconcile acts on. */
  generation: number;
  content: DesiredContent;
  digest: string;
  adopt: boolean;
  driftPolicy: DriftPolicy;
  /** The push's last status shows this target as written: if it is missing now, someone deleted it. */
  previouslyWritten?: boolean;
}

export function planTarget(input: PlanInput): TargetPlan {
  const { live } = input;
  if (!live) {
    // A deletion by someone else is drift too: under Report it is only reported.
    return input.previouslyWritten && input.driftPolicy === 'Report' ? { action: 'report-drift' } : { action: 'create' };
  }
  const liveOwner = ownedBy(live);
  if (liveOwner !== input.ownerUid) {
    if (liveOwner !== undefined) {
      return { action: 'conflict', owner: live.metadata?.annotations?.[ANNOTATION.owner] ?? `uid ${liveOwner}` };
    }
    return input.adopt ? { action: 'update', reason: 'adopt' } : { action: 'conflict', owner: 'unmanaged' };
  }
  const liveGeneration = generationOfKey(live.metadata?.annotations?.[ANNOTATION.operationKey] ?? '');
  if (liveGeneration !== undefined && liveGeneration > input.generation) return { action: 'stale', liveGeneration };
  if (contentMatches(input.kind, live, input.content, input.digest)) return { action: 'none' };
  // Same digest on the target but different content means someone edited it
  // after we wrote it: that is drift, not a new operation.
  const carriesDigest = live.metadata?.annotations?.[ANNOTATION.contentDigest] === input.digest;
  if (!carriesDigest) return { action: 'update', reason: 'new-content' };
  return input.driftPolicy === 'Correct' ? { action: 'update', reason: 'drift' } : { action: 'report-drift' };
}

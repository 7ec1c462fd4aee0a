import { ANNOTATION } from '../api/constants.js';
import type { DriftPolicy, TargetKind } from '../api/types.js';
import type { DesiredContent } from './content-digest.js';
import { contentMatches, ownedBy, type Ownership, type TargetObject } from './desired-target.js';
import { generationOfKey, isRollbackKey } from './operation-key.js';
import type { ResolvedSpec } from './resolve-spec.js';

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
  | { action: 'stale'; liveGeneration: number }
  /**
   * The target carries a rollback of this same generation (failurePolicy
   * Rollback) and this is the generation's own operation: the generation
   * failed and was rolled back, so its content must not be written again
   * until the spec changes. `digest`: the content the rollback wrote.
   */
  | { action: 'rolled-back'; digest: string | undefined }
  /** A rollback meets a target that does not exist: it changed nothing there, so it writes nothing there. */
  | { action: 'untouched' };

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
  /** The key of the operation deciding (a generation's own, or a rollback's: operation-key.ts). Absent: a generation's own. */
  operationKey?: string;
}

/**
 * planTarget for one target of a resolved spec, as the applier, its write
 * verification and `kubectl configpush diff` all ask it.
 */
export function planTargetOf(
  kind: TargetKind,
  live: TargetObject | undefined,
  spec: Pick<ResolvedSpec, 'content' | 'digest' | 'adopt' | 'driftPolicy'>,
  ownership: Pick<Ownership, 'ownerUid' | 'generation'> & Partial<Pick<Ownership, 'operationKey'>>,
  previouslyWritten = false,
): TargetPlan {
  return planTarget({
    ...(ownership.operationKey !== undefined ? { operationKey: ownership.operationKey } : {}),
    kind,
    live,
    ownerUid: ownership.ownerUid,
    generation: ownership.generation,
    content: spec.content,
    digest: spec.digest,
    adopt: spec.adopt,
    driftPolicy: spec.driftPolicy,
    previouslyWritten,
  });
}

export function planTarget(input: PlanInput): TargetPlan {
  const { live } = input;
  const rollingBack = isRollbackKey(input.operationKey);
  if (!live && rollingBack) return { action: 'untouched' };
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
  const liveKey = live.metadata?.annotations?.[ANNOTATION.operationKey] ?? '';
  const liveGeneration = generationOfKey(liveKey);
  if (liveGeneration !== undefined && liveGeneration > input.generation) return { action: 'stale', liveGeneration };
  if (!rollingBack && liveGeneration === input.generation && isRollbackKey(liveKey)) {
    return { action: 'rolled-back', digest: live.metadata?.annotations?.[ANNOTATION.contentDigest] };
  }
  if (contentMatches(input.kind, live, input.content, input.digest)) return { action: 'none' };
  // Same digest on the target but different content means someone edited it
  // after we wrote it: that is drift, not a new operation.
  const carriesDigest = live.metadata?.annotations?.[ANNOTATION.contentDigest] === input.digest;
  if (!carriesDigest) return { action: 'update', reason: 'new-content' };
  return input.driftPolicy === 'Correct' ? { action: 'update', reason: 'drift' } : { action: 'report-drift' };
}

/**
 * What this operator process itself saw of one target: at `resourceVersion`
 * it held exactly the content of `digest` for the push `ownerUid` (a read the
 * planner answered 'none', or the response to our own write). A
 * resourceVersion names one state of one object (any write, by anyone, makes
 * a new one), so while the target is still at it, the verification still
 * holds, and the fields a status rebuilds from the live target can come from
 * here instead.
 */
export interface Verification {
  resourceVersion: string;
  ownerUid: string;
  digest: string;
  /** Who read or wrote it: '' for the operator's own identity, else the impersonated ServiceAccount. */
  client: string;
  /** The operation key the target carries (the status reports it; the stale check reads its generation). */
  operationKey: string | undefined;
  /** When the operator last wrote it, from managedFields (history and the progress deadline use it). */
  lastWrittenAt: string | undefined;
}

/** The caches' view of a target: the resourceVersion and owner uid annotation its watch last delivered. */
export interface CachedTarget {
  resourceVersion: string | undefined;
  ownerUid: string | undefined;
}

export interface VerifiedPlanInput {
  verification: Verification | undefined;
  cached: CachedTarget | undefined;
  ownerUid: string;
  generation: number;
  digest: string;
  client: string;
}

/**
 * The plan for a target without reading it, when that is safe: the watch
 * cache shows it at the very resourceVersion a verification of this process
 * was made at, for this push, this content and this client identity. Then it
 * needs nothing (or, if it carries a later generation, the push is stale),
 * exactly as a read would have decided. Undefined means: read it live.
 *
 * The one thing this trusts is the cache being current: an edit the watch has
 * not delivered yet is found when it is delivered (the watch event clears the
 * verification and queues the push) or at the next relist.
 */
export function planVerified(input: VerifiedPlanInput): Extract<TargetPlan, { action: 'none' | 'stale' }> | undefined {
  const { verification: v, cached } = input;
  if (v === undefined || cached === undefined || cached.resourceVersion === undefined) return undefined;
  if (cached.resourceVersion !== v.resourceVersion) return undefined;
  if (v.ownerUid !== input.ownerUid || cached.ownerUid !== input.ownerUid) return undefined;
  if (v.digest !== input.digest || v.client !== input.client) return undefined;
  const liveGeneration = generationOfKey(v.operationKey ?? '');
  if (liveGeneration !== undefined && liveGeneration > input.generation) return { action: 'stale', liveGeneration };
  return { action: 'none' };
}

import type { TargetState, TargetStatus } from '../api/types.js';
import type { OperatorError } from './errors.js';
import type { ResolvedTarget } from './resolve-spec.js';

/**
 * What happened to one target in one reconcile: the one shape a target's
 * result has from the applier, through the rollout, to the status and the
 * Events. toTargetStatus() is its only conversion, into the API's type.
 */
export interface TargetOutcome {
  target: ResolvedTarget;
  state: TargetState;
  /** The write made, if any: at most one per target per reconcile. */
  wrote?: 'created' | 'updated';
  /** The write restored content someone else changed (not a new operation). */
  driftCorrected?: boolean;
  /** The resourceVersion written or found. */
  resourceVersion?: string;
  /** The operation key the target carries. */
  operationKey?: string;
  /** Who owns the target, on a Conflict. */
  owner?: string;
  message?: string;
  /**
   * When the operator last wrote the target (from its managedFields): the
   * time a history entry records, and where a wave's progress deadline starts.
   */
  lastWrittenAt?: string;
  /** Why the target failed (state Failed): the error carries its retry decision and reason. */
  error?: OperatorError;
  /** State Contended: when its drift may be corrected again. */
  retryAfterMs?: number;
}

/** A target of a wave the rollout has not reached. */
export function pendingOutcome(target: ResolvedTarget, message: string): TargetOutcome {
  return { target, state: 'Pending', message };
}

/** The condition reason of a target that failed for good, if it did. */
export function permanentReason(outcome: TargetOutcome): string | undefined {
  return outcome.error?.retry === 'permanent' ? outcome.error.reason : undefined;
}

export function targetLabel(target: ResolvedTarget): string {
  return `${target.kind} ${target.namespace}/${target.name}`;
}

export function toTargetStatus(outcome: TargetOutcome): TargetStatus {
  const { target } = outcome;
  const status: TargetStatus = { kind: target.kind, name: target.name, namespace: target.namespace, state: outcome.state };
  if (outcome.resourceVersion) status.resourceVersion = outcome.resourceVersion;
  if (outcome.operationKey) status.operationKey = outcome.operationKey;
  if (outcome.owner) status.owner = outcome.owner;
  if (outcome.message && outcome.state !== 'Applied') status.message = outcome.message;
  return status;
}

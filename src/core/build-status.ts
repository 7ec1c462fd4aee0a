import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { ANNOTATION, FIELD_MANAGER } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus, HistoryEntry, RolloutStatus, TargetStatus } from '../api/types.js';
import { CONDITION, mergeConditions, type ConditionInput } from './conditions.js';
import { generationOfKey } from './operation-key.js';
import type { TargetObject } from './desired-target.js';

export const HISTORY_LIMIT = 10;
/** status.targets is bounded (the CRD says so too); problems are listed first. */
export const TARGET_STATUS_LIMIT = 1000;

/** One target's result, as the status builder needs it. */
export interface TargetResult {
  status: TargetStatus;
  /** Set when the target holds the desired content: the key it carries. */
  appliedKey?: string;
  live?: TargetObject;
  driftCorrected?: boolean;
  /** Permanent failure reason (CamelCase), if the target failed permanently. */
  permanentReason?: string;
}

export interface StatusInput {
  push: ConfigPush;
  operationKey: string;
  digest: string;
  results: TargetResult[];
  suspended: boolean;
  /** A transient failure that will be retried (the reconcile backs off). */
  transientError?: string;
  /** Where the staged rollout stands. */
  rollout?: RolloutStatus;
  /** Set when the rollout halted: the condition reason. */
  haltReason?: string;
  now: string;
}

/**
 * The status a reconcile leaves behind. Everything in it except
 * driftCorrections can be rebuilt from the targets alone: if someone wipes
 * the status, the next reconcile computes the same thing without writing a
 * target.
 */
export function buildStatus(input: StatusInput): ConfigPushStatus {
  const { push, results, now } = input;
  const previous = push.status ?? {};
  const generation = push.metadata.generation;
  const total = results.length;
  const applied = results.filter((r) => r.status.state === 'Applied').length;
  const corrected = results.filter((r) => r.driftCorrected).length;

  return {
    observedGeneration: generation,
    conditions: mergeConditions(previous.conditions, conditionsFor(input, applied, total), generation, now),
    operationKey: input.operationKey,
    contentDigest: input.digest,
    targetSummary: `${applied}/${total}`,
    driftCorrections: (previous.driftCorrections ?? 0) + corrected,
    history: mergeHistory(previous.history, results, input.digest, now),
    targets: boundedTargets(results.map((r) => r.status)),
    ...(input.rollout ? { rollout: input.rollout } : {}),
  };
}

function boundedTargets(targets: TargetStatus[]): TargetStatus[] {
  if (targets.length <= TARGET_STATUS_LIMIT) return targets;
  const problems = targets.filter((t) => t.state !== 'Applied');
  return [...problems, ...targets.filter((t) => t.state === 'Applied')].slice(0, TARGET_STATUS_LIMIT);
}

/**
 * Status for a push the operator will not act on (an invalid spec, or a
 * tenancy rule): Ready=False and Stalled=True with `reason`; nothing is
 * written to targets, and nothing is retried until the push changes.
 */
export function refusedStatus(push: ConfigPush, reason: string, message: string, now: string): ConfigPushStatus {
  const previous = push.status ?? {};
  const generation = push.metadata.generation;
  const status: ConfigPushStatus = {
    ...previous,
    observedGeneration: generation,
    conditions: mergeConditions(
      previous.conditions,
      [
        { type: CONDITION.ready, status: 'False', reason, message },
        { type: CONDITION.reconciling, status: 'False', reason, message: 'waiting for the ConfigPush to change' },
        { type: CONDITION.stalled, status: 'True', reason, message },
      ],
      generation,
      now,
    ),
  };
  return status;
}

function conditionsFor(input: StatusInput, applied: number, total: number): ConditionInput[] {
  const { results } = input;
  const conflicts = results.filter((r) => r.status.state === 'Conflict');
  const permanent = results.filter((r) => r.permanentReason !== undefined);
  const drifted = results.filter((r) => r.status.state === 'Drifted');
  const failed = results.filter((r) => r.status.state === 'Failed' && r.permanentReason === undefined);
  const driftCondition: ConditionInput =
    drifted.length > 0
      ? { type: CONDITION.drifted, status: 'True', reason: 'DriftDetected', message: drifted.map(describe).join('; ') }
      : { type: CONDITION.drifted, status: 'False', reason: 'NoDrift', message: 'targets match the desired content' };

  const done = (ready: ConditionInput): ConditionInput[] => [
    ready,
    { type: CONDITION.reconciling, status: 'False', reason: ready.reason, message: 'no work in progress' },
    { type: CONDITION.stalled, status: 'False', reason: ready.reason, message: 'not stalled' },
    driftCondition,
  ];
  const stalled = (reason: string, message: string): ConditionInput[] => [
    { type: CONDITION.ready, status: 'False', reason, message },
    { type: CONDITION.reconciling, status: 'False', reason, message: 'waiting for a change to the spec or the targets' },
    { type: CONDITION.stalled, status: 'True', reason, message },
    driftCondition,
  ];

  const rollout = input.rollout;
  if (rollout?.phase === 'Halted') {
    // The reason is the cause (Conflict, Forbidden, ProgressDeadlineExceeded, ...);
    // the message says which wave stopped, and at what.
    const where = rollout.totalWaves > 1 ? `wave ${rollout.currentWave}/${rollout.totalWaves} halted at ${rollout.failed ?? 'a target'}: ` : '';
    const failedTargets = [...conflicts, ...permanent];
    const detail = failedTargets.length > 0 ? failedTargets.map(describe).join('; ') : (rollout.message ?? 'the rollout halted');
    return stalled(input.haltReason ?? 'RolloutHalted', `${where}${detail}`);
  }
  if (!input.suspended && input.transientError === undefined && (rollout?.phase === 'Waiting' || rollout?.phase === 'Paused')) {
    const reason = rollout.phase === 'Paused' ? 'Paused' : 'Progressing';
    const message = `wave ${rollout.currentWave}/${rollout.totalWaves}: ${rollout.message ?? rollout.phase}`;
    return [
      { type: CONDITION.ready, status: 'False', reason, message },
      { type: CONDITION.reconciling, status: 'True', reason, message },
      { type: CONDITION.stalled, status: 'False', reason, message: 'not stalled' },
      driftCondition,
    ];
  }
  if (input.suspended) {
    const upToDate = applied === total;
    return done({
      type: CONDITION.ready,
      status: upToDate ? 'True' : 'False',
      reason: 'Suspended',
      message: `reconciliation is suspended; ${applied}/${total} targets at the desired content`,
    });
  }
  if (conflicts.length > 0) return stalled('Conflict', conflicts.map(describe).join('; '));
  if (permanent.length > 0) return stalled(permanent[0]?.permanentReason ?? 'ApplyFailed', permanent.map(describe).join('; '));
  if (input.transientError !== undefined || failed.length > 0) {
    const message = failed.length > 0 ? failed.map(describe).join('; ') : (input.transientError ?? '');
    return [
      { type: CONDITION.ready, status: 'False', reason: 'RetryingAfterError', message },
      { type: CONDITION.reconciling, status: 'True', reason: 'RetryingAfterError', message: 'retrying with backoff' },
      { type: CONDITION.stalled, status: 'False', reason: 'RetryingAfterError', message: 'not stalled' },
      driftCondition,
    ];
  }
  if (drifted.length > 0) {
    return done({ type: CONDITION.ready, status: 'False', reason: 'Drifted', message: drifted.map(describe).join('; ') });
  }
  return done({
    type: CONDITION.ready,
    status: 'True',
    reason: 'Applied',
    message: `operation ${input.operationKey} applied to ${total} target${total === 1 ? '' : 's'}`,
  });
}

function describe(result: TargetResult): string {
  const { kind, namespace, name, message, state } = result.status;
  return message ?? `${kind} ${namespace}/${name}: ${state}`;
}

/**
 * History holds the operations that actually wrote content, newest first:
 * the keys carried by targets at the current digest. A generation whose
 * content did not change wrote nothing, so it adds no entry.
 */
function mergeHistory(
  previous: HistoryEntry[] | undefined,
  results: TargetResult[],
  digest: string,
  now: string,
): HistoryEntry[] {
  const history = [...(previous ?? [])];
  const carried = new Map<string, TargetObject | undefined>();
  for (const r of results) {
    if (r.appliedKey && !carried.has(r.appliedKey)) carried.set(r.appliedKey, r.live);
  }
  const fresh: HistoryEntry[] = [];
  for (const [key, live] of carried) {
    if (history.some((entry) => entry.key === key)) continue;
    const generation = generationOfKey(key);
    if (generation === undefined) continue;
    fresh.push({ key, generation, digest, appliedAt: lastWriteTime(live) ?? now });
  }
  fresh.sort((a, b) => b.generation - a.generation);
  return [...fresh, ...history].sort((a, b) => b.generation - a.generation).slice(0, HISTORY_LIMIT);
}

/** When the operator last wrote this target, from managedFields: lets a wiped history be rebuilt with real times. */
export function lastWriteTime(live: TargetObject | undefined): string | undefined {
  const entries: V1ManagedFieldsEntry[] = live?.metadata?.managedFields ?? [];
  const ours = entries.filter((entry) => entry.manager === FIELD_MANAGER && entry.time);
  const latest = ours.map((entry) => new Date(entry.time as unknown as string | Date)).sort((a, b) => b.getTime() - a.getTime())[0];
  return latest && !Number.isNaN(latest.getTime()) ? latest.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

/** Converts an applier outcome's markers into the key the target carries (used by the reconciler). */
export function carriedKey(live: TargetObject | undefined): string | undefined {
  return live?.metadata?.annotations?.[ANNOTATION.operationKey];
}

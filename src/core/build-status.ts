import { RECONCILE_REQUESTED_ANNOTATION } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus, HistoryEntry, RollbackStatus, RolloutStatus, SourceStatus } from '../api/types.js';
import { CONDITION, mergeConditions, type ConditionInput } from './conditions.js';
import { generationOfKey } from './operation-key.js';
import { permanentReason, toTargetStatus, type TargetOutcome } from './target-outcome.js';

export const HISTORY_LIMIT = 10;
/** status.targets is bounded (the CRD says so too); problems are listed first. */
export const TARGET_STATUS_LIMIT = 1000;

export interface StatusInput {
  push: ConfigPush;
  operationKey: string;
  digest: string;
  outcomes: TargetOutcome[];
  suspended: boolean;
  /** A transient failure that will be retried (the reconcile backs off). */
  transientError?: string;
  /** Where the staged rollout stands. */
  rollout?: RolloutStatus;
  /** Set when the rollout halted: the condition reason. */
  haltReason?: string;
  /** failurePolicy Rollback halted with no earlier revision to return to (the push never completed a rollout). */
  noRollbackRevision?: true;
  /** Pruning targets the spec no longer names failed (after the targets were written). */
  pruneFailure?: StoppedReport;
  /** spec.sources as this reconcile read them (kind, namespace, name, short revision; never values). */
  sources?: SourceStatus[];
  /** The operation's content revision: its own once its rollout completed, or the one a rollback returned to. */
  revision?: number;
  now: string;
}

/** Why a reconcile stopped short, as a condition reports it. */
export interface StoppedReport {
  reason: string;
  message: string;
  /** The queue retries it (Reconciling=True); otherwise it waits for a change (Stalled=True). */
  retrying: boolean;
}

/**
 * The status a reconcile leaves behind. Everything in it except
 * driftCorrections can be rebuilt from the targets alone: if someone wipes
 * the status, the next reconcile computes the same thing without writing a
 * target.
 */
export function buildStatus(input: StatusInput): ConfigPushStatus {
  const { push, outcomes, now } = input;
  const previous = push.status ?? {};
  const generation = push.metadata.generation;
  const total = outcomes.length;
  const applied = outcomes.filter((o) => o.state === 'Applied').length;
  const corrected = outcomes.filter((o) => o.driftCorrected).length;

  return {
    observedGeneration: generation,
    ...handledReconcileRequest(push),
    conditions: mergeConditions(previous.conditions, conditionsFor(input, applied, total), generation, now),
    operationKey: input.operationKey,
    contentDigest: input.digest,
    targetSummary: `${applied}/${total}`,
    driftCorrections: (previous.driftCorrections ?? 0) + corrected,
    history: mergeHistory(previous.history, outcomes, input, now),
    targets: boundedTargets(outcomes.map(toTargetStatus)),
    ...(input.rollout ? { rollout: input.rollout } : {}),
    ...(input.sources && input.sources.length > 0 ? { sources: input.sources } : {}),
  };
}

/**
 * status.lastHandledReconcileAt: the push's reconcile-request annotation, which
 * this reconcile handles, echoed so that whoever set it (`kubectl configpush
 * reconcile`) sees it was handled. Without the annotation the last handled
 * value stays (as in Flux): removing the annotation is not a new request.
 */
export function handledReconcileRequest(push: ConfigPush): Pick<ConfigPushStatus, 'lastHandledReconcileAt'> {
  const requested = push.metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION];
  const value = typeof requested === 'string' && requested !== '' ? requested : push.status?.lastHandledReconcileAt;
  return value !== undefined ? { lastHandledReconcileAt: value } : {};
}

function boundedTargets(targets: ConfigPushStatus['targets'] & object): ConfigPushStatus['targets'] & object {
  if (targets.length <= TARGET_STATUS_LIMIT) return targets;
  const problems = targets.filter((t) => t.state !== 'Applied');
  return [...problems, ...targets.filter((t) => t.state === 'Applied')].slice(0, TARGET_STATUS_LIMIT);
}

/**
 * Status for a reconcile that stopped before it had target results to report:
 * a push the operator will not act on (an invalid spec, a tenancy rule; not
 * retrying), or a failure before the rollout produced outcomes. Ready=False
 * with `reason`, and Reconciling or Stalled by whether the queue retries.
 * Targets and history stay as the last reconcile found them (they describe
 * the targets, which nothing touched). `operationKey` is this generation's key
 * when given, or none: never the key of a generation the status no longer
 * describes.
 */
export function stoppedStatus(push: ConfigPush, report: StoppedReport, now: string, operationKey?: string): ConfigPushStatus {
  const { operationKey: _stale, contentDigest: _staleDigest, ...previous } = push.status ?? {};
  const generation = push.metadata.generation;
  return {
    ...previous,
    observedGeneration: generation,
    ...handledReconcileRequest(push),
    conditions: mergeConditions(previous.conditions, stoppedConditions(report), generation, now),
    ...(operationKey !== undefined ? { operationKey } : {}),
  };
}

function stoppedConditions({ reason, message, retrying }: StoppedReport): ConditionInput[] {
  return retrying
    ? [
        { type: CONDITION.ready, status: 'False', reason, message },
        { type: CONDITION.reconciling, status: 'True', reason, message: 'retrying with backoff' },
        { type: CONDITION.stalled, status: 'False', reason, message: 'not stalled' },
      ]
    : [
        { type: CONDITION.ready, status: 'False', reason, message },
        { type: CONDITION.reconciling, status: 'False', reason, message: 'waiting for the ConfigPush to change' },
        { type: CONDITION.stalled, status: 'True', reason, message },
      ];
}

/**
 * The four conditions, True or False each (the whole kstatus truth table;
 * mergeConditions then leaves out Reconciling, Stalled and Drifted where they
 * are False, see ABNORMAL_TRUE), by precedence: a halted rollout, a rollout waiting or
 * pausing, suspension, conflicts, permanent failures, transient failures,
 * contended targets, a failed prune, drift, and finally Ready. Table-tested in build-status.test.ts.
 */
export function conditionsFor(input: StatusInput, applied: number, total: number): ConditionInput[] {
  const { outcomes } = input;
  const conflicts = outcomes.filter((o) => o.state === 'Conflict');
  const permanent = outcomes.filter((o) => permanentReason(o) !== undefined);
  const drifted = outcomes.filter((o) => o.state === 'Drifted');
  const failed = outcomes.filter((o) => o.state === 'Failed' && permanentReason(o) === undefined);
  const contended = outcomes.filter((o) => o.state === 'Contended');
  // A contended target differs from the desired content too, while its correction waits.
  const differing = outcomes.filter((o) => o.state === 'Drifted' || o.state === 'Contended');
  const driftCondition: ConditionInput =
    differing.length > 0
      ? { type: CONDITION.drifted, status: 'True', reason: 'DriftDetected', message: differing.map(describe).join('; ') }
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
  const retrying = (reason: string, message: string): ConditionInput[] => [
    { type: CONDITION.ready, status: 'False', reason, message },
    { type: CONDITION.reconciling, status: 'True', reason, message: 'retrying with backoff' },
    { type: CONDITION.stalled, status: 'False', reason, message: 'not stalled' },
    driftCondition,
  ];

  const rollout = input.rollout;
  if (rollout?.rollback) {
    const message = rollbackMessage(rollout.rollback, rollout.totalWaves);
    if (rollout.phase === 'RolledBack') {
      const notBack = [...conflicts, ...permanent, ...failed];
      return stalled('RolledBack', notBack.length > 0 ? `${message}; not rolled back: ${notBack.map(describe).join('; ')}` : message);
    }
    const doing = input.transientError !== undefined ? `retrying: ${input.transientError}` : `wave ${rollout.currentWave}/${rollout.totalWaves}: ${rollout.message ?? 'in progress'}`;
    return [
      { type: CONDITION.ready, status: 'False', reason: 'RollingBack', message },
      { type: CONDITION.reconciling, status: 'True', reason: 'RollingBack', message: `rolling back (${doing})` },
      { type: CONDITION.stalled, status: 'False', reason: 'RollingBack', message: 'not stalled' },
      driftCondition,
    ];
  }
  if (rollout?.phase === 'Halted') {
    // The reason is the cause (Conflict, Forbidden, ProgressDeadlineExceeded, ...);
    // the message says which wave stopped, and at what.
    const where = rollout.totalWaves > 1 ? `wave ${rollout.currentWave}/${rollout.totalWaves} halted at ${rollout.failed ?? 'a target'}: ` : '';
    const failedTargets = [...conflicts, ...permanent];
    const detail = failedTargets.length > 0 ? failedTargets.map(describe).join('; ') : (rollout.message ?? 'the rollout halted');
    const unrolled = input.noRollbackRevision ? '; no earlier revision to roll back to (failurePolicy Rollback)' : '';
    return stalled(input.haltReason ?? 'RolloutHalted', `${where}${detail}${unrolled}`);
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
  if (permanent.length > 0) return stalled(permanentReason(permanent[0]!) ?? 'ApplyFailed', permanent.map(describe).join('; '));
  if (input.transientError !== undefined || failed.length > 0) {
    return retrying('RetryingAfterError', failed.length > 0 ? failed.map(describe).join('; ') : (input.transientError ?? ''));
  }
  if (contended.length > 0) {
    // Another writer keeps changing these: corrections back off, and come back by themselves.
    const message = contended.map(describe).join('; ');
    return [
      { type: CONDITION.ready, status: 'False', reason: 'Contended', message },
      { type: CONDITION.reconciling, status: 'True', reason: 'Contended', message: 'drift corrections are backing off' },
      { type: CONDITION.stalled, status: 'False', reason: 'Contended', message: 'not stalled' },
      driftCondition,
    ];
  }
  const prune = input.pruneFailure;
  if (prune) return prune.retrying ? retrying(prune.reason, prune.message) : stalled(prune.reason, prune.message);
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

function describe(outcome: TargetOutcome): string {
  const { target, message, state } = outcome;
  return message ?? `${target.kind} ${target.namespace}/${target.name}: ${state}`;
}

/** What failed, and what was rolled back to: the RolledBack condition's and Event's message. */
export function rollbackMessage(rollback: RollbackStatus, totalWaves: number): string {
  const where = rollback.failedWave > 0 ? `wave ${rollback.failedWave}/${totalWaves} failed (${rollback.reason}): ${rollback.message}` : rollback.message;
  return `${where}; rolled back to revision ${rollback.revision} (operation ${rollback.operationKey})`;
}

/**
 * History holds the operations that actually wrote content, newest first:
 * the keys carried by targets at the current digest. A generation whose
 * content did not change wrote nothing, so it adds no entry.
 */
function mergeHistory(previous: HistoryEntry[] | undefined, outcomes: TargetOutcome[], input: StatusInput, now: string): HistoryEntry[] {
  const { digest, revision } = input;
  const rollback = input.rollout?.rollback;
  // The revision is known once the operation completed (or, for a rollback, from the start): entries made earlier get it now.
  const withRevision = (entry: HistoryEntry): HistoryEntry =>
    entry.key === input.operationKey && revision !== undefined && entry.revision !== revision
      ? { ...entry, revision, ...(rollback && rollback.operationKey === entry.key ? { rolledBack: rollback.failedOperationKey } : {}) }
      : entry;
  const history = (previous ?? []).map(withRevision);
  const carried = new Map<string, string | undefined>();
  for (const o of outcomes) {
    const appliedKey = o.state === 'Applied' ? o.operationKey : undefined;
    if (appliedKey && !carried.has(appliedKey)) carried.set(appliedKey, o.lastWrittenAt);
  }
  const fresh: HistoryEntry[] = [];
  for (const [key, writtenAt] of carried) {
    if (history.some((entry) => entry.key === key)) continue;
    const generation = generationOfKey(key);
    if (generation === undefined) continue;
    fresh.push(withRevision({ key, generation, digest, appliedAt: writtenAt ?? now }));
  }
  // Newest first: by generation, and within one generation by when it was applied (a rollback follows the operation it undid).
  const order = (a: HistoryEntry, b: HistoryEntry) => b.generation - a.generation || (b.appliedAt < a.appliedAt ? -1 : b.appliedAt > a.appliedAt ? 1 : 0);
  return [...fresh, ...history].sort(order).slice(0, HISTORY_LIMIT);
}

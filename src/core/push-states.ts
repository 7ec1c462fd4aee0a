import { ROLLOUT_PHASES, type ConfigPush } from '../api/types.js';
import { CONDITION } from './conditions.js';

/**
 * Counts of pushes by condition and by rollout phase, for the
 * configpush_push_conditions and configpush_push_rollout_phase gauges.
 *
 * Every label value is from a fixed set, so the series count is bounded
 * whatever is written into a status (the status subresource is writable by
 * anyone RBAC lets, and a reason is free text to the apiserver): a reason the
 * operator does not set itself is counted as "Other", a condition type it does
 * not set is not counted, and push names never become labels.
 */

/**
 * Every reason the operator puts on a condition: its own, and the apiserver's
 * StatusReasons that kube/api-errors.ts reasonFor() passes through from a
 * failed request. push-states.test.ts scans src/ for reason literals and fails
 * when one is missing here.
 */
export const CONDITION_REASONS = [
  // Ready / Reconciling / Stalled (core/build-status.ts)
  'Applied',
  'Drifted',
  'Suspended',
  'Progressing',
  'Paused',
  'Conflict',
  'ApplyFailed',
  'RetryingAfterError',
  'RolloutHalted',
  'ProgressDeadlineExceeded',
  'PruneFailed',
  'Contended',
  // failurePolicy Rollback (core/build-status.ts, configpush/revisions.ts)
  'RollingBack',
  'RolledBack',
  'RevisionNotFound',
  // a revision not recorded (configpush/revisions.ts): the RevisionNotRecorded Event's cause, never a condition's
  'RevisionTooLarge',
  'ReconcileError',
  'InvalidSpec',
  // tenancy (core/tenancy.ts)
  'ServiceAccountRequired',
  'NamespaceNotFound',
  'CrossNamespaceNotAllowed',
  // spec.sources (core/sources.ts, kube/source-client.ts)
  'SourceNotFound',
  'SourceNotAllowed',
  'SourceKeyNotFound',
  'SourceForbidden',
  // the memo's values were needed (core/unread-source-values.ts): caught and read at once, never a condition's
  'SourcesNotRead',
  // retried contention (configpush/)
  'TargetContended',
  'WorkloadContended',
  'StalePush',
  'SourcesChanged',
  // Drifted
  'DriftDetected',
  'NoDrift',
  // failed requests without a Status reason (kube/api-errors.ts reasonFor)
  'BadRequest',
  'Forbidden',
  'NotFound',
  'Invalid',
  'TooManyRequests',
  'ServerError',
  // metav1.StatusReason values an apiserver may send
  'Unauthorized',
  'AlreadyExists',
  'Gone',
  'ServerTimeout',
  'Timeout',
  'MethodNotAllowed',
  'NotAcceptable',
  'RequestEntityTooLarge',
  'UnsupportedMediaType',
  'InternalError',
  'Expired',
  'ServiceUnavailable',
] as const;

export const OTHER = 'Other';
/** Pushes the operator has not reported on yet: no status.rollout. */
export const NO_PHASE = 'None';

const REASONS: ReadonlySet<string> = new Set(CONDITION_REASONS);
const TYPES: ReadonlySet<string> = new Set(Object.values(CONDITION));
const STATUSES: ReadonlySet<string> = new Set(['True', 'False', 'Unknown']);
const PHASES: ReadonlySet<string> = new Set(ROLLOUT_PHASES);

export function boundedReason(reason: unknown): string {
  return typeof reason === 'string' && REASONS.has(reason) ? reason : OTHER;
}

export interface ConditionCount {
  type: string;
  status: string;
  reason: string;
  count: number;
}

export interface PushStateCounts {
  conditions: ConditionCount[];
  /** Pushes by status.rollout.phase ("None" before the first report). */
  phases: Map<string, number>;
}

/**
 * One pass over the cached pushes. A push whose status has no condition of a
 * type is not counted for that type: "Ready" counts sum to the pushes the
 * operator has reported on.
 */
export function countPushStates(pushes: Iterable<Pick<ConfigPush, 'status'>>): PushStateCounts {
  const conditions = new Map<string, ConditionCount>();
  const phases = new Map<string, number>();
  for (const push of pushes) {
    // Status comes from the cache as the apiserver sent it: shapes are checked, not assumed.
    const status: unknown = push.status;
    const list: unknown = status && typeof status === 'object' ? (status as { conditions?: unknown }).conditions : undefined;
    const seen = new Set<string>();
    for (const c of Array.isArray(list) ? (list as unknown[]) : []) {
      if (!c || typeof c !== 'object') continue;
      const { type, status: s, reason } = c as { type?: unknown; status?: unknown; reason?: unknown };
      if (typeof type !== 'string' || !TYPES.has(type) || seen.has(type)) continue;
      seen.add(type);
      const entry = { type, status: typeof s === 'string' && STATUSES.has(s) ? s : 'Unknown', reason: boundedReason(reason) };
      const key = `${entry.type}\0${entry.status}\0${entry.reason}`;
      const counted = conditions.get(key);
      if (counted) counted.count++;
      else conditions.set(key, { ...entry, count: 1 });
    }
    const rollout: unknown = status && typeof status === 'object' ? (status as { rollout?: unknown }).rollout : undefined;
    const phase: unknown = rollout && typeof rollout === 'object' ? (rollout as { phase?: unknown }).phase : undefined;
    const bounded = phase === undefined ? NO_PHASE : typeof phase === 'string' && PHASES.has(phase) ? phase : OTHER;
    phases.set(bounded, (phases.get(bounded) ?? 0) + 1);
  }
  return { conditions: [...conditions.values()], phases };
}

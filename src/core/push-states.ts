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

// Each label value's place in a flat count array, so that counting a push
// allocates nothing: at 100,000 cached pushes a scrape that built a Set and a
// key string per push took 160 to 263 ms of one event-loop turn, now 45 to 100
// (bench/push-gauge-cost.ts).
const TYPE_VALUES: readonly string[] = Object.values(CONDITION);
const STATUS_VALUES = ['True', 'False', 'Unknown'] as const;
const REASON_VALUES: readonly string[] = [...CONDITION_REASONS, OTHER];
const PHASE_VALUES: readonly string[] = [...ROLLOUT_PHASES, NO_PHASE, OTHER];
const indexOf = (values: readonly string[]): ReadonlyMap<unknown, number> => new Map(values.map((value, i) => [value, i]));
const TYPE_INDEX = indexOf(TYPE_VALUES);
const STATUS_INDEX = indexOf(STATUS_VALUES);
const REASON_INDEX = indexOf(REASON_VALUES);
// Only the real phases, which come first in PHASE_VALUES: a status that says "None" or "Other" counts as Other.
const PHASE_INDEX = indexOf(ROLLOUT_PHASES);
const UNKNOWN_STATUS = STATUS_VALUES.indexOf('Unknown');
const OTHER_REASON = REASON_VALUES.length - 1;
const NO_PHASE_INDEX = PHASE_VALUES.indexOf(NO_PHASE);
const OTHER_PHASE = PHASE_VALUES.indexOf(OTHER);

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
  const statusCount = STATUS_VALUES.length;
  const reasonCount = REASON_VALUES.length;
  const conditionCounts = new Float64Array(TYPE_VALUES.length * statusCount * reasonCount);
  const phaseCounts = new Float64Array(PHASE_VALUES.length);
  for (const push of pushes) {
    // Status comes from the cache as the apiserver sent it: shapes are checked,
    // not assumed. A Map lookup of a non-string finds nothing, so a value of
    // the wrong type falls to the same bound as an unknown string.
    const status: unknown = push.status;
    const list: unknown = status && typeof status === 'object' ? (status as { conditions?: unknown }).conditions : undefined;
    if (Array.isArray(list)) {
      let seenTypes = 0;
      for (const c of list as unknown[]) {
        if (!c || typeof c !== 'object') continue;
        const { type, status: s, reason } = c as { type?: unknown; status?: unknown; reason?: unknown };
        const t = TYPE_INDEX.get(type);
        // Only a push's first condition of a type counts.
        if (t === undefined || seenTypes & (1 << t)) continue;
        seenTypes |= 1 << t;
        const si = STATUS_INDEX.get(s) ?? UNKNOWN_STATUS;
        const ri = REASON_INDEX.get(reason) ?? OTHER_REASON;
        conditionCounts[(t * statusCount + si) * reasonCount + ri]!++;
      }
    }
    const rollout: unknown = status && typeof status === 'object' ? (status as { rollout?: unknown }).rollout : undefined;
    const phase: unknown = rollout && typeof rollout === 'object' ? (rollout as { phase?: unknown }).phase : undefined;
    phaseCounts[phase === undefined ? NO_PHASE_INDEX : (PHASE_INDEX.get(phase) ?? OTHER_PHASE)]!++;
  }
  const conditions: ConditionCount[] = [];
  conditionCounts.forEach((count, i) => {
    if (count === 0) return;
    const ri = i % reasonCount;
    const si = Math.floor(i / reasonCount) % statusCount;
    const t = Math.floor(i / (reasonCount * statusCount));
    conditions.push({ type: TYPE_VALUES[t]!, status: STATUS_VALUES[si]!, reason: REASON_VALUES[ri]!, count });
  });
  const phases = new Map<string, number>();
  phaseCounts.forEach((count, i) => {
    if (count > 0) phases.set(PHASE_VALUES[i]!, count);
  });
  return { conditions, phases };
}

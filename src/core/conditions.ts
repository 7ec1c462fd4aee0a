import type { Condition, ConfigPushStatus } from '../api/types.js';

export const CONDITION = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  drifted: 'Drifted',
} as const;

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * metav1.Condition.message may hold at most 32768 bytes (the CRD enforces it,
 * and the apiserver refuses the whole status write otherwise, so a push with
 * many failing targets would never get a status). 8192 UTF-16 units are at
 * most 32 KiB of UTF-8.
 */
export const MAX_CONDITION_MESSAGE = 8_192;

export function clipMessage(message: string, max = MAX_CONDITION_MESSAGE): string {
  if (message.length <= max) return message;
  const suffix = ` ... (${message.length} characters in all)`;
  return message.slice(0, max - suffix.length) + suffix;
}

/**
 * The "abnormal-true" conditions (kstatus): each says something is wrong or
 * under way only when True, and kstatus reads an absent one as False. They are
 * written only while True and removed when they turn False, as Flux does with
 * Reconciling and Stalled; Ready is always present.
 *
 * Why not keep them at False: three False conditions were 470 of a settled
 * push's 1,263 status bytes, and cost the apiserver about 1 ms of CPU per
 * status write (docs/benchmarks.md), on every push, in etcd and in every
 * watch of pushes, to say nothing kstatus does not already infer from their
 * absence.
 */
export const ABNORMAL_TRUE: ReadonlySet<string> = new Set([CONDITION.reconciling, CONDITION.stalled, CONDITION.drifted]);

/** An abnormal-true condition at False: the same, to kstatus, as no condition. */
function isFalseAbnormalTrue(condition: Pick<Condition, 'type' | 'status'> | undefined): boolean {
  return condition?.status === 'False' && ABNORMAL_TRUE.has(condition.type);
}

/**
 * Builds the condition list for a new status, keeping lastTransitionTime from
 * the previous status when a condition's status did not flip (API
 * conventions). Keeping it is also what lets an unchanged status compare equal,
 * so a reconcile that changes nothing writes nothing. An abnormal-true
 * condition that is False is left out (ABNORMAL_TRUE); when it is True again
 * it is new, so its lastTransitionTime is the time it turned True.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  next: ConditionInput[],
  observedGeneration: number,
  now: string,
): Condition[] {
  return next
    .filter((condition) => !isFalseAbnormalTrue(condition))
    .map((condition) => {
      const old = previous?.find((c) => c.type === condition.type);
      const lastTransitionTime = old && old.status === condition.status ? old.lastTransitionTime : now;
      return { ...condition, message: clipMessage(condition.message), observedGeneration, lastTransitionTime };
    });
}

/**
 * The status as kstatus reads it: without abnormal-true conditions that are
 * False, which mean the same as their absence. Versions before ABNORMAL_TRUE
 * wrote them at False; comparing through this keeps a settled push written by
 * such a version from being rewritten for that alone (an upgrade would
 * otherwise write every push's status once). They go with the next status
 * change that has something to say.
 */
export function withoutFalseAbnormalTrue(status: ConfigPushStatus): ConfigPushStatus {
  const conditions = status.conditions;
  if (!Array.isArray(conditions) || !conditions.some(isFalseAbnormalTrue)) return status;
  return { ...status, conditions: conditions.filter((c) => !isFalseAbnormalTrue(c)) };
}

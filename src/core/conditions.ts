import type { Condition } from '../api/types.js';

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
 * Builds the condition list for a new status, keeping lastTransitionTime from
 * the previous status when a condition's status did not flip (API
 * conventions). Keeping it is also what lets an unchanged status compare equal,
 * so a reconcile that changes nothing writes nothing.
 */
export function mergeConditions(
  previous: Condition[] | undefined,
  next: ConditionInput[],
  observedGeneration: number,
  now: string,
): Condition[] {
  return next.map((condition) => {
    const old = previous?.find((c) => c.type === condition.type);
    const lastTransitionTime = old && old.status === condition.status ? old.lastTransitionTime : now;
    return { ...condition, message: clipMessage(condition.message), observedGeneration, lastTransitionTime };
  });
}

import type { Condition } from '../api/types.js';

export const CONDITION = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  drifted: 'Drifted',
} as const;

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

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
    return { ...condition, observedGeneration, lastTransitionTime };
  });
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

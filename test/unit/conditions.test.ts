import { describe, expect, it } from 'vitest';
import type { Condition, ConfigPushStatus } from '../../src/api/types.js';
import { ABNORMAL_TRUE, mergeConditions, withoutFalseAbnormalTrue } from '../../src/core/conditions.js';

const EARLIER = '2026-11-30T01:00:00Z';
const NOW = '2026-11-30T02:00:00Z';
const condition = (type: string, status: Condition['status']): Condition => ({ type, status, reason: 'Applied', message: 'm', observedGeneration: 1, lastTransitionTime: EARLIER });

describe('abnormal-true conditions (kstatus)', () => {
  it('are Reconciling, Stalled and Drifted; Ready is not one', () => {
    expect([...ABNORMAL_TRUE].sort()).toStrictEqual(['Drifted', 'Reconciling', 'Stalled']);
  });

  it('mergeConditions leaves them out while False and keeps every other condition', () => {
    const merged = mergeConditions(
      undefined,
      [
        { type: 'Ready', status: 'False', reason: 'Conflict', message: 'm' },
        { type: 'Reconciling', status: 'False', reason: 'Conflict', message: 'm' },
        { type: 'Stalled', status: 'True', reason: 'Conflict', message: 'm' },
        { type: 'Drifted', status: 'Unknown', reason: 'Conflict', message: 'm' },
      ],
      2,
      NOW,
    );
    expect(merged.map((c) => `${c.type}=${c.status}`)).toStrictEqual(['Ready=False', 'Stalled=True', 'Drifted=Unknown']);
  });

  it('a status read without the False ones compares equal to one written without them', () => {
    const old: ConfigPushStatus = { observedGeneration: 1, conditions: [condition('Ready', 'True'), condition('Reconciling', 'False'), condition('Stalled', 'False'), condition('Drifted', 'False')] };
    expect(withoutFalseAbnormalTrue(old)).toStrictEqual({ observedGeneration: 1, conditions: [condition('Ready', 'True')] });
    // The input is not changed, and a status with nothing to drop is returned as it is.
    expect(old.conditions).toHaveLength(4);
    const settled: ConfigPushStatus = { conditions: [condition('Ready', 'False'), condition('Stalled', 'True')] };
    expect(withoutFalseAbnormalTrue(settled)).toBe(settled);
    expect(withoutFalseAbnormalTrue({})).toStrictEqual({});
  });
});

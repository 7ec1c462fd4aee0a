import { describe, expect, it } from 'vitest';
import { decideCorrection, DEFAULT_CONTENTION_POLICY, isForgotten, NO_CONTENTION, recordCorrection, type ContentionState } from '../../src/core/contention.js';
import { ContentionTracker } from '../../src/configpush/contention-tracker.js';

const policy = DEFAULT_CONTENTION_POLICY; // 3 corrections in 10 s; holds of 2, 4, 8 ... up to 60 s

/** Plays a writer that undoes every correction at once: the operator corrects whenever it may. Returns the correction times. */
function fight(seconds: number): number[] {
  let state: ContentionState = NO_CONTENTION;
  const writes: number[] = [];
  for (let now = 0; now <= seconds * 1000; now += 50) {
    if (decideCorrection(state, now).allow) {
      state = recordCorrection(state, now, policy);
      writes.push(now);
    }
  }
  return writes;
}

describe('contention rules', () => {
  it('lets three corrections through at once, then holds the fourth for 2 s, then doubles the hold', () => {
    let state = recordCorrection(NO_CONTENTION, 0, policy);
    expect(decideCorrection(state, 100)).toEqual({ allow: true });
    state = recordCorrection(state, 100, policy);
    expect(decideCorrection(state, 200)).toEqual({ allow: true });
    state = recordCorrection(state, 200, policy); // the third in 10 s: contended
    expect(decideCorrection(state, 300)).toEqual({ allow: false, retryInMs: 1_900, corrections: 3 });
    expect(decideCorrection(state, 2_200)).toEqual({ allow: true });
    state = recordCorrection(state, 2_200, policy);
    expect(decideCorrection(state, 2_300)).toMatchObject({ allow: false, retryInMs: 3_900 });
  });

  it('against a writer that undoes every correction, writes at most ~10 times in the first minute and about once a minute after', () => {
    const writes = fight(300);
    // 3 at once, then after holds of 2, 4, 8 and 16 s.
    expect(writes.filter((t) => t < 60_000)).toEqual([0, 50, 100, 2_100, 6_100, 14_100, 30_100]);
    // Then one after 32 s, and one a minute at the cap.
    expect(writes.filter((t) => t >= 60_000)).toEqual([62_100, 122_100, 182_100, 242_100]);
    // The hold never exceeds the cap: consecutive writes at most 60 s (plus the 50 ms step) apart.
    const gaps = writes.slice(1).map((t, i) => t - writes[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(policy.capMs + 50);
  });

  it('forgets a fight that went quiet: corrections are immediate again', () => {
    let state = NO_CONTENTION;
    for (const t of [0, 100, 200]) state = recordCorrection(state, t, policy);
    expect(decideCorrection(state, 1_000).allow).toBe(false);
    // Quiet for longer than the window plus the hold.
    expect(isForgotten(state, 200 + policy.windowMs + 4_000 + 1)).toBe(true);
    state = recordCorrection(state, 20_000, policy);
    expect(state.level).toBe(0);
    expect(decideCorrection(state, 20_001)).toEqual({ allow: true });
  });

  it('ordinary drift (a correction now and then) is never held', () => {
    let state = NO_CONTENTION;
    for (let t = 0; t < 600_000; t += 6_000) {
      expect(decideCorrection(state, t).allow).toBe(true);
      state = recordCorrection(state, t, policy);
    }
  });
});

describe('ContentionTracker', () => {
  it('keeps a state per target and drops the ones that went quiet', () => {
    let now = 0;
    const tracker = new ContentionTracker(policy, () => now);
    for (const t of [0, 100, 200]) {
      now = t;
      tracker.recordCorrection('ConfigMap/a/x');
    }
    now = 300;
    expect(tracker.decide('ConfigMap/a/x').allow).toBe(false);
    expect(tracker.decide('ConfigMap/a/y').allow).toBe(true);
    now = 60_000;
    tracker.recordCorrection('ConfigMap/a/y');
    expect(tracker.size).toBe(1); // x was forgotten
  });
});

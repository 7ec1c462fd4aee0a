/**
 * Fighting writers (Argo CD's self-heal backoff): another controller that
 * sets a managed target back whenever it differs would make driftPolicy
 * Correct rewrite it forever, ~13 writes a second in a measured fight. A
 * target corrected `threshold` times within `windowMs` is contended: its
 * next correction waits `baseMs`, each later one twice as long as the last,
 * up to `capMs` (about one a minute), while the push reports it; a fight
 * quiet for a window plus the current hold is forgotten. The push's own operations (new content, a new generation)
 * are never held back: only drift corrections are.
 *
 * Pure: the caller keeps one ContentionState per target and passes `now`.
 */
export interface ContentionPolicy {
  threshold: number;
  windowMs: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_CONTENTION_POLICY: ContentionPolicy = { threshold: 3, windowMs: 10_000, baseMs: 2_000, capMs: 60_000 };

export interface ContentionState {
  /** Times of the corrections within the window, oldest first. */
  corrections: number[];
  /** Held-back corrections so far in this fight: the backoff exponent. */
  level: number;
  /** No correction before this time (0: none pending). */
  holdUntil: number;
}

export const NO_CONTENTION: ContentionState = { corrections: [], level: 0, holdUntil: 0 };

export type CorrectionDecision = { allow: true } | { allow: false; retryInMs: number; corrections: number };

/** Whether a drift correction may be written now. */
export function decideCorrection(state: ContentionState, now: number): CorrectionDecision {
  if (now < state.holdUntil) return { allow: false, retryInMs: state.holdUntil - now, corrections: state.corrections.length };
  return { allow: true };
}

/**
 * The state after a correction was written at `now`. Reaching the threshold
 * starts (or lengthens) the hold before the next one; a fight that went quiet
 * for a window plus the current hold is forgotten.
 */
export function recordCorrection(state: ContentionState, now: number, policy: ContentionPolicy = DEFAULT_CONTENTION_POLICY): ContentionState {
  const quiet = state.corrections.length > 0 && now - state.corrections[state.corrections.length - 1]! > policy.windowMs + holdMs(state.level, policy);
  const base = quiet ? NO_CONTENTION : state;
  const corrections = [...base.corrections.filter((t) => now - t <= policy.windowMs), now];
  // Below the threshold nothing is held; once contended, every correction
  // holds the next one, each hold twice the last, until the fight goes quiet.
  if (base.level === 0 && corrections.length < policy.threshold) return { corrections, level: 0, holdUntil: 0 };
  return { corrections, level: base.level + 1, holdUntil: now + holdMs(base.level, policy) };
}

/** Whether the state still says anything (a caller may drop it otherwise). */
export function isForgotten(state: ContentionState, now: number, policy: ContentionPolicy = DEFAULT_CONTENTION_POLICY): boolean {
  const last = state.corrections[state.corrections.length - 1];
  return last === undefined || now - last > policy.windowMs + holdMs(state.level, policy);
}

function holdMs(level: number, policy: ContentionPolicy): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(level, 30));
}

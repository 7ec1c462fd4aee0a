import {
  DEFAULT_CONTENTION_POLICY,
  decideCorrection,
  isForgotten,
  NO_CONTENTION,
  recordCorrection,
  type ContentionPolicy,
  type ContentionState,
  type CorrectionDecision,
} from '../core/contention.js';

/**
 * The operator's memory of fights over targets (core/contention.ts holds the
 * rules). In memory only: after a restart a fight is detected again within
 * `threshold` corrections, which is the cost of not writing it anywhere.
 */
export class ContentionTracker {
  private readonly states = new Map<string, ContentionState>();

  constructor(
    private readonly policy: ContentionPolicy = DEFAULT_CONTENTION_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  /** May the drift of target `id` be corrected now? */
  decide(id: string): CorrectionDecision {
    const state = this.states.get(id);
    return state ? decideCorrection(state, this.now()) : { allow: true };
  }

  /** A drift correction of `id` was written. */
  recordCorrection(id: string): void {
    const now = this.now();
    this.states.set(id, recordCorrection(this.states.get(id) ?? NO_CONTENTION, now, this.policy));
    this.prune(now);
  }

  /** Targets with a fight on record (for tests and metrics). */
  get size(): number {
    return this.states.size;
  }

  private prune(now: number): void {
    for (const [id, state] of this.states) if (isForgotten(state, now, this.policy)) this.states.delete(id);
  }
}

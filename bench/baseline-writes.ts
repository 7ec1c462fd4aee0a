/**
 * What the bench's baseline (bench/baseline.ts) writes besides the
 * conditional writes every push needs (its finalizer, its targets' content,
 * its status). Shared by the bench's options, the baseline process and the
 * report, so the three cannot disagree on the names.
 *
 * - `revision` (the default, the bench's reference): also a ControllerRevision
 *   of the content before the status, the conditional write issue 14 made
 *   part of every completed rollout. The baseline then makes the same
 *   conditional writes as the operator, as it is defined to; the operator's
 *   `Applied` Event, a report rather than a write of the operation, stays
 *   the operator's own cost, as it was when issue 16's targets were set.
 * - `plain`: no revision, the baseline as it was before revisions existed
 *   (the reference of every figure in docs/benchmarks.md before 2026-12-02's
 *   "The baseline writes the revision").
 * - `records`: the revision and an `Applied` Event, so the requests per push
 *   are the operator's and the ratios show its machinery alone.
 */
export const BASELINE_WRITES = ['revision', 'plain', 'records'] as const;
export type BaselineWrites = (typeof BASELINE_WRITES)[number];

export function isBaselineWrites(value: string): value is BaselineWrites {
  return (BASELINE_WRITES as readonly string[]).includes(value);
}

/** Whether the baseline writes a ControllerRevision per completed push. */
export function writesRevision(writes: BaselineWrites): boolean {
  return writes !== 'plain';
}

/** Whether the baseline sends an `Applied` Event per completed push. */
export function writesEvent(writes: BaselineWrites): boolean {
  return writes === 'records';
}

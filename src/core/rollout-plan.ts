import type { ConfigPushStatus, RolloutPhase, RolloutStatus } from '../api/types.js';
import type { OperatorError } from './errors.js';
import { targetId, type ResolvedStrategy, type ResolvedTarget } from './resolve-spec.js';
import { pendingOutcome, permanentReason, targetLabel, type TargetOutcome } from './target-outcome.js';
import { workloadLabel, type WorkloadRef } from './workload-health.js';

/**
 * The rollout's decisions, as pure functions over what one reconcile has
 * found so far (beside wave-plan.ts, which decides the waves themselves).
 * configpush/rollout.ts executes the steps: it does the I/O a step asks for,
 * adds what it found to the wave's facts, and asks again. Nothing here reads
 * a clock or the network, so every branch is table-tested.
 */

/** How often a wave waiting for its workloads is looked at again. */
export const HEALTH_POLL_MS = 2_000;

/** What the executor has learned about the wave it is working on. */
export interface WaveFacts {
  /** 1-based. */
  wave: number;
  outcomes: TargetOutcome[];
  /**
   * The wave's workloads, once rolled: those not rolled out yet (and when the
   * operator last restarted any of them, from their managedFields), or why
   * rolling failed.
   */
  workloads?: { pending: WorkloadRef[]; restartedAt?: string } | { error: OperatorError };
  /** Whether a target of the next wave already holds the content (the pause was already served). */
  nextWaveBegun?: boolean;
}

export interface RolloutContext {
  totalWaves: number;
  strategy: ResolvedStrategy;
  /** The push restarts workloads (spec.rollout.restart is not empty, or restartConsumers is on). */
  restarts: boolean;
  /** The rollout status the last reconcile wrote. */
  previous: RolloutStatus | undefined;
  /** Now, in epoch milliseconds. */
  now: number;
  /**
   * A rollback (failurePolicy Rollback): the same waves, each gated on its
   * workloads as a rollout is, but without the pauses, and no wave stops it
   * (a workload late past the deadline, or a target that cannot be written,
   * is reported, and the rollback goes on): returning to known-good content
   * must not halt half-way.
   */
  fastTrack?: boolean;
  /**
   * The targets' resourceVersions (by targetId) that the last status
   * recorded together with this very operation's rollout Complete
   * (completedVersions): the versions at which every wave's workloads had
   * been rolled out.
   */
  completed?: ReadonlyMap<string, string>;
}

/**
 * What the last status vouches for: when it reports the rollout Complete
 * under `operationKey` (the key this reconcile works under), the
 * resourceVersion of each target it lists. A status is written after the
 * work it reports, in the reconcile that did it, so a target still at that
 * version has had its workloads rolled for this operation. Undefined when the
 * status vouches for nothing: another operation's, not Complete, or lost.
 */
export function completedVersions(status: ConfigPushStatus | undefined, operationKey: string): ReadonlyMap<string, string> | undefined {
  if (status?.rollout?.phase !== 'Complete' || status.operationKey !== operationKey) return undefined;
  const versions = new Map<string, string>();
  for (const t of status.targets ?? []) {
    if (t.state === 'Applied' && t.resourceVersion) versions.set(targetId(t), t.resourceVersion);
  }
  return versions;
}

/**
 * Rule 5 for workloads: a wave whose every target this reconcile found (not
 * wrote) at the version the last status recorded with this operation's
 * rollout Complete has nothing left for its workloads, so they are not read
 * again. Any target written since, or one the status does not list (beyond
 * its 1,000 entries, or a namespace that joined), and the workloads are
 * looked at as before.
 */
function workloadsDoneBefore(facts: WaveFacts, context: RolloutContext): boolean {
  const { completed } = context;
  if (completed === undefined || context.fastTrack || facts.outcomes.length === 0) return false;
  return facts.outcomes.every(
    (o) => o.state === 'Applied' && o.wrote === undefined && o.resourceVersion !== undefined && completed.get(targetId(o.target)) === o.resourceVersion,
  );
}

/** Halt and Rollback both stop at a failed wave; Continue goes on. */
function stopsAtFailure(strategy: ResolvedStrategy, context: RolloutContext): boolean {
  return !context.fastTrack && strategy.failurePolicy !== 'Continue';
}

/** What to do next, for the wave the facts describe. */
export type RolloutStep =
  /** A target or workload failed transiently: stop here; the queue backs off. */
  | { kind: 'retry'; error: OperatorError }
  /** The wave failed under failurePolicy Halt. */
  | { kind: 'halt'; failed: string; message: string; reason: string }
  /** Targets are done: restart the wave's workloads (then ask again). */
  | { kind: 'roll-workloads' }
  /** Workloads are still rolling out, within the progress deadline. */
  | { kind: 'wait'; message: string; requeueAfterMs: number }
  /** Inside the pause: find out whether the next wave has already begun (then ask again). */
  | { kind: 'peek-next-wave' }
  /** Pause before the next wave. */
  | { kind: 'pause'; completedAt: string; message: string; requeueAfterMs: number }
  /** The wave is done; go on (completedAt: when the wave completed, if the pause needs it remembered). */
  | { kind: 'next-wave'; completedAt?: string };

export function nextStep(facts: WaveFacts, context: RolloutContext): RolloutStep {
  const { strategy } = context;
  const halts = stopsAtFailure(strategy, context);

  const transient = facts.outcomes.find((o) => o.error !== undefined && o.error.retry !== 'permanent');
  if (transient?.error) return { kind: 'retry', error: transient.error };

  const failures = facts.outcomes.filter((o) => o.state === 'Failed' || o.state === 'Conflict');
  const first = failures[0];
  if (first && halts) {
    return {
      kind: 'halt',
      failed: targetLabel(first.target),
      message: first.message ?? 'target failed',
      reason: first.state === 'Conflict' ? 'Conflict' : (permanentReason(first) ?? 'ApplyFailed'),
    };
  }

  if (context.restarts) {
    const step = workloadStep(facts, context);
    if (step) return step;
  }
  return pauseStep(facts, context);
}

/** The workloads' part of a wave: roll them, wait for them, or fail the wave. Undefined: they are done. */
function workloadStep(facts: WaveFacts, context: RolloutContext): RolloutStep | undefined {
  const { strategy } = context;
  const halts = stopsAtFailure(strategy, context);
  const workloads = facts.workloads;
  if (workloads === undefined) return workloadsDoneBefore(facts, context) ? undefined : { kind: 'roll-workloads' };
  if ('error' in workloads) {
    // Reading or patching a workload failed: transient errors retry with
    // backoff; a permanent one (403, 422, ...) fails the wave.
    if (workloads.error.retry !== 'permanent') return { kind: 'retry', error: workloads.error };
    if (halts) {
      return { kind: 'halt', failed: `wave ${facts.wave} workloads`, message: `rolling workloads failed: ${workloads.error.message}`, reason: workloads.error.reason };
    }
    return undefined; // failurePolicy Continue: go on past the wave.
  }
  if (workloads.pending.length === 0) return undefined;
  // From the wave's last target write, or its workloads' restart if that came later: a restart
  // delayed past the deadline (the operator was down between the two) still gets its full deadline.
  const elapsed = context.now - Math.max(latestWrite(facts.outcomes), Date.parse(workloads.restartedAt ?? '') || 0);
  const late = workloads.pending.map(workloadLabel).join(', ');
  if (elapsed <= strategy.progressDeadlineMs) {
    return {
      kind: 'wait',
      message: `waiting for ${late} to roll out`,
      requeueAfterMs: Math.min(HEALTH_POLL_MS, Math.max(100, strategy.progressDeadlineMs - elapsed)),
    };
  }
  if (halts) {
    return {
      kind: 'halt',
      failed: workloadLabel(workloads.pending[0]!),
      message: `${late} did not roll out within ${strategy.progressDeadlineMs / 1000}s`,
      reason: 'ProgressDeadlineExceeded',
    };
  }
  return undefined;
}

/** The wave is done. Before the next one: the pause, unless the next wave has already begun. */
function pauseStep(facts: WaveFacts, context: RolloutContext): RolloutStep {
  const { strategy, previous } = context;
  if (facts.wave >= context.totalWaves || strategy.pauseMs <= 0 || context.fastTrack) return { kind: 'next-wave' };
  // The status remembers when this wave completed, so a pause survives
  // re-queues and restarts. A completion older than the wave's own writes is
  // a previous rollout's (the status of a finished two-wave push still names
  // wave 2): taking it would skip this rollout's pause.
  const remembered = previous?.currentWave === facts.wave + 1 ? previous.lastWaveCompletedAt : undefined;
  const current = remembered !== undefined && Date.parse(remembered) >= latestWrite(facts.outcomes) ? remembered : undefined;
  const completedAt = current ?? timestamp(context.now);
  const wait = Date.parse(completedAt) + strategy.pauseMs - context.now;
  if (wait <= 0 || facts.nextWaveBegun === true) return { kind: 'next-wave', completedAt };
  if (facts.nextWaveBegun === undefined) return { kind: 'peek-next-wave' };
  return { kind: 'pause', completedAt, message: `pausing ${Math.ceil(wait / 1000)}s before wave ${facts.wave + 1}`, requeueAfterMs: wait };
}

/** When the operator last wrote any of these targets (epoch ms; 0 if unknown). */
function latestWrite(outcomes: TargetOutcome[]): number {
  return Math.max(0, ...outcomes.map((o) => Date.parse(o.lastWrittenAt ?? '') || 0));
}

/** Suspended: the first wave not yet at the desired content is where the rollout stands. */
export function suspendedWave(waveOutcomes: TargetOutcome[][]): number {
  const index = waveOutcomes.findIndex((outcomes) => outcomes.some((o) => o.state !== 'Applied'));
  return index >= 0 ? index + 1 : waveOutcomes.length;
}

/** One outcome per target in wave order (Pending for the waves not reached), and the rollout status. */
export function rolloutReport(
  waves: ResolvedTarget[][],
  found: ReadonlyMap<string, TargetOutcome>,
  idOf: (target: ResolvedTarget) => string,
  phase: RolloutPhase,
  currentWave: number,
  extra: Partial<Pick<RolloutStatus, 'lastWaveCompletedAt' | 'failed' | 'message'>> = {},
): { outcomes: TargetOutcome[]; rollout: RolloutStatus } {
  const total = waves.length;
  const outcomes = waves.flatMap((wave, i) =>
    wave.map((target) => found.get(idOf(target)) ?? pendingOutcome(target, `waiting for wave ${i + 1} of ${total}`)),
  );
  const applied = outcomes.filter((o) => o.state === 'Applied').length;
  const rollout: RolloutStatus = {
    currentWave,
    totalWaves: total,
    phase,
    progress: `${applied}/${outcomes.length} targets, wave ${currentWave}/${total}`,
    ...definedOnly(extra),
  };
  return { outcomes, rollout };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** RFC 3339 to the second, as status times are written. */
export function timestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

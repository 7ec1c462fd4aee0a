import type { Logger } from 'pino';
import type { RolloutPhase, RolloutStatus } from '../api/types.js';
import { lastWriteTime } from '../core/build-status.js';
import { classifyError, describeError, reasonFor } from '../core/errors.js';
import { mapLimit } from '../util/map-limit.js';
import { targetId, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { generationOfKey } from '../core/operation-key.js';
import type { WorkloadClient } from '../kube/workload-client.js';
import type { Metrics } from '../runtime/metrics.js';
import type { TargetOutcome } from './target-applier.js';
import { restartAnnotationKey, restartAnnotationValue, restartWorkloads, type WorkloadRef } from './workload-restarter.js';

export type Outcome = TargetOutcome & { permanentReason?: string; error?: unknown };

export interface RolloutInput {
  pushUid: string;
  spec: ResolvedSpec;
  waves: ResolvedTarget[][];
  mode: 'apply' | 'inspect';
  /** Targets written concurrently within a wave. */
  maxParallel: number;
  /** Brings one target to the spec (or, in inspect mode, only reads it). Never throws: failures come back as outcomes. */
  apply(target: ResolvedTarget, mode: 'apply' | 'inspect'): Promise<Outcome>;
  workloads: WorkloadClient;
  previous: RolloutStatus | undefined;
  log: Logger;
  metrics: Metrics;
  now: () => Date;
}

export interface RolloutResult {
  /** One outcome per target, in wave order; targets of waves not reached are Pending. */
  outcomes: Outcome[];
  rollout: RolloutStatus;
  /** Come back then (waiting for workloads, or a pause). */
  requeueAfterMs?: number;
  /** A transient error that stopped the wave: the reconcile backs off and retries. */
  transient?: unknown;
  /** Why the rollout halted, as a condition reason (Conflict, Forbidden, ProgressDeadlineExceeded, ...). */
  haltReason?: string;
}

/** How often a wave waiting for its workloads is looked at again. */
const HEALTH_POLL_MS = 2_000;

/**
 * Runs the waves in order, as far as they can go in one reconcile. Its state
 * is recomputed every time from the targets and workloads themselves (a wave
 * whose targets carry the desired digest and whose workloads rolled out is
 * done), so a restart, a lost status or a new leader resumes exactly where the
 * rollout stood and never re-applies a finished wave. Status only remembers
 * when the last wave completed, to time the pause.
 */
export async function runRollout(input: RolloutInput): Promise<RolloutResult> {
  const { spec, waves, mode } = input;
  const strategy = spec.strategy;
  const outcomes = new Map<string, Outcome>();
  const total = waves.length;
  type Extra = Partial<RolloutStatus> & { requeueAfterMs?: number; transient?: unknown; haltReason?: string };
  const finish = (phase: RolloutPhase, currentWave: number, extra: Extra = {}): RolloutResult => {
    const { requeueAfterMs, transient, haltReason, ...status } = extra;
    const ordered = waves.flat().map(
      (target) => outcomes.get(targetId(target)) ?? { target, state: 'Pending' as const, message: `waiting for wave ${waveOf(waves, target)} of ${total}` },
    );
    const applied = ordered.filter((o) => o.state === 'Applied').length;
    const rollout: RolloutStatus = {
      currentWave,
      totalWaves: total,
      phase,
      progress: `${applied}/${ordered.length} targets, wave ${currentWave}/${total}`,
      ...status,
    };
    return {
      outcomes: ordered,
      rollout,
      ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
      ...(transient !== undefined ? { transient } : {}),
      ...(haltReason !== undefined ? { haltReason } : {}),
    };
  };

  if (mode === 'inspect') {
    // Suspended: read everything, write nothing, report where the rollout stands.
    let current = 0;
    for (const [i, wave] of waves.entries()) {
      const results = await mapLimit(wave, input.maxParallel, (t) => input.apply(t, 'inspect'));
      for (const r of results) outcomes.set(targetId(r.target), r);
      if (current === 0 && results.some((r) => r.state !== 'Applied')) current = i + 1;
    }
    return finish('Suspended', current || total, pick(input.previous));
  }

  let lastWaveCompletedAt = input.previous?.lastWaveCompletedAt;
  for (const [i, wave] of waves.entries()) {
    const waveNumber = i + 1;
    const results = await mapLimit(wave, input.maxParallel, (t) => input.apply(t, 'apply'));
    for (const r of results) outcomes.set(targetId(r.target), r);

    const transient = results.find((r) => r.error !== undefined && classifyError(r.error) !== 'permanent');
    if (transient) return finish('Progressing', waveNumber, { transient: transient.error, ...since(lastWaveCompletedAt) });

    const failures = results.filter((r) => r.state === 'Failed' || r.state === 'Conflict');
    if (failures.length > 0 && strategy.failurePolicy === 'Halt') {
      const first = failures[0]!;
      return finish('Halted', waveNumber, {
        failed: `${first.target.kind} ${first.target.namespace}/${first.target.name}`,
        message: first.message ?? 'target failed',
        haltReason: first.state === 'Conflict' ? 'Conflict' : (first.permanentReason ?? 'ApplyFailed'),
        ...since(lastWaveCompletedAt),
      });
    }

    if (spec.restart.length > 0) {
      let pending: WorkloadRef[];
      try {
        pending = await rollWorkloads(input, results);
      } catch (err) {
        // Reading or patching a workload failed: transient errors retry with
        // backoff; a permanent one (403, 422, ...) fails the wave.
        if (classifyError(err) !== 'permanent') return finish('Progressing', waveNumber, { transient: err, ...since(lastWaveCompletedAt) });
        const message = `rolling workloads failed: ${describeError(err)}`;
        if (strategy.failurePolicy === 'Halt') {
          return finish('Halted', waveNumber, { failed: `wave ${waveNumber} workloads`, message, haltReason: reasonFor(err), ...since(lastWaveCompletedAt) });
        }
        input.log.warn({ wave: waveNumber, error: describeError(err) }, 'continuing past a wave whose workloads failed (failurePolicy Continue)');
        pending = [];
      }
      if (pending.length > 0) {
        const writtenAt = Math.max(...results.map((r) => Date.parse(lastWriteTime(r.live) ?? '') || 0));
        const elapsed = input.now().getTime() - writtenAt;
        const late = pending.map(describeWorkload).join(', ');
        if (elapsed <= strategy.progressDeadlineMs) {
          return finish('Waiting', waveNumber, {
            message: `waiting for ${late} to roll out`,
            requeueAfterMs: Math.min(HEALTH_POLL_MS, Math.max(100, strategy.progressDeadlineMs - elapsed)),
            ...since(lastWaveCompletedAt),
          });
        }
        if (strategy.failurePolicy === 'Halt') {
          return finish('Halted', waveNumber, {
            failed: describeWorkload(pending[0]!),
            message: `${late} did not roll out within ${strategy.progressDeadlineMs / 1000}s`,
            haltReason: 'ProgressDeadlineExceeded',
            ...since(lastWaveCompletedAt),
          });
        }
      }
    }

    // Wave done. Before the next one: the pause, unless the next wave has already begun.
    const next = waves[i + 1];
    if (next && strategy.pauseMs > 0) {
      const remembered = input.previous?.currentWave === waveNumber + 1 ? input.previous.lastWaveCompletedAt : undefined;
      const completedAt = remembered ?? input.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
      lastWaveCompletedAt = completedAt;
      const wait = Date.parse(completedAt) + strategy.pauseMs - input.now().getTime();
      if (wait > 0) {
        const peek = await mapLimit(next, input.maxParallel, (t) => input.apply(t, 'inspect'));
        const begun = peek.some((r) => r.state === 'Applied');
        if (!begun) {
          return finish('Paused', waveNumber + 1, {
            lastWaveCompletedAt: completedAt,
            message: `pausing ${Math.ceil(wait / 1000)}s before wave ${waveNumber + 1}`,
            requeueAfterMs: wait,
          });
        }
      }
    }
  }
  return finish('Complete', total, since(lastWaveCompletedAt));
}

/** Rolls the workloads in each namespace of the wave whose targets are all applied; returns those not rolled out yet. */
async function rollWorkloads(input: RolloutInput, results: Outcome[]): Promise<WorkloadRef[]> {
  const byNamespace = new Map<string, Outcome[]>();
  for (const r of results) byNamespace.set(r.target.namespace, [...(byNamespace.get(r.target.namespace) ?? []), r]);
  const key = restartAnnotationKey(input.pushUid);
  const pending: WorkloadRef[] = [];
  for (const [namespace, inNamespace] of byNamespace) {
    if (!inNamespace.every((r) => r.state === 'Applied' && r.operationKey)) continue;
    // The newest operation that changed content here names the restart.
    const newest = inNamespace.map((r) => r.operationKey!).sort((a, b) => (generationOfKey(b) ?? 0) - (generationOfKey(a) ?? 0))[0]!;
    const result = await restartWorkloads(input.workloads, namespace, input.spec.restart, key, restartAnnotationValue(newest, input.spec.digest), input.log, input.metrics);
    pending.push(...result.pending);
  }
  return pending;
}

function waveOf(waves: ResolvedTarget[][], target: ResolvedTarget): number {
  const id = targetId(target);
  return waves.findIndex((wave) => wave.some((t) => targetId(t) === id)) + 1;
}

function describeWorkload(ref: WorkloadRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

function since(lastWaveCompletedAt: string | undefined): Partial<RolloutStatus> {
  return lastWaveCompletedAt ? { lastWaveCompletedAt } : {};
}

function pick(previous: RolloutStatus | undefined): Partial<RolloutStatus> {
  return since(previous?.lastWaveCompletedAt);
}

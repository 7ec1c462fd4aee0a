import type { Logger } from 'pino';
import type { RolloutPhase, RolloutStatus } from '../api/types.js';
import type { OperatorError } from '../core/errors.js';
import { generationOfKey } from '../core/operation-key.js';
import { targetId, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { nextStep, rolloutReport, suspendedWave, type RolloutContext, type WaveFacts } from '../core/rollout-plan.js';
import type { TargetOutcome } from '../core/target-outcome.js';
import { workloadLabel, type Workload, type WorkloadRef } from '../core/workload-health.js';
import { consumedTargets, consumerDigestKey, consumerRestartValue } from '../core/consumers.js';
import { SourceValuesNotRead } from '../core/unread-source-values.js';
import { toApiError } from '../kube/api-errors.js';
import type { WorkloadClient } from '../kube/workload-client.js';
import { mapLimit } from '../util/map-limit.js';
import type { ConfigPushMetrics } from './metrics.js';
import { restartAnnotationKey, restartAnnotationValue, restartConsumers, restartWorkloads } from './workload-restarter.js';

export interface RolloutInput {
  pushUid: string;
  spec: ResolvedSpec;
  waves: ResolvedTarget[][];
  mode: 'apply' | 'inspect';
  /** Targets written concurrently within a wave. */
  maxParallel: number;
  /** Brings one target to the spec (or, in inspect mode, only reads it). Never throws: failures come back as outcomes. */
  apply(target: ResolvedTarget, mode: 'apply' | 'inspect'): Promise<TargetOutcome>;
  workloads: WorkloadClient;
  previous: RolloutStatus | undefined;
  /** A rollback: no pauses, and never stop at a failure (rollout-plan.ts, RolloutContext.fastTrack). */
  fastTrack?: boolean;
  /** What the last status vouches for (core/rollout-plan.ts, completedVersions): waves still at those versions do not read their workloads. */
  completed?: ReadonlyMap<string, string>;
  log: Logger;
  metrics: ConfigPushMetrics;
  now: () => Date;
}

export interface RolloutResult {
  /** One outcome per target, in wave order; targets of waves not reached are Pending. */
  outcomes: TargetOutcome[];
  rollout: RolloutStatus;
  /** Come back then (waiting for workloads, or a pause). */
  requeueAfterMs?: number;
  /** A transient error that stopped the wave: the reconcile backs off and retries. */
  transient?: OperatorError;
  /** Why the rollout halted, as a condition reason (Conflict, Forbidden, ProgressDeadlineExceeded, ...). */
  haltReason?: string;
}

/**
 * Runs the waves in order, as far as they can go in one reconcile: applies a
 * wave's targets, then asks the step planner (core/rollout-plan.ts) what to do
 * and does the I/O it asks for (roll the workloads, peek at the next wave)
 * until it says to go on or to stop. Its state is recomputed every time from
 * the targets and workloads themselves (a wave whose targets carry the desired
 * digest and whose workloads rolled out is done), so a restart, a lost status
 * or a new leader resumes exactly where the rollout stood and never re-applies
 * a finished wave. Status only remembers when the last wave completed, to
 * time the pause.
 */
export async function runRollout(input: RolloutInput): Promise<RolloutResult> {
  const { waves } = input;
  const found = new Map<string, TargetOutcome>();
  const applyWave = async (wave: ResolvedTarget[], mode: 'apply' | 'inspect') => {
    const outcomes = await mapLimit(wave, input.maxParallel, (t) => input.apply(t, mode));
    for (const o of outcomes) found.set(targetId(o.target), o);
    return outcomes;
  };
  const finish = (phase: RolloutPhase, currentWave: number, extra: Parameters<typeof rolloutReport>[5] = {}) =>
    rolloutReport(waves, found, targetId, phase, currentWave, extra);

  if (input.mode === 'inspect') {
    // Suspended: read everything, write nothing, report where the rollout stands.
    const perWave: TargetOutcome[][] = [];
    for (const wave of waves) perWave.push(await applyWave(wave, 'inspect'));
    return finish('Suspended', suspendedWave(perWave), since(input.previous?.lastWaveCompletedAt));
  }

  let lastWaveCompletedAt = input.previous?.lastWaveCompletedAt;
  for (const [i, wave] of waves.entries()) {
    const facts: WaveFacts = { wave: i + 1, outcomes: await applyWave(wave, 'apply') };
    for (;;) {
      const step = nextStep(facts, context(input));
      if (step.kind === 'roll-workloads') {
        facts.workloads = await rollWorkloads(input, facts.outcomes);
        continue;
      }
      if (step.kind === 'peek-next-wave') {
        const peek = await applyWave(waves[i + 1] ?? [], 'inspect');
        facts.nextWaveBegun = peek.some((o) => o.state === 'Applied');
        continue;
      }
      if (step.kind === 'next-wave') {
        lastWaveCompletedAt = step.completedAt ?? lastWaveCompletedAt;
        break;
      }
      switch (step.kind) {
        case 'retry':
          return { ...finish('Progressing', facts.wave, since(lastWaveCompletedAt)), transient: step.error };
        case 'halt':
          return {
            ...finish('Halted', facts.wave, { failed: step.failed, message: step.message, ...since(lastWaveCompletedAt) }),
            haltReason: step.reason,
          };
        case 'wait':
          return { ...finish('Waiting', facts.wave, { message: step.message, ...since(lastWaveCompletedAt) }), requeueAfterMs: step.requeueAfterMs };
        case 'pause':
          return {
            ...finish('Paused', facts.wave + 1, { lastWaveCompletedAt: step.completedAt, message: step.message }),
            requeueAfterMs: step.requeueAfterMs,
          };
      }
    }
  }
  return finish('Complete', waves.length, since(lastWaveCompletedAt));
}

function context(input: RolloutInput): RolloutContext {
  return {
    totalWaves: input.waves.length,
    strategy: input.spec.strategy,
    restarts: input.spec.restart.length > 0 || input.spec.restartConsumers === true,
    previous: input.previous,
    now: input.now().getTime(),
    ...(input.fastTrack ? { fastTrack: true } : {}),
    ...(input.completed ? { completed: input.completed } : {}),
  };
}

/**
 * Rolls the workloads in each namespace of the wave whose targets are all
 * applied. Returns those not rolled out yet, or the error that stopped it.
 */
async function rollWorkloads(input: RolloutInput, outcomes: TargetOutcome[]): Promise<NonNullable<WaveFacts['workloads']>> {
  const byNamespace = new Map<string, TargetOutcome[]>();
  for (const o of outcomes) byNamespace.set(o.target.namespace, [...(byNamespace.get(o.target.namespace) ?? []), o]);
  const key = restartAnnotationKey(input.pushUid);
  const pending: WorkloadRef[] = [];
  let restartedAt: string | undefined;
  const noteRestart = (at: string | undefined) => {
    if (at !== undefined && (restartedAt === undefined || Date.parse(at) > Date.parse(restartedAt))) restartedAt = at;
  };
  try {
    for (const [namespace, inNamespace] of byNamespace) {
      if (!inNamespace.every((o) => o.state === 'Applied' && o.operationKey)) continue;
      // The newest operation that changed content here names the restart.
      const newest = inNamespace.map((o) => o.operationKey!).sort((a, b) => (generationOfKey(b) ?? 0) - (generationOfKey(a) ?? 0))[0]!;
      const value = restartAnnotationValue(newest, input.spec.digest);
      const result = await restartWorkloads(input.workloads, namespace, input.spec.restart, key, value, input.log, input.metrics);
      pending.push(...result.pending);
      noteRestart(result.restartedAt);
      if (input.spec.restartConsumers) {
        // The explicit list's workloads keep its value; every other workload that reads a target here gets the digest of what it reads.
        const skip = new Set(result.handled.map(workloadLabel));
        const consumers = await restartConsumers(input.workloads, namespace, consumerValue(input, inNamespace), key, skip, input.log, input.metrics);
        pending.push(...consumers.pending);
        noteRestart(consumers.restartedAt);
      }
    }
  } catch (err) {
    // Consumers mode needs the sources' values: the reconcile reads them and runs again (reconciler.ts).
    if (err instanceof SourceValuesNotRead) throw err;
    const error = toApiError(err);
    input.log.warn({ error: error.message, retry: error.retry }, 'rolling workloads failed');
    return { error };
  }
  return restartedAt !== undefined ? { pending, restartedAt } : { pending };
}

/** A workload's restart value in consumers mode (core/consumers.ts): undefined when it reads none of these targets. */
function consumerValue(input: RolloutInput, inNamespace: TargetOutcome[]): (workload: Workload) => string | undefined {
  const targets = inNamespace.map((o) => ({ kind: o.target.kind, name: o.target.name }));
  const hmacKey = consumerDigestKey(input.pushUid, input.spec.sourcesDigestKey);
  return (workload) => consumerRestartValue(consumedTargets(workload.spec?.template, targets), input.spec.content, hmacKey);
}

function since(lastWaveCompletedAt: string | undefined): { lastWaveCompletedAt?: string } {
  return lastWaveCompletedAt ? { lastWaveCompletedAt } : {};
}

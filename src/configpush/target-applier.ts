import type { Logger } from 'pino';
import { ANNOTATION } from '../api/constants.js';
import { lastWriteTime, renderTarget, type Ownership, type TargetObject } from '../core/desired-target.js';
import { PermanentError, TransientError } from '../core/errors.js';
import { targetId, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { targetLabel, type TargetOutcome } from '../core/target-outcome.js';
import { planTarget, type TargetPlan } from '../core/target-plan.js';
import { refuseTarget } from '../core/tenancy.js';
import { isAlreadyExists, isConflict, isNotFound, toApiError } from '../kube/api-errors.js';
import type { TargetClient } from '../kube/target-client.js';
import type { ConfigPushMetrics } from './metrics.js';

/** A target that kept changing under us: transient, the queue retries it with backoff. */
export class TargetContendedError extends TransientError {
  constructor(target: ResolvedTarget, attempts: number) {
    super('TargetContended', `${targetLabel(target)} changed ${attempts} times while being written`);
    this.name = 'TargetContendedError';
  }
}

/**
 * The push this reconcile read is older than what the target already
 * carries: transient, because the watch will deliver the newer push and its
 * new generation re-queues it without backoff.
 */
export class StalePushError extends TransientError {
  constructor(target: ResolvedTarget, generation: number, liveGeneration: number) {
    super('StalePush', `${targetLabel(target)} already carries generation ${liveGeneration}; this view of the push is generation ${generation}`);
    this.name = 'StalePushError';
  }
}

/** How many read-decide-write rounds one target gets before the reconcile backs off. */
const MAX_ROUNDS = 5;

export interface ApplyOptions {
  /** 'inspect' (suspended): decide and report, write nothing. */
  mode: 'apply' | 'inspect';
  /** The push's status already lists this target as written (a missing target is then a deletion, not news). */
  previouslyWritten: boolean;
  /**
   * Nothing the caller knows suggests the target exists (no managed object in
   * the watch cache, nothing to adopt): unless the status says it was written
   * or the mode is inspect, skip the first read and create at once. Create is
   * conditional by nature; if the object does exist after all, AlreadyExists
   * sends the loop back to reading and deciding, so this saves one GET per
   * new target and risks only a refused create.
   */
  assumeAbsent: boolean;
}

/** What applying one push's targets needs to know, for one reconcile. */
export interface ApplyContext {
  targets: TargetClient;
  spec: ResolvedSpec;
  ownership: Ownership;
  /** The push's own namespace (tenancy: where it may write without an opt-in). */
  pushNamespace: string;
  /** A namespace's annotations from the cache; undefined if unknown. */
  namespaceAnnotations(name: string): Record<string, string> | undefined;
  /** Target ids the push's last status shows as written (or already found drifted). */
  previouslyWritten: ReadonlySet<string>;
  /** Whether the watch caches hold this target as a managed object (of any push). */
  isTargetCached(target: ResolvedTarget): boolean;
  log: Logger;
  metrics: ConfigPushMetrics;
}

/**
 * The rollout's `apply`: one target to its outcome, never throwing. A target
 * the tenancy rules refuse is a permanent failure without a request; a failed
 * request becomes a Failed outcome that carries the error's retry decision.
 */
export function targetApplier(context: ApplyContext): (target: ResolvedTarget, mode: 'apply' | 'inspect') => Promise<TargetOutcome> {
  const { spec, log } = context;
  return async (target, mode) => {
    const refused = refuseTarget(context.pushNamespace, target, spec, context.namespaceAnnotations(target.namespace));
    if (refused) return { target, state: 'Failed', message: refused.message, error: new PermanentError(refused.reason, refused.message) };
    try {
      return await applyTarget(context.targets, target, spec, context.ownership, log, context.metrics, {
        mode,
        previouslyWritten: context.previouslyWritten.has(targetId(target)),
        assumeAbsent: !spec.adopt && !context.isTargetCached(target),
      });
    } catch (err) {
      const error = toApiError(err);
      log.warn({ target: targetLabel(target), retry: error.retry, error: error.message }, 'target not applied');
      return { target, state: 'Failed', message: `${targetLabel(target)}: ${error.message}`, error };
    }
  };
}

/**
 * Brings one target to the desired content with at most one successful
 * conditional write. The loop re-reads after AlreadyExists, 409 and 404 and
 * decides again from what it finds, which is how a concurrent edit or our own
 * earlier write (whose response was lost) is recognised instead of overwritten
 * or repeated.
 */
export async function applyTarget(
  store: TargetClient,
  target: ResolvedTarget,
  spec: ResolvedSpec,
  ownership: Ownership,
  log: Logger,
  metrics: ConfigPushMetrics,
  { mode, previouslyWritten, assumeAbsent }: ApplyOptions = { mode: 'apply', previouslyWritten: false, assumeAbsent: false },
): Promise<TargetOutcome> {
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const skipRead = round === 1 && assumeAbsent && mode === 'apply' && !previouslyWritten;
    const live = skipRead ? undefined : await store.read(target.kind, target.namespace, target.name);
    const plan = planTarget({
      kind: target.kind,
      live,
      ownerUid: ownership.ownerUid,
      generation: ownership.generation,
      content: spec.content,
      digest: spec.digest,
      adopt: spec.adopt,
      driftPolicy: spec.driftPolicy,
      previouslyWritten,
    });
    if (plan.action !== 'create' && plan.action !== 'update') return settled(target, plan, live, ownership, metrics);
    if (mode === 'inspect') {
      // Suspended: report how far the target is from the spec, write nothing.
      return { target, state: 'Suspended', message: 'reconciliation is suspended', ...found(live) };
    }
    const written = await write(store, target, plan, renderTarget(target.kind, target.name, target.namespace, spec.content, ownership, live), log, metrics);
    if (written) return written;
    log.debug({ target: `${target.kind}/${target.namespace}/${target.name}`, round }, 'write raced; re-reading');
  }
  throw new TargetContendedError(target, MAX_ROUNDS);
}

/** The outcome of a plan that writes nothing (or, for a stale push, the error that stops the reconcile). */
function settled(
  target: ResolvedTarget,
  plan: Exclude<TargetPlan, { action: 'create' | 'update' }>,
  live: TargetObject | undefined,
  ownership: Ownership,
  metrics: ConfigPushMetrics,
): TargetOutcome {
  switch (plan.action) {
    case 'none':
      metrics.targetsSkipped.inc();
      return applied(target, live);
    case 'stale':
      throw new StalePushError(target, ownership.generation, plan.liveGeneration);
    case 'conflict':
      return {
        target,
        state: 'Conflict',
        owner: plan.owner,
        message: `${targetLabel(target)} is owned by ${plan.owner}${plan.owner === 'unmanaged' ? ' (set spec.adopt to take it over)' : ''}`,
        ...found(live),
      };
    case 'report-drift':
      return {
        target,
        state: 'Drifted',
        message: `${targetLabel(target)} ${live ? 'differs from the desired content' : 'was deleted'} (driftPolicy Report)`,
        ...found(live),
      };
  }
}

/**
 * One conditional write. Undefined when someone (possibly our own earlier,
 * lost-response write) got there first: the caller re-reads and decides
 * again. A 404 on replace means the target was deleted since the read; a 404
 * on create (no such namespace) is permanent and is thrown.
 */
async function write(
  store: TargetClient,
  target: ResolvedTarget,
  plan: Extract<TargetPlan, { action: 'create' | 'update' }>,
  body: TargetObject,
  log: Logger,
  metrics: ConfigPushMetrics,
): Promise<TargetOutcome | undefined> {
  try {
    const written =
      plan.action === 'create' ? await store.create(target.kind, target.namespace, body) : await store.replace(target.kind, target.namespace, target.name, body);
    const reason = plan.action === 'create' ? 'create' : plan.reason;
    metrics.targetWrites.inc({ kind: target.kind, reason });
    log.info({ target: `${target.kind}/${target.namespace}/${target.name}`, write: reason, resourceVersion: written.metadata?.resourceVersion }, 'target written');
    return {
      ...applied(target, written),
      wrote: plan.action === 'create' ? 'created' : 'updated',
      driftCorrected: plan.action === 'update' && plan.reason === 'drift',
    };
  } catch (err) {
    if (isAlreadyExists(err) || isConflict(err) || (plan.action === 'update' && isNotFound(err))) {
      metrics.conflicts.inc({ kind: target.kind });
      return undefined;
    }
    throw err;
  }
}

function applied(target: ResolvedTarget, live: TargetObject | undefined): TargetOutcome {
  const outcome: TargetOutcome = { target, state: 'Applied' };
  const resourceVersion = live?.metadata?.resourceVersion;
  const key = live?.metadata?.annotations?.[ANNOTATION.operationKey];
  if (resourceVersion) outcome.resourceVersion = resourceVersion;
  if (key) outcome.operationKey = key;
  return Object.assign(outcome, found(live));
}

/** What an outcome keeps of the live target: when the operator last wrote it. */
function found(live: TargetObject | undefined): Pick<TargetOutcome, 'lastWrittenAt'> {
  const lastWrittenAt = lastWriteTime(live);
  return lastWrittenAt !== undefined ? { lastWrittenAt } : {};
}

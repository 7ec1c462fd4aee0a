import type { Logger } from 'pino';
import type { TargetState } from '../api/types.js';
import { ANNOTATION } from '../api/constants.js';
import { renderTarget, type Ownership, type TargetObject } from '../core/desired-target.js';
import { isAlreadyExists, isConflict, isNotFound } from '../core/errors.js';
import type { ResolvedSpec, ResolvedTarget } from '../core/resolve-spec.js';
import { planTarget } from '../core/target-plan.js';
import type { TargetClient } from '../kube/target-client.js';
import type { Metrics } from '../runtime/metrics.js';

/** What happened to one target in one reconcile. */
export interface TargetOutcome {
  target: ResolvedTarget;
  state: TargetState;
  /** The write made, if any. At most one per target per reconcile that succeeds. */
  wrote?: 'created' | 'updated';
  driftCorrected?: boolean;
  resourceVersion?: string;
  operationKey?: string;
  owner?: string;
  message?: string;
  /** The live object after this reconcile, for status rebuilding. */
  live?: TargetObject;
}

/** A target that kept changing under us: transient, the queue retries it with backoff. */
export class TargetContendedError extends Error {
  constructor(target: ResolvedTarget, attempts: number) {
    super(`${target.kind} ${target.namespace}/${target.name} changed ${attempts} times while being written`);
    this.name = 'TargetContendedError';
  }
}

/**
 * The push this reconcile read is older than what the target already
 * carries: transient, because the watch will deliver the newer push and its
 * new generation re-queues it without backoff.
 */
export class StalePushError extends Error {
  constructor(target: ResolvedTarget, generation: number, liveGeneration: number) {
    super(
      `${target.kind} ${target.namespace}/${target.name} already carries generation ${liveGeneration}; this view of the push is generation ${generation}`,
    );
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
  metrics: Metrics,
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
          message: `${target.kind} ${target.namespace}/${target.name} is owned by ${plan.owner}${
            plan.owner === 'unmanaged' ? ' (set spec.adopt to take it over)' : ''
          }`,
          ...(live ? { live } : {}),
        };
      case 'report-drift':
        return {
          target,
          state: 'Drifted',
          message: `${target.kind} ${target.namespace}/${target.name} ${live ? 'differs from the desired content' : 'was deleted'} (driftPolicy Report)`,
          ...(live ? { live } : {}),
        };
      case 'create':
      case 'update': {
        if (mode === 'inspect') {
          // Suspended: report how far the target is from the spec, write nothing.
          return { target, state: 'Suspended', message: 'reconciliation is suspended', ...(live ? { live } : {}) };
        }
        const body = renderTarget(target.kind, target.name, target.namespace, spec.content, ownership, live);
        try {
          const written =
            plan.action === 'create'
              ? await store.create(target.kind, target.namespace, body)
              : await store.replace(target.kind, target.namespace, target.name, body);
          const reason = plan.action === 'create' ? 'create' : plan.reason;
          metrics.targetWrites.inc({ kind: target.kind, reason });
          log.info(
            { target: `${target.kind}/${target.namespace}/${target.name}`, write: reason, resourceVersion: written.metadata?.resourceVersion },
            'target written',
          );
          return {
            ...applied(target, written),
            wrote: plan.action === 'create' ? 'created' : 'updated',
            driftCorrected: plan.action === 'update' && plan.reason === 'drift',
          };
        } catch (err) {
          if (isAlreadyExists(err) || isConflict(err) || (plan.action === 'update' && isNotFound(err))) {
            // Someone (possibly our own earlier, lost-response write) got
            // there first: re-read and decide again. A 404 on replace means
            // it was deleted since the read; a 404 on create (no such
            // namespace) is permanent and is thrown.
            metrics.conflicts.inc({ kind: target.kind });
            log.debug({ target: `${target.kind}/${target.namespace}/${target.name}`, round }, 'write raced; re-reading');
            continue;
          }
          throw err;
        }
      }
    }
  }
  throw new TargetContendedError(target, MAX_ROUNDS);
}

function applied(target: ResolvedTarget, live: TargetObject | undefined): TargetOutcome {
  const outcome: TargetOutcome = { target, state: 'Applied' };
  const resourceVersion = live?.metadata?.resourceVersion;
  const key = live?.metadata?.annotations?.[ANNOTATION.operationKey];
  if (resourceVersion) outcome.resourceVersion = resourceVersion;
  if (key) outcome.operationKey = key;
  if (live) outcome.live = live;
  return outcome;
}

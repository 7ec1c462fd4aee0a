import type { Logger } from 'pino';
import { ANNOTATION } from '../api/constants.js';
import { DEFAULT_CONTENTION_POLICY } from '../core/contention.js';
import { lastWriteTime, otherWriter, renderTarget, type Ownership, type TargetObject } from '../core/desired-target.js';
import { PermanentError, TransientError } from '../core/errors.js';
import { generationOfKey } from '../core/operation-key.js';
import { targetId, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { targetLabel, type TargetOutcome } from '../core/target-outcome.js';
import { WARNINGS_PER_REASON } from '../core/target-events.js';
import { planTargetOf, planVerified, type CachedTarget, type TargetPlan, type Verification } from '../core/target-plan.js';
import { refuseTarget } from '../core/tenancy.js';
import { SourceValuesNotRead } from '../core/unread-source-values.js';
import { isAlreadyExists, isConflict, isNotFound, toApiError } from '../kube/api-errors.js';
import type { TargetClient } from '../kube/target-client.js';
import type { ContentionTracker } from './contention-tracker.js';
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

/**
 * The target carries another key of this same generation, and the sources
 * have changed since this reconcile read them: another replica (or a later
 * run) already wrote a newer revision, and writing ours would put the older
 * content back before the newer is written again. Transient: the source
 * watch queues the push, whose next reconcile reads the new revision.
 */
export class SourcesChangedError extends TransientError {
  constructor(target: ResolvedTarget) {
    super('SourcesChanged', `${targetLabel(target)} carries a newer revision of its sources than this reconcile read; deciding again`);
    this.name = 'SourcesChangedError';
  }
}

/**
 * The target carries a rollback of this generation (failurePolicy Rollback):
 * the generation's own operation must not write it again. Transient, so the
 * rollout stops at once; the reconciler recognises it and carries on the
 * rollback instead (its status may have been lost, or not be cached yet).
 */
export class RolledBackError extends TransientError {
  constructor(
    target: ResolvedTarget,
    readonly digest: string | undefined,
  ) {
    super('RolledBack', `${targetLabel(target)} carries a rollback of this generation`);
    this.name = 'RolledBackError';
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
  /**
   * This process's verifications and the caches' view of targets. With it,
   * a target the cache shows at the resourceVersion this process verified it
   * at (for this push, content and client) is not read (planVerified), and
   * every read or write that verifies a target is recorded for next time.
   */
  verifier?: TargetVerifier;
  /** The identity reads and writes use: '' for the operator's own, else the push's ServiceAccount. */
  client?: string;
  /** Fights with another writer: whether a drift correction may be written now (contention-tracker.ts). */
  contention?: Pick<ContentionTracker, 'decide' | 'recordCorrection'>;
  /**
   * With spec.sources: re-reads the sources and answers whether they still
   * give this reconcile's revision, given the key the live target carries.
   * Asked before replacing content that another key of the same generation
   * wrote: that key may come from a newer source revision (SourcesChangedError).
   */
  confirmSources?: (liveKey: string) => Promise<boolean>;
}

/** This process's verifications of targets and what the watch caches show of them (wired in setup.ts). */
export interface TargetVerifier {
  /**
   * The verification held for the target, if any, and the cache's view of it,
   * if cached. Given what this reconcile wants, a verification may also come
   * from the cache itself (core/target-digest.ts, verificationFromCache).
   */
  lookup(target: ResolvedTarget, wanted?: { spec: ResolvedSpec; ownerUid: string; client: string; operationKey?: string }): { verification: Verification | undefined; cached: CachedTarget | undefined };
  /** A read, or the response to our own write, showed the target holding the desired content. */
  record(target: ResolvedTarget, verification: Verification): void;
  /** A read showed the target at `resourceVersion` (undefined: absent) without verifying it. */
  saw(target: ResolvedTarget, resourceVersion: string | undefined): void;
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
  /** Verifications that let an unchanged target go unread (see ApplyOptions.verifier). */
  verifier?: TargetVerifier;
  /** Fights with another writer (see ApplyOptions.contention). */
  contention?: ContentionTracker;
  /** See ApplyOptions.confirmSources. */
  confirmSources?: (liveKey: string) => Promise<boolean>;
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
  // Failures logged at warn in this reconcile. A fan-out whose 5,000 targets
  // all fail the same way (an impersonated account without rights there)
  // would log 5,000 warnings a reconcile; as with their Events
  // (core/target-events.ts), the first few are warnings, one line says the
  // rest go to debug, and the push's status lists every target's message.
  let warned = 0;
  const logFailure = (fields: object) => {
    warned += 1;
    if (warned <= WARNINGS_PER_REASON) log.warn(fields, 'target not applied');
    else log.debug(fields, 'target not applied');
    if (warned === WARNINGS_PER_REASON + 1) log.warn({ shown: WARNINGS_PER_REASON }, "more targets not applied: logged at debug level; the ConfigPush's status lists them");
  };
  return async (target, mode) => {
    const refused = refuseTarget(context.pushNamespace, target, spec, context.namespaceAnnotations(target.namespace));
    if (refused) return { target, state: 'Failed', message: refused.message, error: new PermanentError(refused.reason, refused.message) };
    try {
      return await applyTarget(context.targets, target, spec, context.ownership, log, context.metrics, {
        mode,
        previouslyWritten: context.previouslyWritten.has(targetId(target)),
        assumeAbsent: !spec.adopt && !context.isTargetCached(target),
        ...(context.verifier ? { verifier: context.verifier, client: spec.serviceAccountName ?? '' } : {}),
        ...(context.contention ? { contention: context.contention } : {}),
        ...(context.confirmSources ? { confirmSources: context.confirmSources } : {}),
      });
    } catch (err) {
      // Not this target's failure: the reconcile reads the sources and runs again (reconciler.ts).
      if (err instanceof SourceValuesNotRead) throw err;
      const error = toApiError(err);
      logFailure({ target: targetLabel(target), retry: error.retry, error: error.message });
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
  { mode, previouslyWritten, assumeAbsent, verifier, client = '', contention, confirmSources }: ApplyOptions = { mode: 'apply', previouslyWritten: false, assumeAbsent: false },
): Promise<TargetOutcome> {
  const verified = verifier && unchangedSinceVerified(verifier, target, spec, ownership, client);
  if (verified) {
    // The cache shows the target exactly as this process last saw it hold this content: a read would find the same.
    if (verified.plan.action === 'stale') throw new StalePushError(target, ownership.generation, verified.plan.liveGeneration);
    metrics.targetsSkipped.inc();
    return appliedOutcome(target, verified.verification);
  }
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const skipRead = round === 1 && assumeAbsent && mode === 'apply' && !previouslyWritten;
    const live = skipRead ? undefined : await store.read(target.kind, target.namespace, target.name);
    const plan = planTargetOf(target.kind, live, spec, ownership, previouslyWritten);
    if (verifier && !skipRead) note(verifier, target, plan.action === 'none' ? live : undefined, live, spec, ownership, client);
    if (plan.action === 'rolled-back' && mode === 'inspect') return { target, state: 'Suspended', message: 'reconciliation is suspended', ...found(live) };
    if (plan.action !== 'create' && plan.action !== 'update') return settled(target, plan, live, ownership, metrics);
    if (mode === 'inspect') {
      // Suspended: report how far the target is from the spec, write nothing.
      return { target, state: 'Suspended', message: 'reconciliation is suspended', ...found(live) };
    }
    const liveKey = live?.metadata?.annotations?.[ANNOTATION.operationKey];
    if (
      plan.action === 'update' &&
      plan.reason === 'new-content' &&
      confirmSources &&
      liveKey !== undefined &&
      liveKey !== ownership.operationKey &&
      generationOfKey(liveKey) === ownership.generation &&
      !(await confirmSources(liveKey))
    ) {
      throw new SourcesChangedError(target);
    }
    if (plan.action === 'update' && plan.reason === 'drift' && contention) {
      // Only drift corrections are held back in a fight: the push's own operations never are.
      const decision = contention.decide(targetId(target));
      if (!decision.allow) return contendedOutcome(target, live, decision.retryInMs, decision.corrections);
    }
    const written = await write(store, target, plan, renderTarget(target.kind, target.name, target.namespace, spec.content, ownership, live), log, metrics);
    if (written) {
      if (verifier) recordWrite(verifier, target, written.live, spec, ownership, client);
      if (contention && written.outcome.driftCorrected) contention.recordCorrection(targetId(target));
      return written.outcome;
    }
    log.debug({ target: `${target.kind}/${target.namespace}/${target.name}`, round }, 'write raced; re-reading');
  }
  throw new TargetContendedError(target, MAX_ROUNDS);
}

/** The verification the caches show still current for this push, content and client, and what it decides; undefined: read live. */
function unchangedSinceVerified(
  verifier: TargetVerifier,
  target: ResolvedTarget,
  spec: ResolvedSpec,
  ownership: Ownership,
  client: string,
): { verification: Verification; plan: NonNullable<ReturnType<typeof planVerified>> } | undefined {
  const { verification, cached } = verifier.lookup(target, { spec, ownerUid: ownership.ownerUid, client, operationKey: ownership.operationKey });
  const plan = planVerified({ verification, cached, ownerUid: ownership.ownerUid, generation: ownership.generation, digest: spec.digest, client });
  return plan && verification ? { verification, plan } : undefined;
}

/** After a read: a target the planner found done is verified at its version; anything else voids an older verification. */
function note(
  verifier: TargetVerifier,
  target: ResolvedTarget,
  done: TargetObject | undefined,
  live: TargetObject | undefined,
  spec: ResolvedSpec,
  ownership: Ownership,
  client: string,
): void {
  const verification = done && verificationOf(done, spec, ownership, client);
  if (verification) verifier.record(target, verification);
  else verifier.saw(target, live?.metadata?.resourceVersion);
}

/**
 * After our own successful write: its response is the target at the version
 * the write made. It verifies the target only if the planner, given that
 * response as a read, would write nothing (the same rule as for a read; the
 * apiserver may have normalised what we sent).
 */
function recordWrite(verifier: TargetVerifier, target: ResolvedTarget, written: TargetObject, spec: ResolvedSpec, ownership: Ownership, client: string): void {
  const plan = planTargetOf(target.kind, written, spec, ownership);
  note(verifier, target, plan.action === 'none' ? written : undefined, written, spec, ownership, client);
}

function verificationOf(live: TargetObject, spec: ResolvedSpec, ownership: Ownership, client: string): Verification | undefined {
  const resourceVersion = live.metadata?.resourceVersion;
  if (!resourceVersion) return undefined;
  return {
    resourceVersion,
    ownerUid: ownership.ownerUid,
    digest: spec.digest,
    client,
    operationKey: live.metadata?.annotations?.[ANNOTATION.operationKey],
    lastWrittenAt: lastWriteTime(live),
  };
}

/**
 * A drift correction held back because another writer keeps undoing it. The
 * message changes only with the count of corrections, so a held reconcile
 * does not rewrite the status.
 */
function contendedOutcome(target: ResolvedTarget, live: TargetObject | undefined, retryInMs: number, corrections: number): TargetOutcome {
  return {
    target,
    state: 'Contended',
    retryAfterMs: retryInMs,
    message: `${targetLabel(target)} keeps being changed by ${otherWriter(live)}: corrected ${corrections} times within ${
      DEFAULT_CONTENTION_POLICY.windowMs / 1000
    }s, so its corrections back off (driftPolicy Correct)`,
    ...found(live),
  };
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
    case 'rolled-back':
      throw new RolledBackError(target, plan.digest);
    case 'untouched':
      return { target, state: 'Pending', message: `${targetLabel(target)} does not exist: the failed operation changed nothing there, so the rollback leaves it` };
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
): Promise<{ outcome: TargetOutcome; live: TargetObject } | undefined> {
  try {
    const written =
      plan.action === 'create' ? await store.create(target.kind, target.namespace, body) : await store.replace(target.kind, target.namespace, target.name, body);
    const reason = plan.action === 'create' ? 'create' : plan.reason;
    metrics.targetWrites.inc({ kind: target.kind, reason });
    log.info({ target: `${target.kind}/${target.namespace}/${target.name}`, write: reason, resourceVersion: written.metadata?.resourceVersion }, 'target written');
    const outcome: TargetOutcome = {
      ...applied(target, written),
      wrote: plan.action === 'create' ? 'created' : 'updated',
      driftCorrected: plan.action === 'update' && plan.reason === 'drift',
    };
    return { outcome, live: written };
  } catch (err) {
    if (isAlreadyExists(err) || isConflict(err) || (plan.action === 'update' && isNotFound(err))) {
      metrics.conflicts.inc({ kind: target.kind });
      return undefined;
    }
    throw err;
  }
}

function applied(target: ResolvedTarget, live: TargetObject | undefined): TargetOutcome {
  return appliedOutcome(target, {
    resourceVersion: live?.metadata?.resourceVersion,
    operationKey: live?.metadata?.annotations?.[ANNOTATION.operationKey],
    lastWrittenAt: lastWriteTime(live),
  });
}

/** An Applied outcome from what the target showed: read now, or recorded when this process verified it. */
function appliedOutcome(target: ResolvedTarget, seen: Pick<Verification, 'operationKey' | 'lastWrittenAt'> & { resourceVersion: string | undefined }): TargetOutcome {
  const outcome: TargetOutcome = { target, state: 'Applied' };
  if (seen.resourceVersion) outcome.resourceVersion = seen.resourceVersion;
  if (seen.operationKey) outcome.operationKey = seen.operationKey;
  if (seen.lastWrittenAt !== undefined) outcome.lastWrittenAt = seen.lastWrittenAt;
  return outcome;
}

/** What an outcome keeps of the live target: when the operator last wrote it. */
function found(live: TargetObject | undefined): Pick<TargetOutcome, 'lastWrittenAt'> {
  const lastWrittenAt = lastWriteTime(live);
  return lastWrittenAt !== undefined ? { lastWrittenAt } : {};
}

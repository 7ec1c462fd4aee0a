import jsonpatch from 'fast-json-patch';
import type { Logger } from 'pino';
import { API_VERSION, FINALIZER, KIND } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus, TargetStatus } from '../api/types.js';
import { buildStatus, refusedStatus, type TargetResult } from '../core/build-status.js';
import { classifyError, describeError, InvalidSpecError, reasonFor } from '../core/errors.js';
import { mapLimit } from '../util/map-limit.js';
import { operationKey } from '../core/operation-key.js';
import { resolveSpec, targetId, type NamespaceInfo, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { planWaves } from '../core/wave-plan.js';
import type { WorkloadClient } from '../kube/workload-client.js';
import { runRollout, type Outcome } from './rollout.js';
import { refusePush, refuseTarget, type TenancyPolicy } from '../core/tenancy.js';
import type { ConfigPushClient } from '../kube/configpush-client.js';
import type { EventRecorder, InvolvedObject } from '../kube/event-recorder.js';
import type { TargetClient } from '../kube/target-client.js';
import type { Metrics } from '../runtime/metrics.js';
import { finalizeTarget } from './deletion-policy.js';
import { applyTarget, type TargetOutcome } from './target-applier.js';

export interface ReconcilerDeps {
  /** Reads a ConfigPush from the informer cache. */
  getPush(namespace: string, name: string): ConfigPush | undefined;
  pushes: ConfigPushClient;
  /** Target reads and writes, as the operator or impersonating the push's ServiceAccount. */
  targetClientFor(namespace: string, serviceAccountName: string | undefined): TargetClient;
  /** A namespace's annotations from the cache; undefined if unknown. */
  namespaceAnnotations(name: string): Record<string, string> | undefined;
  /** Live (not terminating) namespaces, for selectors and waves. */
  namespaces(): NamespaceInfo[];
  /** Targets in the watch caches that carry this push's uid. */
  ownedTargets(uid: string): ResolvedTarget[];
  /** Whether the watch caches hold this target as a managed object (of any push). */
  isTargetCached(target: ResolvedTarget): boolean;
  /** Workload reads and patches, as the operator or the push's ServiceAccount. */
  workloadsFor(namespace: string, serviceAccountName: string | undefined): WorkloadClient;
  tenancy: TenancyPolicy;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Targets of one push written concurrently. */
  targetConcurrency: number;
  now?: () => Date;
}

export interface ReconcileResult {
  /** Come back after this long (a rollout waiting for workloads or pausing between waves). */
  requeueAfterMs?: number;
}

/** A transient failure: the reconcile already recorded it in status; the queue retries with backoff. */
export class RetryableReconcileError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'RetryableReconcileError';
  }
}

/**
 * Level-based reconcile of one ConfigPush: it reads the push and every target,
 * decides from what it finds (never from the event that queued it), writes
 * only what differs, and writes status only when status changed. Running it
 * any number of times against the same state writes nothing after the first.
 */
export class Reconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(namespace: string, name: string, attempt: number): Promise<ReconcileResult> {
    let push = this.deps.getPush(namespace, name);
    if (!push) return {}; // Deleted and finalized; nothing left to do.
    const generation = push.metadata.generation;
    const key = operationKey(push.metadata.uid, generation);
    const log = this.deps.log.child({ configpush: name, namespace, key, generation, attempt });

    if (push.metadata.deletionTimestamp) {
      await this.finalize(push, log);
      return {};
    }
    if (!push.metadata.finalizers?.includes(FINALIZER)) {
      push = await this.deps.pushes.setFinalizers(push, [...(push.metadata.finalizers ?? []), FINALIZER]);
      log.debug('finalizer added');
    }

    const namespaces = this.deps.namespaces();
    let spec: ResolvedSpec;
    try {
      spec = resolveSpec(push, namespaces);
    } catch (err) {
      if (!(err instanceof InvalidSpecError)) throw err;
      await this.refuse(push, 'InvalidSpec', err.message, log);
      return {};
    }
    const refusal = refusePush(spec, this.deps.tenancy);
    if (refusal) {
      await this.refuse(push, refusal.reason, refusal.message, log);
      return {};
    }
    const store = this.deps.targetClientFor(namespace, spec.serviceAccountName);

    const mode = spec.suspend ? 'inspect' : 'apply';
    const ownership = { ownerUid: push.metadata.uid, owner: `${namespace}/${name}`, operationKey: key, generation, contentDigest: spec.digest };
    // Targets the last status shows as written (or already found drifted).
    const written = new Set(
      (push.status?.targets ?? []).filter((t) => t.state === 'Applied' || t.state === 'Drifted').map((t) => targetId(t)),
    );
    const applyOne = async (target: ResolvedTarget, targetMode: 'apply' | 'inspect'): Promise<Outcome> => {
      const refused = refuseTarget(namespace, target, spec, this.deps.namespaceAnnotations(target.namespace));
      if (refused) return { target, state: 'Failed', message: refused.message, permanentReason: refused.reason };
      try {
        return await applyTarget(store, target, spec, ownership, log, this.deps.metrics, {
          mode: targetMode,
          previouslyWritten: written.has(targetId(target)),
          assumeAbsent: !spec.adopt && !this.deps.isTargetCached(target),
        });
      } catch (err) {
        const errorClass = classifyError(err);
        log.warn({ target: targetLabel(target), errorClass, error: describeError(err) }, 'target not applied');
        return failedOutcome(target, err, errorClass === 'permanent');
      }
    };
    const result = await runRollout({
      pushUid: push.metadata.uid,
      spec,
      waves: planWaves(spec.targets, spec.strategy, namespaces),
      mode,
      maxParallel: spec.strategy.maxParallel ?? this.deps.targetConcurrency,
      apply: applyOne,
      workloads: this.deps.workloadsFor(namespace, spec.serviceAccountName),
      previous: push.status?.rollout,
      log,
      metrics: this.deps.metrics,
      now: this.now,
    });
    const { outcomes, transient } = result;
    if (mode === 'apply' && transient === undefined) await this.pruneOrphans(push, spec, store, log);

    const status = buildStatus({
      push,
      operationKey: key,
      digest: spec.digest,
      results: outcomes.map(toResult),
      suspended: spec.suspend,
      rollout: result.rollout,
      ...(result.haltReason !== undefined ? { haltReason: result.haltReason } : {}),
      ...(transient !== undefined ? { transientError: describeError(transient) } : {}),
      now: this.timestamp(),
    });
    await this.writeStatusIfChanged(push, status, log);
    this.emitEvents(push, key, outcomes);

    if (transient !== undefined) throw new RetryableReconcileError(describeError(transient), transient);
    return result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : {};
  }

  /**
   * Targets this push still owns that its spec no longer names (removed from
   * the spec, or in a namespace that stopped matching a selector) get the
   * deletionPolicy, exactly as on deletion.
   */
  private async pruneOrphans(push: ConfigPush, spec: ResolvedSpec, store: TargetClient, log: Logger): Promise<void> {
    const wanted = new Set(spec.targets.map(targetId));
    const orphans = this.deps.ownedTargets(push.metadata.uid).filter((t) => !wanted.has(targetId(t)));
    if (orphans.length === 0) return;
    const results = await mapLimit(orphans, this.deps.targetConcurrency, (t) => finalizeTarget(store, push, t, spec.deletionPolicy, log));
    const touched = results.filter((r) => r !== 'untouched').length;
    if (touched > 0) {
      const verb = spec.deletionPolicy === 'Delete' ? 'deleted' : 'released';
      this.deps.events.emit(involved(push), 'Normal', spec.deletionPolicy === 'Delete' ? 'Deleted' : 'Released', `${verb} ${touched} target${touched === 1 ? '' : 's'} no longer in the spec`);
    }
  }

  private async finalize(push: ConfigPush, log: Logger): Promise<void> {
    if (!push.metadata.finalizers?.includes(FINALIZER)) return;
    const policy = push.spec?.deletionPolicy === 'Delete' ? 'Delete' : 'Retain';
    const store = this.deps.targetClientFor(push.metadata.namespace, push.spec?.serviceAccountName);
    const results = await mapLimit(this.targetsToFinalize(push), this.deps.targetConcurrency, (target) =>
      finalizeTarget(store, push, target, policy, log),
    );
    const touched = results.filter((r) => r !== 'untouched').length;
    await this.deps.pushes.setFinalizers(push, (push.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    log.info({ deletionPolicy: policy, targets: touched }, 'finalized');
    if (touched > 0) {
      this.deps.events.emit(
        involved(push),
        'Normal',
        policy === 'Delete' ? 'Deleted' : 'Released',
        `${policy === 'Delete' ? 'deleted' : 'released'} ${touched} target${touched === 1 ? '' : 's'} (deletionPolicy ${policy})`,
      );
    }
  }

  /** The targets to clean up: those the caches show carrying this push's uid, plus the spec's (or, if it does not resolve, the last status's). */
  private targetsToFinalize(push: ConfigPush): ResolvedTarget[] {
    let named: ResolvedTarget[];
    try {
      named = resolveSpec(push, this.deps.namespaces()).targets;
    } catch {
      named = (push.status?.targets ?? []).map(({ kind, name, namespace }) => ({ kind, name, namespace }));
    }
    const all = new Map([...named, ...this.deps.ownedTargets(push.metadata.uid)].map((t) => [targetId(t), t]));
    return [...all.values()];
  }

  /** Reports a push the operator will not act on; warns once per change, not on every resync. */
  private async refuse(push: ConfigPush, reason: string, message: string, log: Logger): Promise<void> {
    const changed = await this.writeStatusIfChanged(push, refusedStatus(push, reason, message, this.timestamp()), log);
    log[changed ? 'warn' : 'debug']({ reason, error: message }, 'not acting on this ConfigPush until it changes');
    if (changed) this.deps.events.emit(involved(push), 'Warning', 'Failed', message);
  }

  /** Writes status only when it differs from what the push already has; returns whether it wrote. */
  private async writeStatusIfChanged(push: ConfigPush, status: ConfigPushStatus, log: Logger): Promise<boolean> {
    const changes = jsonpatch.compare(push.status ?? {}, status);
    if (changes.length === 0) return false;
    await this.deps.pushes.writeStatus(push, status);
    this.deps.metrics.statusWrites.inc();
    log.debug({ changedPaths: changes.map((c) => c.path).slice(0, 10) }, 'status written');
    return true;
  }

  private emitEvents(push: ConfigPush, key: string, outcomes: TargetOutcome[]): void {
    const object = involved(push);
    const written = outcomes.filter((o) => o.wrote && !o.driftCorrected);
    if (written.length > 0) {
      const names = written.map((o) => targetLabel(o.target)).join(', ');
      this.deps.events.emit(object, 'Normal', 'Applied', `operation ${key} applied to ${names}`);
    }
    const corrected = outcomes.filter((o) => o.driftCorrected);
    if (corrected.length > 0) {
      this.deps.metrics.driftCorrections.inc(corrected.length);
      const names = corrected.map((o) => targetLabel(o.target)).join(', ');
      this.deps.events.emit(object, 'Normal', 'DriftCorrected', `restored desired content of ${names}`);
    }
    for (const outcome of outcomes) {
      if (outcome.state === 'Conflict') this.deps.events.emit(object, 'Warning', 'Conflict', outcome.message ?? 'conflict');
      if (outcome.state === 'Failed') this.deps.events.emit(object, 'Warning', 'Failed', outcome.message ?? 'failed');
    }
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function failedOutcome(target: ResolvedTarget, err: unknown, permanent: boolean): Outcome {
  const outcome: Outcome = {
    target,
    state: 'Failed',
    message: `${targetLabel(target)}: ${describeError(err)}`,
    error: err,
  };
  if (permanent) outcome.permanentReason = reasonFor(err);
  return outcome;
}

function toResult(outcome: Outcome): TargetResult {
  const { target } = outcome;
  const status: TargetStatus = { kind: target.kind, name: target.name, namespace: target.namespace, state: outcome.state };
  if (outcome.resourceVersion) status.resourceVersion = outcome.resourceVersion;
  if (outcome.operationKey) status.operationKey = outcome.operationKey;
  if (outcome.owner) status.owner = outcome.owner;
  if (outcome.message && outcome.state !== 'Applied') status.message = outcome.message;
  const result: TargetResult = { status };
  if (outcome.state === 'Applied' && outcome.operationKey) result.appliedKey = outcome.operationKey;
  if (outcome.live) result.live = outcome.live;
  if (outcome.driftCorrected) result.driftCorrected = true;
  if (outcome.permanentReason) result.permanentReason = outcome.permanentReason;
  return result;
}


function involved(push: ConfigPush): InvolvedObject {
  return { apiVersion: API_VERSION, kind: KIND, name: push.metadata.name, namespace: push.metadata.namespace, uid: push.metadata.uid };
}

function targetLabel(target: ResolvedTarget): string {
  return `${target.kind} ${target.namespace}/${target.name}`;
}

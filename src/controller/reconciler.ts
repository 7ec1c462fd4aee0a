import jsonpatch from 'fast-json-patch';
import type { Logger } from 'pino';
import { API_VERSION, FINALIZER, KIND } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus, TargetStatus } from '../api/types.js';
import { buildStatus, refusedStatus, type TargetResult } from '../core/build-status.js';
import { classifyError, describeError, InvalidSpecError, reasonFor } from '../core/errors.js';
import { mapLimit } from '../core/map-limit.js';
import { operationKey } from '../core/operation-key.js';
import { resolveSpec, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { refusePush, refuseTarget, type TenancyPolicy } from '../core/tenancy.js';
import type { ConfigPushClient } from '../kube/configpush-client.js';
import type { EventRecorder, InvolvedObject } from '../kube/event-recorder.js';
import type { TargetStore } from '../kube/target-store.js';
import type { Metrics } from '../metrics.js';
import { finalizeTarget } from './finalizer.js';
import { applyTarget, type TargetOutcome } from './target-applier.js';

export interface ReconcilerDeps {
  /** Reads a ConfigPush from the informer cache. */
  getPush(namespace: string, name: string): ConfigPush | undefined;
  pushes: ConfigPushClient;
  /** Target reads and writes, as the operator or impersonating the push's ServiceAccount. */
  targetStoreFor(namespace: string, serviceAccountName: string | undefined): TargetStore;
  /** A namespace's annotations from the cache; undefined if unknown. */
  namespaceAnnotations(name: string): Record<string, string> | undefined;
  tenancy: TenancyPolicy;
  events: EventRecorder;
  metrics: Metrics;
  log: Logger;
  /** Targets of one push written concurrently. */
  targetConcurrency: number;
  now?: () => Date;
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

  async reconcile(namespace: string, name: string, attempt: number): Promise<void> {
    let push = this.deps.getPush(namespace, name);
    if (!push) return; // Deleted and finalized; nothing left to do.
    const generation = push.metadata.generation;
    const key = operationKey(push.metadata.uid, generation);
    const log = this.deps.log.child({ configpush: name, namespace, key, generation, attempt });

    if (push.metadata.deletionTimestamp) {
      await this.finalize(push, log);
      return;
    }
    if (!push.metadata.finalizers?.includes(FINALIZER)) {
      push = await this.deps.pushes.setFinalizers(push, [...(push.metadata.finalizers ?? []), FINALIZER]);
      log.debug('finalizer added');
    }

    let spec: ResolvedSpec;
    try {
      spec = resolveSpec(push);
    } catch (err) {
      if (!(err instanceof InvalidSpecError)) throw err;
      await this.refuse(push, 'InvalidSpec', err.message, log);
      return;
    }
    const refusal = refusePush(spec, this.deps.tenancy);
    if (refusal) {
      await this.refuse(push, refusal.reason, refusal.message, log);
      return;
    }
    const store = this.deps.targetStoreFor(namespace, spec.serviceAccountName);

    const mode = spec.suspend ? 'inspect' : 'apply';
    const ownership = { ownerUid: push.metadata.uid, owner: `${namespace}/${name}`, operationKey: key, contentDigest: spec.digest };
    let transient: unknown;
    const outcomes = await mapLimit(spec.targets, this.deps.targetConcurrency, async (target) => {
      const refused = refuseTarget(namespace, target, spec, this.deps.namespaceAnnotations(target.namespace));
      if (refused) return { target, state: 'Failed' as const, message: refused.message, permanentReason: refused.reason };
      try {
        return await applyTarget(store, target, spec, ownership, log, this.deps.metrics, mode);
      } catch (err) {
        const errorClass = classifyError(err);
        if (errorClass !== 'permanent') transient ??= err;
        log.warn({ target: targetLabel(target), errorClass, error: describeError(err) }, 'target not applied');
        return failedOutcome(target, err, errorClass === 'permanent');
      }
    });

    const results = outcomes.map(toResult);
    const status = buildStatus({
      push,
      operationKey: key,
      digest: spec.digest,
      results,
      suspended: spec.suspend,
      ...(transient !== undefined ? { transientError: describeError(transient) } : {}),
      now: this.timestamp(),
    });
    await this.writeStatusIfChanged(push, status, log);
    await this.emitEvents(push, key, outcomes);

    if (transient !== undefined) throw new RetryableReconcileError(describeError(transient), transient);
  }

  private async finalize(push: ConfigPush, log: Logger): Promise<void> {
    if (!push.metadata.finalizers?.includes(FINALIZER)) return;
    const policy = push.spec?.deletionPolicy === 'Delete' ? 'Delete' : 'Retain';
    const store = this.deps.targetStoreFor(push.metadata.namespace, push.spec?.serviceAccountName);
    const results = await mapLimit(targetsToFinalize(push), this.deps.targetConcurrency, (target) =>
      finalizeTarget(store, push, target, policy, log),
    );
    const touched = results.filter((r) => r !== 'untouched').length;
    await this.deps.pushes.setFinalizers(push, (push.metadata.finalizers ?? []).filter((f) => f !== FINALIZER));
    log.info({ deletionPolicy: policy, targets: touched }, 'finalized');
    if (touched > 0) {
      await this.deps.events.record(
        involved(push),
        'Normal',
        policy === 'Delete' ? 'Deleted' : 'Released',
        `${policy === 'Delete' ? 'deleted' : 'released'} ${touched} target${touched === 1 ? '' : 's'} (deletionPolicy ${policy})`,
      );
    }
  }

  /** Reports a push the operator will not act on; warns once per change, not on every resync. */
  private async refuse(push: ConfigPush, reason: string, message: string, log: Logger): Promise<void> {
    const changed = await this.writeStatusIfChanged(push, refusedStatus(push, reason, message, this.timestamp()), log);
    log[changed ? 'warn' : 'debug']({ reason, error: message }, 'not acting on this ConfigPush until it changes');
    if (changed) await this.deps.events.record(involved(push), 'Warning', 'Failed', message);
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

  private async emitEvents(push: ConfigPush, key: string, outcomes: TargetOutcome[]): Promise<void> {
    const object = involved(push);
    const written = outcomes.filter((o) => o.wrote && !o.driftCorrected);
    if (written.length > 0) {
      const names = written.map((o) => targetLabel(o.target)).join(', ');
      await this.deps.events.record(object, 'Normal', 'Applied', `operation ${key} applied to ${names}`);
    }
    const corrected = outcomes.filter((o) => o.driftCorrected);
    if (corrected.length > 0) {
      this.deps.metrics.driftCorrections.inc(corrected.length);
      const names = corrected.map((o) => targetLabel(o.target)).join(', ');
      await this.deps.events.record(object, 'Normal', 'DriftCorrected', `restored desired content of ${names}`);
    }
    for (const outcome of outcomes) {
      if (outcome.state === 'Conflict') await this.deps.events.record(object, 'Warning', 'Conflict', outcome.message ?? 'conflict');
      if (outcome.state === 'Failed') await this.deps.events.record(object, 'Warning', 'Failed', outcome.message ?? 'failed');
    }
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function failedOutcome(target: ResolvedTarget, err: unknown, permanent: boolean): TargetOutcome & { permanentReason?: string } {
  const outcome: TargetOutcome & { permanentReason?: string } = {
    target,
    state: 'Failed',
    message: `${targetLabel(target)}: ${describeError(err)}`,
  };
  if (permanent) outcome.permanentReason = reasonFor(err);
  return outcome;
}

function toResult(outcome: TargetOutcome & { permanentReason?: string }): TargetResult {
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

/** The targets to clean up: from the spec when it resolves, else from the last status. */
function targetsToFinalize(push: ConfigPush): ResolvedTarget[] {
  try {
    return resolveSpec(push).targets;
  } catch {
    return (push.status?.targets ?? []).map(({ kind, name, namespace }) => ({ kind, name, namespace }));
  }
}

function involved(push: ConfigPush): InvolvedObject {
  return { apiVersion: API_VERSION, kind: KIND, name: push.metadata.name, namespace: push.metadata.namespace, uid: push.metadata.uid };
}

function targetLabel(target: ResolvedTarget): string {
  return `${target.kind} ${target.namespace}/${target.name}`;
}

import jsonpatch from 'fast-json-patch';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus, RollbackStatus, SourceStatus } from '../api/types.js';
import { buildStatus, rollbackMessage, stoppedStatus, type StoppedReport } from '../core/build-status.js';
import { withoutFalseAbnormalTrue } from '../core/conditions.js';
import { isPermanent, messageOf, PermanentError, reasonOf, TransientError, type OperatorError } from '../core/errors.js';
import { operationKey, rollbackKey } from '../core/operation-key.js';
import { revisionOfRollbackKey, rollbackTarget, type RevisionRecord } from '../core/revisions.js';
import { readsNamespaces, resolveSpec, targetId, type NamespaceInfo, type ResolvedSpec, type ResolvedTarget } from '../core/resolve-spec.js';
import { targetLabel, type TargetOutcome } from '../core/target-outcome.js';
import { targetEvents } from '../core/target-events.js';
import { digestKeyOf, withSources } from '../core/sources.js';
import { refusePush, type TenancyPolicy } from '../core/tenancy.js';
import { SourceValuesNotRead, withoutSourceValues } from '../core/unread-source-values.js';
import { completedVersions } from '../core/rollout-plan.js';
import { planWaves } from '../core/wave-plan.js';
import { toApiError } from '../kube/api-errors.js';
import type { ConfigPushClient } from '../kube/configpush-client.js';
import type { EventRecorder, InvolvedObject } from '../kube/event-recorder.js';
import type { SourceClient } from '../kube/source-client.js';
import type { TargetClient } from '../kube/target-client.js';
import type { WorkloadClient } from '../kube/workload-client.js';
import type { ReconcileRequest, ReconcileResult, Reconciler } from '../runtime/controller.js';
import { mapLimit } from '../util/map-limit.js';
import { applyDeletionPolicy } from './deletion-policy.js';
import { withFinalizer } from './finalizer.js';
import type { ContentionTracker } from './contention-tracker.js';
import type { ConfigPushMetrics } from './metrics.js';
import { runRollout, type RolloutResult } from './rollout.js';
import type { RevisionStore } from './revisions.js';
import type { SourceReadMemo } from './source-read-memo.js';
import { RolledBackError, targetApplier, type TargetVerifier } from './target-applier.js';

export interface ReconcilerDeps {
  /** Reads a ConfigPush from the informer cache. */
  getPush(namespace: string, name: string): ConfigPush | undefined;
  pushes: ConfigPushClient;
  /** Target reads and writes, as the operator or impersonating the push's ServiceAccount. */
  targetClientFor(namespace: string, serviceAccountName: string | undefined): TargetClient;
  /** Live reads of spec.sources, as the operator or impersonating the push's ServiceAccount. */
  sourcesFor(namespace: string, serviceAccountName: string | undefined): SourceClient;
  /**
   * What the last live read of a push's sources gave, while their watch shows
   * them unchanged: lets an idle resync skip reading them (source-read-memo.ts).
   * Absent: every reconcile reads them.
   */
  sourceReads?: SourceReadMemo;
  /** A namespace's annotations from the cache; undefined if unknown. */
  namespaceAnnotations(name: string): Record<string, string> | undefined;
  /** Live (not terminating) namespaces, for selectors and waves. */
  namespaces(): NamespaceInfo[];
  /** Targets in the watch caches that carry this push's uid. */
  ownedTargets(uid: string): ResolvedTarget[];
  /** Whether the watch caches hold this target as a managed object (of any push). */
  isTargetCached(target: ResolvedTarget): boolean;
  /** This process's verifications of targets, which let an idle resync skip reading unchanged ones (verified-targets.ts). */
  verifier?: TargetVerifier;
  /** Fights with other writers over targets: held-back drift corrections (contention-tracker.ts). */
  contention?: ContentionTracker;
  /** The push's content revisions (revisions.ts): recorded when a rollout completes, read back to roll back. */
  revisions: RevisionStore;
  /** Workload reads and patches, as the operator or the push's ServiceAccount. */
  workloadsFor(namespace: string, serviceAccountName: string | undefined): WorkloadClient;
  tenancy: TenancyPolicy;
  events: EventRecorder;
  metrics: ConfigPushMetrics;
  log: Logger;
  /** Targets of one push written concurrently. */
  targetConcurrency: number;
  now?: () => Date;
}

/** What pruning the targets the spec no longer names did. */
interface PruneResult {
  policy: ResolvedSpec['deletionPolicy'];
  /** Targets deleted or released. */
  touched: number;
  /** Why pruning did not finish, naming the targets that failed. */
  error?: OperatorError;
}

/**
 * Level-based reconcile of one ConfigPush, read top-down:
 *
 * 1. the finalizer's state decides between applying and cleaning up
 *    (finalizer.ts);
 * 2. apply: resolve and admit the spec (a refusal reports and waits for a
 *    change); run the rollout (rollout.ts, which applies each target with
 *    target-applier.ts); prune what the spec no longer names
 *    (deletion-policy.ts);
 * 3. report, whatever happened in step 2 after the targets were touched:
 *    Events, then the status (only if it changed);
 * 4. hand the result, or the error that carries its retry decision, to the
 *    controller's result switch.
 *
 * It decides from what it reads, never from the event that queued it, and
 * writes only what differs: running it again against the same state writes
 * nothing.
 */
export class ConfigPushReconciler implements Reconciler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile({ namespace, name }: ReconcileRequest, attempt: number): Promise<ReconcileResult> {
    const push = this.deps.getPush(namespace, name);
    if (!push) return {}; // Deleted and finalized; nothing left to do.
    const generation = push.metadata.generation;
    // With spec.sources the key also depends on the copied bytes: apply() knows it once it has read them.
    const key = hasSources(push) ? undefined : operationKey(push.metadata.uid, generation);
    const log = this.deps.log.child({ configpush: name, namespace, ...(key !== undefined ? { key } : {}), generation, attempt });
    const cleanup = async (live: ConfigPush) => {
      try {
        await this.cleanup(live, log);
      } catch (err) {
        // The finalizer stays until the deletionPolicy is applied; say why it waits.
        await this.reportStopped(live, err, log, key);
        throw err;
      }
    };
    // A retry reads the sources live: whatever failed, it does not rest on the memo.
    const readSources: SourceReading = attempt > 1 ? 'live' : 'memo';
    return withFinalizer(push, this.deps.pushes, { apply: (live) => this.apply(live, log, readSources), cleanup }, {});
  }

  private async apply(push: ConfigPush, pushLog: Logger, readSources: SourceReading): Promise<ReconcileResult> {
    let admitted: Admitted;
    try {
      admitted = await this.admit(push, readSources);
    } catch (err) {
      // Nothing was touched. A refusal (invalid spec, tenancy rule, a source
      // that is missing or may not be read) waits for the push or the source
      // to change; anything else is retried.
      await this.reportStopped(push, err, pushLog);
      if (isPermanent(err)) return {};
      throw err;
    }
    const { spec, key, sources, confirmSources } = admitted;
    const log = hasSources(push) ? pushLog.child({ key }) : pushLog;

    const targets = this.deps.targetClientFor(push.metadata.namespace, spec.serviceAccountName);
    let run: Run | undefined;
    let prune: PruneResult | undefined;
    let failure: unknown;
    // The push as this reconcile last wrote its status (a rollback announces itself before its first write).
    let current = push;
    try {
      run = await this.run(push, spec, key, targets, log, confirmSources, (written) => (current = written));
      // A rolled-back generation keeps what it dropped: the revision it returned to may still name it.
      if (!spec.suspend && run.transient === undefined && !run.rollback) prune = await this.pruneOrphans(push, spec, targets, log);
    } catch (err) {
      failure = err;
    }
    // The memo vouched for the key and digests, but something needs the
    // values (a target to write, a revision to record, a consumer digest):
    // run again, reading them. Nothing was written with content it lacked.
    if (failure instanceof SourceValuesNotRead && readSources === 'memo') {
      log.debug('sources needed: reading them');
      return this.apply(current, pushLog, 'live');
    }
    // Deferred report (Flux's deferred status patch): targets may have been
    // written, so whatever happened above, the status and Events say so.
    if (run === undefined) await this.reportStopped(current, failure, log, key);
    else await this.report(current, run, prune, run.rollback ? log.child({ key: run.operationKey }) : log, sources);

    const stop = failure ?? run?.transient ?? prune?.error;
    if (stop !== undefined) throw stop;
    const requeueAfterMs = earliest(run?.requeueAfterMs, ...(run?.outcomes ?? []).map((o) => o.retryAfterMs));
    return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
  }

  /**
   * The resolved spec with its content (spec.sources read live and merged
   * in) and the operation key, or a PermanentError saying why the operator
   * will not act on it (core/sources.ts: SourceNotFound, SourceNotAllowed,
   * SourceKeyNotFound; kube/source-client.ts: SourceForbidden).
   */
  private async admit(push: ConfigPush, readSources: SourceReading): Promise<Admitted> {
    const spec = resolveSpec(push, this.namespacesFor(push)); // throws InvalidSpecError
    const refusal = refusePush(spec, this.deps.tenancy);
    if (refusal) throw new PermanentError(refusal.reason, refusal.message);
    const { uid, generation, namespace } = push.metadata;
    if (!spec.sources?.length) return { spec, key: operationKey(uid, generation) };
    const client = this.deps.sourcesFor(namespace, spec.serviceAccountName);
    const sources = spec.sources;
    const readRevision = async () => {
      const objects = await Promise.all(sources.map((s) => client.read(s.kind, s.namespace, s.name)));
      return { objects, sourced: withSources(spec.content, sources, objects, namespace) };
    };
    const confirmSources = async (revision: string) => {
      try {
        return (await readRevision()).sourced.revision === revision;
      } catch {
        return false; // Gone or unreadable now: not confirmed; the next reconcile says why.
      }
    };
    const recalled = readSources === 'memo' ? this.deps.sourceReads?.recall(uid, generation, sources) : undefined;
    if (recalled) {
      // No read: the key and digests as the last read gave them; the values, if anything needs them, by reading (apply()).
      return {
        spec: {
          ...spec,
          content: withoutSourceValues(spec.content),
          digest: recalled.digest,
          targetDigests: recalled.targetDigests,
          ...(recalled.digestKey !== undefined ? { sourcesDigestKey: recalled.digestKey } : {}),
        },
        key: operationKey(uid, generation, recalled.revision),
        sources: recalled.statuses,
        confirmSources: () => confirmSources(recalled.revision),
      };
    }
    // The values live in `spec.content` for this reconcile only.
    const { objects, sourced } = await readRevision();
    // The memo digests each target kind's desired content; the verifier takes those instead of digesting it again.
    const targetDigests = this.deps.sourceReads?.remember(uid, generation, objects, sourced, [...new Set(spec.targets.map((t) => t.kind))]);
    // Consumers mode keys its restart digests with the copied Secrets' uids too (core/consumers.ts).
    const sourcesDigestKey = digestKeyOf(objects);
    return {
      spec: {
        ...spec,
        content: sourced.content,
        digest: sourced.digest,
        ...(targetDigests !== undefined ? { targetDigests } : {}),
        ...(sourcesDigestKey !== undefined ? { sourcesDigestKey } : {}),
      },
      key: operationKey(uid, generation, sourced.revision),
      sources: sourced.statuses,
      confirmSources: () => confirmSources(sourced.revision),
    };
  }

  /**
   * The generation's rollout, or its rollback (failurePolicy Rollback):
   * - a generation the status shows rolled back stays rolled back (the
   *   rollback runs again, finding its work done) until the spec changes;
   * - otherwise the rollout runs; if a wave fails, or a target shows that
   *   this generation was already rolled back (a lost status), the rollback
   *   runs in the same reconcile;
   * - a rollout that completed records its content as a revision.
   */
  private async run(
    push: ConfigPush,
    spec: ResolvedSpec,
    key: string,
    targets: TargetClient,
    log: Logger,
    confirmSources?: () => Promise<boolean>,
    statusWritten?: (push: ConfigPush) => void,
  ): Promise<Run> {
    const { uid, generation } = push.metadata;
    const records = this.deps.revisions.records(push);
    const reported = push.status?.observedGeneration === generation ? push.status?.rollout?.rollback : undefined;
    if (!spec.suspend && reported) {
      const record = revisionOfRollbackKey(records, uid, generation, reported.operationKey);
      if (!record) throw new PermanentError('RevisionNotFound', `revision ${reported.revision}, which generation ${generation} was rolled back to, is no longer kept`);
      return this.rollBack(push, spec, record, reported, targets, log);
    }

    const forward: Run = { ...(await this.rollout(push, spec, key, targets, log, confirmSources)), operationKey: key, digest: spec.digest };
    if (forward.transient instanceof RolledBackError) {
      // The targets say this generation was rolled back; its status did not (lost, or not cached yet).
      const digest = forward.transient.digest;
      const record = records.find((r) => r.digest === digest);
      if (!record) throw new PermanentError('RevisionNotFound', `generation ${generation} was rolled back to content ${digest ?? '(unknown)'}, whose revision is no longer kept`);
      const cause = { failedOperationKey: key, failedWave: 0, reason: 'RolledBack', message: 'the rollback was found on the targets' };
      return this.rollBack(push, spec, record, cause, targets, log);
    }
    if (forward.haltReason !== undefined && spec.strategy.failurePolicy === 'Rollback') {
      const record = rollbackTarget(records, spec.digest);
      if (!record) {
        // Nothing completed before: nothing to return to. The rollout halts, and says so.
        return { ...forward, noRollbackRevision: true };
      }
      this.emitEvents(push, key, forward.outcomes, undefined);
      const cause = { failedOperationKey: key, failedWave: forward.rollout.currentWave, reason: forward.haltReason, message: failureOf(forward) };
      // Write-ahead: the status names the rollback and what failed before any target is written back. A rollback
      // cut short (kill -9, a lost leader) then resumes from the status with its cause; without it, the next
      // reconcile found the rollback only on the targets, and the status said 'wave 0 failed (RolledBack)'.
      const announced = await this.announceRollback(push, forward, record, cause);
      statusWritten?.(announced);
      return this.rollBack(announced, spec, record, cause, targets, log);
    }
    const complete = !spec.suspend && forward.transient === undefined && forward.rollout.phase === 'Complete' && forward.outcomes.every((o) => o.state === 'Applied');
    if (!complete) return forward;
    const revision = await this.recordRevision(push, spec, key, log);
    return revision !== undefined ? { ...forward, revision } : forward;
  }

  /** Writes the status of a rollback about to start (RollingBack, its revision, key and cause); returns the push as written. */
  private async announceRollback(
    push: ConfigPush,
    forward: Run,
    record: RevisionRecord,
    cause: Pick<RollbackStatus, 'failedOperationKey' | 'failedWave' | 'reason' | 'message'>,
  ): Promise<ConfigPush> {
    const rollback: RollbackStatus = { revision: record.revision, operationKey: rollbackKey(push.metadata.uid, push.metadata.generation, record.digest), ...cause };
    const status = buildStatus({
      push,
      operationKey: forward.operationKey,
      digest: forward.digest,
      outcomes: forward.outcomes,
      suspended: false,
      rollout: { ...forward.rollout, phase: 'RollingBack', rollback },
      ...(push.status?.sources ? { sources: push.status.sources } : {}),
      now: this.timestamp(),
    });
    const written = await this.deps.pushes.writeStatus(push, status);
    this.deps.metrics.statusWrites.inc();
    return written;
  }

  /** Records completed content as a revision: the number, or undefined if the operator may not (it says so in an Event, and applies on). */
  private async recordRevision(push: ConfigPush, spec: ResolvedSpec, key: string, log: Logger): Promise<number | undefined> {
    try {
      const record = await this.deps.revisions.recordCompleted(push, { content: spec.content, digest: spec.digest, operationKey: key }, spec.revisionHistoryLimit);
      return record.revision;
    } catch (err) {
      const error = toApiError(err);
      if (error.retry !== 'permanent') throw error;
      log.warn({ error: error.message }, 'revision not recorded');
      this.deps.events.emit(involved(push), 'Warning', 'RevisionNotRecorded', `content revision not recorded (rollback to it will not be possible): ${error.message}`);
      return undefined;
    }
  }

  /**
   * Returns every target the failed operation changed to `record`'s content,
   * through the same waves (restarting each wave's workloads under the
   * rollback's key and waiting for them, without pauses, never halting), with conditional writes under
   * the rollback's own key: a function of (uid, generation, revision), so a
   * retried, re-queued, resumed or concurrent rollback writes each target once.
   */
  private async rollBack(
    push: ConfigPush,
    spec: ResolvedSpec,
    record: RevisionRecord,
    cause: Pick<RollbackStatus, 'failedOperationKey' | 'failedWave' | 'reason' | 'message'>,
    targets: TargetClient,
    log: Logger,
  ): Promise<Run> {
    const { uid, generation } = push.metadata;
    const key = rollbackKey(uid, generation, record.digest);
    const payload = await this.deps.revisions.payload(record);
    const back: ResolvedSpec = { ...spec, content: payload.content, digest: record.digest };
    const rollbackLog = log.child({ key, rollbackTo: record.revision });
    const result = await this.rollout(push, back, key, targets, rollbackLog, undefined, true);
    const done = result.transient === undefined && result.rollout.phase === 'Complete';
    const rollback: RollbackStatus = { revision: record.revision, operationKey: key, ...cause };
    const written = result.outcomes.filter((o) => o.wrote).length;
    if (written > 0) {
      rollbackLog.warn({ reason: cause.reason, targets: written }, 'rolled back');
      this.deps.events.emit(involved(push), 'Warning', 'RolledBack', `${rollbackMessage(rollback, result.rollout.totalWaves)}: ${written} target${written === 1 ? '' : 's'} written back`);
    }
    return {
      ...result,
      operationKey: key,
      digest: record.digest,
      revision: record.revision,
      rollback,
      rollout: { ...result.rollout, phase: done ? 'RolledBack' : 'RollingBack', rollback },
    };
  }

  private async rollout(
    push: ConfigPush,
    spec: ResolvedSpec,
    key: string,
    targets: TargetClient,
    log: Logger,
    confirmSources?: () => Promise<boolean>,
    fastTrack = false,
  ): Promise<RolloutResult> {
    // One confirmation per key found on the targets is enough: every target
    // carrying that key was written from the same sources revision.
    const confirmed = new Map<string, Promise<boolean>>();
    const confirmAgainst = confirmSources && ((liveKey: string) => confirmed.get(liveKey) ?? setAndGet(confirmed, liveKey, confirmSources()));
    const { namespace, name, uid, generation } = push.metadata;
    const previouslyWritten = new Set(
      (push.status?.targets ?? []).filter((t) => t.state === 'Applied' || t.state === 'Drifted').map((t) => targetId(t)),
    );
    const apply = targetApplier({
      targets,
      spec,
      ownership: { ownerUid: uid, owner: `${namespace}/${name}`, operationKey: key, generation, contentDigest: spec.digest },
      pushNamespace: namespace,
      namespaceAnnotations: (ns) => this.deps.namespaceAnnotations(ns),
      previouslyWritten,
      isTargetCached: (target) => this.deps.isTargetCached(target),
      ...(this.deps.contention ? { contention: this.deps.contention } : {}),
      ...(confirmAgainst ? { confirmSources: confirmAgainst } : {}),
      ...(this.deps.verifier ? { verifier: this.deps.verifier } : {}),
      log,
      metrics: this.deps.metrics,
    });
    return runRollout({
      pushUid: uid,
      spec,
      waves: planWaves(spec.targets, spec.strategy, this.namespacesFor(push)),
      mode: spec.suspend ? 'inspect' : 'apply',
      maxParallel: spec.strategy.maxParallel ?? this.deps.targetConcurrency,
      apply,
      workloads: this.deps.workloadsFor(namespace, spec.serviceAccountName),
      previous: push.status?.rollout,
      ...(fastTrack ? { fastTrack } : {}),
      ...completedFor(push.status, key),
      log,
      metrics: this.deps.metrics,
      now: this.now,
    });
  }

  /**
   * Targets this push still owns that its spec no longer names (removed from
   * the spec, or in a namespace that stopped matching a selector) get the
   * deletionPolicy, exactly as on deletion. Every orphan is tried; those that
   * fail are named in one error whose retry decision is transient if any of
   * them may pass on a retry.
   */
  private async pruneOrphans(push: ConfigPush, spec: ResolvedSpec, targets: TargetClient, log: Logger): Promise<PruneResult> {
    const policy = spec.deletionPolicy;
    const wanted = new Set(spec.targets.map(targetId));
    const orphans = this.deps.ownedTargets(push.metadata.uid).filter((t) => !wanted.has(targetId(t)));
    if (orphans.length === 0) return { policy, touched: 0 };
    const results = await mapLimit(orphans, this.deps.targetConcurrency, async (target) => {
      try {
        return { target, result: await applyDeletionPolicy(targets, push, target, policy, log) };
      } catch (err) {
        return { target, error: toApiError(err) };
      }
    });
    const touched = results.filter((r) => r.result !== undefined && r.result !== 'untouched').length;
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length === 0) return { policy, touched };
    const message = `could not apply deletionPolicy ${policy} to targets no longer in the spec: ${failed
      .map((f) => `${targetLabel(f.target)}: ${f.error?.message}`)
      .join('; ')}`;
    log.warn({ failed: failed.length, error: message }, 'prune failed');
    const retrying = failed.some((f) => f.error?.retry !== 'permanent');
    return { policy, touched, error: retrying ? new TransientError('PruneFailed', message) : new PermanentError('PruneFailed', message) };
  }

  /** The push is being deleted: apply its deletionPolicy to every target it owns. */
  private async cleanup(push: ConfigPush, log: Logger): Promise<void> {
    const policy = push.spec?.deletionPolicy === 'Delete' ? 'Delete' : 'Retain';
    const targets = this.deps.targetClientFor(push.metadata.namespace, push.spec?.serviceAccountName);
    const results = await mapLimit(this.targetsToFinalize(push), this.deps.targetConcurrency, (target) =>
      applyDeletionPolicy(targets, push, target, policy, log),
    );
    const touched = results.filter((r) => r !== 'untouched').length;
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

  /** The namespace cache's view, listed only for a push whose selectors read it (core/resolve-spec.ts readsNamespaces). */
  private namespacesFor(push: ConfigPush): NamespaceInfo[] {
    return readsNamespaces(push) ? this.deps.namespaces() : [];
  }

  /** The targets to clean up: those the caches show carrying this push's uid, plus the spec's (or, if it does not resolve, the last status's). */
  private targetsToFinalize(push: ConfigPush): ResolvedTarget[] {
    let named: ResolvedTarget[];
    try {
      named = resolveSpec(push, this.namespacesFor(push)).targets;
    } catch {
      named = (push.status?.targets ?? []).map(({ kind, name, namespace }) => ({ kind, name, namespace }));
    }
    const all = new Map([...named, ...this.deps.ownedTargets(push.metadata.uid)].map((t) => [targetId(t), t]));
    return [...all.values()];
  }

  /**
   * Reports a rollout's outcomes, and a failed prune: the status first, then
   * the Events (queued, not awaited), whether or not the status write went
   * through. The status is what `kubectl wait` and the user's tools wait
   * for: building the Event first delayed the status PUT, and the Event's
   * POST beside it slowed it at the apiserver (audit timelines at 36
   * pushes/s, 2 runs a side: from the revision's answer to the status's,
   * 5.1 -> 4.2 ms at the median; apply to Ready 1.1 ms sooner).
   */
  private async report(push: ConfigPush, run: Run, prune: PruneResult | undefined, log: Logger, sources?: SourceStatus[]): Promise<void> {
    const pruneFailure: StoppedReport | undefined = prune?.error && {
      reason: prune.error.reason,
      message: prune.error.message,
      retrying: !isPermanent(prune.error),
    };
    const status = buildStatus({
      push,
      operationKey: run.operationKey,
      digest: run.digest,
      outcomes: run.outcomes,
      suspended: push.spec?.suspend === true,
      ...(run.revision !== undefined ? { revision: run.revision } : {}),
      rollout: run.rollout,
      ...(run.haltReason !== undefined ? { haltReason: run.haltReason } : {}),
      ...(run.noRollbackRevision ? { noRollbackRevision: true } : {}),
      ...(run.transient !== undefined ? { transientError: run.transient.message } : {}),
      ...(pruneFailure ? { pruneFailure } : {}),
      ...(sources ? { sources } : {}),
      now: this.timestamp(),
    });
    try {
      await this.writeStatusIfChanged(push, status, log);
    } finally {
      // A rollback's writes have their own Event (rollBack); the generic ones would call them "applied".
      if (!run.rollback) this.emitEvents(push, run.operationKey, run.outcomes, prune);
    }
  }

  /**
   * Reports a reconcile that stopped before it had outcomes: a refused push
   * (no key: nothing of this generation was applied), or an unexpected
   * failure (this generation's key). Warns once per change, not on every resync.
   */
  private async reportStopped(push: ConfigPush, err: unknown, log: Logger, key?: string): Promise<void> {
    const report: StoppedReport = { reason: reasonOf(err), message: messageOf(err), retrying: !isPermanent(err) };
    const changed = await this.writeStatusIfChanged(push, stoppedStatus(push, report, this.timestamp(), key), log);
    const message = report.retrying ? 'reconcile failed; retrying' : 'not acting on this ConfigPush until it changes';
    log[changed ? 'warn' : 'debug']({ reason: report.reason, error: report.message }, message);
    if (changed) this.deps.events.emit(involved(push), 'Warning', 'Failed', report.message);
  }

  /** Writes status only when it differs from what the push already has; returns whether it wrote. */
  private async writeStatusIfChanged(push: ConfigPush, status: ConfigPushStatus, log: Logger): Promise<boolean> {
    // Stale False Reconciling/Stalled/Drifted (an earlier version's) say nothing the new status does not: no write for them alone.
    const changes = jsonpatch.compare(withoutFalseAbnormalTrue(push.status ?? {}), status);
    if (changes.length === 0) return false;
    await this.deps.pushes.writeStatus(push, status);
    this.deps.metrics.statusWrites.inc();
    log.debug({ changedPaths: changes.map((c) => c.path).slice(0, 10) }, 'status written');
    return true;
  }

  private emitEvents(push: ConfigPush, key: string, outcomes: TargetOutcome[], prune: PruneResult | undefined): void {
    const object = involved(push);
    const corrected = outcomes.filter((o) => o.driftCorrected).length;
    if (corrected > 0) this.deps.metrics.driftCorrections.inc(corrected);
    for (const event of targetEvents(key, outcomes)) this.deps.events.emit(object, event.type, event.reason, event.message, event.once ? 'once' : 'repeatable');
    if (prune && prune.touched > 0) {
      const deleted = prune.policy === 'Delete';
      const plural = prune.touched === 1 ? '' : 's';
      this.deps.events.emit(object, 'Normal', deleted ? 'Deleted' : 'Released', `${deleted ? 'deleted' : 'released'} ${prune.touched} target${plural} no longer in the spec`);
    }
    if (prune?.error) this.deps.events.emit(object, 'Warning', 'Failed', prune.error.message);
  }

  private timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

function setAndGet<K, V>(map: Map<K, V>, key: K, value: V): V {
  map.set(key, value);
  return value;
}

/** The soonest of the delays given, if any. */
function earliest(...delaysMs: (number | undefined)[]): number | undefined {
  const given = delaysMs.filter((d): d is number => d !== undefined);
  return given.length > 0 ? Math.min(...given) : undefined;
}

/** What one reconcile did: the rollout (or rollback) and the operation it ran under. */
interface Run extends RolloutResult {
  operationKey: string;
  digest: string;
  /** The content revision of the operation: its own once complete, or the one rolled back to. */
  revision?: number;
  /** Set when this generation was rolled back. */
  rollback?: RollbackStatus;
  /** failurePolicy Rollback halted, but nothing completed before to roll back to. */
  noRollbackRevision?: true;
}

/** What failed, from a halted rollout: the failing targets' messages, else the rollout's own. */
function failureOf(run: RolloutResult): string {
  const failed = run.outcomes.filter((o) => o.state === 'Failed' || o.state === 'Conflict').map((o) => o.message ?? targetLabel(o.target));
  const what = run.rollout.failed !== undefined ? `${run.rollout.failed}: ` : '';
  return `${what}${failed.length > 0 ? failed.join('; ') : (run.rollout.message ?? 'the wave failed')}`;
}


/** Whether admit() may take a push's sources from the memo (source-read-memo.ts) or must read them. */
type SourceReading = 'memo' | 'live';

/** What admit() hands the rollout: the spec with its content, the operation's key, and status.sources. */
interface Admitted {
  spec: ResolvedSpec;
  key: string;
  sources?: SourceStatus[];
  /** Reads the sources again: true while they still give this reconcile's revision (see target-applier.ts SourcesChangedError). */
  confirmSources?: () => Promise<boolean>;
}

function hasSources(push: ConfigPush): boolean {
  return Array.isArray(push.spec?.sources) && push.spec.sources.length > 0;
}

function involved(push: ConfigPush): InvolvedObject {
  return { apiVersion: API_VERSION, kind: KIND, name: push.metadata.name, namespace: push.metadata.namespace, uid: push.metadata.uid };
}

/** The rollout input's `completed`, present only when the status vouches for this operation (exactOptionalPropertyTypes). */
function completedFor(status: ConfigPushStatus | undefined, key: string): { completed?: ReadonlyMap<string, string> } {
  const completed = completedVersions(status, key);
  return completed ? { completed } : {};
}

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { WORKLOAD_KINDS, type RestartRef, type WorkloadKind } from '../api/types.js';
import { digestHex } from '../core/content-digest.js';
import { lastWriteTime } from '../core/desired-target.js';
import { TransientError } from '../core/errors.js';
import { rolledOut, workloadLabel, type Workload, type WorkloadRef } from '../core/workload-health.js';
import { isConflict } from '../kube/api-errors.js';
import type { WorkloadClient } from '../kube/workload-client.js';
import type { ConfigPushMetrics } from './metrics.js';

/**
 * The pod-template annotation a push sets on the workloads it rolls. One key
 * per push (by uid), so several pushes can roll the same workload.
 */
export function restartAnnotationKey(pushUid: string): string {
  return `restart.configpush.io/${createHash('sha256').update(pushUid).digest('hex').slice(0, 12)}`;
}

/**
 * The annotation's value: the operation key that last changed the content in
 * this namespace and the content digest. Deterministic: a retry, a re-queue, a
 * restart or a new leader computes the same value and finds it already set, so
 * it never restarts a workload twice for one operation. (`kubectl rollout
 * restart` stamps the time instead, so each retry restarts again.) A new
 * generation with unchanged content leaves the targets' key, hence this
 * value, unchanged: it restarts nothing.
 */
export function restartAnnotationValue(operationKey: string, digest: string): string {
  return `${operationKey}/${digestHex(digest).slice(0, 16)}`;
}

export interface RestartResult {
  restarted: WorkloadRef[];
  /** Workloads whose new template has not rolled out yet. */
  pending: WorkloadRef[];
  /** When the operator last restarted any pending workload (its managedFields; RFC 3339): the progress deadline runs from it too. */
  restartedAt?: string;
  /** Every workload handled (found by the explicit list, or a consumer), restarted or not. */
  handled: WorkloadRef[];
}

const MAX_ROUNDS = 5;

/** Sets the annotation on every workload `refs` names in `namespace` (conditional patch), then reports which have not rolled out. */
export async function restartWorkloads(
  client: WorkloadClient,
  namespace: string,
  refs: readonly RestartRef[],
  key: string,
  value: string,
  log: Logger,
  metrics: ConfigPushMetrics,
): Promise<RestartResult> {
  const result: RestartResult = { restarted: [], pending: [], handled: [] };
  for (const ref of refs) {
    for (const found of await client.find(namespace, ref)) {
      await roll(client, ref.kind, namespace, found, key, () => value, result, log, metrics);
    }
  }
  return result;
}

/**
 * Consumers mode: lists each workload kind in `namespace` once, and sets the
 * annotation on every workload whose pod template reads a target here, to
 * the value `valueOf` computes from that template (core/consumers.ts: a
 * digest of what it reads). A workload that reads nothing (valueOf undefined)
 * is not touched; nor are those in `skip` (the explicit list's, which carry
 * its value under the same key). Reports which consumers have not rolled out.
 */
export async function restartConsumers(
  client: WorkloadClient,
  namespace: string,
  valueOf: (workload: Workload) => string | undefined,
  key: string,
  skip: ReadonlySet<string>,
  log: Logger,
  metrics: ConfigPushMetrics,
): Promise<RestartResult> {
  const result: RestartResult = { restarted: [], pending: [], handled: [] };
  for (const kind of WORKLOAD_KINDS) {
    for (const found of await client.list(kind, namespace)) {
      const name = found.metadata?.name ?? '';
      // Being deleted: it will never report a new template rolled out, and its pods go anyway.
      if (skip.has(workloadLabel({ kind, namespace, name })) || found.metadata?.deletionTimestamp) continue;
      if (valueOf(found) === undefined) continue;
      await roll(client, kind, namespace, found, key, valueOf, result, log, metrics);
    }
  }
  return result;
}

/**
 * Brings one workload's annotation to its value with conditional patches at
 * the resourceVersion read; on a 409 reads it again and recomputes the value
 * from what it then holds (its template may have changed what it reads).
 * Adds it to `result`: restarted if patched, pending if not rolled out.
 */
async function roll(
  client: WorkloadClient,
  kind: WorkloadKind,
  namespace: string,
  found: Workload,
  key: string,
  valueOf: (workload: Workload) => string | undefined,
  result: RestartResult,
  log: Logger,
  metrics: ConfigPushMetrics,
): Promise<void> {
  const name = found.metadata?.name ?? '';
  const ref: WorkloadRef = { kind, namespace, name };
  let workload: Workload | undefined = found;
  let value = valueOf(found);
  for (let round = 1; workload && value !== undefined && workload.spec?.template.metadata?.annotations?.[key] !== value; round++) {
    if (round > MAX_ROUNDS) throw new TransientError('WorkloadContended', `${kind} ${namespace}/${name} kept changing while being rolled`);
    try {
      workload = await client.setTemplateAnnotation(kind, namespace, name, workload.metadata?.resourceVersion ?? '', key, value);
      result.restarted.push(ref);
      metrics.workloadRestarts.inc({ kind });
      log.info({ workload: `${kind}/${namespace}/${name}`, annotation: value }, 'workload rolled');
    } catch (err) {
      if (!isConflict(err)) throw err;
      workload = await client.read(kind, namespace, name);
      value = workload ? valueOf(workload) : undefined;
    }
  }
  if (!workload || value === undefined) return;
  result.handled.push(ref);
  if (rolledOut(kind, workload)) return;
  result.pending.push(ref);
  const restartedAt = lastWriteTime(workload);
  if (restartedAt !== undefined && (result.restartedAt === undefined || Date.parse(restartedAt) > Date.parse(result.restartedAt))) result.restartedAt = restartedAt;
}

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RestartRef } from '../api/types.js';
import { TransientError } from '../core/errors.js';
import { rolledOut, type Workload, type WorkloadRef } from '../core/workload-health.js';
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
  return `${operationKey}/${digest.replace(/^sha256:/, '').slice(0, 16)}`;
}

export interface RestartResult {
  restarted: WorkloadRef[];
  /** Workloads whose new template has not rolled out yet. */
  pending: WorkloadRef[];
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
  const result: RestartResult = { restarted: [], pending: [] };
  for (const ref of refs) {
    for (const found of await client.find(namespace, ref)) {
      const name = found.metadata?.name ?? '';
      let workload: Workload | undefined = found;
      for (let round = 1; workload && workload.spec?.template.metadata?.annotations?.[key] !== value; round++) {
        if (round > MAX_ROUNDS) throw new TransientError('WorkloadContended', `${ref.kind} ${namespace}/${name} kept changing while being rolled`);
        try {
          workload = await client.setTemplateAnnotation(ref.kind, namespace, name, workload.metadata?.resourceVersion ?? '', key, value);
          result.restarted.push({ kind: ref.kind, namespace, name });
          metrics.workloadRestarts.inc({ kind: ref.kind });
          log.info({ workload: `${ref.kind}/${namespace}/${name}`, annotation: value }, 'workload rolled');
        } catch (err) {
          if (!isConflict(err)) throw err;
          workload = await client.read(ref.kind, namespace, name);
        }
      }
      if (workload && !rolledOut(ref.kind, workload)) result.pending.push({ kind: ref.kind, namespace, name });
    }
  }
  return result;
}

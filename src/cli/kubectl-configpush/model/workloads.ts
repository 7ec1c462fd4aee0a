import type { RestartRef } from '../../../api/types.js';
import { selectorToQuery } from '../../../core/label-selector.js';
import { rolledOut, type Workload, type WorkloadRef } from '../../../core/workload-health.js';

/** A workload a push restarts, as the status tree shows it. */
export interface WorkloadView {
  ref: WorkloadRef;
  /** "rolled out", "rolling out (1/3 updated, 0/3 available)", "not found". */
  state: string;
  /** The operation key of the restart annotation this push set on its pod template, if any. */
  restartedFor?: string;
}

/** One found workload: its rollout and which operation of this push last restarted it. */
export function workloadView(ref: RestartRef, namespace: string, workload: Workload, restartKey: string): WorkloadView {
  const name = workload.metadata?.name ?? '';
  const restartedFor = workload.spec?.template?.metadata?.annotations?.[restartKey]?.split('/')[0];
  return {
    ref: { kind: ref.kind, namespace, name },
    state: rolledOut(ref.kind, workload) ? 'rolled out' : `rolling out (${progress(ref.kind, workload)})`,
    ...(restartedFor ? { restartedFor } : {}),
  };
}

/** A restart entry that matched nothing in a namespace. */
export function missingWorkload(ref: RestartRef, namespace: string): WorkloadView {
  return {
    ref: { kind: ref.kind, namespace, name: ref.name ?? `(${selectorToQuery(ref.selector ?? {}) || 'any'})` },
    state: ref.name ? 'not found' : 'none match',
  };
}

function progress(kind: RestartRef['kind'], workload: Workload): string {
  const status = (workload.status ?? {}) as Record<string, number | undefined>;
  if (kind === 'DaemonSet') {
    const desired = status.desiredNumberScheduled ?? 0;
    return `${status.updatedNumberScheduled ?? 0}/${desired} updated, ${status.numberAvailable ?? 0}/${desired} available`;
  }
  const replicas = (workload.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const behind = (status.observedGeneration ?? 0) < (workload.metadata?.generation ?? 0) ? ', spec not yet observed' : '';
  return `${status.updatedReplicas ?? 0}/${replicas} updated, ${status.availableReplicas ?? 0}/${replicas} available${behind}`;
}

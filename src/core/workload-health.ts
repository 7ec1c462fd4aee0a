import type { V1DaemonSet, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { WorkloadKind } from '../api/types.js';

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

/** One workload, by kind, namespace and name. */
export interface WorkloadRef {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export function workloadLabel(ref: WorkloadRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/**
 * Whether a workload reports its current pod template fully rolled out: the
 * controller has seen the latest generation, and every replica is updated and
 * available. (The same checks as `kubectl rollout status`.)
 */
export function rolledOut(kind: WorkloadKind, workload: Workload): boolean {
  const generation = workload.metadata?.generation ?? 0;
  const observed = workload.status?.observedGeneration ?? 0;
  if (observed < generation) return false;
  if (kind === 'DaemonSet') {
    const status = (workload as V1DaemonSet).status;
    const desired = status?.desiredNumberScheduled ?? 0;
    return (status?.updatedNumberScheduled ?? 0) === desired && (status?.numberAvailable ?? 0) === desired;
  }
  const replicas = (workload as V1Deployment | V1StatefulSet).spec?.replicas ?? 1;
  const status = (workload as V1Deployment | V1StatefulSet).status;
  return (status?.updatedReplicas ?? 0) === replicas && (status?.availableReplicas ?? 0) === replicas && (status?.replicas ?? replicas) === replicas;
}

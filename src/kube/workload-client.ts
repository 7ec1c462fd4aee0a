import type { AppsV1Api } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from './client-node.js';
import { FIELD_MANAGER } from '../api/constants.js';
import type { RestartRef, WorkloadKind } from '../api/types.js';
import { isNotFound } from './api-errors.js';
import { selectorToQuery } from '../core/label-selector.js';
import type { Workload } from '../core/workload-health.js';

/**
 * Reads Deployments, StatefulSets and DaemonSets, and sets one pod-template
 * annotation on them with a conditional merge patch (it carries the
 * resourceVersion that was read: 409 if the workload moved). A patch, not a
 * replace: client-node's typed serializer would drop fields it does not know.
 */
export interface WorkloadClient {
  find(namespace: string, ref: RestartRef): Promise<Workload[]>;
  /** Every workload of `kind` in `namespace`: one LIST. */
  list(kind: WorkloadKind, namespace: string): Promise<Workload[]>;
  read(kind: WorkloadKind, namespace: string, name: string): Promise<Workload | undefined>;
  setTemplateAnnotation(kind: WorkloadKind, namespace: string, name: string, resourceVersion: string, key: string, value: string): Promise<Workload>;
}

export function kubeWorkloadClient(apps: AppsV1Api): WorkloadClient {
  const client: WorkloadClient = {
    async find(namespace, ref) {
      if (ref.name !== undefined) {
        const one = await client.read(ref.kind, namespace, ref.name);
        return one ? [one] : [];
      }
      return listOf(apps, ref.kind, namespace, selectorToQuery(ref.selector ?? {}));
    },
    list(kind, namespace) {
      return listOf(apps, kind, namespace, undefined);
    },
    async read(kind, namespace, name) {
      try {
        if (kind === 'Deployment') return await apps.readNamespacedDeployment({ namespace, name });
        if (kind === 'StatefulSet') return await apps.readNamespacedStatefulSet({ namespace, name });
        return await apps.readNamespacedDaemonSet({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async setTemplateAnnotation(kind, namespace, name, resourceVersion, key, value) {
      const body = { metadata: { resourceVersion }, spec: { template: { metadata: { annotations: { [key]: value } } } } };
      const params = { namespace, name, body, fieldManager: FIELD_MANAGER };
      const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      if (kind === 'Deployment') return apps.patchNamespacedDeployment(params, options);
      if (kind === 'StatefulSet') return apps.patchNamespacedStatefulSet(params, options);
      return apps.patchNamespacedDaemonSet(params, options);
    },
  };
  return client;
}

async function listOf(apps: AppsV1Api, kind: WorkloadKind, namespace: string, labelSelector: string | undefined): Promise<Workload[]> {
  const params = labelSelector !== undefined ? { namespace, labelSelector } : { namespace };
  const list =
    kind === 'Deployment'
      ? await apps.listNamespacedDeployment(params)
      : kind === 'StatefulSet'
        ? await apps.listNamespacedStatefulSet(params)
        : await apps.listNamespacedDaemonSet(params);
  return list.items as Workload[];
}

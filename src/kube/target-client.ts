import type { CoreV1Api, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../api/constants.js';
import type { TargetKind } from '../api/types.js';
import type { TargetObject } from '../core/desired-target.js';
import { isNotFound } from './api-errors.js';

/**
 * Reads and conditional writes of ConfigMaps and Secrets. Every write here is
 * conditional: create fails with AlreadyExists if the object appeared, replace
 * carries the resourceVersion that was read and fails with 409 if it moved,
 * delete carries uid and resourceVersion preconditions.
 */
export interface TargetClient {
  read(kind: TargetKind, namespace: string, name: string): Promise<TargetObject | undefined>;
  create(kind: TargetKind, namespace: string, body: TargetObject): Promise<TargetObject>;
  /** `body.metadata.resourceVersion` must be the version that was read. */
  replace(kind: TargetKind, namespace: string, name: string, body: TargetObject): Promise<TargetObject>;
  delete(kind: TargetKind, namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<void>;
}

export function kubeTargetClient(core: CoreV1Api): TargetClient {
  return {
    async read(kind, namespace, name) {
      try {
        return kind === 'ConfigMap'
          ? await core.readNamespacedConfigMap({ name, namespace })
          : await core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(kind, namespace, body) {
      return kind === 'ConfigMap'
        ? core.createNamespacedConfigMap({ namespace, body: body as V1ConfigMap, fieldManager: FIELD_MANAGER })
        : core.createNamespacedSecret({ namespace, body: body as V1Secret, fieldManager: FIELD_MANAGER });
    },
    async replace(kind, namespace, name, body) {
      if (!body.metadata?.resourceVersion) throw new Error('refusing an unconditional replace: no resourceVersion');
      return kind === 'ConfigMap'
        ? core.replaceNamespacedConfigMap({ name, namespace, body: body as V1ConfigMap, fieldManager: FIELD_MANAGER })
        : core.replaceNamespacedSecret({ name, namespace, body: body as V1Secret, fieldManager: FIELD_MANAGER });
    },
    async delete(kind, namespace, name, preconditions) {
      const body = { preconditions };
      if (kind === 'ConfigMap') await core.deleteNamespacedConfigMap({ name, namespace, body });
      else await core.deleteNamespacedSecret({ name, namespace, body });
    },
  };
}

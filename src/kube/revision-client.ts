import type { AppsV1Api, CoreV1Api, V1ControllerRevision, V1Secret } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../api/constants.js';
import { isNotFound } from './api-errors.js';

/**
 * Reads and conditional writes of a push's content revisions: the
 * ControllerRevisions, and the Secrets that hold the payload of revisions
 * derived from Secrets (core/revisions.ts). As for targets, every write is
 * conditional: create meets AlreadyExists, replace carries the resourceVersion
 * that was read, delete carries uid and resourceVersion preconditions.
 */
export interface RevisionClient {
  read(namespace: string, name: string): Promise<V1ControllerRevision | undefined>;
  create(namespace: string, body: V1ControllerRevision): Promise<V1ControllerRevision>;
  /** `body.metadata.resourceVersion` must be the version that was read. */
  replace(namespace: string, name: string, body: V1ControllerRevision): Promise<V1ControllerRevision>;
  delete(namespace: string, name: string, preconditions: { uid: string; resourceVersion: string }): Promise<void>;
  readSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  createSecret(namespace: string, body: V1Secret): Promise<V1Secret>;
  /** Deletes a revision Secret if it is still the one with `uid`; a missing one is fine. */
  deleteSecret(namespace: string, name: string, preconditions: { uid: string }): Promise<void>;
}

export function kubeRevisionClient(apps: AppsV1Api, core: CoreV1Api): RevisionClient {
  return {
    async read(namespace, name) {
      try {
        return await apps.readNamespacedControllerRevision({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: (namespace, body) => apps.createNamespacedControllerRevision({ namespace, body, fieldManager: FIELD_MANAGER }),
    async replace(namespace, name, body) {
      if (!body.metadata?.resourceVersion) throw new Error('refusing an unconditional replace: no resourceVersion');
      return apps.replaceNamespacedControllerRevision({ name, namespace, body, fieldManager: FIELD_MANAGER });
    },
    async delete(namespace, name, preconditions) {
      try {
        await apps.deleteNamespacedControllerRevision({ name, namespace, body: { preconditions } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async readSecret(namespace, name) {
      try {
        return await core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    createSecret: (namespace, body) => core.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER }),
    async deleteSecret(namespace, name, preconditions) {
      try {
        await core.deleteNamespacedSecret({ name, namespace, body: { preconditions } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}

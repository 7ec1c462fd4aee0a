import type { CustomObjectsApi } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from './client-node.js';
import { FIELD_MANAGER, GROUP, PLURAL, VERSION } from '../api/constants.js';
import type { ConfigPush, ConfigPushStatus } from '../api/types.js';

/**
 * Writes to ConfigPush objects. Both are conditional on the resourceVersion
 * the reconcile read: a stale view gets 409 and the key is re-queued to decide
 * again, instead of overwriting what someone else just wrote.
 */
export interface ConfigPushClient {
  /**
   * PUT /status with metadata.resourceVersion from `push`. The body carries
   * no spec: the status subresource takes everything but the status from the
   * stored object, so a spec sent along is only decoded, validated and
   * discarded by the apiserver (for a push with a large data, on every write).
   */
  writeStatus(push: ConfigPush, status: ConfigPushStatus): Promise<ConfigPush>;
  /**
   * Replaces metadata.finalizers with a merge patch that carries the
   * resourceVersion: the apiserver applies it only at that version (else 409).
   */
  setFinalizers(push: ConfigPush, finalizers: string[]): Promise<ConfigPush>;
  list(namespace?: string): Promise<{ items: ConfigPush[]; metadata?: { resourceVersion?: string } }>;
}

export function kubeConfigPushClient(custom: CustomObjectsApi): ConfigPushClient {
  const base = { group: GROUP, version: VERSION, plural: PLURAL };
  return {
    async writeStatus(push, status) {
      const body = {
        apiVersion: push.apiVersion,
        kind: push.kind,
        metadata: { name: push.metadata.name, namespace: push.metadata.namespace, resourceVersion: push.metadata.resourceVersion },
        status,
      };
      return (await custom.replaceNamespacedCustomObjectStatus({
        ...base,
        namespace: push.metadata.namespace,
        name: push.metadata.name,
        body,
        fieldManager: FIELD_MANAGER,
      })) as ConfigPush;
    },
    async setFinalizers(push, finalizers) {
      const patch = { metadata: { resourceVersion: push.metadata.resourceVersion, finalizers } };
      return (await custom.patchNamespacedCustomObject(
        { ...base, namespace: push.metadata.namespace, name: push.metadata.name, body: patch, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as ConfigPush;
    },
    async list(namespace) {
      const result = namespace
        ? await custom.listNamespacedCustomObject({ ...base, namespace })
        : await custom.listClusterCustomObject(base);
      return result as { items: ConfigPush[]; metadata?: { resourceVersion?: string } };
    },
  };
}

import type { CoreV1Api } from '@kubernetes/client-node';
import type { SourceKind } from '../api/types.js';
import { PermanentError } from '../core/errors.js';
import type { SourceObject } from '../core/sources.js';
import { isNotFound, statusCode } from './api-errors.js';

/**
 * Live reads of spec.sources (one GET each, never a cache: a source's values
 * are held only by the reconcile that reads them). Built on the operator's
 * own clients, or on clients that impersonate the push's ServiceAccount, so
 * that account's RBAC decides what the push may read.
 */
export interface SourceClient {
  /** The source as copying needs it, or undefined when it does not exist. A 403 is a SourceForbidden PermanentError. */
  read(kind: SourceKind, namespace: string, name: string): Promise<SourceObject | undefined>;
}

/** `identity` names who reads, for the SourceForbidden message ("the operator", "ServiceAccount team-a/pusher"). */
export function kubeSourceClient(core: CoreV1Api, identity: string): SourceClient {
  return {
    async read(kind, namespace, name) {
      try {
        if (kind === 'ConfigMap') {
          const cm = await core.readNamespacedConfigMap({ name, namespace });
          return sourceObject(kind, namespace, name, cm.metadata, cm.data, cm.binaryData);
        }
        const secret = await core.readNamespacedSecret({ name, namespace });
        // A Secret's .data is base64 bytes: binary content for the targets.
        return sourceObject(kind, namespace, name, secret.metadata, {}, secret.data);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (statusCode(err) === 403) {
          throw new PermanentError(
            'SourceForbidden',
            `${identity} may not get ${kind} ${namespace}/${name} (a spec.sources entry): grant it get on ${kind === 'Secret' ? 'secrets' : 'configmaps'} there`,
            { cause: err },
          );
        }
        throw err;
      }
    },
  };
}

function sourceObject(
  kind: SourceKind,
  namespace: string,
  name: string,
  metadata: { uid?: string; resourceVersion?: string; annotations?: Record<string, string> } | undefined,
  data: Record<string, string> | undefined,
  binaryData: Record<string, string> | undefined,
): SourceObject {
  return {
    kind,
    namespace,
    name,
    uid: metadata?.uid ?? '',
    ...(metadata?.resourceVersion !== undefined ? { resourceVersion: metadata.resourceVersion } : {}),
    annotations: metadata?.annotations ?? {},
    data: data ?? {},
    binaryData: binaryData ?? {},
  };
}

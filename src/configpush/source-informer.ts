import type { CoreV1Api, KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { SOURCE_COPY_TO_ANNOTATION } from '../api/constants.js';
import type { SourceKind } from '../api/types.js';
import { listMetadataOnly, metadataOnlyWatches } from '../kube/metadata-only.js';
import { ResilientInformer, type InformerHandlers } from '../kube/resilient-informer.js';
import { keepMetadataOnly } from '../runtime/cache-transforms.js';

export interface SourceInformerOptions {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  log: Logger;
  relistIntervalMs: number;
  /** False: always LIST, as against an apiserver that serves no watch-lists (tests). */
  watchList?: boolean;
}

/**
 * The watch of one kind of source in one namespace (source-watches.ts starts
 * and stops them). Metadata only, twice over: the apiserver sends no Secret
 * values or ConfigMap data at all (kube/metadata-only.ts), and the transform
 * then drops what the metadata holds beyond what the watch needs
 * (managedFields, every annotation but the copy-to list). The reconcile reads
 * a source's content live, as the operator or the push's ServiceAccount.
 */
export function sourceInformerFactory(options: SourceInformerOptions) {
  const watchConfig = metadataOnlyWatches(options.kubeConfig);
  const transform = keepMetadataOnly([SOURCE_COPY_TO_ANNOTATION]);
  return (kind: SourceKind, namespace: string, handlers: InformerHandlers<KubernetesObject>): ResilientInformer<KubernetesObject> =>
    new ResilientInformer<KubernetesObject>({
      kubeConfig: watchConfig,
      path: `/api/v1/namespaces/${namespace}/${kind === 'Secret' ? 'secrets' : 'configmaps'}`,
      list: () => listMetadataOnly(options.core, kind, namespace),
      handlers,
      transform,
      log: options.log,
      relistIntervalMs: options.relistIntervalMs,
      ...(options.watchList === false ? { watchList: false } : {}),
    });
}

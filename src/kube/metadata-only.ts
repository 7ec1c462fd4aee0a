import type { ConfigurationOptions, CoreV1Api, KubeConfig, KubernetesListObject, KubernetesObject, RequestContext } from '@kubernetes/client-node';
import { setHeaderOptions } from './client-node.js';

/**
 * Metadata-only reads, served by the apiserver (controller-runtime's
 * `OnlyMetadata`, client-go's metadata informers): with this Accept header
 * the apiserver answers a watch with each object's `metadata` alone, as a
 * `meta.k8s.io/v1` PartialObjectMetadata, and a LIST as a
 * PartialObjectMetadataList. The object's content (a Secret's values, a
 * ConfigMap's data) never leaves the apiserver.
 *
 * Why: the operator watches every Secret and ConfigMap of a namespace that a
 * push copies from (source watches), to learn that one changed; it reads the
 * one it needs live. A client-side transform kept only metadata in memory,
 * but each relist and each change still streamed whole objects: a namespace
 * holding Helm release Secrets or large certificates sent all of their bytes
 * to the operator, and the apiserver encoded them, for nothing
 * (bench/source-watch-bytes.ts measures the difference).
 */
export const PARTIAL_OBJECT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
export const PARTIAL_OBJECT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/**
 * A view of `kubeConfig` for client-node's `Watch` (and so for informers and
 * watch-lists) that asks for metadata only. `Watch` takes its headers from
 * `applySecurityAuthentication` and has no option of its own for them, so
 * the view sets Accept after the kubeconfig has set the request up (tokens,
 * exec plugins, TLS). Everything else is the kubeconfig's own, read through
 * the prototype: a credential it refreshes is the view's too.
 *
 * For watches only: a LIST needs the List form of the header
 * (`metadataOnlyList`).
 */
export function metadataOnlyWatches(kubeConfig: KubeConfig): KubeConfig {
  const view = Object.create(kubeConfig) as KubeConfig;
  view.applySecurityAuthentication = async (context: RequestContext) => {
    await kubeConfig.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', PARTIAL_OBJECT_METADATA);
  };
  return view;
}

/** Options for a generated LIST call that asks for metadata only (kept with the client's own middleware). */
export const metadataOnlyList: ConfigurationOptions = setHeaderOptions('Accept', PARTIAL_OBJECT_METADATA_LIST);

/** A namespace's Secrets or ConfigMaps, metadata only: the LIST an informer falls back to where watch-lists are not served. */
export function listMetadataOnly(core: CoreV1Api, kind: 'Secret' | 'ConfigMap', namespace: string): Promise<KubernetesListObject<KubernetesObject>> {
  return (kind === 'Secret' ? core.listNamespacedSecret({ namespace }, metadataOnlyList) : core.listNamespacedConfigMap({ namespace }, metadataOnlyList)) as Promise<
    KubernetesListObject<KubernetesObject>
  >;
}

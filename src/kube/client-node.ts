/**
 * Every @kubernetes/client-node value the operator uses, from this one
 * module. Types are imported from the package itself (they vanish at build);
 * values must come from here (a layering rule in .dependency-cruiser.cjs).
 *
 * Why: the package's index loads every API group's generated classes, ~17 MB
 * of source that the process keeps for its whole life, though the operator
 * calls five. The build replaces the compiled copy of this module with a
 * tree-shaken bundle of just these exports (hack/bundle-client-node.mjs):
 * measured at startup, RSS 111 -> 90 MiB and the JS heap 32 -> 13 MiB
 * (docs/benchmarks.md). Under vitest and tsc this module is a plain
 * re-export, so tests exercise the same classes the bundle holds.
 */
export {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  makeInformer,
  PatchStrategy,
  RequestContext,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  setHeaderOptions,
  V1MicroTime,
  VersionApi,
  Watch,
  wrapHttpLibrary,
} from '@kubernetes/client-node';

import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION } from '../api/constants.js';

const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Cache trimming (controller-runtime's cache transforms): what the caches
 * hold is what the operator keeps in memory for every object it watches (at
 * 10,000 pushes, ~2.2 KiB a cached push and ~0.23 KiB a cached target after
 * trimming; docs/benchmarks.md). managedFields
 * are often the larger half of an object and nothing reads them from a cache
 * (status history reads them from a live GET).
 */
export function dropManagedFields(obj: KubernetesObject): void {
  // Assigned undefined rather than deleted: \`delete\` turns the object into a
  // dictionary-mode object in V8, ~400 bytes more per cached object (heap
  // snapshot at 10,000 pushes: 4.3 MiB of metadata property dictionaries).
  if (obj.metadata?.managedFields !== undefined) unset(obj.metadata, 'managedFields');
}

/** Empties an optional field in place while keeping the object's V8 shape (JSON and the serializer skip undefined). */
function unset<T extends object>(obj: T, field: keyof T): void {
  (obj as Record<keyof T, unknown>)[field] = undefined;
}

/** kubectl apply stores a second copy of the whole push in an annotation; the operator reads only spec and status. */
export function trimPush(obj: KubernetesObject): void {
  dropManagedFields(obj);
  // Annotations are a map with arbitrary keys, dictionary-mode anyway.
  delete obj.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
}

/**
 * Target caches serve ownership lookups and echo detection only: name,
 * namespace, resourceVersion and the two owner annotations are enough (the
 * informer itself compares only name, namespace and resourceVersion).
 * Dropping the content also keeps Secret values out of the operator's
 * long-lived memory; every decision re-reads the live target.
 */
export function keepTargetMetadataOnly(obj: V1ConfigMap | V1Secret): void {
  const { name, namespace, resourceVersion, annotations } = obj.metadata ?? {};
  const owner = annotations?.[ANNOTATION.owner];
  const ownerUid = annotations?.[ANNOTATION.ownerUid];
  obj.metadata = {
    ...(name !== undefined ? { name } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    annotations: { ...(owner !== undefined ? { [ANNOTATION.owner]: owner } : {}), ...(ownerUid !== undefined ? { [ANNOTATION.ownerUid]: ownerUid } : {}) },
  };
  // Not \`delete\`: see dropManagedFields.
  if (obj.data !== undefined) unset(obj, 'data');
  if ('binaryData' in obj && obj.binaryData !== undefined) unset(obj, 'binaryData');
  if ('stringData' in obj && obj.stringData !== undefined) unset(obj, 'stringData');
}

/**
 * For watches of objects the operator does not own and reads live whenever
 * it needs their content (a push's sources): only name, namespace, uid,
 * resourceVersion and the annotations named are kept. Everything else (a
 * Secret's data above all) is dropped before the object is cached, so the
 * watch holds no values in memory.
 */
export function keepMetadataOnly(annotationKeys: readonly string[]): (obj: KubernetesObject) => void {
  return (obj) => {
    const { name, namespace, uid, resourceVersion, annotations } = obj.metadata ?? {};
    const kept: Record<string, string> = {};
    for (const key of annotationKeys) if (annotations?.[key] !== undefined) kept[key] = annotations[key];
    obj.metadata = {
      ...(name !== undefined ? { name } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      annotations: kept,
    };
    // Not `delete`: see dropManagedFields.
    const fields = obj as unknown as Record<string, unknown>;
    for (const field of Object.keys(fields)) if (field !== 'apiVersion' && field !== 'kind' && field !== 'metadata') fields[field] = undefined;
  };
}

import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION } from '../api/constants.js';
import type { TargetKind } from '../api/types.js';
import { lastWriteTime } from '../core/desired-target.js';
import { observedTargetDigest, type DigestKey } from '../core/target-digest.js';

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
  shareRepeatedStrings(obj);
}

/**
 * Equal strings made one. JSON.parse gives every push its own copy of the
 * strings that most pushes share (apiVersion, kind, the conditions' types,
 * reasons, messages and transition times, the targets' kind and state): at
 * 10,000 pushes, ~0.3 KiB a push in the heap snapshot. Only those fields, so
 * the table holds repeated values, and it is bounded: when full it starts
 * over (what is cached keeps the strings it has; only sharing with later
 * objects is lost).
 */
class StringTable {
  private table = new Map<string, string>();

  constructor(private readonly limit: number) {}

  share(value: unknown): unknown {
    if (typeof value !== 'string' || value.length > 256) return value;
    const shared = this.table.get(value);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.limit) this.table = new Map();
    this.table.set(value, value);
    return value;
  }
}

const repeated = new StringTable(4096);

function shareFields(obj: unknown, fields: readonly string[]): void {
  if (obj === null || typeof obj !== 'object') return;
  const record = obj as Record<string, unknown>;
  for (const field of fields) if (typeof record[field] === 'string') record[field] = repeated.share(record[field]);
}

function shareEach(list: unknown, fields: readonly string[]): void {
  if (Array.isArray(list)) for (const item of list) shareFields(item, fields);
}

function shareRepeatedStrings(obj: KubernetesObject): void {
  shareFields(obj, ['apiVersion', 'kind']);
  const metadata = obj.metadata as Record<string, unknown> | undefined;
  shareFields(metadata, ['creationTimestamp']);
  if (metadata !== undefined) shareFinalizers(metadata);
  const { spec, status } = obj as {
    spec?: { targets?: unknown };
    status?: { conditions?: unknown; targets?: unknown; history?: unknown; targetSummary?: unknown; rollout?: unknown };
  };
  shareEach(spec?.targets, ['kind']);
  if (status === undefined || status === null || typeof status !== 'object') return;
  shareFields(status, ['targetSummary']);
  shareFields(status.rollout, ['phase', 'progress']);
  if (status.rollout !== null && typeof status.rollout === 'object') status.rollout = repeatedRecords.share(status.rollout);
  shareEach(status.conditions, ['type', 'status', 'reason', 'message', 'lastTransitionTime']);
  shareConditions(status.conditions);
  shareEach(status.targets, ['kind', 'state', 'namespace', 'message']);
  shareEach(status.history, ['appliedAt', 'result', 'phase']);
  shareWithinStatus(status as Record<string, unknown>);
  shareTargetNames(spec?.targets, status.targets);
}

/**
 * Equal flat records made one object: the conditions and the rollout
 * summary. Pushes that became Ready in the same second carry the same
 * Reconciling, Stalled and Drifted conditions (all six fields equal), and
 * finished single-wave pushes the same status.rollout: each ~56-72 bytes of
 * object per push once its strings are shared. The shared object is frozen:
 * nothing may write to a cached push (readers build a new status; a write
 * into a shared record would change other pushes' too, so it throws
 * instead). Only records of at most 8 primitive fields and short strings;
 * equal means the same fields in the same order with the same values.
 * Bounded as the string table is.
 */
class RecordTable {
  private table = new Map<string, object>();

  constructor(private readonly limit: number) {}

  share(value: unknown): unknown {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.isFrozen(value)) return value;
    const fields = Object.values(value);
    if (fields.length > 8) return value;
    for (const field of fields) {
      // Only what JSON keeps as is (it would drop an undefined field from the key).
      if (field !== null && typeof field !== 'string' && typeof field !== 'number' && typeof field !== 'boolean') return value;
      if (typeof field === 'string' && field.length > 256) return value;
    }
    const key = JSON.stringify(value);
    const shared = this.table.get(key);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.limit) this.table = new Map();
    this.table.set(key, Object.freeze(value));
    return value;
  }
}

const repeatedRecords = new RecordTable(4096);

/**
 * Equal finalizer lists made one frozen array: nearly every push carries
 * ["configpush.io/finalizer"], and each parsed copy is an array and its
 * elements store (~56 B a push). Readers only read it (finalizer.ts builds
 * a new list for a patch); a write into the shared one throws. Lists of up
 * to 8 short strings; bounded as the tables above.
 */
class FinalizerTable {
  private table = new Map<string, readonly string[]>();

  constructor(private readonly limit: number) {}

  share(list: unknown): unknown {
    if (!Array.isArray(list) || list.length === 0 || list.length > 8 || Object.isFrozen(list)) return list;
    for (const item of list as unknown[]) if (typeof item !== 'string' || item.length > 256) return list;
    const key = JSON.stringify(list);
    const shared = this.table.get(key);
    if (shared !== undefined) return shared;
    if (this.table.size >= this.limit) this.table = new Map();
    const frozen = Object.freeze((list as string[]).map((item) => repeated.share(item) as string));
    this.table.set(key, frozen);
    return frozen;
  }
}

const repeatedFinalizers = new FinalizerTable(256);

function shareFinalizers(metadata: Record<string, unknown>): void {
  if (metadata.finalizers !== undefined) metadata.finalizers = repeatedFinalizers.share(metadata.finalizers);
}

function shareConditions(conditions: unknown): void {
  if (!Array.isArray(conditions)) return;
  for (let i = 0; i < conditions.length; i++) conditions[i] = repeatedRecords.share(conditions[i]);
}

/**
 * A target's name in status.targets is the spec's (a selector's targets in
 * every namespace all carry the one name): one string, not one per entry.
 */
function shareTargetNames(specTargets: unknown, statusTargets: unknown): void {
  if (!Array.isArray(specTargets) || !Array.isArray(statusTargets)) return;
  const names = new Map<unknown, string>();
  for (const target of specTargets as unknown[]) {
    const name = (target as Record<string, unknown> | null)?.name;
    if (typeof name === 'string') names.set(name, name);
  }
  for (const target of statusTargets as unknown[]) {
    if (target === null || typeof target !== 'object') continue;
    const record = target as Record<string, unknown>;
    const name = names.get(record.name);
    if (name !== undefined) record.name = name;
  }
}

/**
 * One copy of the values a status repeats: the digest and operation key of
 * the current generation also appear in its history entry and on each
 * target, and JSON.parse makes each occurrence a string of its own (at
 * 10,000 pushes: 88 B for a digest, 32 B for a key, per copy). Unlike the
 * table above, these are unique per push, so they are shared within the
 * push only.
 */
function shareWithinStatus(status: Record<string, unknown>): void {
  const { contentDigest, operationKey } = status;
  const same = (list: unknown, field: string, value: unknown) => {
    if (typeof value !== 'string' || !Array.isArray(list)) return;
    for (const item of list as unknown[]) {
      if (item !== null && typeof item === 'object' && (item as Record<string, unknown>)[field] === value) (item as Record<string, unknown>)[field] = value;
    }
  };
  same(status.history, 'digest', contentDigest);
  same(status.history, 'key', operationKey);
  same(status.targets, 'operationKey', operationKey);
}

/**
 * Target caches serve ownership lookups and echo detection: name, namespace,
 * resourceVersion and the two owner annotations, as KeptTargetMetadata (the
 * informer itself compares only name, namespace and resourceVersion). Dropping the content
 * also keeps Secret values out of the operator's long-lived memory. The
 * operator's target watches use keepTargetFacts, which keeps a keyed digest
 * of the content as well.
 */
export function keepTargetMetadataOnly(obj: V1ConfigMap | V1Secret): void {
  keepTargetMetadata(obj, undefined);
}

/**
 * What a target cache keeps of a target's metadata: what the informer
 * compares (name, namespace, resourceVersion), the two owner annotations and
 * keepTargetFacts's packed facts, as fields of their own. A target as the
 * apiserver sends it carries the annotations in a map: one object more per
 * cached target (322 -> 282 B a target with the map gone, bench/cache-memory.ts). Never a real object's
 * metadata, and never written (writes start from a live read). Read it
 * through targetOwnership and cachedTargetFacts, which also take a target
 * as the apiserver sends it (a watch's DELETE event is not trimmed).
 */
export interface KeptTargetMetadata {
  name: string | undefined;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  /** The configpush.io/owner annotation: `<namespace>/<name>` of the owning push. */
  owner: string | undefined;
  /** The configpush.io/owner-uid annotation. */
  ownerUid: string | undefined;
  /** keepTargetFacts's packed string; undefined under keepTargetMetadataOnly. */
  facts: string | undefined;
}

function isKeptTarget(metadata: object): metadata is KeptTargetMetadata {
  return 'ownerUid' in metadata;
}

/** A target's owner annotations, from either shape. */
export function targetOwnership(obj: V1ConfigMap | V1Secret): { owner: string | undefined; ownerUid: string | undefined } {
  const metadata = obj.metadata;
  if (metadata === undefined) return { owner: undefined, ownerUid: undefined };
  if (isKeptTarget(metadata)) return { owner: metadata.owner, ownerUid: metadata.ownerUid };
  return { owner: metadata.annotations?.[ANNOTATION.owner], ownerUid: metadata.annotations?.[ANNOTATION.ownerUid] };
}

/** Sets a cached target's owner strings to other copies of equal values (owner-strings.ts); a target not trimmed is left alone. */
export function shareTargetOwnership(obj: V1ConfigMap | V1Secret, strings: { ownerUid?: string }): void {
  const metadata = obj.metadata;
  if (metadata === undefined || !isKeptTarget(metadata)) return;
  if (strings.ownerUid !== undefined && metadata.ownerUid === strings.ownerUid) metadata.ownerUid = strings.ownerUid;
}

/**
 * keepTargetMetadataOnly, with `facts` (keepTargetFacts's packed string).
 * One literal of fixed shape, as keepRevisionMetadata's: built from spreads,
 * or with fields added after, they went to a separate properties array (~90
 * B more per cached target, bench/cache-memory.ts). An absent field is
 * undefined, which readers (property reads only) and JSON treat as absent.
 */
function keepTargetMetadata(obj: V1ConfigMap | V1Secret, facts: string | undefined): void {
  const { name, namespace, resourceVersion, annotations } = obj.metadata ?? {};
  const kept: KeptTargetMetadata = {
    name,
    namespace,
    resourceVersion,
    owner: annotations?.[ANNOTATION.owner],
    ownerUid: annotations?.[ANNOTATION.ownerUid],
    facts,
  };
  obj.metadata = kept as NonNullable<V1ConfigMap['metadata']>;
  // Not `delete`: see dropManagedFields.
  if (obj.data !== undefined) unset(obj, 'data');
  if ('binaryData' in obj && obj.binaryData !== undefined) unset(obj, 'binaryData');
  if ('stringData' in obj && obj.stringData !== undefined) unset(obj, 'stringData');
}

/** What keepTargetFacts keeps of a target's content and history, besides its metadata. */
export interface CachedTargetFacts {
  /** observedTargetDigest (core/target-digest.ts) under the process's key. */
  targetDigest: string;
  operationKey: string | undefined;
  /** When the operator last wrote it (managedFields, which the cache drops). */
  lastWrittenAt: string | undefined;
}

/**
 * keepTargetMetadataOnly, plus what lets the cache stand in for a read of the
 * target (docs/performance-idle-reads.md, "Restarts"): before the content is
 * dropped, its keyed digest (core/target-digest.ts: nothing reversible stays
 * in memory, a Secret's values included), the operation key it carries and
 * when the operator last wrote it. One packed string per target: the digest
 * (base64) and the time (ISO) hold no space, so the key, which anyone may
 * have edited, is whatever follows the second space.
 */
export function keepTargetFacts(kind: TargetKind, key: DigestKey): (obj: V1ConfigMap | V1Secret) => void {
  return (obj) => {
    // Trimmed already (its content is gone): a digest now would be of nothing.
    if (obj.metadata !== undefined && isKeptTarget(obj.metadata)) return;
    const targetDigest = observedTargetDigest(kind, obj, key);
    const operationKey = obj.metadata?.annotations?.[ANNOTATION.operationKey];
    const lastWrittenAt = lastWriteTime(obj);
    // Copied into one flat string: the template literal is a tree of cons strings (~270 bytes more per cached target, measured).
    keepTargetMetadata(obj, flat(`${targetDigest} ${lastWrittenAt ?? '-'} ${operationKey === undefined ? '-' : `=${operationKey}`}`));
  };
}

/** A flat copy of `text`: a cached string then holds its characters only, no concatenation tree. */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** The facts keepTargetFacts packed into a cached target; undefined if it has none. */
export function cachedTargetFacts(obj: V1ConfigMap | V1Secret): CachedTargetFacts | undefined {
  const metadata = obj.metadata;
  const packed = metadata !== undefined && isKeptTarget(metadata) ? metadata.facts : undefined;
  if (packed === undefined) return undefined;
  const first = packed.indexOf(' ');
  const second = packed.indexOf(' ', first + 1);
  if (first < 0 || second < 0) return undefined;
  const time = packed.slice(first + 1, second);
  const key = packed.slice(second + 1);
  return {
    targetDigest: packed.slice(0, first),
    lastWrittenAt: time === '-' ? undefined : time,
    operationKey: key.startsWith('=') ? key.slice(1) : undefined,
  };
}

/**
 * For watches of objects the operator does not own and reads live whenever
 * it needs their content (a push's sources): only name, namespace, uid,
 * resourceVersion and the annotations named are kept. Everything else is
 * dropped before the object is cached. The source watches also ask the
 * apiserver for metadata only (kube/metadata-only.ts), so a Secret's data
 * does not arrive at all; this holds the line for a watch that did not.
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

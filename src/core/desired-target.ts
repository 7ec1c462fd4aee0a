import type { V1ConfigMap, V1ManagedFieldsEntry, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION, FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { TargetKind } from '../api/types.js';
import type { DesiredContent } from './content-digest.js';

/**
 * Pure functions that turn a ConfigPush's desired content into the exact
 * object a target must end as, and that compare a live target with it.
 * No I/O here: the applier decides what to write from these answers.
 */

export type TargetObject = V1ConfigMap | V1Secret;

/** Everything that identifies the operation writing a target. */
export interface Ownership {
  ownerUid: string;
  /** `<namespace>/<name>` of the ConfigPush. */
  owner: string;
  operationKey: string;
  /** The push generation the operation key was minted for. */
  generation: number;
  contentDigest: string;
}

/**
 * Records which label and annotation keys came from spec.labels and
 * spec.annotations, so a later operation can remove the ones the spec no
 * longer has without touching keys that other tools own (the same idea as
 * kubectl's last-applied-configuration).
 */
export const MANAGED_KEYS_ANNOTATION = 'configpush.io/managed-metadata';

export interface ManagedKeys {
  labels: string[];
  annotations: string[];
}

export function ownedBy(target: TargetObject | undefined): string | undefined {
  return target?.metadata?.annotations?.[ANNOTATION.ownerUid];
}

/** The (kind-specific) data fields a target must hold: exactly these, nothing else. */
export function desiredData(kind: TargetKind, content: DesiredContent): Pick<V1ConfigMap, 'data' | 'binaryData'> {
  if (kind === 'ConfigMap') {
    return { data: { ...content.data }, binaryData: { ...content.binaryData } };
  }
  // A Secret stores bytes, base64-encoded, in .data: text values are encoded
  // here and binaryData values are already base64.
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(content.data)) data[key] = Buffer.from(value, 'utf8').toString('base64');
  for (const [key, value] of Object.entries(content.binaryData)) data[key] = normaliseBase64(value);
  return { data };
}

/** The apiserver re-encodes base64 canonically; compare in that form. */
function normaliseBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('base64');
}

/**
 * The object to write: the live target (if any) with its data replaced in
 * full, spec labels/annotations set, stale spec keys removed, and the
 * ownership markers stamped in the same write.
 */
export function renderTarget(
  kind: TargetKind,
  name: string,
  namespace: string,
  content: DesiredContent,
  ownership: Ownership,
  live: TargetObject | undefined,
): TargetObject {
  const previous = readManagedKeys(live);
  const labels = withoutKeys(live?.metadata?.labels, previous.labels);
  const annotations = withoutKeys(live?.metadata?.annotations, previous.annotations);
  Object.assign(labels, content.labels, { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });
  Object.assign(annotations, content.annotations, {
    [ANNOTATION.ownerUid]: ownership.ownerUid,
    [ANNOTATION.owner]: ownership.owner,
    [ANNOTATION.operationKey]: ownership.operationKey,
    [ANNOTATION.contentDigest]: ownership.contentDigest,
    [MANAGED_KEYS_ANNOTATION]: JSON.stringify({
      labels: Object.keys(content.labels).sort(),
      annotations: Object.keys(content.annotations).sort(),
    } satisfies ManagedKeys),
  });

  const metadata = {
    ...(live?.metadata ?? {}),
    name,
    namespace,
    labels,
    annotations,
  };
  // Server-populated bookkeeping is not ours to send back.
  delete metadata.managedFields;

  const fields = desiredData(kind, content);
  if (kind === 'ConfigMap') {
    const body: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: fields.data ?? {} };
    if (fields.binaryData && Object.keys(fields.binaryData).length > 0) body.binaryData = fields.binaryData;
    const immutable = (live as V1ConfigMap | undefined)?.immutable;
    if (immutable !== undefined) body.immutable = immutable;
    return body;
  }
  const liveSecret = live as V1Secret | undefined;
  const body: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata,
    type: liveSecret?.type ?? 'Opaque',
    data: fields.data ?? {},
  };
  if (liveSecret?.immutable !== undefined) body.immutable = liveSecret.immutable;
  return body;
}

/** True when the live target already holds exactly the desired content and markers for this digest. */
export function contentMatches(kind: TargetKind, live: TargetObject, content: DesiredContent, digest: string): boolean {
  const annotations = live.metadata?.annotations ?? {};
  const labels = live.metadata?.labels ?? {};
  if (annotations[ANNOTATION.contentDigest] !== digest) return false;
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return false;
  if (!includes(labels, content.labels) || !includes(annotations, content.annotations)) return false;
  const previous = readManagedKeys(live);
  if (!sameKeys(previous.labels, Object.keys(content.labels)) || !sameKeys(previous.annotations, Object.keys(content.annotations))) {
    return false;
  }
  const want = desiredData(kind, content);
  if (kind === 'ConfigMap') {
    const cm = live as V1ConfigMap;
    return sameMap(cm.data, want.data) && sameMap(cm.binaryData, want.binaryData);
  }
  return sameMap((live as V1Secret).data, want.data);
}

/** The target with the operator's ownership markers removed (deletionPolicy Retain). */
export function releaseTarget(live: TargetObject): TargetObject {
  const labels = { ...(live.metadata?.labels ?? {}) };
  const annotations = { ...(live.metadata?.annotations ?? {}) };
  delete labels[MANAGED_BY_LABEL];
  for (const key of [...Object.values(ANNOTATION), MANAGED_KEYS_ANNOTATION]) delete annotations[key];
  const metadata = { ...live.metadata, labels, annotations };
  delete metadata.managedFields;
  return { ...live, metadata } as TargetObject;
}

/** The field manager that wrote the target last, other than the operator ("unknown" if managedFields do not say). */
export function otherWriter(live: TargetObject | undefined): string {
  const entries: V1ManagedFieldsEntry[] = live?.metadata?.managedFields ?? [];
  const others = entries.filter((entry) => entry.manager !== FIELD_MANAGER && entry.manager);
  const time = (entry: V1ManagedFieldsEntry) => new Date(entry.time as unknown as string | Date).getTime() || 0;
  return others.sort((a, b) => time(b) - time(a))[0]?.manager ?? 'unknown';
}

/**
 * When the operator last wrote this object, from managedFields: lets a wiped
 * history be rebuilt with real times. Also asked of workloads, whose only
 * operator-written field is the restart annotation (their last restart).
 * RFC 3339 in UTC, whole seconds; an entry whose time does not parse is
 * passed over.
 *
 * Asked of every target the watch delivers and every write's answer, so the
 * usual case takes no date parsing: one entry of the operator's, its time in
 * the apiserver's own form (metav1.Time: UTC, whole seconds), which is
 * already the answer.
 */
export function lastWriteTime(live: { metadata?: { managedFields?: V1ManagedFieldsEntry[] } } | undefined): string | undefined {
  const ours = (live?.metadata?.managedFields ?? []).filter((entry) => entry.manager === FIELD_MANAGER && entry.time);
  const only = ours.length === 1 ? (ours[0]?.time as unknown as string | Date) : undefined;
  if (typeof only === 'string' && APISERVER_TIME.test(only)) return only;
  let latest: number | undefined;
  for (const entry of ours) {
    const ms = new Date(entry.time as unknown as string | Date).getTime();
    if (!Number.isNaN(ms) && (latest === undefined || ms > latest)) latest = ms;
  }
  // toISOString always ends in ".sssZ"; the apiserver keeps whole seconds.
  return latest === undefined ? undefined : `${new Date(latest).toISOString().slice(0, -5)}Z`;
}

/** metav1.Time as the apiserver writes it: RFC 3339, UTC, whole seconds. */
const APISERVER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The label and annotation keys the target records as its spec's (the managed-metadata annotation); none if absent or unparsable. */
export function readManagedKeys(live: TargetObject | undefined): ManagedKeys {
  const raw = live?.metadata?.annotations?.[MANAGED_KEYS_ANNOTATION];
  if (!raw) return { labels: [], annotations: [] };
  try {
    const parsed = JSON.parse(raw) as Partial<ManagedKeys>;
    return {
      labels: Array.isArray(parsed.labels) ? parsed.labels.filter((k) => typeof k === 'string') : [],
      annotations: Array.isArray(parsed.annotations) ? parsed.annotations.filter((k) => typeof k === 'string') : [],
    };
  } catch {
    // A hand-edited, unparsable marker only means we cannot prune old keys.
    return { labels: [], annotations: [] };
  }
}

function withoutKeys(map: Record<string, string> | undefined, keys: string[]): Record<string, string> {
  const copy = { ...(map ?? {}) };
  for (const key of keys) delete copy[key];
  return copy;
}

function includes(actual: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => actual[key] === value);
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((key) => set.has(key));
}

function sameMap(actual: Record<string, string> | undefined, wanted: Record<string, string> | undefined): boolean {
  const a = actual ?? {};
  const w = wanted ?? {};
  const keys = Object.keys(w);
  if (Object.keys(a).length !== keys.length) return false;
  return keys.every((key) => a[key] === w[key]);
}

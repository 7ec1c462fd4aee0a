import type { ConfigPushSpec } from '../api/types.js';
import { digestHex, type DesiredContent } from './content-digest.js';
import { rollbackKey } from './operation-key.js';
import { resolveContent } from './resolve-spec.js';

/**
 * Content revisions: each content a push's rollout completed, kept as a
 * ControllerRevision owned by the push (as StatefulSets and DaemonSets keep
 * their pod templates), so a failed rollout can return to the last one that
 * completed and a user can roll back to any kept one. Pure: naming, the
 * payload's shape, and which revision to roll back to or prune. The I/O is in
 * kube/revision-client.ts and configpush/revisions.ts.
 */

/** Label on a push's ControllerRevisions and revision Secrets: the push's uid (the watch selects on it). */
export const REVISION_OF_LABEL = 'configpush.io/revision-of';

/** Annotations on a ControllerRevision: what it holds, without the values. */
export const REVISION_ANNOTATION = {
  /** The content digest (the same as the targets' configpush.io/content-digest). */
  digest: 'configpush.io/content-digest',
  /** The operation whose rollout completed with this content. */
  operationKey: 'configpush.io/operation-key',
  /** `<namespace>/<name>` of the push. */
  owner: 'configpush.io/owner',
  /** For a revision that holds Secret-derived content: the Secret (same namespace and name) its payload is in. */
  contentSecret: 'configpush.io/content-secret',
} as const;

/** The Secret type of a revision's payload when it derives from Secrets. */
export const REVISION_SECRET_TYPE = 'configpush.io/revision';
/** The key the payload is stored under, in a ControllerRevision's data or a revision Secret. */
export const PAYLOAD_KEY = 'revision.json';

/**
 * What a revision holds: the spec's content fields as they were (a manual
 * rollback sets the spec from them), and the content the rollout wrote
 * (sources merged in), which an automatic rollback writes back.
 */
export interface RevisionPayload {
  spec: Pick<ConfigPushSpec, 'data' | 'binaryData' | 'labels' | 'annotations' | 'sources'>;
  content: DesiredContent;
}

/**
 * The largest payload a revision takes, in bytes of JSON. An object in etcd
 * may be 1.5 MiB at most, and a push's content up to about 1 MiB: content
 * larger than this is not kept as a revision (the push applies, and says so
 * in a RevisionNotRecorded Event) rather than failing on every reconcile.
 */
export const MAX_REVISION_PAYLOAD_BYTES = 1_200_000;

/** What the operator keeps of one revision (the ControllerRevision's metadata and number, never its data). */
export interface RevisionRecord {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  revision: number;
  digest: string;
  operationKey: string | undefined;
  /** Set when the payload is in a Secret of the same name (Secret-derived content). */
  contentSecret: boolean;
}

/**
 * A revision's name: the push's name and the first 10 hex of the content
 * digest, as StatefulSets name theirs after a hash of the template. The same
 * content always gets the same name, so two replicas (or a retry after a lost
 * response) creating it meet at AlreadyExists instead of making two.
 */
export function revisionName(pushName: string, digest: string): string {
  const suffix = `-${digestHex(digest).slice(0, 10)}`;
  // 253 is the name limit; a cut may leave a '-' or '.' at the end, which a name may not end with before the suffix's '-'.
  const prefix = pushName.slice(0, 253 - suffix.length).replace(/[-.]+$/, '');
  return `${prefix}${suffix}`;
}

/**
 * Whether a revision of this spec must not be a readable object: it copies
 * from a Secret, or writes Secrets. Its payload then goes into a Secret in the
 * push's namespace (readable only by those who may read Secrets there), and
 * the ControllerRevision keeps the digest and that Secret's name only.
 */
export function holdsSecretContent(spec: Pick<ConfigPushSpec, 'targets' | 'sources'>): boolean {
  const targets = Array.isArray(spec.targets) ? spec.targets : [];
  const sources = Array.isArray(spec.sources) ? spec.sources : [];
  return targets.some((t) => t?.kind === 'Secret') || sources.some((s) => s?.secretRef !== undefined);
}

/**
 * The payload as stored: the spec's content fields, and the content written
 * only when it is not the spec's own (a push with sources): without sources
 * the content is the spec's data, binaryData, labels and annotations, and
 * storing both would double the payload (a 1 MiB push would not fit).
 */
export function payloadOf(spec: ConfigPushSpec, content: DesiredContent): { spec: RevisionPayload['spec']; content?: DesiredContent } {
  const fields: RevisionPayload['spec'] = {};
  if (spec.data !== undefined) fields.data = spec.data;
  if (spec.binaryData !== undefined) fields.binaryData = spec.binaryData;
  if (spec.labels !== undefined) fields.labels = spec.labels;
  if (spec.annotations !== undefined) fields.annotations = spec.annotations;
  if (spec.sources !== undefined) fields.sources = spec.sources;
  const sourced = Array.isArray(spec.sources) && spec.sources.length > 0;
  return sourced ? { spec: fields, content } : { spec: fields };
}

/** Parses a payload read back from the apiserver (the content derived from the spec when not stored); throws a TypeError naming what is wrong. */
export function parsePayload(raw: unknown): RevisionPayload {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (!isObject(value) || !isObject(value.spec)) throw new TypeError('revision payload: expected {spec, content}');
  if (value.content === undefined) {
    const spec = value.spec as RevisionPayload['spec'];
    return { spec, content: resolveContent(spec) };
  }
  if (!isObject(value.content)) throw new TypeError('revision payload: expected {spec, content}');
  const content = value.content;
  const maps = ['data', 'binaryData', 'labels', 'annotations'] as const;
  for (const field of maps) {
    if (!isStringMap(content[field])) throw new TypeError(`revision payload: content.${field} must be a map of strings`);
  }
  return value as unknown as RevisionPayload;
}

/** The next revision number: one above the highest kept (1 for the first). */
export function nextRevisionNumber(records: readonly RevisionRecord[]): number {
  return Math.max(0, ...records.map((r) => r.revision)) + 1;
}

/** The newest revision (highest number), if any. */
export function newestRevision(records: readonly RevisionRecord[]): RevisionRecord | undefined {
  return [...records].sort((a, b) => b.revision - a.revision)[0];
}

/**
 * The revision a failed rollout returns to: the last one that completed,
 * other than the content that failed. Revisions are made only when a rollout
 * completes (configpush/revisions.ts), so the newest other one is it.
 */
export function rollbackTarget(records: readonly RevisionRecord[], failedDigest: string): RevisionRecord | undefined {
  return newestRevision(records.filter((r) => r.digest !== failedDigest));
}

/** The kept revision a rollback key was made for (uid and generation of the push), if any. */
export function revisionOfRollbackKey(records: readonly RevisionRecord[], uid: string, generation: number, key: string): RevisionRecord | undefined {
  return records.find((r) => rollbackKey(uid, generation, r.digest) === key);
}

/**
 * Revisions beyond the history limit, oldest first, never one in `keep` (the
 * revision a rollback of the current generation returned to).
 */
export function revisionsToPrune(records: readonly RevisionRecord[], limit: number, keep: ReadonlySet<string> = new Set()): RevisionRecord[] {
  const newestFirst = [...records].sort((a, b) => b.revision - a.revision);
  return newestFirst
    .slice(limit)
    .filter((r) => !keep.has(r.name))
    .reverse();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

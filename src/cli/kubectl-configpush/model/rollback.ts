import type { V1ControllerRevision } from '@kubernetes/client-node';
import type { ConfigPush, ConfigPushSpec } from '../../../api/types.js';
import { rollbackKey } from '../../../core/operation-key.js';
import { PAYLOAD_KEY, type RevisionPayload } from '../../../core/revisions.js';
import { recordOf } from '../../../configpush/revisions.js';

/**
 * `kubectl configpush rollback`, the pure part: which kept revision to go
 * back to, and the one conditional write that sets the spec's content fields
 * from it. No I/O here (commands/rollback.ts reads and writes).
 */

/** The spec fields a revision holds, and a rollback sets (or removes, when the revision has none). */
export const CONTENT_FIELDS = ['data', 'binaryData', 'labels', 'annotations', 'sources'] as const;
export type ContentField = (typeof CONTENT_FIELDS)[number];
export type ContentSpec = Pick<ConfigPushSpec, ContentField>;

/** One kept revision, as `history` lists it and `rollback` picks it. */
export interface KeptRevision {
  /** The ControllerRevision's name (and, when `inSecret`, the revision Secret's). */
  name: string;
  revision: number;
  digest: string;
  /** The operation whose rollout completed with this content. */
  operationKey: string | undefined;
  created: string | undefined;
  /** The payload is in a Secret of the same name (Secret-derived content), not in the ControllerRevision. */
  inSecret: boolean;
  /** The ControllerRevision's data[revision.json], when it holds the payload itself. */
  inlinePayload?: unknown;
}

/**
 * The push's revisions, newest first: the ControllerRevisions that carry its
 * uid as label AND as controlling owner (anyone who may create
 * ControllerRevisions could copy the label; the owner reference is the
 * operator's).
 */
export function keptRevisions(items: readonly V1ControllerRevision[], pushUid: string): KeptRevision[] {
  const kept: KeptRevision[] = [];
  for (const item of items) {
    const record = recordOf(item);
    if (!record) continue;
    if (!item.metadata?.ownerReferences?.some((o) => o.uid === pushUid && o.controller === true)) continue;
    const created = item.metadata.creationTimestamp;
    const inline = (item.data as Record<string, unknown> | undefined)?.[PAYLOAD_KEY];
    kept.push({
      name: record.name,
      revision: record.revision,
      digest: record.digest,
      operationKey: record.operationKey,
      created: created === undefined ? undefined : new Date(created).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      inSecret: record.contentSecret,
      ...(!record.contentSecret && inline !== undefined ? { inlinePayload: inline } : {}),
    });
  }
  return kept.sort((a, b) => b.revision - a.revision);
}

/** Which revision to roll back to, or why there is none. */
export type RevisionChoice = { revision: KeptRevision; why: 'requested' | 'rolled-back' | 'previous' } | { refused: string };

/**
 * The revision a rollback goes to:
 * - `--to-revision N`: revision N;
 * - else, while this generation is rolled back (failurePolicy Rollback), the
 *   revision the operator returned the targets to, so the spec says again
 *   what the targets hold;
 * - else the newest revision whose content is not the current content
 *   (status.contentDigest): the previous good content, as `kubectl rollout
 *   undo` goes to the previous template.
 * A revision that is the current content is refused ("already at").
 */
export function chooseRevision(push: ConfigPush, kept: readonly KeptRevision[], toRevision?: number): RevisionChoice {
  const id = `configpush ${push.metadata.namespace}/${push.metadata.name}`;
  const seeHistory = `kubectl configpush history ${push.metadata.name} -n ${push.metadata.namespace}`;
  if (kept.length === 0) {
    return { refused: `${id} has no revisions to roll back to: a revision is kept each time a rollout completes (see: ${seeHistory})` };
  }
  const list = kept.map((r) => r.revision).join(', ');
  if (toRevision !== undefined) {
    const revision = kept.find((r) => r.revision === toRevision);
    if (!revision) return { refused: `${id} has no revision ${toRevision}; kept: ${list} (see: ${seeHistory})` };
    if (isCurrentContent(push, revision)) return { refused: alreadyAt(push, revision) };
    return { revision, why: 'requested' };
  }
  const rolledBackTo = rolledBackRevision(push, kept);
  if (rolledBackTo) return { revision: rolledBackTo, why: 'rolled-back' };
  const current = push.status?.contentDigest;
  const previous = kept.find((r) => r.digest !== current);
  if (!previous) return { refused: `${id} has no earlier revision: its only revision (${list}) is the current content; name one with --to-revision (see: ${seeHistory})` };
  return { revision: previous, why: 'previous' };
}

/** While the current generation is rolled back by the operator: the revision it returned to. */
function rolledBackRevision(push: ConfigPush, kept: readonly KeptRevision[]): KeptRevision | undefined {
  const { uid, generation } = push.metadata;
  if (push.status?.observedGeneration !== generation) return undefined;
  const rollback = push.status.rollout?.rollback;
  if (!rollback) return undefined;
  // By the rollback's key (a function of the revision's digest), which a renumbering does not change.
  return kept.find((r) => safeRollbackKey(uid, generation, r.digest) === rollback.operationKey) ?? kept.find((r) => r.revision === rollback.revision);
}

function safeRollbackKey(uid: string, generation: number, digest: string): string | undefined {
  try {
    return rollbackKey(uid, generation, digest);
  } catch {
    return undefined;
  }
}

/**
 * Whether the status says the targets already hold this revision's content
 * for the current spec: its digest is status.contentDigest of the current
 * generation, and that generation is not rolled back (then the targets hold
 * the revision, but the spec still says the failed content).
 */
export function isCurrentContent(push: ConfigPush, revision: KeptRevision): boolean {
  const status = push.status;
  return status?.observedGeneration === push.metadata.generation && status.rollout?.rollback === undefined && status.contentDigest === revision.digest;
}

export function alreadyAt(push: ConfigPush, revision: KeptRevision): string {
  return `configpush ${push.metadata.namespace}/${push.metadata.name} is already at revision ${revision.revision}: its spec gives that content (${revision.digest}); nothing to do`;
}

/** The payload's spec fields, checked: a rollback writes them into the push's spec. */
export function contentSpecOf(payload: RevisionPayload): ContentSpec {
  const spec = payload.spec as Record<string, unknown>;
  const out: ContentSpec = {};
  for (const field of ['data', 'binaryData', 'labels', 'annotations'] as const) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    if (!isStringMap(value)) throw new TypeError(`revision payload: spec.${field} must be a map of strings`);
    out[field] = value;
  }
  if (spec.sources !== undefined && spec.sources !== null) {
    if (!Array.isArray(spec.sources)) throw new TypeError('revision payload: spec.sources must be a list');
    out.sources = spec.sources as NonNullable<ConfigPushSpec['sources']>;
  }
  return out;
}

/** RFC 6902 operations. */
export type JsonPatchOp = { op: 'test' | 'add'; path: string; value: unknown } | { op: 'remove'; path: string };

/**
 * The rollback as ONE conditional write: a `test` of metadata.resourceVersion
 * (the apiserver refuses the whole patch if the push changed since it was
 * read), then each content field that differs set from the revision (`add`
 * replaces a member that exists) or removed when the revision has none.
 * Only the test: the spec already has the revision's content fields.
 */
export function rollbackPatch(push: ConfigPush, target: ContentSpec): JsonPatchOp[] {
  const resourceVersion = push.metadata.resourceVersion;
  if (!resourceVersion) throw new TypeError('rollbackPatch: the push has no resourceVersion (it was not read from the apiserver)');
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion }];
  const spec = (push.spec ?? {}) as ContentSpec;
  for (const field of CONTENT_FIELDS) {
    const want = target[field];
    const have = spec[field];
    if (sameJson(want, have)) continue;
    if (want === undefined) ops.push({ op: 'remove', path: `/spec/${field}` });
    else ops.push({ op: 'add', path: `/spec/${field}`, value: want });
  }
  return ops;
}

/** What a rollback changes in one content field: key names only, never values (a push's content may be secret). */
export interface FieldChange {
  field: ContentField;
  /** set: the spec had none; removed: the revision has none; changed: both have one. */
  change: 'set' | 'removed' | 'changed';
  added: string[];
  removed: string[];
  changed: string[];
}

export function fieldChanges(current: ContentSpec, target: ContentSpec): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of CONTENT_FIELDS) {
    const before = current[field];
    const after = target[field];
    if (sameJson(before, after)) continue;
    const change = before === undefined ? 'set' : after === undefined ? 'removed' : 'changed';
    if (field === 'sources') {
      const describe = (list: unknown) => (Array.isArray(list) ? list.map(sourceName) : []);
      const was = describe(before);
      const now = describe(after);
      changes.push({ field, change, added: now.filter((s) => !was.includes(s)), removed: was.filter((s) => !now.includes(s)), changed: now.filter((s) => was.includes(s)) });
      continue;
    }
    const was = (before ?? {}) as Record<string, string>;
    const now = (after ?? {}) as Record<string, string>;
    changes.push({
      field,
      change,
      added: Object.keys(now).filter((k) => !(k in was)).sort(),
      removed: Object.keys(was).filter((k) => !(k in now)).sort(),
      changed: Object.keys(now).filter((k) => k in was && was[k] !== now[k]).sort(),
    });
  }
  return changes;
}

function sourceName(source: unknown): string {
  const s = source as { secretRef?: { name?: string; namespace?: string }; configMapRef?: { name?: string; namespace?: string } } | null;
  const ref = s?.secretRef ?? s?.configMapRef;
  const kind = s?.secretRef ? 'Secret' : 'ConfigMap';
  return `${kind} ${ref?.namespace ? `${ref.namespace}/` : ''}${ref?.name ?? '?'}`;
}

/** Deep equality of JSON values, whatever the order of object keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

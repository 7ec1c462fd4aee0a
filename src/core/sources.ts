import { SOURCE_COPY_TO_ANNOTATION } from '../api/constants.js';
import type { SourceKind, SourceSpec, SourceStatus, TargetRef } from '../api/types.js';
import { contentDigest, digestHex, digestOf, type DesiredContent, type DigestKey } from './content-digest.js';
import { DATA_KEY_MAX_LENGTH, DATA_KEY_RULE, isDataKey } from './data-key.js';
import { InvalidSpecError, PermanentError } from './errors.js';

/**
 * spec.sources: content taken from existing Secrets and ConfigMaps. Pure:
 * validation of the spec, selection (items, `as`, prefix), the merge with
 * spec.data, and the digests that make "what is copied" part of the
 * operation's identity. The reads are kube/source-client.ts's; the values
 * live only in one reconcile's variables.
 */

export const MAX_SOURCES = 20;
/** status.sources[].revision: this many hex digits of the source's part of the sources revision. */
export const SOURCE_REVISION_LENGTH = 12;

/** A validated spec.sources entry with its namespace defaulted. */
export interface ResolvedSource {
  /** Its index in spec.sources (messages name it). */
  index: number;
  kind: SourceKind;
  name: string;
  namespace: string;
  /** Only these keys, each under its `as` name; undefined: every key. */
  items?: { key: string; as: string }[];
  prefix: string;
  optional: boolean;
}

/**
 * A source object as copying needs it, read live (kube/source-client.ts).
 * `data` holds text values (a ConfigMap's .data); `binaryData` base64 bytes
 * (a ConfigMap's .binaryData, or a Secret's .data: a Secret holds bytes).
 */
export interface SourceObject {
  kind: SourceKind;
  namespace: string;
  name: string;
  uid: string;
  /** As read: the source-read memo (configpush/source-read-memo.ts) trusts the watch only while it shows this version. */
  resourceVersion?: string;
  annotations: Record<string, string>;
  data: Record<string, string>;
  binaryData: Record<string, string>;
}

/** One key/value pair a source contributes, under its final key. */
export interface CopiedEntry {
  key: string;
  /** base64 bytes (true) or UTF-8 text (false). */
  binary: boolean;
  value: string;
}

/** What one source contributed: its pairs (sorted by key), or none when it is optional and absent. */
export interface SourceCopy {
  source: ResolvedSource;
  found: boolean;
  entries: CopiedEntry[];
}

/** The content a reconcile acts on once the sources are read, and its identity. */
export interface SourcedContent {
  content: DesiredContent;
  /** contentDigest of `content`: HMAC-keyed when a Secret was copied (content-digest.ts, DigestKey). */
  digest: string;
  /** The sources revision (hex): a digest of what each source copied, in spec order. operationKey's third input. */
  revision: string;
  /** status.sources: kind, namespace, name and a short revision each; never a value. */
  statuses: SourceStatus[];
  /** The HMAC key of `digest` and `revision` (the copied Secrets' uids), when a Secret was copied: for other digests of this content. */
  digestKey?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PREFIX = /^[-._a-zA-Z0-9]*$/;

export function sourceId(source: { kind: SourceKind; namespace: string; name: string }): string {
  return `${source.kind}/${source.namespace}/${source.name}`;
}

export function sourceLabel(source: { kind: SourceKind; namespace: string; name: string }): string {
  return `${source.kind} ${source.namespace}/${source.name}`;
}

/**
 * Validates spec.sources (re-checking what the CRD schema checks, and what it
 * cannot: a Secret source with a ConfigMap target) and defaults namespaces.
 * Throws InvalidSpecError naming the field.
 */
export function resolveSources(value: unknown, pushNamespace: string, targets: readonly TargetRef[] | undefined): ResolvedSource[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidSpecError('spec.sources must be a list');
  if (value.length > MAX_SOURCES) throw new InvalidSpecError(`spec.sources may list at most ${MAX_SOURCES} sources, got ${value.length}`);
  const resolved = (value as unknown[]).map((entry, index) => resolveSource(entry, index, pushNamespace));
  const secret = resolved.find((s) => s.kind === 'Secret');
  const configMapTarget = (targets ?? []).findIndex((t) => t?.kind === 'ConfigMap');
  if (secret && configMapTarget >= 0) {
    throw new InvalidSpecError(
      `spec.sources[${secret.index}] copies from a Secret, but spec.targets[${configMapTarget}] is a ConfigMap: ` +
        "a Secret's values may only be copied into Secret targets, never into a ConfigMap that anyone who may read ConfigMaps can read",
    );
  }
  return resolved;
}

function resolveSource(entry: unknown, index: number, pushNamespace: string): ResolvedSource {
  const where = `spec.sources[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new InvalidSpecError(`${where} must be an object`);
  const spec = entry as SourceSpec;
  if ((spec.secretRef === undefined) === (spec.configMapRef === undefined)) {
    throw new InvalidSpecError(`${where}: set exactly one of secretRef and configMapRef`);
  }
  const kind: SourceKind = spec.secretRef !== undefined ? 'Secret' : 'ConfigMap';
  const field = `${where}.${kind === 'Secret' ? 'secretRef' : 'configMapRef'}`;
  const ref = (spec.secretRef ?? spec.configMapRef) as unknown;
  if (typeof ref !== 'object' || ref === null) throw new InvalidSpecError(`${field} must be an object with a name`);
  const { name, namespace = pushNamespace } = ref as { name?: unknown; namespace?: unknown };
  if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new InvalidSpecError(`${field}.name ${JSON.stringify(name)} is not a valid DNS-1123 subdomain`);
  }
  if (typeof namespace !== 'string' || namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new InvalidSpecError(`${field}.namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  const prefix = spec.prefix ?? '';
  if (typeof prefix !== 'string' || prefix.length > DATA_KEY_MAX_LENGTH || !PREFIX.test(prefix)) {
    throw new InvalidSpecError(`${where}.prefix ${JSON.stringify(prefix)} must match ${PREFIX.source} and be at most ${DATA_KEY_MAX_LENGTH} characters`);
  }
  if (spec.optional !== undefined && typeof spec.optional !== 'boolean') throw new InvalidSpecError(`${where}.optional must be true or false`);
  const resolved: ResolvedSource = { index, kind, name, namespace, prefix, optional: spec.optional === true };
  if (spec.items !== undefined) resolved.items = resolveItems(spec.items, where, prefix);
  return resolved;
}

function resolveItems(items: unknown, where: string, prefix: string): { key: string; as: string }[] {
  if (!Array.isArray(items) || items.length === 0) {
    throw new InvalidSpecError(`${where}.items must list at least one key (leave it out to copy every key)`);
  }
  const seen = new Set<string>();
  return items.map((item: unknown, i) => {
    const at = `${where}.items[${i}]`;
    const { key, as = key } = (typeof item === 'object' && item !== null ? item : {}) as { key?: unknown; as?: unknown };
    if (!isDataKey(key)) throw new InvalidSpecError(`${at}.key ${JSON.stringify(key)} ${DATA_KEY_RULE}`);
    if (!isDataKey(as)) throw new InvalidSpecError(`${at}.as ${JSON.stringify(as)} ${DATA_KEY_RULE}`);
    const final = prefix + as;
    if (seen.has(final)) throw new InvalidSpecError(`${at} copies a second value to key ${JSON.stringify(final)}`);
    seen.add(final);
    return { key, as };
  });
}

/**
 * The targets without the push's own sources. A source named as a target
 * outright is an InvalidSpecError (a push cannot copy an object onto itself);
 * one that a namespaceSelector reaches (a Secret copied into every namespace
 * with a label, its own namespace among them) is skipped, as Reflector skips
 * the source: it holds the content by definition, and an unmanaged object
 * there would otherwise be a Conflict that stalls the whole push.
 */
export function withoutSourceTargets<T extends { kind: string; namespace: string; name: string }>(
  targets: readonly T[],
  sources: readonly ResolvedSource[],
  refs: readonly TargetRef[],
  pushNamespace: string,
): T[] {
  if (sources.length === 0) return [...targets];
  for (const source of sources) {
    const index = refs.findIndex(
      (r) => r?.namespaceSelector === undefined && r.kind === source.kind && r.name === source.name && (r.namespace ?? pushNamespace) === source.namespace,
    );
    if (index >= 0) {
      throw new InvalidSpecError(`spec.targets[${index}] is spec.sources[${source.index}] itself (${sourceLabel(source)}): a push cannot copy an object onto itself`);
    }
  }
  const ids = new Set(sources.map(sourceId));
  return targets.filter((t) => !ids.has(`${t.kind}/${t.namespace}/${t.name}`));
}

/** Whether the source object lets a push in `pushNamespace` copy it (its own namespace always may). */
export function copyAllowed(object: Pick<SourceObject, 'namespace' | 'annotations'>, pushNamespace: string): boolean {
  if (object.namespace === pushNamespace) return true;
  const allowed = (object.annotations[SOURCE_COPY_TO_ANNOTATION] ?? '').split(',').map((ns) => ns.trim());
  return allowed.includes('*') || allowed.includes(pushNamespace);
}

/**
 * What each source contributes: `objects[i]` is what was read for
 * `sources[i]` (undefined: it does not exist). Throws a PermanentError whose
 * reason says why the push cannot be acted on: SourceNotFound,
 * SourceNotAllowed (another namespace's source without its opt-in),
 * SourceKeyNotFound (an items key the source lacks); or an InvalidSpecError
 * when a copied key breaks the key rule (a prefix made it too long). The
 * first failing source, in spec order, is the one reported.
 */
export function copySources(sources: readonly ResolvedSource[], objects: readonly (SourceObject | undefined)[], pushNamespace: string): SourceCopy[] {
  return sources.map((source, i) => copySource(source, objects[i], pushNamespace));
}

function copySource(source: ResolvedSource, object: SourceObject | undefined, pushNamespace: string): SourceCopy {
  const where = `spec.sources[${source.index}]`;
  if (object === undefined) {
    if (source.optional) return { source, found: false, entries: [] };
    throw new PermanentError('SourceNotFound', `${sourceLabel(source)} (${where}) does not exist`);
  }
  if (!copyAllowed(object, pushNamespace)) {
    throw new PermanentError(
      'SourceNotAllowed',
      `${sourceLabel(source)} (${where}) is in another namespace and does not allow copying to namespace ${pushNamespace}: ` +
        `its owner can allow it with the annotation ${SOURCE_COPY_TO_ANNOTATION}: "${pushNamespace}" (a comma-separated list, or "*")`,
    );
  }
  // A Secret holds bytes (base64 in .data): copied as bytes, into Secret targets only.
  const text = source.kind === 'ConfigMap' ? object.data : {};
  const binary = object.binaryData;
  const selected: [from: string, to: string][] = source.items
    ? source.items.map(({ key, as }) => [key, as])
    : [...Object.keys(text), ...Object.keys(binary)].map((key) => [key, key]);
  const entries: CopiedEntry[] = [];
  for (const [from, to] of selected) {
    const isText = Object.hasOwn(text, from);
    if (!isText && !Object.hasOwn(binary, from)) {
      if (source.optional) continue; // As a volume's items with optional: true.
      throw new PermanentError('SourceKeyNotFound', `${sourceLabel(source)} (${where}) has no key ${JSON.stringify(from)}`);
    }
    const key = source.prefix + to;
    if (!isDataKey(key)) throw new InvalidSpecError(`${where}: the copied key ${JSON.stringify(key)} ${DATA_KEY_RULE}`);
    entries.push(isText ? { key, binary: false, value: text[from]! } : { key, binary: true, value: canonicalBase64(binary[from]!) });
  }
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { source, found: true, entries };
}

/** The apiserver re-encodes base64 canonically; a digest over another spelling would differ for the same bytes. */
function canonicalBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('base64');
}

/**
 * The content every target must hold: the sources merged in spec order (a
 * later source's key replaces an earlier one's), then spec.data and
 * spec.binaryData on top (as a container's env overrides its envFrom). A key
 * lives in exactly one of data and binaryData: whoever sets it last decides which.
 */
export function mergeSourcedContent(spec: DesiredContent, copies: readonly SourceCopy[]): DesiredContent {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  const set = (key: string, value: string, binary: boolean) => {
    delete (binary ? data : binaryData)[key];
    (binary ? binaryData : data)[key] = value;
  };
  for (const copy of copies) for (const entry of copy.entries) set(entry.key, entry.value, entry.binary);
  for (const [key, value] of Object.entries(spec.data)) set(key, value, false);
  for (const [key, value] of Object.entries(spec.binaryData)) set(key, value, true);
  return { data, binaryData, labels: { ...spec.labels }, annotations: { ...spec.annotations } };
}

/**
 * The HMAC key for the digests of content copied from Secrets: the copied
 * Secrets' metadata.uid values, in spec order (undefined when no Secret was
 * copied). Only those who may read those Secrets know them; see DigestKey.
 */
export function digestKeyOf(objects: readonly (SourceObject | undefined)[]): DigestKey {
  const uids = objects.filter((o): o is SourceObject => o?.kind === 'Secret').map((o) => o.uid);
  return uids.length > 0 ? uids.join('/') : undefined;
}

/**
 * The sources revision: per source, a digest of exactly the pairs it copies
 * (final key, text or bytes, value); overall, a digest of those in spec
 * order. Resource versions, labels, annotations and keys nobody selected are
 * not in it, so an edit that changes no copied byte is no new operation.
 */
export function sourcesRevision(copies: readonly SourceCopy[], key: DigestKey): { revision: string; perSource: string[] } {
  const perSource = copies.map((copy) => digestHex(digestOf(JSON.stringify(copy.entries.map((e) => [e.key, e.binary ? 'b' : 't', e.value])), key)));
  return { revision: digestHex(digestOf(JSON.stringify(perSource), key)), perSource };
}

/** Reads done: the content to apply, its digest, the sources revision and status.sources. */
export function withSources(
  spec: DesiredContent,
  sources: readonly ResolvedSource[],
  objects: readonly (SourceObject | undefined)[],
  pushNamespace: string,
): SourcedContent {
  const copies = copySources(sources, objects, pushNamespace);
  const key = digestKeyOf(objects);
  const content = mergeSourcedContent(spec, copies);
  const { revision, perSource } = sourcesRevision(copies, key);
  const statuses = copies.map((copy, i): SourceStatus => {
    const { kind, name, namespace } = copy.source;
    return copy.found ? { kind, name, namespace, revision: perSource[i]!.slice(0, SOURCE_REVISION_LENGTH) } : { kind, name, namespace };
  });
  return { content, digest: contentDigest(content, key), revision, statuses, ...(key !== undefined ? { digestKey: key } : {}) };
}

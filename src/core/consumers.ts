import type { V1Container, V1KeyToPath, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { TargetKind } from '../api/types.js';
import { digestHex, digestOf, type DesiredContent, type DigestKey } from './content-digest.js';
import { desiredData } from './desired-target.js';

/**
 * Consumers mode (spec.rollout.restartConsumers): which of a push's targets a
 * pod template reads, and the restart annotation value that says what it read.
 * Pure: the listing and patching are configpush/workload-restarter.ts's.
 *
 * A pod reads a ConfigMap or Secret through its template only, in these ways
 * (containers and initContainers alike):
 *   - envFrom[].configMapRef / secretRef                  the whole object
 *   - env[].valueFrom.configMapKeyRef / secretKeyRef      one key
 *   - volumes[].configMap / secret                        items' keys, else the whole object
 *   - volumes[].projected.sources[].configMap / secret    items' keys, else the whole object
 * An empty items list means every key, as the kubelet reads it.
 */

/** A push's target as a workload sees it: by kind and name, in the workload's own namespace. */
export interface TargetName {
  kind: TargetKind;
  name: string;
}

/** One target a pod template reads, and how. */
export interface ConsumedTarget {
  kind: TargetKind;
  name: string;
  /** The keys it reads, sorted and unique. Undefined: the whole object (envFrom, or a volume without items). */
  keys?: string[];
}

/** The annotation value's prefix in consumers mode (the explicit list's values start with an operation key). */
export const CONSUMER_VALUE_PREFIX = 'reads:';

/** Hex digits of the digest the value carries: 128 bits, far past any chance collision. */
const VALUE_HEX_LENGTH = 32;

/**
 * The targets (among `targets`) that `template` reads, sorted by kind then
 * name. A target read whole anywhere in the template is read whole; otherwise
 * the union of the keys its references name.
 */
export function consumedTargets(template: V1PodTemplateSpec | undefined, targets: readonly TargetName[]): ConsumedTarget[] {
  const wanted = new Set(targets.map(idOf));
  const found = new Map<string, { kind: TargetKind; name: string; whole: boolean; keys: Set<string> }>();
  const read = (kind: TargetKind, name: string | undefined, keys: readonly string[] | undefined) => {
    if (!name || !wanted.has(idOf({ kind, name }))) return;
    const id = idOf({ kind, name });
    const entry = found.get(id) ?? { kind, name, whole: false, keys: new Set<string>() };
    found.set(id, entry);
    if (keys === undefined) entry.whole = true;
    else for (const key of keys) entry.keys.add(key);
  };
  const spec = template?.spec;
  const containers: V1Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  for (const container of containers) {
    for (const from of container.envFrom ?? []) {
      read('ConfigMap', from.configMapRef?.name, undefined);
      read('Secret', from.secretRef?.name, undefined);
    }
    for (const env of container.env ?? []) {
      const ref = env.valueFrom;
      if (ref?.configMapKeyRef) read('ConfigMap', ref.configMapKeyRef.name, [ref.configMapKeyRef.key]);
      if (ref?.secretKeyRef) read('Secret', ref.secretKeyRef.name, [ref.secretKeyRef.key]);
    }
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.configMap) read('ConfigMap', volume.configMap.name, itemKeys(volume.configMap.items));
    if (volume.secret) read('Secret', volume.secret.secretName, itemKeys(volume.secret.items));
    for (const source of volume.projected?.sources ?? []) {
      if (source.configMap) read('ConfigMap', source.configMap.name, itemKeys(source.configMap.items));
      if (source.secret) read('Secret', source.secret.name, itemKeys(source.secret.items));
    }
  }
  return [...found.values()]
    .sort((a, b) => compare(idOf(a), idOf(b)))
    .map(({ kind, name, whole, keys }) => (whole ? { kind, name } : { kind, name, keys: [...keys].sort(compare) }));
}

/**
 * The HMAC key of the annotation's digest: the push's uid, and when the push
 * copies Secrets (spec.sources) their uids too (content-digest.ts, DigestKey).
 * The annotation sits on a pod template that more people may read than the
 * targets: a plain hash of one key's value would let them test guesses of a
 * low-entropy secret offline. Keyed, it is an opaque identifier to them.
 */
export function consumerDigestKey(pushUid: string, sourcesKey: DigestKey): string {
  return sourcesKey === undefined ? pushUid : `${pushUid}/${sourcesKey}`;
}

/**
 * The restart annotation value of a workload that reads `reads` from targets
 * holding `content`: "reads:<digest>" over exactly what it reads, as the
 * target object holds it (a Secret's bytes, a ConfigMap's text or binary
 * value); for a whole-object read, all of the object's data; for key reads,
 * each named key's value, an absent key as absent. So it changes exactly when
 * something the workload reads changes: a new operation that changes only
 * other keys (or only the targets' labels and annotations, which a pod cannot
 * read) leaves it unchanged. No operation key in it, on purpose. Undefined
 * when the workload reads nothing: it is no consumer.
 */
export function consumerRestartValue(reads: readonly ConsumedTarget[], content: DesiredContent, hmacKey: string): string | undefined {
  if (reads.length === 0) return undefined;
  const views = new Map<TargetKind, { data: Record<string, string>; binaryData: Record<string, string> }>();
  const view = (kind: TargetKind) => {
    let seen = views.get(kind);
    if (!seen) {
      const rendered = desiredData(kind, content);
      seen = { data: rendered.data ?? {}, binaryData: rendered.binaryData ?? {} };
      views.set(kind, seen);
    }
    return seen;
  };
  const entries = [...reads]
    .sort((a, b) => compare(idOf(a), idOf(b)))
    .map((read) => {
      const { data, binaryData } = view(read.kind);
      if (read.keys === undefined) return [read.kind, read.name, '*', sortedEntries(data), sortedEntries(binaryData)];
      const keys = [...new Set(read.keys)].sort(compare);
      return [read.kind, read.name, 'keys', keys.map((key) => [key, valueOf(key, data, binaryData)])];
    });
  return `${CONSUMER_VALUE_PREFIX}${digestHex(digestOf(JSON.stringify(entries), hmacKey)).slice(0, VALUE_HEX_LENGTH)}`;
}

/** One key's value as the object holds it: text (d) or bytes (b), or null when absent. */
function valueOf(key: string, data: Record<string, string>, binaryData: Record<string, string>): [string, string] | null {
  if (Object.hasOwn(data, key)) return ['d', data[key]!];
  if (Object.hasOwn(binaryData, key)) return ['b', binaryData[key]!];
  return null;
}

/** A volume's items: their keys, or undefined (the whole object) when there are none. */
function itemKeys(items: V1KeyToPath[] | undefined): string[] | undefined {
  return items && items.length > 0 ? items.map((item) => item.key) : undefined;
}

function idOf(target: TargetName): string {
  return `${target.kind}/${target.name}`;
}

function sortedEntries(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => compare(a, b));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

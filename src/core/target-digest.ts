import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { TargetKind } from '../api/types.js';
import type { DesiredContent } from './content-digest.js';
import { desiredData, readManagedKeys, type TargetObject } from './desired-target.js';
import { isRollbackKey } from './operation-key.js';
import type { Verification } from './target-plan.js';

/**
 * A keyed digest of exactly what `contentMatches` (desired-target.ts) looks
 * at on a target, so that a watch cache can drop a target's content and still
 * tell, without a GET, whether it holds the desired content:
 *
 *   observedTargetDigest(kind, live, key) === desiredTargetDigest(kind, content, digest, key)
 *   implies contentMatches(kind, live, content, digest).
 *
 * Both sides encode the same tuple: the content-digest annotation, the
 * managed-by label, the label and annotation keys the target records as the
 * spec's (the managed-metadata annotation, sorted) with their values, and the
 * data (and a ConfigMap's binaryData), as the target stores them. Equal
 * encodings therefore mean: the digest annotation is the desired one, the
 * label is set, the recorded keys are the spec's keys, each of those keys has
 * the spec's value, and the data is exactly the desired data. The other
 * direction need not hold: a target that does match but encodes differently
 * (a hand-edited managed-metadata annotation with a key twice) is merely read
 * live, as before.
 *
 * Keyed (HMAC-SHA256) by a random per-process key: the digest of a Secret
 * target is computed from its values, and a plain hash kept in long-lived
 * memory would let whoever obtains a heap dump test guesses of low-entropy
 * values offline. With a key that never leaves the process and changes at
 * every start, the digest says nothing without the key. Only equality
 * within one process is ever asked of it.
 */
export function observedTargetDigest(kind: TargetKind, live: TargetObject, key: DigestKey): string {
  const annotations = live.metadata?.annotations ?? {};
  const labels = live.metadata?.labels ?? {};
  const managed = readManagedKeys(live);
  const data = kind === 'ConfigMap' ? { data: (live as V1ConfigMap).data ?? {}, binaryData: (live as V1ConfigMap).binaryData ?? {} } : { data: (live as V1Secret).data ?? {}, binaryData: {} };
  return encode(key, kind, {
    contentDigest: annotations[ANNOTATION.contentDigest],
    managedBy: labels[MANAGED_BY_LABEL],
    labelKeys: [...managed.labels].sort(),
    annotationKeys: [...managed.annotations].sort(),
    labels: pick(labels, managed.labels),
    annotations: pick(annotations, managed.annotations),
    ...data,
  });
}

/**
 * The HMAC key of the target digests. A KeyObject, not the Buffer it was made
 * from: createHmac with a Buffer imports the key anew on every call, ~15 us
 * against ~1.8 us (measured on Node 24), and the watch of a push fanned out
 * to 5,000 namespaces digests every target it delivers. The key's bytes then
 * also live outside the JavaScript heap.
 */
export type DigestKey = KeyObject;

/** A fresh random key for one process (see observedTargetDigest for why it must not outlive it). */
export function newDigestKey(): DigestKey {
  return createSecretKey(randomBytes(32));
}

/** The same digest for the target as the desired content would leave it (see observedTargetDigest). */
export function desiredTargetDigest(kind: TargetKind, content: DesiredContent, contentDigest: string, key: DigestKey): string {
  const want = desiredData(kind, content);
  return encode(key, kind, {
    contentDigest,
    managedBy: MANAGED_BY_VALUE,
    labelKeys: Object.keys(content.labels).sort(),
    annotationKeys: Object.keys(content.annotations).sort(),
    labels: content.labels,
    annotations: content.annotations,
    data: want.data ?? {},
    binaryData: want.binaryData ?? {},
  });
}

interface Encoded {
  contentDigest: string | undefined;
  managedBy: string | undefined;
  labelKeys: string[];
  annotationKeys: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: Record<string, string>;
  binaryData: Record<string, string>;
}

/**
 * JSON of arrays of [key, value] pairs sorted by key: one string per tuple,
 * and no two tuples share one. base64 of the HMAC (44 characters) is what the
 * cache keeps per target.
 */
function encode(key: DigestKey, kind: TargetKind, e: Encoded): string {
  const canonical = JSON.stringify([
    kind,
    e.contentDigest ?? null,
    e.managedBy ?? null,
    e.labelKeys,
    e.annotationKeys,
    sorted(e.labels),
    sorted(e.annotations),
    sorted(e.data),
    sorted(e.binaryData),
  ]);
  return createHmac('sha256', key).update(canonical).digest('base64');
}

/** The entries of `map` under `keys` that it has (a missing one stays missing, so it cannot equal a desired value). */
function pick(map: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (Object.hasOwn(map, k)) out[k] = map[k] as string;
  return out;
}

function sorted(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What a watch cache kept of one target (runtime/cache-transforms.ts, keepTargetFacts). */
export interface CachedTargetState {
  resourceVersion: string | undefined;
  ownerUid: string | undefined;
  targetDigest: string;
  operationKey: string | undefined;
  lastWrittenAt: string | undefined;
}

/** What a reconcile wants of one target: this push, this content, as this client. */
export interface WantedTarget {
  ownerUid: string;
  /** The spec's content digest (what a verification records). */
  digest: string;
  /** desiredTargetDigest of the spec for this target's kind (computed only when needed). */
  targetDigest: () => string;
  /** '' for the operator's own identity, else the push's ServiceAccount. */
  client: string;
  /** The key of the operation deciding (a generation's own, or a rollback's); absent: a generation's own. */
  operationKey?: string | undefined;
}

/**
 * The verification (target-plan.ts) the watch cache itself gives: the cached
 * target, at its cached resourceVersion, is owned by this push and its
 * content digest equals the desired one, so a read at that version would
 * find it holding this content (observedTargetDigest's guarantee), which is
 * what a verification says. planVerified then decides from it exactly as
 * from one this process made (nothing to do, or a stale view of the push).
 *
 * Only for the operator's own identity: the watch reads as the operator, and
 * a push with a serviceAccountName has each target read once as that
 * ServiceAccount by a process, which re-checks its access after a restart.
 */
export function verificationFromCache(cached: CachedTargetState | undefined, wanted: WantedTarget): Verification | undefined {
  if (cached === undefined || wanted.client !== '') return undefined;
  if (cached.resourceVersion === undefined || cached.ownerUid !== wanted.ownerUid) return undefined;
  // A rollback's key, met by an operation that is not a rollback: the planner's rollback rule (target-plan.ts) decides, on a read.
  if (isRollbackKey(cached.operationKey) && !isRollbackKey(wanted.operationKey)) return undefined;
  if (cached.targetDigest !== wanted.targetDigest()) return undefined;
  return {
    resourceVersion: cached.resourceVersion,
    ownerUid: wanted.ownerUid,
    digest: wanted.digest,
    client: '',
    operationKey: cached.operationKey,
    lastWrittenAt: cached.lastWrittenAt,
  };
}

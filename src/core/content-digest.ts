import { createHash, createHmac } from 'node:crypto';

/** The part of a ConfigPush spec that ends up on every target. */
export interface DesiredContent {
  data: Record<string, string>;
  binaryData: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * The key content digests are computed with when a push copies from Secrets
 * (spec.sources): the Secret sources' metadata.uid values, in spec order.
 * Undefined when no Secret is copied; then digests are plain sha256.
 *
 * Why: status.contentDigest, the history's digests and the sources revision
 * are readable by anyone who may read the ConfigPush. A plain sha256 over
 * content copied from a Secret would let such a reader test guesses of a
 * low-entropy secret value offline. An HMAC keyed by values only readers of
 * those Secrets know turns the digest into an opaque identifier for them.
 */
export type DigestKey = string | undefined;

/**
 * A digest of `canonical` (a string the caller built deterministically):
 * "sha256:<hex>", or "hmac-sha256:<hex>" keyed by `key`.
 */
export function digestOf(canonical: string, key: DigestKey): string {
  return key === undefined
    ? `sha256:${createHash('sha256').update(canonical).digest('hex')}`
    : `hmac-sha256:${createHmac('sha256', key).update(canonical).digest('hex')}`;
}

/** The hex part of a digest ("sha256:<hex>" or "hmac-sha256:<hex>"). */
export function digestHex(digest: string): string {
  return digest.replace(/^(?:hmac-)?sha256:/, '');
}

/**
 * A digest over a canonical encoding of the desired content (keys sorted), so
 * the same content always yields the same digest whatever order the user wrote
 * it in. A new generation with an unchanged digest has nothing to write.
 * Keyed (HMAC) when the content comes partly from Secrets (see DigestKey).
 */
export function contentDigest(content: DesiredContent, key?: DigestKey): string {
  const canonical = JSON.stringify([
    sortedEntries(content.data),
    sortedEntries(content.binaryData),
    sortedEntries(content.labels),
    sortedEntries(content.annotations),
  ]);
  return digestOf(canonical, key);
}

function sortedEntries(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

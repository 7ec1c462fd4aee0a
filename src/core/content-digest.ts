import { createHash } from 'node:crypto';

/** The part of a ConfigPush spec that ends up on every target. */
export interface DesiredContent {
  data: Record<string, string>;
  binaryData: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * sha256 over a canonical encoding of the desired content (keys sorted), so
 * the same content always yields the same digest whatever order the user wrote
 * it in. A new generation with an unchanged digest has nothing to write.
 */
export function contentDigest(content: DesiredContent): string {
  const canonical = JSON.stringify([
    sortedEntries(content.data),
    sortedEntries(content.binaryData),
    sortedEntries(content.labels),
    sortedEntries(content.annotations),
  ]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function sortedEntries(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

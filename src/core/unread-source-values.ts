import type { DesiredContent } from './content-digest.js';
import { TransientError } from './errors.js';

/**
 * The content of a push that copies sources, when this reconcile has not
 * read them: a source-read memo (configpush/source-read-memo.ts) vouched for
 * the operation key and the digests, and the values are needed only if
 * something must be written. Reading `data` or `binaryData` throws
 * SourceValuesNotRead, so no path can write content it does not have: the
 * reconcile catches it and runs again with the sources read live. Fail-safe
 * by construction, instead of a flag every writer would have to check (a
 * missed check would write empty data as a full replacement).
 */
export function withoutSourceValues(content: DesiredContent): DesiredContent {
  const unread = (): never => {
    throw new SourceValuesNotRead();
  };
  return Object.freeze({
    labels: content.labels,
    annotations: content.annotations,
    get data(): Record<string, string> {
      return unread();
    },
    get binaryData(): Record<string, string> {
      return unread();
    },
  });
}

/**
 * Something needed the sources' values that this reconcile did not read.
 * Transient so that, if it ever escaped the reconcile that catches it, the
 * retry (which reads live: attempt > 1) would do the work; it never becomes
 * a condition.
 */
export class SourceValuesNotRead extends TransientError {
  constructor() {
    super('SourcesNotRead', 'the sources were not read in this reconcile; reading them');
    this.name = 'SourceValuesNotRead';
  }
}

import type { HistoryEntry } from '../../../api/types.js';
import type { KeptRevision } from '../model/rollback.js';
import { age } from './age.js';
import { shortDigest } from './status-view.js';
import { renderTable } from './table.js';

/**
 * status.history, newest first: GENERATION, KEY, REVISION (the content
 * revision the operation applied, or for a rollback the one it returned to),
 * DIGEST (short), APPLIED AT, AGE, and ROLLED BACK (the operation a rollback
 * undid) when any entry is a rollback.
 */
export function renderHistory(history: HistoryEntry[], width: number, now: Date): string[] {
  const sorted = [...history].sort((a, b) => b.generation - a.generation);
  const rollbacks = sorted.some((h) => h.rolledBack !== undefined);
  return renderTable(
    [
      { header: 'GENERATION' },
      { header: 'KEY' },
      { header: 'REVISION' },
      // To fit: APPLIED AT goes first (AGE says when; -o yaml has the time), the digest is cut last.
      { header: 'DIGEST', shrinkOrder: 2, min: 8 },
      { header: 'APPLIED AT', dropOrder: 1 },
      { header: 'AGE' },
      ...(rollbacks ? [{ header: 'ROLLED BACK' }] : []),
    ],
    sorted.map((h) => [
      String(h.generation),
      h.key,
      h.revision !== undefined ? String(h.revision) : '-',
      shortDigest(h.digest),
      h.appliedAt,
      age(h.appliedAt, now),
      ...(rollbacks ? [h.rolledBack ?? ''] : []),
    ]),
    width,
  );
}

/**
 * The kept revisions, newest first: REVISION ("(current)" when its digest is
 * the push's current content), DIGEST (short), OPERATION (the one that
 * completed it), CREATED, AGE, CONTENT IN (where the payload is: the
 * ControllerRevision, or a Secret for Secret-derived content).
 */
export function renderRevisions(revisions: readonly KeptRevision[], currentDigest: string | undefined, width: number, now: Date): string[] {
  return renderTable(
    [
      { header: 'REVISION' },
      { header: 'DIGEST', shrinkOrder: 2, min: 8 },
      { header: 'OPERATION' },
      { header: 'CREATED', dropOrder: 1 },
      { header: 'AGE' },
      { header: 'CONTENT IN' },
    ],
    revisions.map((r) => [
      r.digest === currentDigest ? `${r.revision} (current)` : String(r.revision),
      shortDigest(r.digest),
      r.operationKey ?? '-',
      r.created ?? '-',
      age(r.created, now),
      r.inSecret ? 'Secret' : 'ControllerRevision',
    ]),
    width,
  );
}

/** -o json|yaml of `history`: the history entries and the kept revisions (no payloads). */
export function historyOutput(history: HistoryEntry[], revisions: readonly KeptRevision[] | undefined): object {
  return {
    history,
    ...(revisions
      ? {
          revisions: revisions.map((r) => ({
            revision: r.revision,
            name: r.name,
            digest: r.digest,
            ...(r.operationKey !== undefined ? { operationKey: r.operationKey } : {}),
            ...(r.created !== undefined ? { created: r.created } : {}),
            contentIn: r.inSecret ? 'Secret' : 'ControllerRevision',
          })),
        }
      : {}),
  };
}

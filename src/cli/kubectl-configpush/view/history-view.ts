import type { HistoryEntry } from '../../../api/types.js';
import { age } from './age.js';
import { shortDigest } from './status-view.js';
import { renderTable } from './table.js';

/** status.history, newest first: GENERATION, KEY, DIGEST (short), APPLIED AT, AGE. */
export function renderHistory(history: HistoryEntry[], width: number, now: Date): string[] {
  const sorted = [...history].sort((a, b) => b.generation - a.generation);
  return renderTable(
    [{ header: 'GENERATION' }, { header: 'KEY' }, { header: 'DIGEST', shrinkOrder: 1, min: 8 }, { header: 'APPLIED AT' }, { header: 'AGE' }],
    sorted.map((h) => [String(h.generation), h.key, shortDigest(h.digest), h.appliedAt, age(h.appliedAt, now)]),
    width,
  );
}

import { padEnd, truncate, widthOf } from './text.js';

export interface Column {
  header: string;
  /** Columns that may be narrowed to fit, lowest first; undefined: never narrowed. */
  shrinkOrder?: number;
  /** Narrowest it may become (default: its header's width). */
  min?: number;
}

const GAP = '  ';

/**
 * A kubectl-style table (upper-case headers, columns padded with spaces) that
 * fits `width` columns when it can: when it is too wide, the shrinkable
 * columns are narrowed in their order, down to their minimum, and their cells
 * cut with an ellipsis. Columns without a shrinkOrder are never cut (a cut
 * name cannot be copied into the next command), so a table of very long
 * names can still be wider.
 */
export function renderTable(columns: Column[], rows: string[][], width: number): string[] {
  const widths = columns.map((column, i) => Math.max(widthOf(column.header), ...rows.map((row) => widthOf(row[i] ?? ''))));
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1) - width;
  const shrinkable = columns
    .map((column, index) => ({ column, index }))
    .filter(({ column }) => column.shrinkOrder !== undefined)
    .sort((a, b) => (a.column.shrinkOrder ?? 0) - (b.column.shrinkOrder ?? 0));
  for (const { column, index } of shrinkable) {
    if (excess <= 0) break;
    const min = Math.min(widths[index] ?? 0, column.min ?? widthOf(column.header));
    const cut = Math.min(excess, (widths[index] ?? 0) - min);
    widths[index] = (widths[index] ?? 0) - cut;
    excess -= cut;
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const fitted = truncate(cell, w);
        return i === cells.length - 1 ? fitted : padEnd(fitted, w);
      })
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}

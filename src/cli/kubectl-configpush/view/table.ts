import { padEnd, truncate, widthOf } from './text.js';

export interface Column {
  header: string;
  /**
   * When the table is too wide, the columns are fitted one step at a time,
   * lowest order first: a column with a shrinkOrder is narrowed (down to its
   * min, its cells cut with an ellipsis), one with a dropOrder is left out
   * (as kubectl leaves out its -o wide columns). A column with neither is
   * never cut: a cut name cannot be copied into the next command.
   */
  shrinkOrder?: number;
  /** Narrowest it may become (default: its header's width). */
  min?: number;
  dropOrder?: number;
}

const GAP = '  ';

/**
 * A kubectl-style table (upper-case headers, columns padded with spaces) that
 * fits `width` columns when it can (see Column). A table of very long names
 * can still be wider.
 */
export function renderTable(allColumns: Column[], allRows: string[][], width: number): string[] {
  let columns = allColumns;
  let rows = allRows;
  let widths = naturalWidths(columns, rows);
  const excess = () => widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1) - width;
  const steps = allColumns
    .flatMap((column) => [
      ...(column.shrinkOrder !== undefined ? [{ column, order: column.shrinkOrder, drop: false }] : []),
      ...(column.dropOrder !== undefined ? [{ column, order: column.dropOrder, drop: true }] : []),
    ])
    .sort((a, b) => a.order - b.order);
  for (const { column, drop } of steps) {
    if (excess() <= 0) break;
    const index = columns.indexOf(column);
    if (index < 0) continue;
    if (drop) {
      columns = columns.filter((_, i) => i !== index);
      rows = rows.map((row) => row.filter((_, i) => i !== index));
      widths = widths.filter((_, i) => i !== index);
    } else {
      const current = widths[index] ?? 0;
      const min = Math.min(current, column.min ?? widthOf(column.header));
      widths[index] = current - Math.min(excess(), current - min);
    }
  }
  // A later drop may have freed more than it had to: give the room back to the cut columns.
  const natural = naturalWidths(columns, rows);
  for (let i = columns.length - 1; i >= 0 && excess() < 0; i--) {
    widths[i] = Math.min(natural[i] ?? 0, (widths[i] ?? 0) - excess());
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

function naturalWidths(columns: Column[], rows: string[][]): number[] {
  return columns.map((column, i) => Math.max(widthOf(column.header), ...rows.map((row) => widthOf(row[i] ?? ''))));
}

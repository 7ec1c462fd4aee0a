import { padEnd, truncate, widthOf } from './text.js';

export interface Column {
  header: string;
  /** Columns that may be narrowed to fit, lowest first; undefined: never narrowed. */
  shrinkOrder?: number;
  /** Narrowest it may become (default: its header's width). */
  min?: number;
  /** Columns left out, lowest first, when cutting alone does not fit the table (as kubectl hides its -o wide columns). */
  dropOrder?: number;
}

const GAP = '  ';

/**
 * A kubectl-style table (upper-case headers, columns padded with spaces) that
 * fits `width` columns when it can: when it is too wide, the shrinkable
 * columns are narrowed in their order, down to their minimum, and their cells
 * cut with an ellipsis; if that is not enough, the droppable columns are
 * left out. Columns without a shrinkOrder are never cut (a cut name cannot
 * be copied into the next command), so a table of very long names can still
 * be wider.
 */
export function renderTable(allColumns: Column[], allRows: string[][], width: number): string[] {
  let columns = allColumns;
  let rows = allRows;
  const droppable = allColumns.filter((c) => c.dropOrder !== undefined).sort((a, b) => (a.dropOrder ?? 0) - (b.dropOrder ?? 0));
  for (const drop of droppable) {
    if (narrowest(columns, rows) <= width) break;
    const index = columns.indexOf(drop);
    columns = columns.filter((_, i) => i !== index);
    rows = rows.map((row) => row.filter((_, i) => i !== index));
  }
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

/** The table's width with every shrinkable column at its minimum. */
function narrowest(columns: Column[], rows: string[][]): number {
  const widths = columns.map((column, i) => {
    const natural = Math.max(widthOf(column.header), ...rows.map((row) => widthOf(row[i] ?? '')));
    return column.shrinkOrder === undefined ? natural : Math.min(natural, column.min ?? widthOf(column.header));
  });
  return widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1);
}

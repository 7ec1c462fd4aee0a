/**
 * Key-level differences between two string maps (a target's data, labels or
 * annotations, live and desired), with values as the user may see them.
 */

/** A value as shown: its size always, its text only when it may be shown. */
export interface ValueView {
  bytes: number;
  text?: string;
}

export interface KeyChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  before?: ValueView;
  after?: ValueView;
}

/**
 * How a map's values are shown:
 * - text: plain text, shown (ConfigMap data, labels, annotations);
 * - hidden-text: plain text, only its size (ConfigMap data of a push that also writes Secrets);
 * - base64: bytes, only their decoded size (Secret data, binaryData). A Secret's value never leaves here.
 */
export type ValueKind = 'text' | 'hidden-text' | 'base64';

export function valueView(value: string, kind: ValueKind): ValueView {
  switch (kind) {
    case 'text':
      return { bytes: Buffer.byteLength(value, 'utf8'), text: value };
    case 'hidden-text':
      return { bytes: Buffer.byteLength(value, 'utf8') };
    case 'base64':
      return { bytes: Buffer.from(value, 'base64').length };
  }
}

/** Keys added, removed and changed from `before` to `after`, sorted by key. Values compare as stored. */
export function diffMaps(before: Record<string, string> | undefined, after: Record<string, string> | undefined, kind: ValueKind): KeyChange[] {
  const was = before ?? {};
  const will = after ?? {};
  const keys = [...new Set([...Object.keys(was), ...Object.keys(will)])].sort();
  const changes: KeyChange[] = [];
  for (const key of keys) {
    const old = Object.hasOwn(was, key) ? was[key] : undefined;
    const next = Object.hasOwn(will, key) ? will[key] : undefined;
    if (old === next) continue;
    if (old === undefined && next !== undefined) changes.push({ key, change: 'added', after: valueView(next, kind) });
    else if (next === undefined && old !== undefined) changes.push({ key, change: 'removed', before: valueView(old, kind) });
    else if (old !== undefined && next !== undefined) changes.push({ key, change: 'changed', before: valueView(old, kind), after: valueView(next, kind) });
  }
  return changes;
}

export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/** Beyond this many cells the LCS table costs too much: the value is shown as all removed, then all added. */
const MAX_LCS_CELLS = 250_000;

/**
 * A line diff of two texts (longest common subsequence), with runs of
 * unchanged lines longer than 2 * context cut to their ends: the lines kept
 * around each change, and a '…' line for what was cut.
 */
export function lineDiff(before: string, after: string, context = 2): (DiffLine | Note)[] {
  // A final newline ends the last line; it is not an empty line of its own.
  const a = linesOf(before);
  const b = linesOf(after);
  let lines: DiffLine[];
  if (a.length * b.length > MAX_LCS_CELLS) {
    lines = [...a.map((text) => ({ op: '-' as const, text })), ...b.map((text) => ({ op: '+' as const, text }))];
  } else {
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
      }
    }
    lines = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) {
        lines.push({ op: ' ', text: a[i]! });
        i++;
        j++;
      } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        // Removals before additions, as diff(1) prints them.
        lines.push({ op: '-', text: a[i]! });
        i++;
      } else {
        lines.push({ op: '+', text: b[j]! });
        j++;
      }
    }
  }
  const endsA = before.endsWith('\n');
  // A change of the final newline alone is a change too, shown after the last lines.
  const ending: Note[] = endsA !== after.endsWith('\n') ? [{ op: '…', text: `newline at the end ${endsA ? 'removed' : 'added'}` }] : [];
  return collapseContext([...lines, ...ending], context);
}

/** Not a line of either text: a note about the lines around it. */
export interface Note {
  op: '…';
  text: string;
}

function linesOf(text: string): string[] {
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

function collapseContext(lines: (DiffLine | Note)[], context: number): (DiffLine | Note)[] {
  const near = lines.map(() => false);
  lines.forEach((line, i) => {
    if (line.op === ' ') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) near[k] = true;
  });
  const out: (DiffLine | Note)[] = [];
  let skipped = 0;
  lines.forEach((line, i) => {
    if (near[i]) {
      if (skipped > 0) out.push({ op: '…', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
      skipped = 0;
      out.push(line);
    } else skipped++;
  });
  if (skipped > 0) out.push({ op: '…', text: `${skipped} unchanged line${skipped === 1 ? '' : 's'}` });
  return out;
}

/**
 * Text helpers for an 80-column terminal. Widths count code points: the
 * strings shown are Kubernetes names, reasons and messages, which are ASCII in
 * practice (wide characters would only make a line look a little longer).
 */

export function widthOf(text: string): number {
  return [...text].length;
}

/** `text` cut to `width` columns, the last one an ellipsis when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, width - 1).join('')}…`;
}

export function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - widthOf(text)));
}

/**
 * Control characters (ANSI escapes, carriage returns, ...) in strings that
 * come from the cluster, made visible: a message or a ConfigMap value must
 * not be able to drive the terminal. Tabs and newlines are kept; callers that
 * need one line use oneLine().
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** printable(), with every run of whitespace (newlines included) made one space. */
export function oneLine(text: string): string {
  return printable(text.replace(/\s+/g, ' ').trim());
}

/**
 * Greedy word wrap to `width` columns; a word longer than a line is broken.
 * Always at least one line (possibly empty).
 */
export function wrap(text: string, width: number): string[] {
  const max = Math.max(1, width);
  const lines: string[] = [];
  let line = '';
  for (const word of oneLine(text).split(' ').filter(Boolean)) {
    let rest = [...word];
    if (line !== '' && widthOf(line) + 1 + rest.length <= max) {
      line += ` ${word}`;
      continue;
    }
    if (line !== '') lines.push(line);
    while (rest.length > max) {
      lines.push(rest.slice(0, max).join(''));
      rest = rest.slice(max);
    }
    line = rest.join('');
  }
  lines.push(line);
  return lines;
}

/** wrap(), at most `maxLines` lines; the last one says that more was cut. */
export function wrapLimited(text: string, width: number, maxLines: number): string[] {
  const lines = wrap(text, width);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} …`, width);
  return kept;
}

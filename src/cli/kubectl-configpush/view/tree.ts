import { wrap, wrapLimited } from './text.js';

export interface TreeNode {
  label: string;
  /** Paragraphs shown under the label (a message), each wrapped. */
  detail?: string[];
  children?: TreeNode[];
}

/** A label or detail line is never squeezed narrower than this, however deep the tree. */
const MIN_TEXT_WIDTH = 24;
/** At most this many lines of one node's detail: the rest is in -o yaml. */
export const MAX_DETAIL_LINES = 6;

/**
 * A tree drawn with box characters, every line within `width` columns: labels
 * and their detail are wrapped under the node (after a bar when children follow).
 */
export function renderTree(nodes: TreeNode[], width: number, indent = ''): string[] {
  const lines: string[] = [];
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const branch = last ? '└─ ' : '├─ ';
    const below = indent + (last ? '   ' : '│  ');
    const hasChildren = (node.children?.length ?? 0) > 0;
    // Continuation lines (a long label, the detail) sit under the label, after
    // a bar when the node's children follow.
    const continuation = below + (hasChildren ? '│  ' : '   ');
    const textWidth = Math.max(MIN_TEXT_WIDTH, width - continuation.length);
    const [first = '', ...rest] = wrap(node.label, textWidth);
    lines.push(indent + branch + first);
    for (const line of rest) lines.push(`${continuation}${line}`.trimEnd());
    for (const paragraph of node.detail ?? []) {
      for (const line of wrapLimited(paragraph, textWidth, MAX_DETAIL_LINES)) lines.push(`${continuation}${line}`.trimEnd());
    }
    if (hasChildren) lines.push(...renderTree(node.children ?? [], width, below));
  });
  return lines;
}

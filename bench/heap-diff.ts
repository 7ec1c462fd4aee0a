/**
 * `node --max-old-space-size=4096 <build>/bench/heap-diff.js A.heapsnapshot B.heapsnapshot [--json]`:
 * what grew in the heap from snapshot A to snapshot B, by constructor (self
 * size), by holder (strings and arrays by the field that holds them) and by
 * Map (entries and the bytes each holds exclusively), largest change first.
 * The two need not be of the same process: rows are matched by name, not by
 * object id (the soak diffs the process before the judged one with the
 * judged one, docs/soak.md).
 */
import { summarizeHeapSnapshot, type HeapSummary } from './profile.js';

export interface HeapDiffRow {
  name: string;
  countA: number;
  countB: number;
  bytesA: number;
  bytesB: number;
  deltaBytes: number;
  deltaCount: number;
}

export interface HeapDiff {
  totalA: number;
  totalB: number;
  nodesA: number;
  nodesB: number;
  byConstructor: HeapDiffRow[];
  byHolder: HeapDiffRow[];
  maps: HeapDiffRow[];
}

type Row = { name: string; count: number; bytes: number };

/** Rows of A and B matched by name (absent on one side: 0), ordered by the size of the change in bytes. */
export function diffRows(a: readonly Row[], b: readonly Row[], limit = 25): HeapDiffRow[] {
  const byName = new Map<string, HeapDiffRow>();
  const row = (name: string) => {
    let r = byName.get(name);
    if (!r) {
      r = { name, countA: 0, countB: 0, bytesA: 0, bytesB: 0, deltaBytes: 0, deltaCount: 0 };
      byName.set(name, r);
    }
    return r;
  };
  for (const x of a) Object.assign(row(x.name), { countA: x.count, bytesA: x.bytes });
  for (const x of b) Object.assign(row(x.name), { countB: x.count, bytesB: x.bytes });
  const rows = [...byName.values()].map((r) => ({ ...r, deltaBytes: r.bytesB - r.bytesA, deltaCount: r.countB - r.countA }));
  return rows.sort((x, y) => Math.abs(y.deltaBytes) - Math.abs(x.deltaBytes) || x.name.localeCompare(y.name)).slice(0, limit);
}

/** Maps keyed by holder; several Maps under one holder name are summed (count = entries). */
function mapRows(s: HeapSummary): Row[] {
  const rows = new Map<string, Row>();
  for (const m of s.maps ?? []) {
    const r = rows.get(m.holder) ?? { name: m.holder, count: 0, bytes: 0 };
    r.count += m.entries;
    r.bytes += m.bytes;
    rows.set(m.holder, r);
  }
  return [...rows.values()];
}

export function diffHeapSummaries(a: HeapSummary, b: HeapSummary, limit = 25): HeapDiff {
  return {
    totalA: a.totalBytes,
    totalB: b.totalBytes,
    nodesA: a.nodes,
    nodesB: b.nodes,
    byConstructor: diffRows(a.top, b.top, limit),
    byHolder: diffRows(a.byHolder ?? [], b.byHolder ?? [], limit),
    maps: diffRows(mapRows(a), mapRows(b), limit),
  };
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

export function heapDiffMarkdown(d: HeapDiff, nameA = 'A', nameB = 'B'): string {
  const table = (title: string, rows: HeapDiffRow[], countLabel: string) => [
    '',
    `### ${title}`,
    '',
    `| name | ${countLabel} ${nameA} | ${countLabel} ${nameB} | KiB ${nameA} | KiB ${nameB} | change KiB |`,
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name.replaceAll('|', '\\|')} | ${r.countA} | ${r.countB} | ${kib(r.bytesA)} | ${kib(r.bytesB)} | ${r.deltaBytes >= 0 ? '+' : ''}${kib(r.deltaBytes)} |`),
  ];
  return [
    `Heap (self sizes): ${nameA} ${(d.totalA / 2 ** 20).toFixed(2)} MiB in ${d.nodesA} nodes, ${nameB} ${(d.totalB / 2 ** 20).toFixed(2)} MiB in ${d.nodesB} nodes: ${d.totalB >= d.totalA ? '+' : ''}${kib(d.totalB - d.totalA)} KiB.`,
    ...table('By constructor or node type (self size)', d.byConstructor, 'count'),
    ...table('Strings and arrays by holder', d.byHolder, 'count'),
    ...table('Maps by holder (entries, bytes held exclusively)', d.maps, 'entries'),
    '',
  ].join('\n');
}

if (process.argv[1]?.endsWith('/bench/heap-diff.js')) {
  const files = process.argv.slice(2).filter((x) => !x.startsWith('--'));
  if (files.length !== 2) {
    process.stderr.write('usage: heap-diff.js A.heapsnapshot B.heapsnapshot [--json]\n');
    process.exit(2);
  }
  const limits = { top: 100_000, holders: 100_000, maps: 1_000, minMapEntries: 20 };
  const [a, b] = files.map((f) => summarizeHeapSnapshot(f, limits)) as [HeapSummary, HeapSummary];
  const diff = diffHeapSummaries(a, b, 30);
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(diff, null, 1)}\n` : heapDiffMarkdown(diff));
}

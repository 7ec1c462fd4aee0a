import { closeSync, openSync, readSync } from 'node:fs';

/**
 * A V8 .heapsnapshot read as a stream. The file is one JSON object whose
 * `nodes` and `edges` arrays hold tens of millions of numbers and whose
 * `strings` array holds every name; at 100,000 pushes it is well over the
 * 512 MiB that a single JavaScript string (readFileSync + JSON.parse) can
 * hold, so the numbers go straight into typed arrays and the strings are
 * parsed one at a time.
 */
export interface HeapSnapshot {
  nodeFields: string[];
  nodeTypes: string[];
  edgeFields: string[];
  edgeTypes: string[];
  nodes: Float64Array;
  edges: Float64Array;
  strings: string[];
}

interface Meta {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] };
    node_count: number;
    edge_count: number;
  };
}

class Reader {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(16 * 2 ** 20);
  private length = 0;
  private offset = 0;
  private eof = false;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
  }

  close(): void {
    closeSync(this.fd);
  }

  private fill(): boolean {
    if (this.offset < this.length) return true;
    if (this.eof) return false;
    this.length = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
    this.offset = 0;
    if (this.length === 0) this.eof = true;
    return this.length > 0;
  }

  /** The next byte, or -1 at the end. */
  byte(): number {
    if (!this.fill()) return -1;
    return this.buffer[this.offset++] as number;
  }

  /** Reads up to and including `marker` (ASCII); returns what came before it if `keep` (the small header only). */
  until(marker: string, keep = false): string {
    const want = Buffer.from(marker);
    const kept: number[] = [];
    let matched = 0;
    for (;;) {
      const b = this.byte();
      if (b === -1) throw new Error(`heap snapshot: ${marker} not found`);
      if (keep) kept.push(b);
      matched = b === want[matched] ? matched + 1 : b === want[0] ? 1 : 0;
      if (matched === want.length) return keep ? Buffer.from(kept.slice(0, kept.length - want.length)).toString('utf8') : '';
    }
  }

  /** Parses a JSON array of non-negative integers into `out`; returns the count read. */
  numbers(out: Float64Array): number {
    let n = 0;
    let value = 0;
    let inNumber = false;
    for (;;) {
      const b = this.byte();
      if (b === -1) throw new Error('heap snapshot: unterminated number array');
      if (b >= 48 && b <= 57) {
        value = value * 10 + (b - 48);
        inNumber = true;
      } else {
        if (inNumber) {
          if (n < out.length) out[n] = value;
          n++;
          value = 0;
          inNumber = false;
        }
        if (b === 93) return n; // ]
      }
    }
  }

  /** Parses a JSON array of strings. */
  strings(): string[] {
    const out: string[] = [];
    for (;;) {
      let b = this.byte();
      while (b === 32 || b === 10 || b === 13 || b === 44 || b === 9) b = this.byte();
      if (b === 93 || b === -1) return out;
      if (b !== 34) throw new Error(`heap snapshot: expected a string, found byte ${b}`);
      const bytes: number[] = [34];
      let chunk: Buffer[] = [];
      for (;;) {
        const c = this.byte();
        if (c === -1) throw new Error('heap snapshot: unterminated string');
        bytes.push(c);
        if (c === 92) bytes.push(this.byte());
        else if (c === 34) break;
        if (bytes.length > 65536) {
          chunk.push(Buffer.from(bytes));
          bytes.length = 0;
        }
      }
      chunk.push(Buffer.from(bytes));
      out.push(JSON.parse(Buffer.concat(chunk).toString('utf8')) as string);
      chunk = [];
    }
  }
}

export function readHeapSnapshot(file: string): HeapSnapshot {
  const reader = new Reader(file);
  try {
    const header = reader.until('"nodes":[', true);
    const meta = JSON.parse(`${header.replace(/,\s*$/, '')}}`) as Meta;
    const m = meta.snapshot.meta;
    const nodes = new Float64Array(meta.snapshot.node_count * m.node_fields.length);
    const nodeCount = reader.numbers(nodes);
    if (nodeCount !== nodes.length) throw new Error(`heap snapshot: ${nodeCount} node fields, expected ${nodes.length}`);
    reader.until('"edges":[');
    const edges = new Float64Array(meta.snapshot.edge_count * m.edge_fields.length);
    const edgeCount = reader.numbers(edges);
    if (edgeCount !== edges.length) throw new Error(`heap snapshot: ${edgeCount} edge fields, expected ${edges.length}`);
    reader.until('"strings":[');
    const strings = reader.strings();
    return { nodeFields: m.node_fields, nodeTypes: m.node_types[0], edgeFields: m.edge_fields, edgeTypes: m.edge_types[0], nodes, edges, strings };
  } finally {
    reader.close();
  }
}

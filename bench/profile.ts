import { readFileSync } from 'node:fs';
import { readHeapSnapshot } from './heap-snapshot.js';
import { round } from './stats.js';

/** Where a V8 CPU profile's time goes: by package / our code / node internals, self and inclusive. */
export interface CpuSummary {
  seconds: number;
  samples: number;
  /** Share of samples not idle. */
  busyPercent: number;
  gcPercent: number;
  /** Self time by category (a package, node:internal, our src/, GC, program). Percent of busy time. */
  selfByCategory: { category: string; ms: number; percent: number }[];
  /** Samples whose stack holds a frame of the category. Percent of busy time. */
  inclusiveByCategory: { category: string; ms: number; percent: number }[];
  topSelf: { frame: string; ms: number; percent: number }[];
  topInclusive: { frame: string; ms: number; percent: number }[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function categoryOf(url: string, functionName: string, root: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    if (functionName === '(root)') return 'root';
    return 'native';
  }
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (modules) return `npm: ${modules[1]}`;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    if (parts[0] !== 'internal') return `node: ${parts[0]}`;
    if (parts[1] === 'deps') return `node: ${parts[2] ?? 'deps'}`;
    return `node: internal/${parts[1] ?? ''}`;
  }
  const local = url.replace(`file://${root}/`, '');
  const ours = /(?:^|\/)(src|bench|test)\/(.*)$/.exec(local);
  if (ours) return `ours: ${ours[1]}/${ours[2]?.split('/')[0] ?? ''}`;
  return 'other';
}

export function summarizeCpuProfile(file: string, root: string): CpuSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const seconds = (profile.endTime - profile.startTime) / 1e6;

  const selfCat = new Map<string, number>();
  const inclCat = new Map<string, number>();
  const selfFrame = new Map<string, number>();
  const inclFrame = new Map<string, number>();
  const frameName = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(`file://${root}/`, '').replace(/^.*node_modules\//, '');
    return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  };
  let busyUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    const cat = categoryOf(node.callFrame.url, node.callFrame.functionName, root);
    if (cat === 'idle') {
      idleUs += dt;
      return;
    }
    busyUs += dt;
    if (cat === 'GC') gcUs += dt;
    selfCat.set(cat, (selfCat.get(cat) ?? 0) + dt);
    const name = frameName(node);
    selfFrame.set(name, (selfFrame.get(name) ?? 0) + dt);
    const cats = new Set<string>();
    const frames = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const c = categoryOf(n.callFrame.url, n.callFrame.functionName, root);
      if (c === 'root') continue;
      cats.add(c);
      if (n.callFrame.url) frames.add(frameName(n));
    }
    for (const c of cats) inclCat.set(c, (inclCat.get(c) ?? 0) + dt);
    for (const f of frames) inclFrame.set(f, (inclFrame.get(f) ?? 0) + dt);
  });
  const top = (map: Map<string, number>, n: number, key: 'category' | 'frame') =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ [key]: name, ms: Math.round(us / 1000), percent: round((100 * us) / Math.max(1, busyUs), 1) }));
  return {
    seconds: round(seconds, 1),
    samples: profile.samples.length,
    busyPercent: round((100 * busyUs) / Math.max(1, busyUs + idleUs), 1),
    gcPercent: round((100 * gcUs) / Math.max(1, busyUs), 1),
    selfByCategory: top(selfCat, 14, 'category') as CpuSummary['selfByCategory'],
    inclusiveByCategory: top(inclCat, 14, 'category') as CpuSummary['inclusiveByCategory'],
    topSelf: top(selfFrame, 15, 'frame') as CpuSummary['topSelf'],
    topInclusive: top(inclFrame, 25, 'frame') as CpuSummary['topInclusive'],
  };
}

/** Self size of a V8 heap snapshot, by constructor (objects) or by node type (strings, code, arrays...). */
export interface HeapSummary {
  file: string;
  totalBytes: number;
  nodes: number;
  top: { name: string; count: number; bytes: number; percent: number }[];
  /**
   * Strings, arrays and other non-object nodes by what holds them: the first
   * object (in the snapshot's order) with a property, element or internal
   * edge to them, as `Constructor.property` (`Map.table` is a Map's
   * backing store, `Object.resourceVersion` a string held by a plain object's
   * property). Says which fields the string and array bytes belong to.
   */
  byHolder?: { name: string; count: number; bytes: number; percent: number }[];
  /** The large Maps and what each holds exclusively (see bigMaps). `entries` counts the table's key and value edges / 2, an estimate. */
  maps?: { holder: string; entries: number; bytes: number; bytesPerEntry: number }[];
}

const LEAF_TYPES = new Set(['string', 'concatenated string', 'sliced string', 'array', 'number', 'hidden', 'bigint']);

/** How many rows of each list a summary keeps (a diff of two snapshots wants more than the bench report shows). */
export interface HeapSummaryLimits {
  top?: number;
  holders?: number;
  maps?: number;
  /** Maps with more entries than this are listed (default 500). */
  minMapEntries?: number;
}

export function summarizeHeapSnapshot(file: string, limits: HeapSummaryLimits = {}): HeapSummary {
  const snap = readHeapSnapshot(file);
  const width = snap.nodeFields.length;
  const typeAt = snap.nodeFields.indexOf('type');
  const nameAt = snap.nodeFields.indexOf('name');
  const sizeAt = snap.nodeFields.indexOf('self_size');
  const edgeCountAt = snap.nodeFields.indexOf('edge_count');
  const edgeWidth = snap.edgeFields.length;
  const edgeTypeAt = snap.edgeFields.indexOf('type');
  const edgeNameAt = snap.edgeFields.indexOf('name_or_index');
  const edgeToAt = snap.edgeFields.indexOf('to_node');
  const groups = new Map<string, { count: number; bytes: number }>();
  const holders = new Map<string, { count: number; bytes: number }>();
  const add = (map: Map<string, { count: number; bytes: number }>, name: string, bytes: number) => {
    const group = map.get(name) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += bytes;
    map.set(name, group);
  };
  const nodeType = (i: number) => snap.nodeTypes[snap.nodes[i + typeAt] ?? 0] ?? 'unknown';
  const label = (i: number) => {
    const type = nodeType(i);
    return type === 'object' || type === 'native' ? `${type}: ${snap.strings[snap.nodes[i + nameAt] ?? 0] ?? '?'}` : type;
  };
  let total = 0;
  let count = 0;
  const held = new Uint8Array(snap.nodes.length / width);
  const arrayHolder = new Map<number, string>();
  let edge = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const size = snap.nodes[i + sizeAt] ?? 0;
    add(groups, label(i), size);
    total += size;
    count++;
    const edges = snap.nodes[i + edgeCountAt] ?? 0;
    const ownerType = nodeType(i);
    for (let e = 0; e < edges; e++, edge += edgeWidth) {
      const type = snap.edgeTypes[snap.edges[edge + edgeTypeAt] ?? 0];
      if (type !== 'property' && type !== 'element' && type !== 'internal') continue;
      const to = snap.edges[edge + edgeToAt] ?? 0;
      const slot = to / width;
      if (held[slot] || !LEAF_TYPES.has(nodeType(to))) continue;
      held[slot] = 1;
      // An array's own entries (a Map's table, an object's out-of-line properties) count under what holds the array.
      const ownerLabel = ownerType === 'object' ? (snap.strings[snap.nodes[i + nameAt] ?? 0] ?? '?') : arrayHolder.get(i / width);
      const edgeName = type === 'element' || ownerLabel?.endsWith(']') || ownerType !== 'object' ? '[]' : `.${snap.strings[snap.edges[edge + edgeNameAt] ?? 0] ?? '?'}`;
      const holder = `${ownerLabel ?? `(${ownerType})`}${edgeName}`;
      if (nodeType(to) === 'array' && !holder.endsWith('[][]')) arrayHolder.set(slot, holder);
      add(holders, `${holder} -> ${nodeType(to)}`, snap.nodes[to + sizeAt] ?? 0);
    }
  }
  const top = (map: Map<string, { count: number; bytes: number }>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, n)
      .map(([name, g]) => ({ name, count: g.count, bytes: g.bytes, percent: round((100 * g.bytes) / Math.max(1, total), 1) }));
  return { file, totalBytes: total, nodes: count, top: top(groups, limits.top ?? 20), byHolder: top(holders, limits.holders ?? 25), maps: bigMaps(snap, limits.minMapEntries ?? 500, limits.maps ?? 25) };
}

/**
 * The Maps of more than `minEntries` entries (the caches, indexes and
 * records that grow with pushes and targets), each with what holds it
 * (`Constructor.property` of its first retainer) and the bytes it holds
 * exclusively: its table, and every node reachable from the table through
 * nodes that have no other retainer (so a string shared with another
 * structure counts for neither). Per entry, that is what one more push or
 * target costs in that structure.
 */
function bigMaps(snap: ReturnType<typeof readHeapSnapshot>, minEntries: number, limit = 25): NonNullable<HeapSummary['maps']> {
  const width = snap.nodeFields.length;
  const typeAt = snap.nodeFields.indexOf('type');
  const nameAt = snap.nodeFields.indexOf('name');
  const sizeAt = snap.nodeFields.indexOf('self_size');
  const edgeCountAt = snap.nodeFields.indexOf('edge_count');
  const ew = snap.edgeFields.length;
  const edgeTypeAt = snap.edgeFields.indexOf('type');
  const edgeNameAt = snap.edgeFields.indexOf('name_or_index');
  const edgeToAt = snap.edgeFields.indexOf('to_node');
  const count = snap.nodes.length / width;
  const firstEdge = new Float64Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = (firstEdge[n] ?? 0) + (snap.nodes[n * width + edgeCountAt] ?? 0) * ew;
  const weak = snap.edgeTypes.indexOf('weak');
  const shortcut = snap.edgeTypes.indexOf('shortcut');
  const inDegree = new Uint32Array(count);
  const retainer = new Int32Array(count).fill(-1);
  const retainerEdge = new Int32Array(count).fill(-1);
  for (let n = 0; n < count; n++) {
    for (let e = firstEdge[n] ?? 0; e < (firstEdge[n + 1] ?? 0); e += ew) {
      const type = snap.edges[e + edgeTypeAt];
      if (type === weak || type === shortcut) continue;
      const to = (snap.edges[e + edgeToAt] ?? 0) / width;
      inDegree[to] = (inDegree[to] ?? 0) + 1;
      if (retainer[to] === -1 && (snap.nodeTypes[snap.nodes[n * width + typeAt] ?? 0] === 'object' || snap.nodeTypes[snap.nodes[n * width + typeAt] ?? 0] === 'closure')) {
        retainer[to] = n;
        retainerEdge[to] = e;
      }
    }
  }
  const nameOf = (n: number) => snap.strings[snap.nodes[n * width + nameAt] ?? 0] ?? '?';
  const typeOf = (n: number) => snap.nodeTypes[snap.nodes[n * width + typeAt] ?? 0] ?? '?';
  const visited = new Uint8Array(count);
  /** Self size of `start` and of everything below it that nothing else retains. */
  const exclusive = (start: number): number => {
    let bytes = 0;
    const stack = [start];
    while (stack.length > 0) {
      const n = stack.pop() as number;
      if (visited[n]) continue;
      visited[n] = 1;
      bytes += snap.nodes[n * width + sizeAt] ?? 0;
      for (let e = firstEdge[n] ?? 0; e < (firstEdge[n + 1] ?? 0); e += ew) {
        const type = snap.edges[e + edgeTypeAt];
        if (type === weak || type === shortcut) continue;
        const to = (snap.edges[e + edgeToAt] ?? 0) / width;
        if (!visited[to] && (inDegree[to] ?? 0) <= 1 && typeOf(to) !== 'code' && typeOf(to) !== 'object shape') stack.push(to);
      }
    }
    return bytes;
  };
  const out: NonNullable<HeapSummary['maps']> = [];
  for (let n = 0; n < count; n++) {
    if (typeOf(n) !== 'object' || nameOf(n) !== 'Map') continue;
    let table = -1;
    for (let e = firstEdge[n] ?? 0; e < (firstEdge[n + 1] ?? 0); e += ew) {
      if (snap.edgeTypes[snap.edges[e + edgeTypeAt] ?? 0] === 'internal' && snap.strings[snap.edges[e + edgeNameAt] ?? 0] === 'table') table = (snap.edges[e + edgeToAt] ?? 0) / width;
    }
    if (table < 0) continue;
    const slots = ((firstEdge[table + 1] ?? 0) - (firstEdge[table] ?? 0)) / ew;
    if (slots / 2 < minEntries) continue;
    const holderNode = retainer[n] ?? -1;
    const holderEdge = retainerEdge[n] ?? -1;
    const edgeName = holderEdge < 0 ? '?' : snap.edgeTypes[snap.edges[holderEdge + edgeTypeAt] ?? 0] === 'element' ? `[${snap.edges[holderEdge + edgeNameAt]}]` : (snap.strings[snap.edges[holderEdge + edgeNameAt] ?? 0] ?? '?');
    const holder = holderNode < 0 ? '(root)' : `${typeOf(holderNode) === 'closure' ? `closure ${nameOf(holderNode)}` : nameOf(holderNode)}.${edgeName}`;
    const bytes = exclusive(n);
    out.push({ holder, entries: Math.round(slots / 2), bytes, bytesPerEntry: round(bytes / Math.max(1, slots / 2), 0) });
  }
  return out.sort((a, b) => b.bytes - a.bytes).slice(0, limit);
}

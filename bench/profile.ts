import { readFileSync } from 'node:fs';
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
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summarizeHeapSnapshot(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  let count = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? 'unknown';
    const size = snap.nodes[i + sizeAt] ?? 0;
    const name = type === 'object' || type === 'native' ? `${type}: ${snap.strings[snap.nodes[i + nameAt] ?? 0] ?? '?'}` : type;
    const group = groups.get(name) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += size;
    groups.set(name, group);
    total += size;
    count++;
  }
  return {
    file,
    totalBytes: total,
    nodes: count,
    top: [...groups.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, 15)
      .map(([name, g]) => ({ name, count: g.count, bytes: g.bytes, percent: round((100 * g.bytes) / Math.max(1, total), 1) })),
  };
}

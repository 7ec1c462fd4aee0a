/**
 * What the reconciler's view of the namespaces cost each reconcile before it
 * was kept between namespace changes (src/configpush/setup.ts `namespaces`,
 * src/core/resolve-spec.ts `readsNamespaces`). Every reconcile of every push
 * listed the namespace cache and mapped each live namespace to its name and
 * labels, twice (resolving the spec, then planning the waves), though only a
 * namespaceSelector reads them. This times exactly that on N namespaces held
 * as client-node's ObjectCache holds them (a Map per namespace of objects
 * parsed from JSON, as a watch delivers them; list() spreads them into one
 * array), and the memoised view now read instead, in this process (run it
 * under the image's node flag and without to see both).
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist
 *   node [--optimize-for-size] .cache/bench-dist/bench/namespace-view-cost.js [--namespaces 500,5000] [--reconciles 2000]
 */
import { parseArgs } from 'node:util';
import type { V1Namespace } from '@kubernetes/client-node';
import type { NamespaceInfo } from '../src/core/resolve-spec.js';
import { cpuMicrosPerCall } from './cpu-per-call.js';
import { median, round } from './stats.js';

/** A namespace as the operator's cache keeps it (managedFields dropped), parsed from JSON. */
function namespaceJson(i: number): string {
  const name = `team-${i}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      uid: `0b8f9a52-6c1e-4d2a-9e57-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: '2026-12-01T10:00:00Z',
      labels: { 'kubernetes.io/metadata.name': name, team: `t${i % 40}`, env: i % 3 === 0 ? 'prod' : 'dev' },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}

/** client-node's ObjectCache layout: objects by namespace ('' for cluster-scoped), then by name; list() of all spreads them. */
function cacheOf(count: number): { list(): V1Namespace[] } {
  const objects = new Map<string, Map<string, V1Namespace>>([['', new Map()]]);
  for (let i = 0; i < count; i++) {
    const ns = JSON.parse(namespaceJson(i)) as V1Namespace;
    objects.get('')!.set(ns.metadata!.name!, ns);
  }
  return {
    list() {
      const all: V1Namespace[] = [];
      for (const byName of objects.values()) all.push(...byName.values());
      return all;
    },
  };
}

/** The view as the reconciler built it (setup.ts). */
const viewOf = (cache: { list(): V1Namespace[] }): NamespaceInfo[] =>
  cache
    .list()
    .filter((ns) => !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating')
    .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }));

function main(): void {
  const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '500,5000' }, reconciles: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' } } });
  const sizes = values.namespaces.split(',').map(Number);
  const reconciles = Number(values.reconciles);
  const rounds = Number(values.rounds);
  console.log(`# The namespace view per reconcile (node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'})\n`);
  console.log(`CPU of this process per reconcile, median of ${rounds} rounds of ${reconciles} reconciles.\n`);
  console.log('| namespaces | before: listed and mapped twice a reconcile, µs | now, a selector push: the kept view read twice, µs | now, a push of named targets, µs |');
  console.log('|---|---|---|---|');
  for (const size of sizes) {
    const cache = cacheOf(size);
    let kept: NamespaceInfo[] | undefined;
    const before: number[] = [];
    const now: number[] = [];
    for (let r = 0; r < rounds; r++) {
      before.push(cpuMicrosPerCall(reconciles, () => viewOf(cache).length + viewOf(cache).length));
      now.push(cpuMicrosPerCall(reconciles, () => (kept ??= viewOf(cache)).length + (kept ??= viewOf(cache)).length));
    }
    console.log(`| ${size} | ${round(median(before), 1)} | ${round(median(now), 2)} | 0 (not listed) |`);
  }
}

main();

/**
 * What one Namespace event costs the operator to map to the pushes it
 * concerns, before and after src/configpush/namespace-interest.ts. Before,
 * every namespace event (one namespace created, relabelled, annotated or
 * deleted) listed the whole push cache, mapped it, and filtered it
 * (setup.ts `pushesAffectedBy`, kept below as it was); now the pushes of that
 * namespace come from the cache's own per-namespace Map, and only the pushes
 * that reach beyond their own namespace are looked at besides.
 *
 * The pushes are the memory phase's (bench/push-fixture.ts, as a watch
 * delivers them), held as client-node's ObjectCache holds them (a Map per
 * namespace; list() of all spreads them), spread over `--spread` namespaces,
 * 1 in 100 of them (never one in team-0) reaching into another namespace. Two events: a namespace
 * that holds pushes (all of its pushes are queued either way), and a new
 * namespace that holds none (the usual event of a growing cluster).
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist
 *   node [--optimize-for-size] .cache/bench-dist/bench/namespace-event-cost.js [--pushes 10000,100000] [--spread 10,1000]
 */
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ConfigPush } from '../src/api/types.js';
import { NamespaceInterest } from '../src/configpush/namespace-interest.js';
import { readsNamespaces } from '../src/core/resolve-spec.js';
import { keyOf } from '../src/runtime/handlers.js';
import { pushJson } from './push-fixture.js';
import { cpuMicrosPerCall } from './cpu-per-call.js';
import { ObjectCacheLayout } from './object-cache-layout.js';
import { median, round } from './stats.js';

/** setup.ts before namespace-interest.ts: the whole cache, listed, mapped and filtered, each event. */
function scanAll(name: string | undefined, pushes: ConfigPush[]): string[] {
  if (!name) return [];
  return pushes
    .filter((push) => {
      if (readsNamespaces(push)) return true;
      const targets = Array.isArray(push.spec?.targets) ? push.spec.targets : [];
      return targets.some((t) => (t.namespace ?? push.metadata.namespace) === name);
    })
    .map((push) => keyOf(push as unknown as KubernetesObject));
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pushes: { type: 'string', default: '10000,100000' },
      spread: { type: 'string', default: '10,1000' },
      events: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '5' },
    },
  });
  const events = Number(values.events);
  const rounds = Number(values.rounds);
  console.log(`# One namespace event mapped to its pushes (node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'})\n`);
  console.log(`CPU of this process per namespace event, median of ${rounds} rounds of ${events} events; 1 push in 100 targets another namespace.\n`);
  console.log('| pushes | namespaces holding them | event on | pushes queued | before: every push scanned, µs | now, µs | before / now |');
  console.log('|---|---|---|---|---|---|---|');
  for (const size of values.pushes.split(',').map(Number)) {
    for (const spread of values.spread.split(',').map(Number)) {
      const cache = new ObjectCacheLayout();
      const interest = new NamespaceInterest(cache);
      for (let i = 0; i < size; i++) {
        const push = JSON.parse(pushJson(i)) as KubernetesObject & { spec: ConfigPush['spec'] };
        push.metadata!.namespace = `team-${i % spread}`;
        if (i % 100 === 1) push.spec.targets = [{ kind: 'ConfigMap', name: `shared-${i}`, namespace: `team-${(i + 1) % spread}` }];
        cache.add(push);
        interest.handlers.upsert(push);
      }
      for (const [what, name] of [
        ['a namespace holding pushes', 'team-0'],
        ['a new namespace', 'team-new'],
      ] as const) {
        const before: number[] = [];
        const now: number[] = [];
        let queued = 0;
        for (let r = 0; r < rounds; r++) {
          before.push(cpuMicrosPerCall(events, () => scanAll(name, cache.list() as unknown as ConfigPush[]).length, 5));
          now.push(cpuMicrosPerCall(events, () => (queued = interest.pushesAffectedBy(name).length), 5));
        }
        const expected = scanAll(name, cache.list() as unknown as ConfigPush[]).sort();
        const got = interest.pushesAffectedBy(name).sort();
        if (expected.join() !== got.join()) throw new Error(`the index and the scan disagree on ${name}: ${got.length} against ${expected.length} pushes`);
        console.log(`| ${size} | ${spread} | ${what} | ${queued} | ${round(median(before), 1)} | ${round(median(now), 1)} | ${round(median(before) / Math.max(median(now), 0.01), 0)} |`);
      }
    }
  }
}

main();

/**
 * What one scrape of the push gauges (configpush_push_conditions and
 * configpush_push_rollout_phase) costs the operator, before and after
 * countPushStates stopped allocating per push. Both gauges are computed at
 * scrape time from the push cache (src/configpush/metrics.ts): one pass over
 * every cached push per scrape, on the event loop, so at 100,000 pushes its
 * cost is both CPU and a pause of every reconcile and watch for that long.
 *
 * The pushes are the memory phase's (bench/push-fixture.ts), trimmed as the
 * push cache trims them, held as client-node's ObjectCache holds them; one in
 * ten is Stalled on a Conflict and one in a hundred carries a reason the
 * operator never sets, so more than one series is counted. The scan as it
 * was is kept below as the baseline; the script checks both give the same
 * counts. Getting the cached pushes is measured on its own, both ways:
 * client-node's list() of all (one array of every object) and the push
 * informer's objects() (client-node's list of one namespace at a time).
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist
 *   node --expose-gc [--optimize-for-size] .cache/bench-dist/bench/push-gauge-cost.js [--pushes 10000,100000] [--spread 10,1000]
 */
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ROLLOUT_PHASES, type ConfigPush } from '../src/api/types.js';
import { CONDITION } from '../src/core/conditions.js';
import { NO_PHASE, OTHER, boundedReason, countPushStates, type ConditionCount, type PushStateCounts } from '../src/core/push-states.js';
import { trimPush } from '../src/runtime/cache-transforms.js';
import { pushJson } from './push-fixture.js';
import { cpuMicrosPerCall } from './cpu-per-call.js';
import { ObjectCacheLayout } from './object-cache-layout.js';
import { median, round } from './stats.js';

const TYPES: ReadonlySet<string> = new Set(Object.values(CONDITION));
const STATUSES: ReadonlySet<string> = new Set(['True', 'False', 'Unknown']);
const PHASES: ReadonlySet<string> = new Set(ROLLOUT_PHASES);

/** countPushStates as it was at 0ec1d84: a Set, a key string and an entry object per push. */
function countPushStatesBefore(pushes: Iterable<Pick<ConfigPush, 'status'>>): PushStateCounts {
  const conditions = new Map<string, ConditionCount>();
  const phases = new Map<string, number>();
  for (const push of pushes) {
    const status: unknown = push.status;
    const list: unknown = status && typeof status === 'object' ? (status as { conditions?: unknown }).conditions : undefined;
    const seen = new Set<string>();
    for (const c of Array.isArray(list) ? (list as unknown[]) : []) {
      if (!c || typeof c !== 'object') continue;
      const { type, status: s, reason } = c as { type?: unknown; status?: unknown; reason?: unknown };
      if (typeof type !== 'string' || !TYPES.has(type) || seen.has(type)) continue;
      seen.add(type);
      const entry = { type, status: typeof s === 'string' && STATUSES.has(s) ? s : 'Unknown', reason: boundedReason(reason) };
      const key = `${entry.type}\0${entry.status}\0${entry.reason}`;
      const counted = conditions.get(key);
      if (counted) counted.count++;
      else conditions.set(key, { ...entry, count: 1 });
    }
    const rollout: unknown = status && typeof status === 'object' ? (status as { rollout?: unknown }).rollout : undefined;
    const phase: unknown = rollout && typeof rollout === 'object' ? (rollout as { phase?: unknown }).phase : undefined;
    const bounded = phase === undefined ? NO_PHASE : typeof phase === 'string' && PHASES.has(phase) ? phase : OTHER;
    phases.set(bounded, (phases.get(bounded) ?? 0) + 1);
  }
  return { conditions: [...conditions.values()], phases };
}

/** The counts as sorted text, to compare the two. */
function describe(counts: PushStateCounts): string {
  const conditions = counts.conditions.map((c) => `${c.type}/${c.status}/${c.reason}=${c.count}`).sort();
  const phases = [...counts.phases].map(([phase, n]) => `${phase}=${n}`).sort();
  return [...conditions, ...phases].join(' ');
}

type CachedPush = KubernetesObject & Pick<ConfigPush, 'status'>;

function fill(size: number, spread: number): ObjectCacheLayout {
  const cache = new ObjectCacheLayout();
  for (let i = 0; i < size; i++) {
    const push = JSON.parse(pushJson(i)) as CachedPush;
    push.metadata!.namespace = `team-${i % spread}`;
    const status = push.status!;
    if (i % 10 === 3) {
      status.conditions![0] = { ...status.conditions![0]!, status: 'False', reason: 'Conflict' };
      status.conditions![2] = { ...status.conditions![2]!, status: 'True', reason: 'Conflict' };
      if (status.rollout) status.rollout.phase = 'Halted';
    }
    if (i % 100 === 7) status.conditions![1] = { ...status.conditions![1]!, reason: 'SomethingElse' };
    trimPush(push);
    cache.add(push);
  }
  return cache;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pushes: { type: 'string', default: '10000,100000' },
      spread: { type: 'string', default: '10,1000' },
      scrapes: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '5' },
    },
  });
  const scrapes = Number(values.scrapes);
  const rounds = Number(values.rounds);
  console.log(`# One scrape of the push gauges (node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'})\n`);
  console.log(`CPU of this process per scrape, median of ${rounds} rounds of ${scrapes} scrapes. Getting and visiting the cached pushes, client-node's list() of all against one namespace at a time (objects()), is shown on its own and included in neither count.\n`);
  console.log('| pushes | namespaces holding them | series counted | visiting list() of all, ms | visiting one namespace at a time, ms | before: counting, ms | now: counting, ms | before / now |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const size of values.pushes.split(',').map(Number)) {
    for (const spread of values.spread.split(',').map(Number)) {
      const cache = fill(size, spread);
      const pushes = cache.list() as CachedPush[];
      const byNamespace = function* () {
        for (const namespace of cache.namespaces()) yield* cache.list(namespace);
      };
      const expected = describe(countPushStatesBefore(pushes));
      const got = describe(countPushStates(byNamespace() as Iterable<CachedPush>));
      if (expected !== got) throw new Error(`the two counts disagree at ${size} pushes:\n  before ${expected}\n  now    ${got}`);
      // Under --expose-gc each block starts on a collected heap, so one block's
      // garbage is not collected on the next one's time.
      const measure = (call: () => number) => {
        (globalThis as { gc?: () => void }).gc?.();
        return cpuMicrosPerCall(scrapes, call, 2);
      };
      const listAll: number[] = [];
      const listByNamespace: number[] = [];
      const before: number[] = [];
      const now: number[] = [];
      for (let r = 0; r < rounds; r++) {
        listAll.push(
          measure(() => {
            let n = 0;
            for (const push of cache.list()) if (push.metadata) n++;
            return n;
          }),
        );
        listByNamespace.push(
          measure(() => {
            let n = 0;
            for (const push of byNamespace()) if (push.metadata) n++;
            return n;
          }),
        );
        before.push(measure(() => countPushStatesBefore(pushes).conditions.length));
        now.push(measure(() => countPushStates(pushes).conditions.length));
      }
      const series = countPushStates(pushes).conditions.length + countPushStates(pushes).phases.size;
      const ms = (micros: number[]) => round(median(micros) / 1000, 2);
      console.log(`| ${size} | ${spread} | ${series} | ${ms(listAll)} | ${ms(listByNamespace)} | ${ms(before)} | ${ms(now)} | ${round(median(before) / Math.max(median(now), 0.01), 1)} |`);
    }
  }
}

main();

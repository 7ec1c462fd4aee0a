/**
 * Memory with one push fanned out (issue 16): N namespaces (5,000 in the full
 * run) labelled and opted in to pushes from the source namespace, then one
 * push whose target's namespaceSelector matches them all: one ConfigMap per
 * namespace. RSS and heap are read with the namespaces alone (the namespace
 * cache is the operator's, not the push's) and after the push is Ready and
 * the controller quiet: the difference over N is the cost per target.
 */
import { createNamespaces, createPush, readyKey, type Api, type ReadyTracker } from '../kube.js';
import type { BenchOptions } from '../options.js';
import { settle, type ControllerKind, type ControllerProcess } from '../processes.js';
import { round } from '../stats.js';

export interface MemorySampleLike {
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

export interface FanoutMemorySide {
  kind: ControllerKind;
  api: Api;
  tracker: ReadyTracker;
  controller: ControllerProcess;
}

export interface FanoutMemoryContext {
  options: BenchOptions;
  quietMs: number;
  log(message: string): void;
  side<T>(kind: ControllerKind, label: string, fn: (side: FanoutMemorySide) => Promise<T>): Promise<T>;
  memory(controller: ControllerProcess): Promise<MemorySampleLike>;
}

export interface FanoutMemoryRun {
  kind: ControllerKind;
  namespaces: number;
  /** Before any push, with the namespaces created and the controller quiet. */
  before: MemorySampleLike;
  /** The push Ready, the controller quiet. */
  after: MemorySampleLike;
  readySeconds: number;
  rssPerTargetBytes: number;
  heapPerTargetBytes: number;
}

const LABEL = 'bench.configpush.io/memory-fanout';

export async function memoryFanoutPhase(ctx: FanoutMemoryContext, results: { memoryFanout?: FanoutMemoryRun[] }): Promise<void> {
  const runs: FanoutMemoryRun[] = [];
  const n = ctx.options.memoryFanout;
  for (const kind of ctx.options.memorySides) {
    await ctx.side(kind, `memory-fanout-${n}`, async (side) => {
      const source = 'mfan';
      await createNamespaces(side.api, [source]);
      await createNamespaces(
        side.api,
        Array.from({ length: n }, (_, i) => `mfan-${i}`),
        16,
        { labels: { [LABEL]: 'true' }, annotations: { 'configpush.io/allowed-source-namespaces': source } },
      );
      await settle(side.controller, ctx.quietMs);
      const before = await ctx.memory(side.controller);
      const t0 = performance.now();
      await createPush(side.api, source, 'fanout', {
        targets: [{ kind: 'ConfigMap', name: 'fanout', namespaceSelector: { matchLabels: { [LABEL]: 'true' } } }],
        data: { 'app.properties': 'color=blue\nfanout=true\n' },
      });
      const [readyAt = Number.NaN] = await side.tracker.waitAll([readyKey(source, 'fanout', 1)], Math.max(120_000, n * 300));
      await settle(side.controller, ctx.quietMs);
      const after = await ctx.memory(side.controller);
      const run: FanoutMemoryRun = {
        kind,
        namespaces: n,
        before,
        after,
        readySeconds: round((readyAt - t0) / 1000, 2),
        rssPerTargetBytes: round((after.rssBytes - before.rssBytes) / n, 0),
        heapPerTargetBytes: round((after.heapUsedBytes - before.heapUsedBytes) / n, 0),
      };
      runs.push(run);
      const mib = (b: number) => Math.round(b / 2 ** 20);
      ctx.log(`  ${kind} one push to ${n} namespaces: RSS ${mib(before.rssBytes)} -> ${mib(after.rssBytes)} MiB, heap ${mib(before.heapUsedBytes)} -> ${mib(after.heapUsedBytes)} MiB`);
    });
  }
  results.memoryFanout = runs;
}

export function memoryFanoutTable(runs: readonly FanoutMemoryRun[]): string[] {
  if (runs.length === 0) return [];
  const mib = (b: number) => `${round(b / 2 ** 20, 1)} MiB`;
  const lines = ['', '## Memory with one push fanned out', '', '| side | namespaces (targets) | RSS before / after | heap before / after | per target: RSS / heap | push to Ready (s) |', '|---|---|---|---|---|---|'];
  for (const r of runs) {
    lines.push(
      `| ${r.kind} | ${r.namespaces} | ${mib(r.before.rssBytes)} / ${mib(r.after.rssBytes)} | ${mib(r.before.heapUsedBytes)} / ${mib(r.after.heapUsedBytes)} | ${round(r.rssPerTargetBytes / 1024, 2)} / ${round(r.heapPerTargetBytes / 1024, 2)} KiB | ${r.readySeconds} |`,
    );
  }
  return lines;
}

export function memoryFanoutFigures(runs: readonly FanoutMemoryRun[]): { measure: string; figure: string; operator: string; baseline: string; ratio: string; target: string; result: 'pass' | 'miss' | 'info'; required?: boolean }[] {
  const op = runs.find((r) => r.kind === 'operator');
  const base = runs.find((r) => r.kind === 'baseline');
  if (!op) return [];
  const mib = (b: number) => `${round(b / 2 ** 20, 1)} MiB`;
  return [
    {
      measure: `Memory with one push fanned out to ${op.namespaces} namespaces`,
      figure: 'RSS after the push (per target: growth over the namespaces alone)',
      operator: `${mib(op.after.rssBytes)} (${round(op.rssPerTargetBytes / 1024, 2)} KiB/target)`,
      baseline: base ? `${mib(base.after.rssBytes)} (${round(base.rssPerTargetBytes / 1024, 2)} KiB/target)` : 'n/a',
      ratio: base ? String(round(op.after.rssBytes / base.after.rssBytes, 2)) : '',
      target: '< 400 MiB',
      result: op.after.rssBytes < 400 * 2 ** 20 ? 'pass' : 'miss',
      required: true,
    },
  ];
}

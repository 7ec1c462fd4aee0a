/**
 * The fan-out phase: one push whose target's namespaceSelector matches N
 * namespaces (N = each of --fanout-sizes, 500 and 5,000 in the full run),
 * one ConfigMap per namespace, timed from the push's create to Ready.
 *
 * One fresh control plane per side and repeat holds the largest size's
 * namespaces, each labelled for every size it belongs to (fan-0..fan-499
 * carry the 500 label and the 5,000 one), so the sizes run one after the
 * other on the same cluster, smallest first. Sides alternate which goes
 * first from repeat to repeat, and the figure is the median of the repeats'
 * ratios: one run's ratio on this shared machine is noise.
 *
 * Around every push the apiserver's own CPU counter is read
 * (bench/apiserver-metrics.ts), the second time after the controller has
 * settled, so the Events and watch echoes of the fan-out are in it; its idle
 * rate, read over a few quiet seconds just before, is taken off.
 *
 * That span is each side's own, so the side that takes longer also has more
 * of the apiserver's deferred work after a burst (its garbage collection,
 * say) inside it, and more idle taken off. With --fanout-window S a second
 * reading is taken S seconds after the create on both sides, the same span
 * for both: if the two readings disagree between the sides, the span's
 * length is part of what the first one shows.
 */
import { apiserverSpent, readApiserver, readIdleApiserver, type ApiserverReading, type ApiserverSpend } from '../apiserver-metrics.js';
import { breakdown, type AuditWindow } from '../audit-counts.js';
import { gcBetween, readGc, threadCpuSeconds } from '../controller-gc.js';
import { createNamespaces, createPush, readyKey, sleep, type Api, type ReadyTracker } from '../kube.js';
import type { BenchOptions } from '../options.js';
import { budgetWaitBetween, processCpuSeconds, settle, type ControllerKind, type ControllerProcess } from '../processes.js';
import type { BenchResults, FanoutRun } from '../report.js';
import { round } from '../stats.js';

/** What the phase needs of one side (run.ts's Side). */
export interface PhaseSide {
  kind: ControllerKind;
  api: Api;
  tracker: ReadyTracker;
  controller: ControllerProcess;
  userAgent: string;
  audit: AuditWindow;
  clusterDir: string;
}

export interface PhaseContext {
  options: BenchOptions;
  quietMs: number;
  side<T>(kind: ControllerKind, label: string, fn: (side: PhaseSide) => Promise<T>): Promise<T>;
  log(message: string): void;
}

export const SOURCE_NAMESPACE = 'fanout';
export const fanoutLabel = (size: number): string => `bench.configpush.io/fanout-${size}`;

export async function fanoutPhase(ctx: PhaseContext, results: BenchResults): Promise<void> {
  const { options } = ctx;
  const sizes = [...options.fanoutSizes].sort((a, b) => a - b);
  for (let repeat = 0; repeat < options.fanoutRepeats; repeat++) {
    const order: ControllerKind[] = repeat % 2 === 0 ? ['operator', 'baseline'] : ['baseline', 'operator'];
    for (const kind of order) {
      await ctx.side(kind, `fanout-${repeat + 1}`, async (side) => {
        await prepareNamespaces(ctx, side, sizes);
        for (const size of sizes) results.fanout.push(await fanoutOnce(ctx, side, size, repeat));
      });
    }
  }
}

/** The largest size's namespaces, labelled for every size they belong to and opted in to pushes from the source namespace (tenancy). */
async function prepareNamespaces(ctx: PhaseContext, side: PhaseSide, sizes: number[]): Promise<void> {
  const largest = sizes[sizes.length - 1] ?? 0;
  await createNamespaces(side.api, [SOURCE_NAMESPACE]);
  const t0 = performance.now();
  for (const [i, size] of sizes.entries()) {
    // Namespaces fan-<from>..fan-<size-1> belong to this size and every larger one.
    const from = i === 0 ? 0 : (sizes[i - 1] as number);
    const labels = Object.fromEntries(sizes.filter((s) => s >= size).map((s) => [fanoutLabel(s), 'true']));
    const names = Array.from({ length: size - from }, (_, j) => `fan-${from + j}`);
    await createNamespaces(side.api, names, 16, { labels, annotations: { 'configpush.io/allowed-source-namespaces': SOURCE_NAMESPACE } });
  }
  // Let the controller digest the namespace events before any clock starts.
  await settle(side.controller, ctx.quietMs);
  ctx.log(`  ${side.kind}: ${largest} namespaces in ${round((performance.now() - t0) / 1000, 1)} s`);
}

async function fanoutOnce(ctx: PhaseContext, side: PhaseSide, size: number, repeat: number): Promise<FanoutRun> {
  const name = `fanout-${size}`;
  const mark = side.audit.mark();
  const { idleCpuPerSecond, reading: before } = await readIdleApiserver(side.clusterDir, ctx.options.smoke ? 1000 : 5000);
  const cpuBefore = processCpuSeconds(side.controller.pid);
  const gcBefore = await readGc(side.controller);
  // The operator's request budget (docs/throttling.md): a fan-out is the largest burst of requests it makes.
  const budgetBefore = (await side.controller.stats()).counters;
  const t0 = performance.now();
  await createPush(side.api, SOURCE_NAMESPACE, name, {
    targets: [{ kind: 'ConfigMap', name, namespaceSelector: { matchLabels: { [fanoutLabel(size)]: 'true' } } }],
    data: { 'app.properties': 'color=blue\nfanout=true\n' },
  });
  const [readyAt = Number.NaN] = await side.tracker.waitAll([readyKey(SOURCE_NAMESPACE, name, 1)], Math.max(120_000, size * 300));
  const seconds = (readyAt - t0) / 1000;
  const settled = await settle(side.controller, ctx.quietMs);
  const apiserver: ApiserverSpend = apiserverSpent(before, await readApiserver(side.clusterDir), idleCpuPerSecond);
  const cpuAfter = processCpuSeconds(side.controller.pid);
  const controllerGc = gcBetween(gcBefore, { pauses: settled.gc, threads: threadCpuSeconds(side.controller.pid) });
  const apiserverWindow = await readWindow(ctx, side, t0, before, idleCpuPerSecond);
  const writes = breakdown(side.audit.since(mark), side.userAgent);
  const run: FanoutRun = {
    kind: side.kind,
    repeat,
    pushes: 1,
    targetsPerPush: size,
    namespaces: size,
    seconds: round(seconds, 2),
    targetsPerSecond: round(size / seconds, 1),
    targetWritesPerTarget: round((writes.byResource.configmaps?.ok ?? 0) / size, 3),
    writes,
    apiserver,
    ...(apiserverWindow ? { apiserverWindow } : {}),
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { controllerCpuSeconds: round(cpuAfter - cpuBefore, 2) } : {}),
    ...(controllerGc ? { controllerGc } : {}),
    ...(budgetBefore && settled.counters ? { budgetWait: budgetWaitBetween(budgetBefore, settled.counters) } : {}),
  };
  ctx.log(
    `  ${side.kind} fan-out to ${size} namespaces: ${run.seconds} s, ${run.targetsPerSecond} targets/s, ${run.targetWritesPerTarget} writes/target; apiserver ${apiserver.cpuSeconds} CPU s (${apiserver.netCpuSeconds} net of idle)`,
  );
  return run;
}

/**
 * The apiserver's CPU from the reading before the create to --fanout-window
 * seconds after it (or to now, when the side settled later: the report says
 * so), net of the same idle rate.
 */
async function readWindow(ctx: PhaseContext, side: PhaseSide, t0: number, before: ApiserverReading, idleCpuPerSecond: number): Promise<ApiserverSpend | undefined> {
  const windowMs = ctx.options.fanoutWindowSeconds * 1000;
  if (windowMs <= 0) return undefined;
  const wait = t0 + windowMs - performance.now();
  if (wait > 0) await sleep(wait);
  return apiserverSpent(before, await readApiserver(side.clusterDir), idleCpuPerSecond);
}

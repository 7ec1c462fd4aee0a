import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ApiserverSpend } from './apiserver-metrics.js';
import { gcPer1000, pausesText, type ControllerGc } from './controller-gc.js';
import type { WriteBreakdown } from './audit-counts.js';
import { COLORS, renderChart, type Panel } from './chart.js';
import { writesRevision, type BaselineWrites } from './baseline-writes.js';
import type { BenchOptions } from './options.js';
import type { ControllerKind, QueueSpend } from './processes.js';
import type { CpuSummary, HeapSummary } from './profile.js';
import { memoryFanoutFigures, memoryFanoutTable, type FanoutMemoryRun } from './phases/memory-fanout.js';
import { restartFigures, restartTable, type RestartRun } from './phases/restart.js';
import { throttleTable, type ThrottleRun } from './phases/throttle.js';
import { median, medianInterval, percentile, round, type LatencySummary } from './stats.js';
import { timelineTable, type WriteTimeline } from './write-timeline.js';
import { describeLoadRate, type LoadRate } from './load-rate.js';

export interface MemorySample {
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

export interface ScaleRun {
  kind: ControllerKind;
  pushes: number;
  applySeconds: number;
  seconds: number;
  throughput: number;
  burstLatency: LatencySummary;
  writes: WriteBreakdown;
  writesPerPush: Record<string, number>;
  memory: MemorySample;
  counters?: Record<string, number>;
}

export interface IdleRun {
  kind: ControllerKind;
  pushes: number;
  idleSeconds: number;
  resyncSeconds?: number;
  relistSeconds?: number;
  restart: { seconds: number; reconciles: number; writes: WriteBreakdown };
  idle: { reconciles: number; writes: WriteBreakdown };
  memory: MemorySample;
}

export interface AmpRun {
  kind: ControllerKind;
  targets: number;
  pushes: number;
  generations: {
    generation: number;
    targetWritesPerTarget: number;
    statusWritesPerGeneration: number;
    pushWritesPerGeneration: number;
    eventWritesPerGeneration: number;
    /** ControllerRevision writes (a completed content's revision, docs/revisions.md); absent in results from before revisions existed. */
    revisionWritesPerGeneration?: number;
    failedWritesPerGeneration: number;
    writes: WriteBreakdown;
  }[];
}

export interface FanoutRun {
  kind: ControllerKind;
  /** Which repeat of the fan-out phase (absent in older files: one run per side). */
  repeat?: number;
  pushes: number;
  targetsPerPush: number;
  namespaces: number;
  seconds: number;
  targetsPerSecond: number;
  targetWritesPerTarget: number;
  writes: WriteBreakdown;
  /** The apiserver's CPU and requests from the push's create until the controller settled. */
  apiserver?: ApiserverSpend;
  /** The same from the create to --fanout-window seconds after it, one span for both sides (absent unless asked for). */
  apiserverWindow?: ApiserverSpend;
  /** The controller process's own CPU seconds over the same span, and of it GC (absent in older files). */
  controllerCpuSeconds?: number;
  controllerGc?: ControllerGc;
  /** Operator only: its requests that waited on its client-side budget (over 1 ms), and the seconds they waited in all (absent in older files). */
  budgetWait?: { requests: number; seconds: number };
}

export interface LatencyRun {
  kind: ControllerKind;
  idle: LatencySummary;
  load: LatencySummary & { ratePerSecond: number; seconds: number };
}

/** One open-loop load run of the mixed phase; pairs of one operator and one baseline run share a repeat. */
export interface LoadRun {
  kind: ControllerKind;
  repeat: number;
  /** With the run's writes on the apiserver's clock (bench/write-timeline.ts; absent in older files). */
  load: LatencySummary & { ratePerSecond: number; seconds: number; timeline?: WriteTimeline; controllerGc?: ControllerGc; operatorQueue?: QueueSpend };
}

export interface MemoryRun {
  kind: ControllerKind;
  idle: MemorySample;
  /** Each step's level, and its garbage collection from the step's first apply to its last sample (absent in older files). */
  levels: (MemorySample & { pushes: number; readySeconds: number; gc?: ControllerGc })[];
  heapSnapshot?: HeapSummary;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  kubeApiserver: string;
  etcd: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  note: string;
}

export interface Figure {
  measure: string;
  figure: string;
  operator: string;
  baseline: string;
  /** operator / baseline, or as stated in `figure`. */
  ratio: string;
  target: string;
  result: 'pass' | 'miss' | 'info';
  /** A figure the run must produce (a smoke run fails when it cannot). */
  required?: boolean;
  pass?: boolean | null;
}

export interface ThroughputRun {
  kind: ControllerKind;
  /** Which repeat (pairs of one operator and one baseline run share it). */
  repeat: number;
  pushes: number;
  seconds: number;
  throughput: number;
  /** The apiserver's CPU and requests from the first apply until the controller settled. */
  apiserver?: ApiserverSpend;
  /** The controller process's own CPU seconds (user + system) over the same span (absent in older files). */
  controllerCpuSeconds?: number;
  /** Of it, garbage collection: main-thread pauses and V8's worker threads (bench/controller-gc.ts; absent in older files). */
  controllerGc?: ControllerGc;
  /** Operator only: its requests that waited on its client-side budget (over 1 ms), and the seconds they waited in all (absent in older files). */
  budgetWait?: { requests: number; seconds: number };
}

export interface BenchResults {
  date: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  smoke: boolean;
  machine: Machine;
  options: BenchOptions;
  scale: ScaleRun[];
  /** The throughput phase: repeated bursts of throughputPushes, sides alternating (absent in older files). */
  throughput?: ThroughputRun[];
  idle: IdleRun[];
  amplification: AmpRun[];
  fanout: FanoutRun[];
  latency: LatencyRun[];
  /** Every open-loop load run of the mixed phase, the first (in `latency`) included (absent in older files). */
  loadRuns?: LoadRun[];
  /** The load runs' open-loop rate and where it came from (bench/load-rate.ts; absent in older files). */
  loadRate?: LoadRate;
  memory: MemoryRun[];
  /** bench/phases/restart.ts */
  restart?: RestartRun[];
  /** bench/phases/memory-fanout.ts */
  memoryFanout?: FanoutMemoryRun[];
  profiles: (CpuSummary & { pushes: number; file: string })[];
  /** The throttle phase: the request budget at several settings, and APF throttling (absent in older files). */
  throttle?: ThrottleRun[];
  figures: Figure[];
  /** Phases re-run later with --update (their figures replaced the first run's). */
  updates?: { at: string; phases: string[]; loadAverageAtStart?: number[]; loadAverageAtEnd?: number[] }[];
}

/** A results file with nothing measured yet: what a run starts from (and the bench's unit tests). */
export function emptyResults(head: Pick<BenchResults, 'date' | 'startedAt' | 'smoke' | 'machine' | 'options'>): BenchResults {
  return { ...head, finishedAt: '', durationSeconds: 0, scale: [], idle: [], amplification: [], fanout: [], latency: [], memory: [], profiles: [], figures: [] };
}

export function machineInfo(root: string): Machine {
  const versions = (() => {
    try {
      return readFileSync(join(root, 'hack/versions.env'), 'utf8');
    } catch {
      return '';
    }
  })();
  const pick = (key: string) => new RegExp(`^${key}=(\\S+)`, 'm').exec(versions)?.[1] ?? 'unknown';
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    kubeApiserver: pick('KUBE_VERSION'),
    etcd: pick('ETCD_VERSION'),
    loadAverageAtStart: loadavg().map((v) => round(v, 2)),
    note: 'kube-apiserver, etcd, the controller under test and the bench driver all share these cores; the machine may be shared with other jobs, so absolute figures are noisy and only the ratios measured in this run hold',
  };
}

const MiB = 2 ** 20;
const mib = (bytes: number) => `${round(bytes / MiB, 1)} MiB`;
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? round(a / b, 2) : Number.NaN);
const fmt = (v: number, unit = '') => (Number.isFinite(v) ? `${v}${unit}` : 'n/a');
const isOperator = (kind: ControllerKind) => kind === 'operator';
const isBaseline = (kind: ControllerKind) => kind === 'baseline';
const verdict = (ok: boolean | null): Figure['result'] => (ok === null ? 'info' : ok ? 'pass' : 'miss');
/** min-max and interquartile range (nearest-rank quartiles) of a few ratios. */
/** The middle value; of an even count, the higher of the two middle ones (for ratios where higher is worse). */
const upperMedian = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const spread = (values: number[]) =>
  `min ${fmt(Math.min(...values))}, max ${fmt(Math.max(...values))}, IQR ${fmt(round(percentile(values, 75) - percentile(values, 25), 2))}`;
/**
 * The median's distribution-free interval (stats.ts medianInterval) against
 * the target: whether this run settles the verdict or the runs' spread
 * leaves it open. '' with too few runs for a 90% interval.
 */
const settledBy = (values: number[], target: number, better: 'higher' | 'lower') => {
  const interval = medianInterval(values);
  if (interval === undefined) return '';
  const { low, high, coverage } = interval;
  const meets = better === 'higher' ? low >= target : high <= target;
  const misses = better === 'higher' ? high < target : low > target;
  const reading = meets ? 'the row holds' : misses ? 'the row misses' : `it straddles ${target}: these runs do not settle the row`;
  return `; ${Math.floor(coverage * 100)}% interval of the median ${fmt(low)} to ${fmt(high)}, so ${reading}`;
};

/** The operator's waits on its own request budget in each run, as information; undefined for runs from before it was recorded. */
function budgetWaitFigure(measure: string, runs: { budgetWait?: { requests: number; seconds: number } }[]): Figure | undefined {
  const waits = runs.flatMap((r) => (r.budgetWait ? [r.budgetWait] : []));
  if (waits.length === 0) return undefined;
  return {
    measure,
    figure: "the operator's requests that waited on its client-side request budget (over 1 ms), and the seconds they waited in all, per run (the baseline has no budget)",
    operator: waits.map((w) => `${w.requests} (${fmt(w.seconds)} s)`).join(', '),
    baseline: 'n/a',
    ratio: '',
    target: '',
    result: 'info',
  };
}

export function buildFigures(r: BenchResults): Figure[] {
  const figures: Figure[] = [];
  const add = (f: Omit<Figure, 'pass'> & { pass?: boolean | null }) => figures.push({ ...f, pass: f.pass ?? (f.result === 'info' ? true : f.result === 'pass') });

  // Write amplification.
  for (const targets of r.options.ampTargets) {
    const op = r.amplification.find((a) => isOperator(a.kind) && a.targets === targets);
    const base = r.amplification.find((a) => isBaseline(a.kind) && a.targets === targets);
    if (!op) continue;
    const list = (run: AmpRun | undefined, pick: (g: AmpRun['generations'][number]) => number) =>
      run ? run.generations.map(pick).join(' / ') : 'n/a';
    const avg = (run: AmpRun | undefined, pick: (g: AmpRun['generations'][number]) => number) =>
      run ? run.generations.reduce((s, g) => s + pick(g), 0) / run.generations.length : Number.NaN;
    const exact = op.generations.every((g) => g.targetWritesPerTarget === 1);
    const label = `Write amplification, ${targets} target${targets === 1 ? '' : 's'} (${op.pushes} pushes, generations ${op.generations.map((g) => g.generation).join('/')})`;
    add({
      measure: label,
      figure: 'target writes per target, per generation',
      operator: list(op, (g) => g.targetWritesPerTarget),
      baseline: list(base, (g) => g.targetWritesPerTarget),
      ratio: fmt(ratio(avg(op, (g) => g.targetWritesPerTarget), avg(base, (g) => g.targetWritesPerTarget))),
      target: 'exactly 1',
      result: verdict(exact),
      required: true,
    });
    add({
      measure: label,
      figure: 'status writes per push, per generation',
      operator: list(op, (g) => g.statusWritesPerGeneration),
      baseline: list(base, (g) => g.statusWritesPerGeneration),
      ratio: fmt(ratio(avg(op, (g) => g.statusWritesPerGeneration), avg(base, (g) => g.statusWritesPerGeneration))),
      target: '(1 is the floor)',
      result: 'info',
    });
    add({
      measure: label,
      figure: 'other writes per push, per generation: finalizer patch + events',
      operator: list(op, (g) => round(g.pushWritesPerGeneration + g.eventWritesPerGeneration, 3)),
      baseline: list(base, (g) => round(g.pushWritesPerGeneration + g.eventWritesPerGeneration, 3)),
      ratio: '',
      target: '',
      result: 'info',
    });
    add({
      measure: label,
      figure: 'revision writes per push, per generation: the ControllerRevision of each completed content (docs/revisions.md)',
      operator: list(op, (g) => g.revisionWritesPerGeneration ?? 0),
      baseline: list(base, (g) => g.revisionWritesPerGeneration ?? 0),
      ratio: '',
      target: writesRevision(baselineWritesOf(r.options)) ? '(1 per new content, both sides)' : '(1 per new content; this baseline keeps no revisions)',
      result: 'info',
    });
    add({
      measure: label,
      figure: 'refused writes (409) per push, per generation',
      operator: list(op, (g) => g.failedWritesPerGeneration),
      baseline: list(base, (g) => g.failedWritesPerGeneration),
      ratio: '',
      target: '',
      result: 'info',
    });
  }

  // Idle writes. Lease renewals (leader election, as deployed) are counted apart from content writes.
  const idleOp = r.idle.find((i) => isOperator(i.kind));
  const idleBase = r.idle.find((i) => isBaseline(i.kind));
  if (idleOp) {
    const all = (w: WriteBreakdown) => w.ok + w.failed;
    const leases = (w: WriteBreakdown) => (w.byResource.leases?.ok ?? 0) + (w.byResource.leases?.failed ?? 0);
    const content = (run: IdleRun | undefined, which: 'idle' | 'restart') => (run ? all(run[which].writes) - leases(run[which].writes) : Number.NaN);
    const lease = (run: IdleRun | undefined, which: 'idle' | 'restart') => (run ? leases(run[which].writes) : Number.NaN);
    const measure = `Idle writes, ${idleOp.pushes} pushes applied`;
    add({
      measure,
      figure: `content writes (targets, status, pushes, events) during ${idleOp.idleSeconds} s of resync (operator: resync ${idleOp.resyncSeconds} s, relist ${idleOp.relistSeconds} s, ${idleOp.idle.reconciles} reconciles; baseline: ${idleBase?.idleSeconds ?? 'n/a'} s)`,
      operator: fmt(content(idleOp, 'idle')),
      baseline: fmt(content(idleBase, 'idle')),
      ratio: '',
      target: '0',
      result: verdict(content(idleOp, 'idle') === 0),
      required: true,
    });
    add({
      measure,
      figure: `content writes after a restart (operator: ${idleOp.restart.reconciles} reconciles in ${idleOp.restart.seconds} s)`,
      operator: fmt(content(idleOp, 'restart')),
      baseline: fmt(content(idleBase, 'restart')),
      ratio: '',
      target: '0',
      result: verdict(content(idleOp, 'restart') === 0),
      required: true,
    });
    add({
      measure,
      figure: `Lease writes (leader election: renew every 2 s) during the idle window / the restart`,
      operator: `${fmt(lease(idleOp, 'idle'))} / ${fmt(lease(idleOp, 'restart'))}`,
      baseline: `${fmt(lease(idleBase, 'idle'))} / ${fmt(lease(idleBase, 'restart'))}`,
      ratio: '',
      target: '(inherent to --leader-elect)',
      result: 'info',
    });
  }

  // Throughput.
  const scaleOf = (kind: ControllerKind, pushes: number) => r.scale.find((s) => s.kind === kind && s.pushes === pushes);
  const tOp = scaleOf('operator', r.options.throughputPushes);
  const tBase = scaleOf('baseline', r.options.throughputPushes);
  if (tOp && tBase) {
    const q = ratio(tOp.throughput, tBase.throughput);
    add({
      measure: `Throughput, ${tOp.pushes} single-target pushes to Ready`,
      figure: `pushes/s (apply of the first to Ready of the last; ${r.options.workers} workers, applied ${r.options.applyConcurrency} at a time)`,
      operator: `${tOp.throughput}/s (${tOp.seconds} s)`,
      baseline: `${tBase.throughput}/s (${tBase.seconds} s)`,
      ratio: fmt(q),
      // With the throughput phase's repeats, they decide; one run is noise.
      ...((r.throughput ?? []).length > 0
        ? { target: '(one run; the repeats below decide)', result: 'info' as const }
        : { target: 'ratio >= 0.8', result: verdict(q >= 0.8), required: true }),
    });
  }

  // Throughput over repeats: one run is at the mercy of the machine's load.
  const repeats = r.throughput ?? [];
  const pairs = [...new Set(repeats.map((t) => t.repeat))].flatMap((repeat) => {
    const op = repeats.find((t) => t.repeat === repeat && t.kind === 'operator');
    const base = repeats.find((t) => t.repeat === repeat && t.kind === 'baseline');
    return op && base ? [{ op, base, q: ratio(op.throughput, base.throughput) }] : [];
  });
  if (pairs.length > 0) {
    const ratios = pairs.map((p) => p.q);
    const q = median(ratios);
    add({
      measure: `Throughput, ${pairs.length} alternating runs per side of ${pairs[0]!.op.pushes} pushes, each on a fresh control plane`,
      figure: `pushes/s per run (ratio); the ratio is the median of the runs' ratios, spread ${spread(ratios)}${settledBy(ratios, 0.95, 'higher')}`,
      operator: pairs.map((p) => `${p.op.throughput}`).join(', '),
      baseline: pairs.map((p) => `${p.base.throughput}`).join(', '),
      ratio: `${fmt(q)} (${ratios.map((v) => fmt(v)).join(', ')})`,
      target: 'median ratio >= 0.95',
      result: verdict(q >= 0.95),
      required: true,
    });
    // The cluster's cost of our work: the apiserver's own CPU counter around each run (bench/apiserver-metrics.ts).
    const measured = pairs.filter((p) => p.op.apiserver && p.base.apiserver);
    if (measured.length > 0) {
      // Net of the apiserver's idle rate when measured (apiserver-metrics.ts), else the raw counter.
      const per1000 = (t: ThroughputRun) => round((1000 * (t.apiserver?.netCpuSeconds ?? t.apiserver?.cpuSeconds ?? Number.NaN)) / t.pushes, 2);
      const cpuRatios = measured.map((p) => ratio(per1000(p.op), per1000(p.base)));
      const qc = median(cpuRatios);
      add({
        measure: `Apiserver CPU per 1,000 pushes applied (the throughput runs: first apply until the controller settled)`,
        figure: `kube-apiserver process_cpu_seconds_total per 1,000 pushes${measured.every((p) => p.op.apiserver?.netCpuSeconds !== undefined) ? ' net of its idle rate (measured over 5 quiet s before each run, with the controller started)' : ''}, per run (median); ratio = median of the runs' ratios, spread ${spread(cpuRatios)}${settledBy(cpuRatios, 1.1, 'lower')}`,
        operator: `${measured.map((p) => per1000(p.op)).join(', ')} s (${fmt(round(median(measured.map((p) => per1000(p.op))), 2))})`,
        baseline: `${measured.map((p) => per1000(p.base)).join(', ')} s (${fmt(round(median(measured.map((p) => per1000(p.base))), 2))})`,
        ratio: `${fmt(qc)} (${cpuRatios.map((v) => fmt(v)).join(', ')})`,
        target: 'median ratio <= 1.1',
        result: verdict(qc <= 1.1),
        required: true,
      });
      // The process under test: the other big user of the cores in a CPU-bound run.
      const withOwn = measured.filter((p) => p.op.controllerCpuSeconds !== undefined && p.base.controllerCpuSeconds !== undefined);
      if (withOwn.length > 0) {
        const own1000 = (t: ThroughputRun) => round((1000 * (t.controllerCpuSeconds ?? Number.NaN)) / t.pushes, 2);
        const ownRatios = withOwn.map((p) => ratio(own1000(p.op), own1000(p.base)));
        add({
          measure: `Controller CPU per 1,000 pushes applied (the process under test, over the same span)`,
          figure: `user + system CPU of the operator or baseline process (/proc/<pid>/stat) per 1,000 pushes, per run (median); ratio = median of the runs' ratios, spread ${spread(ownRatios)}`,
          operator: `${withOwn.map((p) => own1000(p.op)).join(', ')} s (${fmt(round(median(withOwn.map((p) => own1000(p.op))), 2))})`,
          baseline: `${withOwn.map((p) => own1000(p.base)).join(', ')} s (${fmt(round(median(withOwn.map((p) => own1000(p.base))), 2))})`,
          ratio: `${fmt(median(ownRatios))} (${ownRatios.map((v) => fmt(v)).join(', ')})`,
          target: '',
          result: 'info',
        });
      }
      // What of it is GC: the image's --optimize-for-size trades it for memory (docs/benchmarks.md).
      if (pairs.some((p) => p.op.controllerGc || p.base.controllerGc)) {
        add({
          measure: `Controller GC per 1,000 pushes applied (the throughput runs, the same span)`,
          figure: `main-thread pauses by kind (V8's gc performance entries) and the CPU of V8's worker threads (/proc/<pid>/task), median of the runs`,
          operator: gcPer1000(pairs.map((p) => ({ pushes: p.op.pushes, gc: p.op.controllerGc }))),
          baseline: gcPer1000(pairs.map((p) => ({ pushes: p.base.pushes, gc: p.base.controllerGc }))),
          ratio: '',
          target: '',
          result: 'info',
        });
      }
      // The operator's own request budget: at full throughput it should pace nothing (docs/throttling.md); the baseline has none.
      const throughputBudget = budgetWaitFigure(`Throughput, the operator's request budget`, pairs.map((p) => p.op));
      if (throughputBudget) add(throughputBudget);
      const verbs = (t: ThroughputRun) => t.apiserver?.requests ?? {};
      const perPushOf = (side: 'op' | 'base', verb: string) => round(median(measured.map((p) => (verbs(p[side])[verb] ?? 0) / p[side].pushes)), 2);
      const shown = [...new Set(measured.flatMap((p) => [...Object.keys(verbs(p.op)), ...Object.keys(verbs(p.base))]))].sort();
      add({
        measure: `Apiserver requests per push (the throughput runs, all clients: the bench driver's are the same for both sides)`,
        figure: `apiserver_request_total by verb per push (median of the runs)`,
        operator: shown.map((v) => `${v} ${perPushOf('op', v)}`).join(', '),
        baseline: shown.map((v) => `${v} ${perPushOf('base', v)}`).join(', '),
        ratio: '',
        target: '',
        result: 'info',
      });
    }
  }

  // Fan-out, per size: alternating repeats, judged on the median of the repeats' ratios.
  const sizes = [...new Set(r.fanout.map((f) => f.namespaces))].sort((a, b) => a - b);
  for (const size of sizes) {
    const runs = r.fanout.filter((f) => f.namespaces === size);
    const repeatsOf = [...new Set(runs.map((f) => f.repeat ?? 0))];
    const fanPairs = repeatsOf.flatMap((repeat) => {
      const op = runs.find((f) => (f.repeat ?? 0) === repeat && isOperator(f.kind));
      const base = runs.find((f) => (f.repeat ?? 0) === repeat && isBaseline(f.kind));
      return op && base ? [{ op, base, q: ratio(op.targetsPerSecond, base.targetsPerSecond) }] : [];
    });
    const ops = runs.filter((f) => isOperator(f.kind));
    if (ops.length === 0) continue;
    const ratios = fanPairs.map((p) => p.q);
    const q = ratios.length > 0 ? median(ratios) : Number.NaN;
    const list = (kind: ControllerKind) =>
      runs
        .filter((f) => f.kind === kind)
        .map((f) => `${f.seconds} s (${f.targetsPerSecond}/s)`)
        .join(', ') || 'n/a';
    add({
      measure: `Fan-out, one push to ${size} namespaces (one target with a namespaceSelector), ${fanPairs.length} alternating run${fanPairs.length === 1 ? '' : 's'} per side`,
      figure: `time to Ready (targets/s) per run; ratio = operator/baseline targets/s, median of the runs' ratios${ratios.length > 1 ? `, spread ${spread(ratios)}${settledBy(ratios, 0.95, 'higher')}` : ''}`,
      operator: list('operator'),
      baseline: list('baseline'),
      ratio: ratios.length > 1 ? `${fmt(q)} (${ratios.map((v) => fmt(v)).join(', ')})` : fmt(q),
      target: 'median ratio >= 0.95',
      result: verdict(q >= 0.95),
      required: true,
    });
    const writesPerTarget = (kind: ControllerKind) => [...new Set(runs.filter((f) => f.kind === kind).map((f) => f.targetWritesPerTarget))].join(' / ') || 'n/a';
    add({
      measure: `Fan-out, one push to ${size} namespaces`,
      figure: 'target writes per target (every run)',
      operator: writesPerTarget('operator'),
      baseline: writesPerTarget('baseline'),
      ratio: '',
      target: 'exactly 1',
      result: verdict(ops.every((f) => f.targetWritesPerTarget === 1)),
      required: true,
    });
    const withCpu = fanPairs.filter((p) => p.op.apiserver && p.base.apiserver);
    if (withCpu.length > 0) {
      const per1000 = (f: FanoutRun) => round((1000 * (f.apiserver?.netCpuSeconds ?? f.apiserver?.cpuSeconds ?? Number.NaN)) / f.namespaces, 2);
      add({
        measure: `Fan-out, one push to ${size} namespaces`,
        figure: 'apiserver CPU seconds per 1,000 targets (create until the controller settled, net of its idle rate), per run',
        operator: withCpu.map((p) => per1000(p.op)).join(', '),
        baseline: withCpu.map((p) => per1000(p.base)).join(', '),
        ratio: fmt(median(withCpu.map((p) => ratio(per1000(p.op), per1000(p.base))))),
        target: '',
        result: 'info',
      });
    }
    const withWindow = fanPairs.filter((p) => p.op.apiserverWindow && p.base.apiserverWindow);
    if (withWindow.length > 0) {
      const inWindow = (f: FanoutRun) => round((1000 * (f.apiserverWindow?.netCpuSeconds ?? f.apiserverWindow?.cpuSeconds ?? Number.NaN)) / f.namespaces, 2);
      const spans = withWindow.flatMap((p) => [p.op.apiserverWindow?.seconds ?? Number.NaN, p.base.apiserverWindow?.seconds ?? Number.NaN]);
      add({
        measure: `Fan-out, one push to ${size} namespaces`,
        figure: `apiserver CPU seconds per 1,000 targets over one span for both sides (--fanout-window ${r.options.fanoutWindowSeconds} s from the reading before the create; spans read ${Math.min(...spans)} to ${Math.max(...spans)} s), net of its idle rate, per run`,
        operator: withWindow.map((p) => inWindow(p.op)).join(', '),
        baseline: withWindow.map((p) => inWindow(p.base)).join(', '),
        ratio: fmt(median(withWindow.map((p) => ratio(inWindow(p.op), inWindow(p.base))))),
        target: '',
        result: 'info',
      });
    }
    // The controller's own share of the cores, and what of it is GC.
    const withOwn = fanPairs.filter((p) => p.op.controllerCpuSeconds !== undefined && p.base.controllerCpuSeconds !== undefined);
    if (withOwn.length > 0) {
      const own1000 = (f: FanoutRun) => round((1000 * (f.controllerCpuSeconds ?? Number.NaN)) / f.namespaces, 2);
      add({
        measure: `Fan-out, one push to ${size} namespaces`,
        figure: `controller CPU seconds per 1,000 targets (/proc/<pid>/stat, the same span), per run; and of it GC, per 1,000 targets (median): main-thread pauses by kind, V8's worker threads`,
        operator: `${withOwn.map((p) => own1000(p.op)).join(', ')} s; ${gcPer1000(withOwn.map((p) => ({ pushes: p.op.namespaces, gc: p.op.controllerGc })))}`,
        baseline: `${withOwn.map((p) => own1000(p.base)).join(', ')} s; ${gcPer1000(withOwn.map((p) => ({ pushes: p.base.namespaces, gc: p.base.controllerGc })))}`,
        ratio: fmt(median(withOwn.map((p) => ratio(own1000(p.op), own1000(p.base))))),
        target: '',
        result: 'info',
      });
    }
    // The operator's own request budget can pace a large fan-out; the baseline has none (docs/throttling.md).
    const fanoutBudget = budgetWaitFigure(`Fan-out, one push to ${size} namespaces`, fanPairs.map((p) => p.op));
    if (fanoutBudget) add(fanoutBudget);
  }

  // Latency.
  const loadRuns = r.loadRuns ?? [];
  const loadPairs = [...new Set(loadRuns.map((l) => l.repeat))].flatMap((repeat) => {
    const op = loadRuns.find((l) => l.repeat === repeat && isOperator(l.kind));
    const base = loadRuns.find((l) => l.repeat === repeat && isBaseline(l.kind));
    return op && base ? [{ op, base }] : [];
  });
  const lOp = r.latency.find((l) => isOperator(l.kind));
  const lBase = r.latency.find((l) => isBaseline(l.kind));
  if (lOp) {
    for (const which of ['idle', 'load'] as const) {
      const op = lOp[which];
      const base = lBase?.[which];
      const what =
        which === 'idle'
          ? `Latency at idle, apply to Ready (${op.count} sequential pushes)`
          : `Latency under load, apply to Ready (open loop, ${lOp.load.ratePerSecond} pushes/s for ${lOp.load.seconds} s: ${op.count} pushes)`;
      add({
        measure: what,
        figure: 'p50',
        operator: `${fmt(op.p50Ms)} ms`,
        baseline: base ? `${fmt(base.p50Ms)} ms` : 'n/a',
        ratio: base ? fmt(ratio(op.p50Ms, base.p50Ms)) : '',
        target: '< 50 ms',
        result: verdict(op.p50Ms < 50),
        required: true,
      });
      add({
        measure: what,
        figure: 'p99',
        operator: `${fmt(op.p99Ms)} ms`,
        baseline: base ? `${fmt(base.p99Ms)} ms` : 'n/a',
        ratio: base ? fmt(ratio(op.p99Ms, base.p99Ms)) : '',
        // Under load the tail is the target (issue 16); at idle it is information. With repeats, they decide.
        ...(which === 'load' && base && loadPairs.length < 2
          ? { target: 'ratio <= 1.3', result: verdict(ratio(op.p99Ms, base.p99Ms) <= 1.3) }
          : which === 'load' && base
            ? { target: '(one run; the repeats below decide)', result: 'info' as const }
            : { target: '', result: 'info' as const }),
      });
    }
  }
  // The tail over repeats: one 30 s run's p99 rests on a few pushes.
  if (loadPairs.length >= 2) {
    const first = loadPairs[0]!.op.load;
    const p99Ratios = loadPairs.map((p) => ratio(p.op.load.p99Ms, p.base.load.p99Ms));
    const p50Ratios = loadPairs.map((p) => ratio(p.op.load.p50Ms, p.base.load.p50Ms));
    const what = `Latency under load, ${loadPairs.length} alternating runs per side (open loop, ${first.ratePerSecond} pushes/s for ${first.seconds} s each, each run after the first on its own control plane)`;
    add({
      measure: what,
      figure: `p50 per run (ratio = median of the runs' ratios, the higher middle one of an even count, spread ${spread(p50Ratios)})`,
      operator: loadPairs.map((p) => `${fmt(p.op.load.p50Ms)}`).join(', ') + ' ms',
      baseline: loadPairs.map((p) => `${fmt(p.base.load.p50Ms)}`).join(', ') + ' ms',
      ratio: `${fmt(upperMedian(p50Ratios))} (${p50Ratios.map((v) => fmt(v)).join(', ')})`,
      target: '',
      result: 'info',
    });
    // Odd counts (the default 5) have one middle; with an even count the higher, worse, of the two decides.
    const q = upperMedian(p99Ratios);
    add({
      measure: what,
      figure: `p99 per run (ratio = median of the runs' ratios, the higher middle one of an even count, spread ${spread(p99Ratios)}${settledBy(p99Ratios, 1.3, 'lower')})`,
      operator: loadPairs.map((p) => `${fmt(p.op.load.p99Ms)}`).join(', ') + ' ms',
      baseline: loadPairs.map((p) => `${fmt(p.base.load.p99Ms)}`).join(', ') + ' ms',
      ratio: `${fmt(q)} (${p99Ratios.map((v) => fmt(v)).join(', ')})`,
      target: 'median ratio <= 1.3',
      result: verdict(q <= 1.3),
      required: true,
    });
    if (loadPairs.some((p) => p.op.load.controllerGc || p.base.load.controllerGc)) {
      const pushesOf = (l: LoadRun) => l.load.count;
      add({
        measure: what,
        figure: `controller GC per 1,000 pushes over each run (create of the first push until the controller settled): main-thread pauses by kind and V8's worker threads, median of the runs`,
        operator: gcPer1000(loadPairs.map((p) => ({ pushes: pushesOf(p.op), gc: p.op.load.controllerGc }))),
        baseline: gcPer1000(loadPairs.map((p) => ({ pushes: pushesOf(p.base), gc: p.base.load.controllerGc }))),
        ratio: '',
        target: '',
        result: 'info',
      });
    }
    // Whether the tail waits in the operator's work queue or before it (docs/benchmarks.md, "GC in every run").
    const queues = loadPairs.flatMap((p) => (p.op.load.operatorQueue ? [{ pushes: p.op.load.count, q: p.op.load.operatorQueue }] : []));
    if (queues.length > 0) {
      const share = (part: number, whole: number) => (whole > 0 ? `${round((100 * part) / whole, 1)}%` : 'n/a');
      add({
        measure: what,
        figure: `the operator's reconciles per push, keys taken from its work queue within 1 ms, reconciles done within 25 ms (its own histograms), per run`,
        operator: queues.map(({ pushes, q }) => `${round(q.reconciles / pushes, 2)} / ${share(q.queuedWithin1ms, q.queued)} / ${share(q.reconcilesWithin25ms, q.reconciles)}`).join(', '),
        baseline: 'n/a',
        ratio: '',
        target: '',
        result: 'info',
      });
    }
  }

  // Memory.
  const mOp = r.memory.find((m) => isOperator(m.kind));
  const mBase = r.memory.find((m) => isBaseline(m.kind));
  if (mOp && mOp.levels.length > 0) {
    const largest = mOp.levels[mOp.levels.length - 1];
    const levelOf = (run: MemoryRun | undefined, pushes: number) => run?.levels.find((l) => l.pushes === pushes);
    // The first step of 1,000 or more, 10,000 (issue 11's target) and the largest (issue 16's, at 100,000).
    const shown = [...new Set([r.options.memory.find((m) => m >= 1000) ?? r.options.memory[0], ...(levelOf(mOp, 10_000) ? [10_000] : []), largest?.pushes])].filter(
      (p): p is number => p !== undefined,
    );
    const rssTarget = (pushes: number): { label: string; bytes: number } | undefined =>
      pushes >= 100_000 ? { label: '< 400 MiB', bytes: 400 * 2 ** 20 } : pushes === largest?.pushes || pushes === 10_000 ? { label: '< 200 MB', bytes: 200e6 } : undefined;
    for (const pushes of shown) {
      const op = levelOf(mOp, pushes);
      const base = levelOf(mBase, pushes);
      if (!op) continue;
      const isLargest = pushes === largest?.pushes;
      add({
        measure: `Memory with ${pushes} pushes cached`,
        figure: 'RSS (child process, /proc VmRSS)',
        operator: mib(op.rssBytes),
        baseline: base ? mib(base.rssBytes) : 'n/a',
        ratio: base ? fmt(ratio(op.rssBytes, base.rssBytes)) : '',
        target: rssTarget(pushes)?.label ?? '',
        result: rssTarget(pushes) ? verdict(op.rssBytes < (rssTarget(pushes)?.bytes ?? 0)) : 'info',
        required: isLargest,
      });
      add({
        measure: `Memory with ${pushes} pushes cached`,
        figure: 'V8 heap used',
        operator: mib(op.heapUsedBytes),
        baseline: base ? mib(base.heapUsedBytes) : 'n/a',
        ratio: base ? fmt(ratio(op.heapUsedBytes, base.heapUsedBytes)) : '',
        target: '',
        result: 'info',
      });
    }
    // 10,000 pushes do not fit in the bench's time on a 2-core machine: extrapolate linearly from the last step.
    const prev = mOp.levels[mOp.levels.length - 2];
    if (largest && prev && largest.pushes < 10_000) {
      const extrapolate = (run: MemoryRun | undefined) => {
        const hi = run?.levels[run.levels.length - 1];
        const lo = run?.levels[run.levels.length - 2];
        return hi && lo ? hi.rssBytes + ((hi.rssBytes - lo.rssBytes) / (hi.pushes - lo.pushes)) * (10_000 - hi.pushes) : Number.NaN;
      };
      const op = extrapolate(mOp);
      const base = extrapolate(mBase);
      add({
        measure: 'Memory with 10000 pushes cached (extrapolated)',
        figure: `RSS at ${largest.pushes} + growth per push from ${prev.pushes} to ${largest.pushes} x ${10_000 - largest.pushes} (not measured: does not fit the bench's time)`,
        operator: mib(op),
        baseline: mBase ? mib(base) : 'n/a',
        ratio: mBase ? fmt(ratio(op, base)) : '',
        target: '< 200 MB',
        result: verdict(op < 200e6),
      });
    }
    for (let step = 1; step < shown.length; step++) {
      const a = shown[step - 1] ?? 0;
      const b = shown[step] ?? 0;
      const growth = (run: MemoryRun | undefined, field: 'rssBytes' | 'heapUsedBytes') => {
        const lo = levelOf(run, a);
        const hi = levelOf(run, b);
        return lo && hi ? round((hi[field] - lo[field]) / (b - a) / 1024, 2) : Number.NaN;
      };
      add({
        measure: `Memory growth per push (${a} to ${b} pushes)`,
        figure: 'RSS / heap, KiB per push',
        operator: `${fmt(growth(mOp, 'rssBytes'))} / ${fmt(growth(mOp, 'heapUsedBytes'))} KiB`,
        baseline: mBase ? `${fmt(growth(mBase, 'rssBytes'))} / ${fmt(growth(mBase, 'heapUsedBytes'))} KiB` : 'n/a',
        ratio: mBase ? fmt(ratio(growth(mOp, 'rssBytes'), growth(mBase, 'rssBytes'))) : '',
        target: '',
        result: 'info',
      });
    }
  }

  for (const f of [...restartFigures(r.restart ?? []), ...memoryFanoutFigures(r.memoryFanout ?? [])]) add(f);

  // Scaling: the memory phase's cumulative steps, each timed from its first apply to its last Ready.
  if (mOp) {
    let from = 0;
    for (const level of mOp.levels) {
      const base = mBase?.levels.find((l) => l.pushes === level.pushes);
      const n = level.pushes - from;
      add({
        measure: 'Scaling: pushes added to a cluster already holding the previous step, time to all Ready',
        figure: `${from} to ${level.pushes} pushes (per push: operator ${round((1000 * level.readySeconds) / n, 1)} ms${base ? `, baseline ${round((1000 * base.readySeconds) / n, 1)} ms` : ''})`,
        operator: `${level.readySeconds} s`,
        baseline: base ? `${base.readySeconds} s` : 'n/a',
        ratio: base ? fmt(ratio(level.readySeconds, base.readySeconds)) : '',
        target: '',
        result: 'info',
      });
      from = level.pushes;
    }
  }
  for (const pushes of r.options.scale) {
    const op = scaleOf('operator', pushes);
    const base = scaleOf('baseline', pushes);
    if (!op || pushes === r.options.throughputPushes) continue;
    add({
      measure: 'Burst on a fresh control plane: time from first apply to all Ready',
      figure: `${pushes} pushes`,
      operator: `${op.seconds} s (${op.throughput}/s)`,
      baseline: base ? `${base.seconds} s (${base.throughput}/s)` : 'n/a',
      ratio: base ? fmt(ratio(op.seconds, base.seconds)) : '',
      target: '',
      result: 'info',
    });
  }

  return figures;
}

/** Results written before `baselineWrites` existed carry two booleans, and their default was the plain baseline. */
export function baselineWritesOf(options: BenchOptions & { baselineRecords?: boolean; baselineRevision?: boolean }): BaselineWrites {
  if (options.baselineWrites) return options.baselineWrites;
  return options.baselineRecords ? 'records' : options.baselineRevision ? 'revision' : 'plain';
}

/** The report header's sentence on what the baseline wrote besides content and status. */
function baselineWritesText(writes: BaselineWrites): string {
  switch (writes) {
    case 'revision':
      return 'The baseline also writes a ControllerRevision of the content before the status, as the operator does (the conditional write revisions added to every completed rollout), and no Event: the bench\'s reference. ';
    case 'plain':
      return '**With `--baseline-writes plain`**: the baseline writes no ControllerRevision and no Event, as before revisions existed (the reference of the figures before 2026-12-02); the operator makes one conditional write a push more than it. ';
    case 'records':
      return '**With `--baseline-writes records`**: the baseline also writes a ControllerRevision of the content before the status and an `Applied` Event after it, as the operator does, so the requests per push are equal and the ratios show the operator\'s own machinery (the reference baseline writes no Event). ';
  }
}

/** The operator's environment as the report names it: `NAME=value` pairs, or nothing. */
function operatorEnvText(env: Record<string, string> | undefined): string {
  const pairs = Object.entries(env ?? {}).map(([name, value]) => `\`${name}=${value}\``);
  return pairs.length > 0 ? `${pairs.join(' ')}, ` : '';
}

function markdown(r: BenchResults): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# configpush-operator benchmark, ${r.date}${r.smoke ? ' (smoke run: tiny sizes, figures meaningless)' : ''}`);
  lines.push('');
  lines.push(
    `Machine: ${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}; kube-apiserver ${m.kubeApiserver}, etcd ${m.etcd} (hack/cluster.sh, loopback, audit log on). ` +
      `Load average at start ${m.loadAverageAtStart.join(' ')}, at end ${m.loadAverageAtEnd?.join(' ') ?? 'n/a'}. ${m.note}.`,
  );
  lines.push('');
  lines.push(
    `Run: ${r.startedAt} to ${r.finishedAt} (${Math.round(r.durationSeconds / 60)} min). Operator = \`src/main.ts\` built from this tree, run as a child process the way manifests/deployment.yaml runs it (${r.options.leaderElect ? '`--leader-elect`, ' : ''}${r.options.operatorNodeFlags?.length ? `node flags \`${r.options.operatorNodeFlags.join(' ')}\`, ` : ''}${operatorEnvText(r.options.operatorEnv)}${r.options.workers} workers, target concurrency ${r.options.targetConcurrency}, log level info to a file). ` +
      'Baseline = `bench/baseline.ts`: the same conditional writes (finalizer merge patch at the resourceVersion, per target a create when nothing was written yet, else a GET then create or replace at the resourceVersion, PUT status at the resourceVersion) straight on @kubernetes/client-node 2.0.1 with the operator\'s connection pooling, with the same concurrency, and no watches of its targets, Events, metrics or logs. ' +
      (r.options.abNodeFlags ? '' : baselineWritesText(baselineWritesOf(r.options))) +
      (r.options.finalizerPolicy === false
        ? 'The operator\'s control planes ran **without** manifests/finalizer-policy.yaml (`--no-finalizer-policy`): the operator patched its finalizer in, as the baseline does. '
        : r.options.finalizerPolicy === true
          ? 'The operator\'s control planes had manifests/finalizer-policy.yaml installed, as the manifests install it: the apiserver sets the finalizer as a push is created, so the operator makes no finalizer patch; the baseline\'s have no policy and it patches its finalizer in. '
          : '') +
      (r.options.abNodeFlags
        ? `**A/B of node flags (\`--ab-node-flags\`)**: the side labelled baseline is not bench/baseline.ts but the operator itself, the same build installed the same way, run with node flags \`${r.options.abNodeFlags.join(' ') || '(none)'}\`; the ratios compare the two V8 settings on identical work, and the targets' verdicts mean nothing. `
        : '') +
      (r.options.baselineNodeFlags?.length ? `The baseline ran with node flags \`${r.options.baselineNodeFlags.join(' ')}\` (\`--baseline-node-flags\`; by default it has none). ` : '') +
      `${r.options.shareClusters ? 'One control plane per family (smoke shortcut)' : 'Each phase ran on a fresh control plane'}; writes are counted from the audit log.` +
      (r.updates?.length ? ` Phases re-run later with --update: ${r.updates.map((u) => `${u.phases.join(', ')} at ${u.at}${u.loadAverageAtStart ? ` (load average ${u.loadAverageAtStart.join(' ')} at its start, ${u.loadAverageAtEnd?.join(' ') ?? 'n/a'} at its end)` : ''}`).join('; ')}.` : ''),
  );
  lines.push('');
  lines.push('| measure | figure | operator | baseline | ratio | target | result |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const f of r.figures) {
    const result = f.result === 'info' ? '' : f.result === 'pass' ? 'pass' : '**miss**';
    lines.push(`| ${f.measure} | ${f.figure} | ${f.operator} | ${f.baseline} | ${f.ratio} | ${f.target} | ${result} |`);
  }
  lines.push('');
  lines.push('Ratios are operator / baseline (for times and latencies, lower is better; for throughput, higher is better).');
  if (r.loadRate) {
    lines.push('');
    lines.push(describeLoadRate(r.loadRate));
  }
  if (r.scale.length > 0) {
    lines.push('');
    lines.push('## Scaling runs');
    lines.push('');
    lines.push('| pushes | side | apply (s) | to Ready (s) | pushes/s | burst latency p50 / p99 (ms) | writes per push (audit) | RSS after |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const s of r.scale) {
      const per = Object.entries(s.writesPerPush)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      lines.push(`| ${s.pushes} | ${s.kind} | ${s.applySeconds} | ${s.seconds} | ${s.throughput} | ${s.burstLatency.p50Ms} / ${s.burstLatency.p99Ms} | ${per} | ${mib(s.memory.rssBytes)} |`);
    }
  }
  if (r.memory.length > 0) {
    lines.push('');
    lines.push('## Memory by pushes cached');
    lines.push('');
    lines.push('| side | pushes | RSS | peak RSS | heap used | heap total | apply to Ready of this step (s) | main-thread GC pauses in this step | V8 workers\' CPU in this step |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const run of r.memory) {
      lines.push(`| ${run.kind} | 0 | ${mib(run.idle.rssBytes)} | ${mib(run.idle.peakRssBytes)} | ${mib(run.idle.heapUsedBytes)} | ${mib(run.idle.heapTotalBytes)} | | | |`);
      for (const l of run.levels) {
        const pauses = l.gc?.pauses ? pausesText(l.gc.pauses) : 'n/a';
        const workers = l.gc?.threads ? `${l.gc.threads.v8Workers.toFixed(2)} s` : 'n/a';
        lines.push(`| ${run.kind} | ${l.pushes} | ${mib(l.rssBytes)} | ${mib(l.peakRssBytes)} | ${mib(l.heapUsedBytes)} | ${mib(l.heapTotalBytes)} | ${l.readySeconds} | ${pauses} | ${workers} |`);
      }
    }
  }
  lines.push(...timelineTable(r.loadRuns ?? []), ...restartTable(r.restart ?? []), ...memoryFanoutTable(r.memoryFanout ?? []));
  const withHeap = r.memory.filter((m2) => m2.heapSnapshot);
  for (const run of withHeap) {
    const h = run.heapSnapshot as HeapSummary;
    lines.push('');
    lines.push(`## Heap snapshot, ${run.kind} at ${run.levels[run.levels.length - 1]?.pushes} pushes (self size ${mib(h.totalBytes)})`);
    lines.push('');
    lines.push('| group | count | self size | share |');
    lines.push('|---|---|---|---|');
    for (const t of h.top) lines.push(`| ${t.name.replace(/\|/g, '\\|')} | ${t.count} | ${mib(t.bytes)} | ${t.percent}% |`);
    if (h.byHolder) {
      lines.push('');
      lines.push('| strings and arrays by holder (first retainer) | count | self size | share |');
      lines.push('|---|---|---|---|');
      for (const t of h.byHolder) lines.push(`| ${t.name.replace(/\|/g, '\\|')} | ${t.count} | ${mib(t.bytes)} | ${t.percent}% |`);
    }
  }
  for (const p of r.profiles) {
    lines.push('');
    lines.push(`## CPU profile of the operator, ${p.pushes} pushes (${p.seconds} s, busy ${p.busyPercent}%, GC ${p.gcPercent}% of busy)`);
    lines.push('');
    lines.push('| inclusive: stacks through | share of busy time |');
    lines.push('|---|---|');
    for (const c of p.inclusiveByCategory) lines.push(`| ${c.category} | ${c.percent}% |`);
    lines.push('');
    lines.push('| self time | share of busy time |');
    lines.push('|---|---|');
    for (const c of p.selfByCategory) lines.push(`| ${c.category} | ${c.percent}% |`);
    lines.push('');
    lines.push('| top frames, inclusive | share |');
    lines.push('|---|---|');
    for (const c of p.topInclusive) lines.push(`| \`${c.frame}\` | ${c.percent}% |`);
  }
  lines.push('');
  lines.push(...throttleTable(r.throttle ?? []));
  if (hasChart(r)) {
    lines.push(`Raw figures: [${r.date}.json](${r.date}.json). Chart: [${r.date}.png](${r.date}.png).`);
    lines.push('');
    lines.push(`![throughput and RSS against pushes](${r.date}.png)`);
  } else {
    lines.push(`Raw figures: [${r.date}.json](${r.date}.json). No chart: it plots the memory phase's steps, and this run has none.`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The chart plots the memory phase's cumulative steps; a run without them would draw empty axes. */
function hasChart(r: BenchResults): boolean {
  return r.memory.some((m) => m.levels.length > 0);
}

function chart(r: BenchResults): Buffer {
  // Throughput of each cumulative step of the memory phase, at the pushes the cluster holds after it.
  const points = (kind: ControllerKind) => {
    let from = 0;
    return (r.memory.find((m) => m.kind === kind)?.levels ?? []).map((l) => {
      const point = { x: l.pushes, y: round((l.pushes - from) / l.readySeconds, 2) };
      from = l.pushes;
      return point;
    });
  };
  const rss = (kind: ControllerKind) =>
    (r.memory.find((m) => m.kind === kind)?.levels ?? []).map((l) => ({ x: l.pushes, y: round(l.rssBytes / MiB, 1) }));
  const panels: Panel[] = [
    {
      title: 'Throughput to Ready',
      xLabel: 'pushes in the cluster after the step',
      yLabel: 'pushes per second',
      logX: true,
      series: [
        { label: 'operator', color: COLORS.operator, points: points('operator') },
        { label: 'baseline (raw client-node)', color: COLORS.baseline, points: points('baseline'), dashed: true, marker: 'square' },
      ],
    },
    {
      title: 'Memory (RSS) of the controller',
      xLabel: 'pushes cached',
      yLabel: 'RSS, MiB',
      logX: true,
      // Issue 16's row: under 400 MiB with 100,000 pushes cached.
      target: { y: 400, label: 'target 400 MiB at 100,000' },
      series: [
        { label: 'operator', color: COLORS.operator, points: rss('operator') },
        { label: 'baseline (raw client-node)', color: COLORS.baseline, points: rss('baseline'), dashed: true, marker: 'square' },
      ],
    },
  ];
  const m = r.machine;
  return renderChart(
    `configpush-operator bench ${r.date}${r.smoke ? ' (smoke)' : ''}`,
    panels,
    `${m.cores} x ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, kube-apiserver ${m.kubeApiserver}, etcd ${m.etcd}, all on one shared machine; only ratios hold. Left: each step of pushes added, timed apply to Ready.`,
  );
}

/** Writes <date>.json, <date>.md and, when the run has memory steps to plot, <date>.png into `dir`; returns their paths. */
export function writeReport(r: BenchResults, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${r.date}.json`);
  const md = join(dir, `${r.date}.md`);
  const png = join(dir, `${r.date}.png`);
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, markdown(r));
  if (!hasChart(r)) return [json, md];
  writeFileSync(png, chart(r));
  return [json, md, png];
}

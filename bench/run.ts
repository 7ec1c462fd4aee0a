/**
 * `npm run bench` / `npm run bench:smoke`: benchmarks the operator on a real
 * kube-apiserver + etcd (hack/cluster.sh, own CLUSTER_DIR), each figure beside
 * a raw client-node baseline measured in the same run (bench/baseline.ts).
 * Every phase starts on a fresh control plane (down + up: empty etcd, empty
 * audit log), and operator and baseline phases alternate, so slow drift of
 * this shared machine hits both. Writes are counted from the audit log.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiserverSpent, readApiserver, readIdleApiserver } from './apiserver-metrics.js';
import { gcBetween, gcOf, readGc, threadCpuSeconds, type ControllerGc } from './controller-gc.js';
import { AuditWindow, breakdown, type WriteBreakdown } from './audit-counts.js';
import { BenchCluster } from './cluster.js';
import {
  BASELINE_USER_AGENT,
  BENCH_USER_AGENT,
  OPERATOR_USER_AGENT,
  ReadyTracker,
  createNamespaces,
  createPush,
  forEachLimit,
  makeApi,
  pushSpec,
  readyKey,
  sleep,
  updatePush,
  waitForLeader,
  LEASE_NAMESPACE,
  type Api,
} from './kube.js';
import { parseOptions, type BenchOptions } from './options.js';
import { memoryFanoutPhase } from './phases/memory-fanout.js';
import { restartPhase } from './phases/restart.js';
import { throttlePhase } from './phases/throttle.js';
import { DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS } from '../src/operator/config.js';
import { fanoutPhase } from './phases/fanout.js';
import { PHASE_FIELDS } from './merge-results.js';
import { calibrationRate, describeLoadRate, loadRateFrom, type BurstRun, type LoadRate } from './load-rate.js';
import { writeTimeline, type WriteTimeline } from './write-timeline.js';
import { budgetWaitBetween, processCpuSeconds, queueBetween, settle, startController, type QueueSpend, type ControllerKind, type ControllerProcess, type ControllerStats, type StartOptions } from './processes.js';
import { summarizeCpuProfile, type CpuSummary, type HeapSummary } from './profile.js';
import { spawnSync } from 'node:child_process';
import { buildFigures, emptyResults, machineInfo, writeReport, type BenchResults, type LoadRun, type MemorySample, type ThroughputRun } from './report.js';
import { median, round, summarize, type LatencySummary } from './stats.js';

const build = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = process.cwd();
const started = performance.now();

function log(message: string): void {
  const s = Math.round((performance.now() - started) / 1000);
  process.stderr.write(`bench [${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s] ${message}\n`);
}

const live = new Set<ControllerProcess>();
/** Quiet period that counts as settled, and the gap between memory samples (short in the smoke run). */
let quietMs = 3000;
let sampleGapMs = 1000;

interface Side {
  kind: ControllerKind;
  api: Api;
  tracker: ReadyTracker;
  controller: ControllerProcess;
  userAgent: string;
  audit: AuditWindow;
  /** The control plane's CLUSTER_DIR (its kubeconfig and pki: the apiserver's /metrics). */
  clusterDir: string;
  restart(extra?: Partial<StartOptions>): Promise<void>;
}

class Bench {
  readonly logs: string;
  private sideCount = 0;
  /** Clusters in use: one (fresh for every side), or one per family when sharing (the smoke run). */
  readonly clusters = new Map<string, BenchCluster>();
  private readonly started = new Set<string>();

  constructor(readonly options: BenchOptions) {
    this.logs = join(root, '.cache/bench/logs');
    mkdirSync(this.logs, { recursive: true });
  }

  /**
   * Every side gets a fresh control plane, except with --share-clusters: then
   * each family (baseline kinds, operator kinds) keeps one, so one family's
   * pushes never meet the other's controller. Names stay unique per phase.
   */
  private async clusterFor(kind: ControllerKind): Promise<BenchCluster> {
    const family = this.options.shareClusters ? (kind.startsWith('baseline') ? 'baseline' : 'operator') : 'all';
    const dir = this.options.shareClusters ? `${this.options.clusterDir}-${family}` : this.options.clusterDir;
    let cluster = this.clusters.get(dir);
    if (!cluster) {
      cluster = new BenchCluster(root, dir);
      this.clusters.set(dir, cluster);
    }
    if (!this.options.shareClusters || !this.started.has(dir)) {
      await cluster.fresh();
      this.started.add(dir);
      // The operator's install sets its finalizer at admission; the baseline is a bare client (options.ts).
      if (runsAs(kind, this.options) === 'operator' && this.options.finalizerPolicy) await cluster.installFinalizerPolicy();
    }
    return cluster;
  }

  /** A fresh control plane with one controller on it; `fn` drives it; everything is stopped after. */
  async side<T>(kind: ControllerKind, label: string, fn: (side: Side) => Promise<T>, extra: Partial<StartOptions> = {}): Promise<T> {
    log(`${label}: ${kind}${this.options.shareClusters ? '' : ' (fresh control plane)'}`);
    const cluster = await this.clusterFor(kind);
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    await createNamespaces(api, [LEASE_NAMESPACE]);
    const tracker = new ReadyTracker(api);
    await tracker.start();
    const n = ++this.sideCount;
    const program = runsAs(kind, this.options);
    const startOptions = (more: Partial<StartOptions>): StartOptions => ({
      kind: program,
      build,
      kubeconfig: cluster.kubeconfig,
      logFile: join(this.logs, `${String(n).padStart(2, '0')}-${label}-${kind}.log`),
      workers: this.options.workers,
      targetConcurrency: this.options.targetConcurrency,
      baselineWrites: this.options.baselineWrites,
      baselineNodeFlags: this.options.baselineNodeFlags,
      leaderElect: this.options.leaderElect,
      waitLeader: (identity: string) => waitForLeader(api, identity),
      env: this.options.operatorEnv,
      imageNodeFlags: kind === 'baseline' && this.options.abNodeFlags ? this.options.abNodeFlags : this.options.operatorNodeFlags,
      ...extra,
      ...more,
    });
    const side: Side = {
      kind,
      api,
      tracker,
      controller: await startController(startOptions({})),
      userAgent: program === 'baseline' ? BASELINE_USER_AGENT : OPERATOR_USER_AGENT,
      audit: new AuditWindow(cluster.auditLog),
      clusterDir: cluster.dir,
      restart: async (more = {}) => {
        await side.controller.stop();
        live.delete(side.controller);
        side.controller = await startController(startOptions(more));
        live.add(side.controller);
      },
    };
    live.add(side.controller);
    try {
      return await fn(side);
    } finally {
      tracker.stop();
      await side.controller.stop();
      live.delete(side.controller);
    }
  }
}

/** The program a side runs: the baseline side runs the operator itself in an A/B of node flags (options.ts abNodeFlags). */
function runsAs(kind: ControllerKind, options: BenchOptions): ControllerKind {
  return kind === 'baseline' && options.abNodeFlags ? 'operator' : kind;
}

interface Applied {
  keys: string[];
  startedAt: number[];
  firstStart: number;
  applySeconds: number;
}

/** Creates pushes `prefix`-`from`..`to-1` (1 ConfigMap target each) spread over namespaces bench-0..9, `concurrency` at a time. */
async function applyPushes(side: Side, prefix: string, from: number, to: number, concurrency: number): Promise<Applied> {
  await createNamespaces(side.api, Array.from({ length: 10 }, (_, i) => `bench-${i}`));
  const count = to - from;
  const keys = new Array<string>(count);
  const startedAt = new Array<number>(count);
  const firstStart = performance.now();
  await forEachLimit(
    Array.from({ length: count }, (_, i) => from + i),
    concurrency,
    async (index, i) => {
      const namespace = `bench-${index % 10}`;
      const name = `${prefix}-${index}`;
      keys[i] = readyKey(namespace, name, 1);
      startedAt[i] = performance.now();
      await createPush(side.api, namespace, name, pushSpec(index, [{ kind: 'ConfigMap', name: `${prefix}-cfg-${index}` }]));
    },
  );
  return { keys, startedAt, firstStart, applySeconds: (performance.now() - firstStart) / 1000 };
}

function readyTimeout(pushes: number): number {
  return Math.max(120_000, pushes * 300);
}

async function memorySample(controller: ControllerProcess): Promise<MemorySample> {
  const samples: ControllerStats[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(await controller.stats());
    await sleep(sampleGapMs);
  }
  return {
    rssBytes: median(samples.map((s) => s.rssBytes)),
    peakRssBytes: Math.max(...samples.map((s) => s.peakRssBytes)),
    heapUsedBytes: median(samples.map((s) => s.heapUsedBytes)),
    heapTotalBytes: median(samples.map((s) => s.heapTotalBytes)),
  };
}

function perPush(writes: WriteBreakdown, pushes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, count] of Object.entries(writes.byResource)) out[key] = round(count.ok / pushes, 3);
  out.failed = round(writes.failed / pushes, 3);
  return out;
}

// ------------------------------------------------------------------ phases

async function scalePhase(bench: Bench, results: BenchResults): Promise<void> {
  const { options } = bench;
  for (const [i, pushes] of options.scale.entries()) {
    // Alternate which side goes first, so drift of the machine does not favour one.
    const order: ControllerKind[] = i % 2 === 0 ? ['baseline', 'operator'] : ['operator', 'baseline'];
    for (const kind of order) {
      await bench.side(kind, `scale-${pushes}`, async (side) => {
        const mark = side.audit.mark();
        const applied = await applyPushes(side, `scale${pushes}`, 0, pushes, options.applyConcurrency);
        const readyAt = await side.tracker.waitAll(applied.keys, readyTimeout(pushes));
        const seconds = (Math.max(...readyAt) - applied.firstStart) / 1000;
        const stats = await settle(side.controller, quietMs);
        const writes = breakdown(side.audit.since(mark), side.userAgent);
        const memory = await memorySample(side.controller);
        const run = {
          kind,
          pushes,
          applySeconds: round(applied.applySeconds, 2),
          seconds: round(seconds, 2),
          throughput: round(pushes / seconds, 2),
          burstLatency: summarize(readyAt.map((t, j) => t - (applied.startedAt[j] as number))),
          writes,
          writesPerPush: perPush(writes, pushes),
          memory,
          ...(stats.counters ? { counters: stats.counters } : {}),
        };
        results.scale.push(run);
        log(`  ${kind} ${pushes} pushes: ${run.seconds} s to Ready, ${run.throughput}/s; writes/push ${JSON.stringify(run.writesPerPush)}`);
        if (pushes === options.throughputPushes) await idleAfter(bench, side, pushes, results);
      });
    }
  }
}

/** With `pushes` applied: restart (shortened resync), then an idle window; count every write of the controller. */
async function idleAfter(bench: Bench, side: Side, pushes: number, results: BenchResults): Promise<void> {
  const { options } = bench;
  const operator = !side.kind.startsWith('baseline');
  const idleSeconds = operator ? options.idleSeconds : options.baselineIdleSeconds;
  log(`  ${side.kind}: restart, then ${idleSeconds} s idle${operator ? ` (resync ${options.resyncSeconds} s, relist ${options.relistSeconds} s)` : ''}`);
  let mark = side.audit.mark();
  const restartStarted = performance.now();
  await side.restart(operator ? { resyncSeconds: options.resyncSeconds, relistSeconds: options.relistSeconds } : {});
  if (operator) {
    const deadline = Date.now() + readyTimeout(pushes);
    while ((await side.controller.stats()).processed < pushes) {
      if (Date.now() > deadline) throw new Error('the restarted operator did not reconcile every push');
      await sleep(200);
    }
  }
  // A short resync keeps the operator busy, so "settled" is: all reconciled once, queue empty, then a grace period.
  const afterRestart = operator ? await drained(side.controller, quietMs) : await settle(side.controller, quietMs);
  const restartSeconds = (performance.now() - restartStarted) / 1000;
  const restartWrites = breakdown(side.audit.since(mark), side.userAgent);

  mark = side.audit.mark();
  const before = await side.controller.stats();
  await sleep(idleSeconds * 1000);
  const after = await side.controller.stats();
  const idleWrites = breakdown(side.audit.since(mark), side.userAgent);
  const memory = await memorySample(side.controller);
  results.idle.push({
    kind: side.kind,
    pushes,
    idleSeconds,
    ...(operator ? { resyncSeconds: options.resyncSeconds, relistSeconds: options.relistSeconds } : {}),
    restart: { seconds: round(restartSeconds, 1), reconciles: afterRestart.processed, writes: restartWrites },
    idle: { reconciles: after.processed - before.processed, writes: idleWrites },
    memory,
  });
  log(`  ${side.kind}: restart ${restartWrites.ok + restartWrites.failed} writes (${afterRestart.processed} reconciles); idle ${idleWrites.ok + idleWrites.failed} writes (${after.processed - before.processed} reconciles)`);
}

/**
 * After a restart with a short resync the queue may never empty (a resync can
 * come round before the last one is done), so: every push reconciled once,
 * then the queue empty or 30 s, then a grace period.
 */
async function drained(controller: ControllerProcess, graceMs: number): Promise<ControllerStats> {
  const deadline = Date.now() + 30_000;
  while ((await controller.stats()).depth > 0 && Date.now() < deadline) await sleep(200);
  await sleep(graceMs);
  return controller.stats();
}

/**
 * The throughput target, measured more than once: a burst of
 * throughputPushes per side on a fresh control plane, `throughputRepeats`
 * times, alternating which side goes first. One run's ratio ranged from 0.52
 * to 1.00 on the shared 2-core machine; the median of several is the figure.
 */
async function throughputPhase(bench: Bench, results: BenchResults): Promise<void> {
  const { options } = bench;
  const runs: ThroughputRun[] = [];
  for (let repeat = 0; repeat < options.throughputRepeats; repeat++) {
    const order: ControllerKind[] = repeat % 2 === 0 ? ['operator', 'baseline'] : ['baseline', 'operator'];
    for (const kind of order) {
      await bench.side(kind, `throughput-${repeat + 1}`, async (side) => {
        const pushes = options.throughputPushes;
        // The apiserver's idle rate with this controller started and quiet, then the run's own cost (apiserver-metrics.ts).
        const { idleCpuPerSecond, reading: before } = await readIdleApiserver(side.clusterDir, options.smoke ? 1000 : 5000);
        const controllerCpuBefore = processCpuSeconds(side.controller.pid);
        const gcBefore = await readGc(side.controller);
        const budgetBefore = (await side.controller.stats()).counters;
        const applied = await applyPushes(side, `tp${repeat}`, 0, pushes, options.applyConcurrency);
        const readyAt = await side.tracker.waitAll(applied.keys, readyTimeout(pushes));
        const seconds = (Math.max(...readyAt) - applied.firstStart) / 1000;
        // The apiserver's CPU for the whole run: until the controller is quiet (its Events and echoes included).
        const settled = await settle(side.controller, quietMs);
        const apiserver = apiserverSpent(before, await readApiserver(side.clusterDir), idleCpuPerSecond);
        const controllerCpuAfter = processCpuSeconds(side.controller.pid);
        // The controller's own CPU over the same span: on a CPU-bound machine it competes with the apiserver for the cores.
        const controllerCpuSeconds = controllerCpuBefore !== undefined && controllerCpuAfter !== undefined ? round(controllerCpuAfter - controllerCpuBefore, 2) : undefined;
        // And what of it is garbage collection: the main thread's pauses and V8's worker threads.
        const controllerGc = gcBetween(gcBefore, { pauses: settled.gc, threads: threadCpuSeconds(side.controller.pid) });
        // The operator's own request budget (docs/throttling.md): does it pace the operator at full throughput?
        const budgetWait = budgetBefore && settled.counters ? budgetWaitBetween(budgetBefore, settled.counters) : undefined;
        runs.push({ kind, repeat, pushes, seconds: round(seconds, 2), throughput: round(pushes / seconds, 2), apiserver, ...(controllerCpuSeconds !== undefined ? { controllerCpuSeconds } : {}), ...(controllerGc ? { controllerGc } : {}), ...(budgetWait ? { budgetWait } : {}) });
        log(
          `  ${kind} run ${repeat + 1}/${options.throughputRepeats}: ${pushes} pushes in ${round(seconds, 2)} s, ${round(pushes / seconds, 2)}/s; apiserver ${apiserver.cpuSeconds} CPU s in ${apiserver.seconds} s, ${apiserver.netCpuSeconds} net of its idle ${apiserver.idleCpuPerSecond}/s; controller ${controllerCpuSeconds ?? 'n/a'} CPU s`,
        );
      });
    }
  }
  results.throughput = runs;
}

async function mixedPhase(bench: Bench, results: BenchResults): Promise<void> {
  const { options } = bench;
  // The open-loop rate: a fraction of the slower side's throughput, measured in this run (load-rate.ts).
  const loadRate =
    loadRateFrom({ given: options.loadRate, fraction: options.loadFraction, pushes: options.throughputPushes, scale: results.scale, throughput: results.throughput ?? [] }) ??
    (await calibrateLoadRate(bench));
  results.loadRate = loadRate;
  log(`  ${describeLoadRate(loadRate)}`);
  const rate = loadRate.perSecond;
  const loadRuns: LoadRun[] = [];
  const loadRun = async (side: Side, kind: ControllerKind, repeat: number): Promise<LoadRun['load']> => {
    // A namespace per run: the smoke run's shared control plane still holds the earlier runs' pushes.
    const namespace = repeat === 0 ? 'load' : `load-${repeat + 1}`;
    const load = { ...(await latencyUnderLoad(side, namespace, rate, options.loadSeconds)), ratePerSecond: rate, seconds: options.loadSeconds };
    log(`  ${kind} latency at ${rate} pushes/s (run ${repeat + 1}/${options.loadRepeats}): p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms`);
    loadRuns.push({ kind, repeat, load });
    return load;
  };
  for (const kind of ['operator', 'baseline'] as const) {
    await bench.side(kind, 'mixed', async (side) => {
      const idle = await latencyIdle(side, options.latencySamples, 'lat-idle');
      log(`  ${kind} idle latency: p50 ${idle.p50Ms} ms, p99 ${idle.p99Ms} ms`);
      for (const targets of options.ampTargets) await amplification(side, options, targets, results);
      results.latency.push({ kind, idle, load: await loadRun(side, kind, 0) });
    });
  }
  // More load runs, each side on a fresh control plane, alternating which
  // goes first (as the throughput runs do): a p99 of one 30 s run is a few
  // pushes, at the mercy of one slow fsync or collection on either side.
  for (let repeat = 1; repeat < options.loadRepeats; repeat++) {
    const order: ControllerKind[] = repeat % 2 === 0 ? ['operator', 'baseline'] : ['baseline', 'operator'];
    for (const kind of order) await bench.side(kind, `load-${repeat + 1}`, (side) => loadRun(side, kind, repeat));
  }
  results.loadRuns = loadRuns;
}

/**
 * Neither the scaling nor the throughput phase is in this run: one burst of
 * `--throughput` pushes per side, each on a fresh control plane, measured as
 * the scaling phase measures it, gives the throughput the rate is a fraction of.
 */
async function calibrateLoadRate(bench: Bench): Promise<LoadRate> {
  const { options } = bench;
  const runs: BurstRun[] = [];
  for (const kind of ['baseline', 'operator'] as const) {
    await bench.side(kind, 'load-calibration', async (side) => {
      const pushes = options.throughputPushes;
      const applied = await applyPushes(side, 'calibrate', 0, pushes, options.applyConcurrency);
      const readyAt = await side.tracker.waitAll(applied.keys, readyTimeout(pushes));
      const throughput = round(pushes / ((Math.max(...readyAt) - applied.firstStart) / 1000), 2);
      log(`  ${kind} calibration burst: ${pushes} pushes, ${throughput}/s`);
      runs.push({ kind, pushes, throughput });
    });
  }
  return calibrationRate(runs, options.loadFraction, options.throughputPushes);
}

/** Sequential single pushes, each from create to Ready, with a pause between them. */
async function latencyIdle(side: Side, samples: number, namespace: string): Promise<LatencySummary> {
  await createNamespaces(side.api, [namespace]);
  // One push first, not counted: on a fresh control plane the first push into
  // a new namespace sometimes took ~2 s to Ready for either side (seen for the
  // operator in one run, for the baseline in another), the apiserver warming
  // up, not the controller.
  await createPush(side.api, namespace, 'idle-warmup', pushSpec(0, [{ kind: 'ConfigMap', name: 'idle-warmup' }]));
  await side.tracker.waitAll([readyKey(namespace, 'idle-warmup', 1)], 60_000);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `idle-${i}`;
    const t0 = performance.now();
    await createPush(side.api, namespace, name, pushSpec(i, [{ kind: 'ConfigMap', name }]));
    const [readyAt = Number.NaN] = await side.tracker.waitAll([readyKey(namespace, name, 1)], 60_000);
    latencies.push(readyAt - t0);
    await sleep(200);
  }
  return summarize(latencies);
}

/** An open-loop stream: one push every 1/rate s for `seconds`, whatever the controller does; latency of each. */
async function latencyUnderLoad(side: Side, namespace: string, rate: number, seconds: number): Promise<LatencySummary & { timeline: WriteTimeline; controllerGc?: ControllerGc; operatorQueue?: QueueSpend }> {
  await createNamespaces(side.api, [namespace]);
  // One push first, not counted, as latencyIdle does: on a control plane
  // started seconds ago the first pushes took ~2 s to Ready for either side
  // (a repeat's p99 read 2,020-2,060 ms on both), the apiserver warming up.
  await createPush(side.api, namespace, 'load-warmup', pushSpec(0, [{ kind: 'ConfigMap', name: 'load-warmup' }]));
  await side.tracker.waitAll([readyKey(namespace, 'load-warmup', 1)], 60_000);
  await settle(side.controller, quietMs);
  const count = Math.max(1, Math.round(rate * seconds));
  const mark = side.audit.mark();
  const before = await side.controller.stats();
  const gcBefore = gcOf(before, side.controller.pid);
  const countersBefore = before.counters;
  const keys: string[] = [];
  const startedAt: number[] = [];
  const creates: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const name = `load-${i}`;
    keys.push(readyKey(namespace, name, 1));
    startedAt.push(performance.now());
    creates.push(createPush(side.api, namespace, name, pushSpec(i, [{ kind: 'ConfigMap', name }])));
  }
  await Promise.all(creates);
  const readyAt = await side.tracker.waitAll(keys, readyTimeout(count));
  const settled = await settle(side.controller, quietMs);
  // The same pushes on the apiserver's clock: which writes the time to Ready is made of.
  const timeline = writeTimeline(side.audit.since(mark), namespace, /^(load-\d+)(?:$|[-.])/, BENCH_USER_AGENT);
  const controllerGc = gcBetween(gcBefore, { pauses: settled.gc, threads: threadCpuSeconds(side.controller.pid) });
  const operatorQueue = queueBetween(countersBefore, settled.counters);
  return { ...summarize(readyAt.map((t, i) => t - (startedAt[i] as number))), timeline, ...(controllerGc ? { controllerGc } : {}), ...(operatorQueue ? { operatorQueue } : {}) };
}

/** Writes per target and per generation, from the audit log, for pushes of `targets` targets. */
async function amplification(side: Side, options: BenchOptions, targets: number, results: BenchResults): Promise<void> {
  const namespace = `amp-${targets}`;
  await createNamespaces(side.api, [namespace]);
  const names = Array.from({ length: options.ampPushes }, (_, i) => `amp-${i}`);
  const targetList = (i: number) => Array.from({ length: targets }, (_, t) => ({ kind: 'ConfigMap' as const, name: `amp-${i}-t${t}` }));
  const generations = [];
  for (let generation = 1; generation <= options.ampGenerations; generation++) {
    const mark = side.audit.mark();
    await forEachLimit(names, options.applyConcurrency, async (name, i) => {
      if (generation === 1) await createPush(side.api, namespace, name, pushSpec(i, targetList(i), 1));
      else {
        const g = await updatePush(side.api, namespace, name, (spec) => pushSpec(i, spec.targets, generation));
        if (g !== generation) throw new Error(`${namespace}/${name}: expected generation ${generation}, got ${g}`);
      }
    });
    await side.tracker.waitAll(names.map((n) => readyKey(namespace, n, generation)), readyTimeout(names.length * targets));
    // Let the echoes of our own writes (watch events on targets and status) play out before counting.
    await settle(side.controller, quietMs);
    const writes = breakdown(side.audit.since(mark), side.userAgent, namespace);
    const pushes = names.length;
    generations.push({
      generation,
      targetWritesPerTarget: round((writes.byResource.configmaps?.ok ?? 0) / (pushes * targets), 3),
      statusWritesPerGeneration: round((writes.byResource['configpushes/status']?.ok ?? 0) / pushes, 3),
      pushWritesPerGeneration: round((writes.byResource.configpushes?.ok ?? 0) / pushes, 3),
      eventWritesPerGeneration: round((writes.byResource.events?.ok ?? 0) / pushes, 3),
      revisionWritesPerGeneration: round((writes.byResource.controllerrevisions?.ok ?? 0) / pushes, 3),
      failedWritesPerGeneration: round(writes.failed / pushes, 3),
      writes,
    });
  }
  results.amplification.push({ kind: side.kind, targets, pushes: names.length, generations });
  log(`  ${side.kind} amplification, ${targets} targets: ${generations.map((g) => `gen ${g.generation}: ${g.targetWritesPerTarget}/target, ${g.statusWritesPerGeneration} status, ${g.failedWritesPerGeneration} failed`).join('; ')}`);
}

async function memoryPhase(bench: Bench, results: BenchResults): Promise<void> {
  const { options } = bench;
  for (const kind of options.memorySides) {
    const profile = options.profile && kind === 'operator';
    const snapshots = join(root, '.cache/bench/profiles');
    mkdirSync(snapshots, { recursive: true });
    await bench.side(
      kind,
      'memory',
      async (side) => {
        const levels = [];
        let applied = 0;
        const idle = await memorySample(side.controller);
        for (const level of kind === 'baseline' ? options.memory.filter((l) => l <= options.memoryBaselineMax) : options.memory) {
          // The step's collections: how many, and how long the main thread paused (at 100,000 pushes a full one marks ~250 MiB).
          const gcBefore = await readGc(side.controller);
          const run = await applyPushes(side, 'mem', applied, level, options.applyConcurrency);
          await side.tracker.waitAll(run.keys, readyTimeout(level - applied));
          const readySeconds = (performance.now() - run.firstStart) / 1000;
          applied = level;
          await settle(side.controller, quietMs);
          const memory = await memorySample(side.controller);
          const gc = gcBetween(gcBefore, await readGc(side.controller));
          levels.push({ pushes: level, readySeconds: round(readySeconds, 1), ...memory, ...(gc ? { gc } : {}) });
          log(`  ${kind} with ${level} pushes: RSS ${Math.round(memory.rssBytes / 2 ** 20)} MiB, heap ${Math.round(memory.heapUsedBytes / 2 ** 20)} MiB`);
        }
        let heap: HeapSummary | undefined;
        if (profile) {
          const before = new Set(readdirSync(snapshots));
          process.kill(side.controller.pid, 'SIGUSR2');
          const file = await waitForNewFile(snapshots, before, '.heapsnapshot', 180_000);
          log(`  heap snapshot: ${file}`);
          const summary = spawnSync(process.execPath, ['--max-old-space-size=8192', join(build, 'bench/heap-summary.js'), file], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
          if (summary.status === 0) heap = JSON.parse(summary.stdout) as HeapSummary;
          else log(`  could not summarize the heap snapshot (exit ${summary.status}): ${summary.stderr.slice(0, 500)}`);
        }
        results.memory.push({ kind, idle, levels, ...(heap ? { heapSnapshot: heap } : {}) });
      },
      profile ? { nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`] } : {},
    );
  }
}

async function waitForNewFile(dir: string, before: Set<string>, suffix: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = readdirSync(dir).filter((f) => f.endsWith(suffix) && !before.has(f));
    if (fresh[0]) {
      // A snapshot is written in one go by the child; wait until its size holds still.
      const path = join(dir, fresh[0]);
      let last = -1;
      for (;;) {
        const size = statSync(path).size;
        if (size === last && size > 0) return path;
        last = size;
        await sleep(1000);
      }
    }
    if (Date.now() > deadline) throw new Error(`no ${suffix} appeared in ${dir}`);
    await sleep(500);
  }
}

/** An unreported throughput run of the operator under --cpu-prof. */
async function cpuProfile(bench: Bench, results: BenchResults): Promise<void> {
  const dir = join(root, '.cache/bench/profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const pushes = bench.options.throughputPushes;
  await bench.side(
    'operator',
    'cpu-profile',
    async (side) => {
      const applied = await applyPushes(side, 'prof', 0, pushes, bench.options.applyConcurrency);
      await side.tracker.waitAll(applied.keys, readyTimeout(pushes));
      await settle(side.controller, quietMs);
    },
    { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
  );
  const file = await waitForNewFile(dir, before, '.cpuprofile', 60_000);
  const summary: CpuSummary = summarizeCpuProfile(file, root);
  results.profiles.push({ pushes, file, ...summary });
  log(`  cpu profile: ${file}; busy ${summary.busyPercent}% of ${summary.seconds} s`);
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env, root);
  if (!existsSync(join(root, 'hack/cluster.sh'))) throw new Error(`run from the repository root (no hack/cluster.sh in ${root})`);
  const bench = new Bench(options);
  // --update: re-run some phases and keep the other phases' figures from the day's results.
  const previousFile = join(options.out, `${options.date}.json`);
  const previous = options.update && existsSync(previousFile) ? (JSON.parse(readFileSync(previousFile, 'utf8')) as BenchResults) : undefined;
  quietMs = options.quietMs;
  sampleGapMs = options.smoke ? 100 : 1000;
  const results: BenchResults = emptyResults({ date: options.date, startedAt: new Date().toISOString(), smoke: options.smoke, machine: machineInfo(root), options });
  if (previous) {
    // The phases not run now keep the day's figures (the same fields merge-results.ts folds in).
    for (const [phase, fields] of Object.entries(PHASE_FIELDS)) {
      if (options.phases.includes(phase as never) || (phase === 'profile' && options.profile)) continue;
      for (const field of fields) (results as unknown as Record<string, unknown>)[field] = previous[field];
    }
    results.startedAt = previous.startedAt;
    results.machine.loadAverageAtStart = previous.machine.loadAverageAtStart;
    results.updates = [...(previous.updates ?? []), { at: new Date().toISOString(), phases: options.phases, loadAverageAtStart: loadavg().map((v) => round(v, 2)) }];
  }
  let interrupted = false;
  const cleanup = async () => {
    for (const controller of live) await controller.stop().catch(() => undefined);
    if (process.env.BENCH_KEEP_CLUSTER === '1') log(`BENCH_KEEP_CLUSTER=1: leaving the control plane in ${options.clusterDir} running`);
    else for (const cluster of bench.clusters.values()) cluster.down();
  };
  process.on('SIGINT', () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping controllers and the control plane');
    void cleanup().finally(() => process.exit(130));
  });
  log(`${options.smoke ? 'smoke' : 'full'} run, phases ${options.phases.join(', ')}; results to ${options.out}`);
  try {
    // The raw figures are saved after every phase, so a failure late in a long run keeps the rest.
    const save = () => {
      mkdirSync(options.out, { recursive: true });
      writeFileSync(join(options.out, `${options.date}.json`), `${JSON.stringify(results, null, 2)}\n`);
    };
    if (options.phases.includes('scale')) await scalePhase(bench, results).then(save);
    if (options.phases.includes('throughput')) await throughputPhase(bench, results).then(save);
    if (options.phases.includes('mixed')) await mixedPhase(bench, results).then(save);
    if (options.phases.includes('fanout')) await fanoutPhase({ options, quietMs, log, side: (kind, label, fn) => bench.side(kind, label, fn) }, results).then(save);
    if (options.phases.includes('memory')) await memoryPhase(bench, results).then(save);
    const phaseSide = <T>(kind: ControllerKind, label: string, fn: (side: Side) => Promise<T>) => bench.side(kind, label, fn);
    if (options.phases.includes('restart')) {
      const applyAll = (side: Side, prefix: string, count: number, concurrency: number) => applyPushes(side, prefix, 0, count, concurrency);
      await restartPhase({ options, quietMs, build, log, side: phaseSide, applyPushes: (side, prefix, count, concurrency) => applyAll(side as Side, prefix, count, concurrency), memory: memorySample }, results).then(save);
    }
    if (options.phases.includes('memory-fanout')) await memoryFanoutPhase({ options, quietMs, log, side: phaseSide, memory: memorySample }, results).then(save);
    if (options.profile) await cpuProfile(bench, results).then(save);
    if (options.phases.includes('throttle')) {
      const context = { options, root, build, logs: bench.logs, quietMs, log };
      results.throttle = await throttlePhase(context, { qps: DEFAULT_KUBE_API_QPS, burst: DEFAULT_KUBE_API_BURST });
      save();
    }
  } finally {
    await cleanup();
  }
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = (previous?.durationSeconds ?? 0) + Math.round((performance.now() - started) / 1000);
  results.machine.loadAverageAtEnd = loadavg().map((v) => round(v, 2));
  // Raw figures first, so a failure while building the report never loses a long run.
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, `${options.date}.json`), `${JSON.stringify(results, null, 2)}\n`);
  results.figures = buildFigures(results);
  const files = writeReport(results, options.out);
  log(`done in ${results.durationSeconds} s: ${files.join(', ')}`);
  const broken = results.figures.filter((f) => f.pass === null && f.required);
  if (broken.length > 0) throw new Error(`figures could not be computed: ${broken.map((f) => f.figure).join(', ')}`);
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});


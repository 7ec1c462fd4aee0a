import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { imageNodeFlags } from '../test/support/image.js';
import { BASELINE_WRITES, isBaselineWrites, type BaselineWrites } from './baseline-writes.js';

export const PHASES = ['scale', 'throughput', 'mixed', 'fanout', 'memory', 'throttle', 'restart', 'memory-fanout'] as const;
export type Phase = (typeof PHASES)[number];

/** Every size the bench uses. The smoke run is the same code with the small numbers. */
export interface BenchOptions {
  smoke: boolean;
  phases: Phase[];
  out: string;
  clusterDir: string;
  date: string;
  /** Pushes per burst run on a fresh control plane (the scaling curve); throughputPushes is always among them. */
  scale: number[];
  throughputPushes: number;
  /** Burst runs of throughputPushes per side, alternating which side goes first; the throughput target is judged on the median ratio. */
  throughputRepeats: number;
  /** Idle window after the throughput run, with the operator's resync and relist periods shortened to fit in it. */
  idleSeconds: number;
  baselineIdleSeconds: number;
  resyncSeconds: number;
  relistSeconds: number;
  latencySamples: number;
  loadSeconds: number;
  /** The open-loop load rate, as a fraction of the slower side's measured throughput. */
  loadFraction: number;
  /** An open-loop rate given by hand (--load-rate); absent: taken from a measured throughput (load-rate.ts). */
  loadRate?: number;
  /**
   * Open-loop load runs per side, alternating which side goes first; the p99
   * target is judged on the median ratio. One 30 s run's p99 is a handful of
   * pushes: the same build read 48 to 73 ms across runs (docs/benchmarks.md).
   */
  loadRepeats: number;
  /** The fan-out phase (bench/phases/fanout.ts): one push, one target with a namespaceSelector matching each of these many namespaces. */
  fanoutSizes: number[];
  /** Fan-out runs per side, alternating which side goes first; the targets are judged on the median ratio. */
  fanoutRepeats: number;
  /** Also read the apiserver's CPU over this many seconds from each fan-out's create, the same span on both sides (0: not read). */
  fanoutWindowSeconds: number;
  /** Run the operator with --leader-elect, as the manifests do. */
  leaderElect: boolean;
  /**
   * Install manifests/finalizer-policy.yaml on the operator's control planes,
   * as the manifests do (the apiserver sets the finalizer as a push is
   * created, so the operator's finalizer patch is not needed). Never on the
   * baseline's: it is a bare client and patches its finalizer in itself.
   */
  finalizerPolicy: boolean;
  /** One control plane per family (baseline kinds / operator kinds) instead of a fresh one per side: the smoke run's shortcut. */
  shareClusters: boolean;
  /** How long a controller must be quiet to count as settled. */
  quietMs: number;
  /** Keep the day's results of the phases not run now. */
  update: boolean;
  ampPushes: number;
  ampGenerations: number;
  ampTargets: number[];
  /** Cumulative push counts at which memory is read; the time of each step is the scaling curve. */
  memory: number[];
  /** The baseline's memory steps stop here: its RSS grows ~6 times as fast, and 100,000 pushes of it would take the bench's time for a known answer. */
  memoryBaselineMax: number;
  /** The restart phase (bench/phases/restart.ts): applied pushes before the restart. */
  restartPushes: number;
  /** The memory-fanout phase (bench/phases/memory-fanout.ts): namespaces one push fans out to. */
  memoryFanout: number;
  workers: number;
  targetConcurrency: number;
  applyConcurrency: number;
  /** What the baseline writes besides its content and status (bench/baseline-writes.ts); `revision`, the reference, by default. */
  baselineWrites: BaselineWrites;
  /** Run the operator under --cpu-prof in an extra, unreported throughput run, and heap-snapshot it at the largest memory level. */
  profile: boolean;
  /**
   * Environment of the operator process: by default the literal values the
   * Deployment sets (NODE_OPTIONS, MALLOC_ARENA_MAX, ...), so the bench
   * measures what ships; --operator-node-options and --operator-env override.
   */
  operatorEnv: Record<string, string>;
  /** Node flags of the operator process: by default the image's own (the Dockerfile's ENTRYPOINT); --operator-node-flags overrides. */
  operatorNodeFlags: string[];
  /**
   * Node flags of the baseline process: none by default (the baseline as the
   * issue measured it); --baseline-node-flags gives it the operator's, so the
   * ratio compares code, not V8 settings (docs/benchmarks.md).
   */
  baselineNodeFlags: string[];
  /**
   * An A/B of node flags on the operator itself: when set, the baseline side
   * runs the operator too, built from the same tree and installed the same
   * way, with these node flags instead of the image's. The ratios then
   * measure one V8 setting against another on identical work, paired run by
   * run, which the noise of two different controllers hides (a ~5% change in
   * the operator's CPU is inside one reading's spread against the baseline).
   * The targets mean nothing in this mode.
   */
  abNodeFlags?: string[];
  /** Which controllers the memory phase measures (both by default). */
  memorySides: ('baseline' | 'operator')[];
}

/** The literal environment values the Deployment gives the operator container, so the bench measures what ships. */
export function deploymentEnv(root: string): Record<string, string> {
  const docs = parseAllDocuments(readFileSync(`${root}/manifests/deployment.yaml`, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  type Container = { name?: string; env?: { name: string; value?: string }[] };
  const deployment = docs.find((d) => d?.kind === 'Deployment') as { spec?: { template?: { spec?: { containers?: Container[] } } } } | undefined;
  const container = deployment?.spec?.template?.spec?.containers?.find((c) => c.name === 'operator');
  const env: Record<string, string> = {};
  for (const e of container?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

const FULL = {
  scale: [100, 1000],
  throughputPushes: 1000,
  throughputRepeats: 10,
  idleSeconds: 300,
  baselineIdleSeconds: 60,
  resyncSeconds: 60,
  relistSeconds: 150,
  latencySamples: 50,
  loadSeconds: 30,
  loadFraction: 0.5,
  loadRepeats: 5,
  fanoutSizes: [500, 5000],
  fanoutRepeats: 3,
  fanoutWindowSeconds: 0,
  ampPushes: 10,
  ampGenerations: 3,
  ampTargets: [1, 10],
  memory: [100, 1000, 5000, 10000, 100000],
  memoryBaselineMax: 10000,
  restartPushes: 10000,
  memoryFanout: 5000,
};

const SMOKE: typeof FULL = {
  scale: [5],
  throughputPushes: 5,
  throughputRepeats: 1,
  idleSeconds: 4,
  baselineIdleSeconds: 1,
  resyncSeconds: 1,
  relistSeconds: 3,
  latencySamples: 3,
  loadSeconds: 2,
  loadFraction: 0.5,
  loadRepeats: 2,
  fanoutSizes: [5, 20],
  fanoutRepeats: 1,
  fanoutWindowSeconds: 3,
  ampPushes: 1,
  ampGenerations: 2,
  ampTargets: [1, 2],
  memory: [5, 10],
  memoryBaselineMax: 10,
  restartPushes: 5,
  memoryFanout: 5,
};

const USAGE = `usage: node <build>/bench/run.js [flags]   (npm run bench | npm run bench:smoke)
  --smoke                 tiny sizes, results to .cache/bench-smoke/ (what CI runs)
  --phases LIST           comma list of ${PHASES.join(',')} (default: all)
  --out DIR               results folder (default bench/results, smoke: .cache/bench-smoke)
  --cluster-dir DIR       the bench's own control plane (default $CLUSTER_DIR or .cache/cluster-bench)
  --scale LIST            pushes per burst run on a fresh control plane (default ${FULL.scale.join(',')})
  --throughput N          pushes per throughput run, also one of the scaling runs (default ${FULL.throughputPushes})
  --throughput-repeats N  runs of it per side, alternating; the target is judged on the median ratio (default ${FULL.throughputRepeats})
  --idle-seconds S        idle window with resync (default ${FULL.idleSeconds}); --baseline-idle-seconds S (${FULL.baselineIdleSeconds})
  --resync-seconds S      operator --resync-period during the idle window (default ${FULL.resyncSeconds}); --relist-seconds S (${FULL.relistSeconds})
  --latency-samples N     sequential pushes for idle latency (default ${FULL.latencySamples})
  --load-seconds S        open-loop load duration (default ${FULL.loadSeconds}); --load-fraction F (${FULL.loadFraction})
  --load-rate R           open-loop rate in pushes/s (default: --load-fraction of the slower side's throughput, from this
                          run's scaling or throughput phase, else from a calibration burst per side; bench/load-rate.ts)
  --load-repeats N        open-loop load runs per side, alternating; the p99 target is judged on the median ratio (default ${FULL.loadRepeats})
  --fanout LIST           fan-out phase: one push to N namespaces through a namespaceSelector, for each N (default ${FULL.fanoutSizes.join(',')})
  --fanout-repeats N      fan-out runs per side, alternating; the targets are judged on the median ratio (default ${FULL.fanoutRepeats})
  --fanout-window S       also read the apiserver's CPU over S seconds from each fan-out's create, one span for both sides
                          (default ${FULL.fanoutWindowSeconds}: not read; smoke ${SMOKE.fanoutWindowSeconds})
  --no-leader-elect       run the operator without --leader-elect (the manifests run it with)
  --no-finalizer-policy   leave manifests/finalizer-policy.yaml off the operator's control planes (the manifests install it): the operator patches its finalizer in
  --share-clusters        one control plane per family instead of a fresh one per phase (default in --smoke)
  --quiet-ms MS           quiet time that counts as settled (default 3000, smoke 600)
  --update                re-run only --phases and keep the other phases' figures in the day's results
  --amp-pushes N --amp-generations G --amp-targets LIST   write amplification (default ${FULL.ampPushes}, ${FULL.ampGenerations}, ${FULL.ampTargets.join(',')})
  --memory LIST           cumulative pushes at which memory is read, each step timed: the scaling curve (default ${FULL.memory.join(',')})
  --workers N --target-concurrency N --apply-concurrency N   (default 4 each)
  --baseline-writes W     what the baseline writes besides content and status: revision (default: the ControllerRevision of
                          each completed push, as the operator does), plain (no revision: the baseline before revisions existed),
                          records (the revision and an Applied Event, as the operator does); --baseline-plain,
                          --baseline-records and --baseline-revision (the default, named by older results) are short for them
  --profile               also profile the operator (cpu profile of a throughput run, heap snapshot at the largest memory level)
  --date YYYY-MM-DD       results file name (default today, UTC)
  --operator-node-options S   NODE_OPTIONS of the operator process (default: the Deployment's, manifests/deployment.yaml)
  --operator-node-flags S     node flags of the operator process, space-separated (default: the image's, Dockerfile ENTRYPOINT)
  --baseline-node-flags S     node flags of the baseline process, space-separated (default: none)
  --ab-node-flags S           A/B of node flags: the "baseline" side is the operator itself with these node flags (the targets' verdicts then mean nothing)
  --operator-env NAME=VALUE   one more environment variable of the operator process (repeatable; default: the Deployment's literal env)
  --memory-sides LIST     baseline,operator (default both)
  --memory-baseline-max N the baseline's memory steps stop at N pushes (default ${FULL.memoryBaselineMax})
  --restart-pushes N      restart phase: applied pushes, then a restart; time and requests to verify all (default ${FULL.restartPushes})
  --memory-fanout N       memory-fanout phase: RSS with one push fanned out to N namespaces (default ${FULL.memoryFanout})
Environment: BENCH_ARGS is prepended to the flags (e.g. BENCH_ARGS="--phases scale").`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, root: string): BenchOptions {
  const args = [...(env.BENCH_ARGS ? env.BENCH_ARGS.split(/\s+/).filter(Boolean) : []), ...argv];
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      smoke: { type: 'boolean' },
      phases: { type: 'string' },
      out: { type: 'string' },
      'cluster-dir': { type: 'string' },
      scale: { type: 'string' },
      throughput: { type: 'string' },
      'throughput-repeats': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'baseline-idle-seconds': { type: 'string' },
      'resync-seconds': { type: 'string' },
      'relist-seconds': { type: 'string' },
      'latency-samples': { type: 'string' },
      'load-seconds': { type: 'string' },
      'load-fraction': { type: 'string' },
      'load-rate': { type: 'string' },
      'load-repeats': { type: 'string' },
      fanout: { type: 'string' },
      'fanout-repeats': { type: 'string' },
      'fanout-window': { type: 'string' },
      'no-leader-elect': { type: 'boolean' },
      'no-finalizer-policy': { type: 'boolean' },
      'share-clusters': { type: 'boolean' },
      'quiet-ms': { type: 'string' },
      update: { type: 'boolean' },
      'amp-pushes': { type: 'string' },
      'amp-generations': { type: 'string' },
      'amp-targets': { type: 'string' },
      memory: { type: 'string' },
      workers: { type: 'string' },
      'target-concurrency': { type: 'string' },
      'apply-concurrency': { type: 'string' },
      'baseline-writes': { type: 'string' },
      'baseline-plain': { type: 'boolean' },
      'baseline-records': { type: 'boolean' },
      'baseline-revision': { type: 'boolean' },
      profile: { type: 'boolean' },
      date: { type: 'string' },
      'operator-node-options': { type: 'string' },
      'operator-env': { type: 'string', multiple: true },
      'operator-node-flags': { type: 'string' },
      'baseline-node-flags': { type: 'string' },
      'ab-node-flags': { type: 'string' },
      'memory-sides': { type: 'string' },
      'memory-baseline-max': { type: 'string' },
      'restart-pushes': { type: 'string' },
      'memory-fanout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const smoke = values.smoke === true;
  const d = smoke ? SMOKE : FULL;
  const num = (flag: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} must be a positive number, got ${JSON.stringify(value)}\n${USAGE}`);
    return n;
  };
  const list = (flag: string, value: string | undefined, fallback: number[]): number[] =>
    value === undefined ? fallback : value.split(',').map((v) => num(flag, v, 0));
  const phases = (values.phases?.split(',') ?? [...PHASES]) as Phase[];
  for (const phase of phases) if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}\n${USAGE}`);
  const scale = list('scale', values.scale, d.scale);
  const throughputPushes = num('throughput', values.throughput, d.throughputPushes);
  if (!scale.includes(throughputPushes)) scale.push(throughputPushes);
  scale.sort((a, b) => a - b);
  return {
    smoke,
    phases,
    out: values.out ?? (smoke ? `${root}/.cache/bench-smoke` : `${root}/bench/results`),
    clusterDir: values['cluster-dir'] ?? env.CLUSTER_DIR ?? `${root}/.cache/cluster-bench`,
    date: values.date ?? new Date().toISOString().slice(0, 10),
    scale,
    throughputPushes,
    throughputRepeats: Math.max(1, num('throughput-repeats', values['throughput-repeats'], d.throughputRepeats)),
    idleSeconds: num('idle-seconds', values['idle-seconds'], d.idleSeconds),
    baselineIdleSeconds: num('baseline-idle-seconds', values['baseline-idle-seconds'], d.baselineIdleSeconds),
    resyncSeconds: num('resync-seconds', values['resync-seconds'], d.resyncSeconds),
    relistSeconds: num('relist-seconds', values['relist-seconds'], d.relistSeconds),
    latencySamples: num('latency-samples', values['latency-samples'], d.latencySamples),
    loadSeconds: num('load-seconds', values['load-seconds'], d.loadSeconds),
    loadFraction: num('load-fraction', values['load-fraction'], d.loadFraction),
    ...(values['load-rate'] !== undefined ? { loadRate: num('load-rate', values['load-rate'], 0) } : {}),
    loadRepeats: Math.max(1, Math.round(num('load-repeats', values['load-repeats'], d.loadRepeats))),
    fanoutSizes: list('fanout', values.fanout, d.fanoutSizes),
    fanoutRepeats: Math.max(1, num('fanout-repeats', values['fanout-repeats'], d.fanoutRepeats)),
    fanoutWindowSeconds: num('fanout-window', values['fanout-window'], d.fanoutWindowSeconds),
    leaderElect: values['no-leader-elect'] !== true,
    finalizerPolicy: values['no-finalizer-policy'] !== true,
    shareClusters: values['share-clusters'] ?? smoke,
    quietMs: num('quiet-ms', values['quiet-ms'], smoke ? 600 : 3000),
    update: values.update === true,
    ampPushes: num('amp-pushes', values['amp-pushes'], d.ampPushes),
    ampGenerations: Math.max(2, num('amp-generations', values['amp-generations'], d.ampGenerations)),
    ampTargets: list('amp-targets', values['amp-targets'], d.ampTargets),
    memory: list('memory', values.memory, d.memory).sort((a, b) => a - b),
    workers: num('workers', values.workers, 4),
    targetConcurrency: num('target-concurrency', values['target-concurrency'], 4),
    applyConcurrency: num('apply-concurrency', values['apply-concurrency'], 4),
    baselineWrites: baselineWrites(values['baseline-writes'], {
      plain: values['baseline-plain'] === true,
      records: values['baseline-records'] === true,
      revision: values['baseline-revision'] === true,
    }),
    profile: values.profile === true,
    operatorEnv: operatorEnv(root, values['operator-node-options'], values['operator-env']),
    operatorNodeFlags: values['operator-node-flags'] !== undefined ? values['operator-node-flags'].split(/\s+/).filter(Boolean) : imageNodeFlags(root),
    baselineNodeFlags: values['baseline-node-flags']?.split(/\s+/).filter(Boolean) ?? [],
    ...(values['ab-node-flags'] !== undefined ? { abNodeFlags: values['ab-node-flags'].split(/\s+/).filter(Boolean) } : {}),
    memorySides: memorySides(values['memory-sides']),
    memoryBaselineMax: num('memory-baseline-max', values['memory-baseline-max'], d.memoryBaselineMax),
    restartPushes: num('restart-pushes', values['restart-pushes'], d.restartPushes),
    memoryFanout: num('memory-fanout', values['memory-fanout'], d.memoryFanout),
  };
}

function operatorEnv(root: string, nodeOptions: string | undefined, extra: string[] | undefined): Record<string, string> {
  const env = deploymentEnv(root);
  if (nodeOptions !== undefined) env.NODE_OPTIONS = nodeOptions;
  for (const pair of extra ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--operator-env: expected NAME=VALUE, got ${pair}\n${USAGE}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function baselineWrites(value: string | undefined, shorthands: Record<BaselineWrites, boolean>): BaselineWrites {
  const asked = [...(value === undefined ? [] : [value]), ...BASELINE_WRITES.filter((writes) => shorthands[writes])];
  if (new Set(asked).size > 1) throw new Error(`--baseline-writes and its shorthands disagree (${asked.join(', ')})\n${USAGE}`);
  const writes = asked[0] ?? 'revision';
  if (!isBaselineWrites(writes)) throw new Error(`--baseline-writes must be one of ${BASELINE_WRITES.join(', ')}, got ${JSON.stringify(writes)}\n${USAGE}`);
  return writes;
}

function memorySides(value: string | undefined): ('baseline' | 'operator')[] {
  if (value === undefined) return ['baseline', 'operator'];
  const sides = value.split(',');
  for (const side of sides) if (side !== 'baseline' && side !== 'operator') throw new Error(`--memory-sides: unknown side ${side}\n${USAGE}`);
  return sides as ('baseline' | 'operator')[];
}

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { freePorts } from '../test/support/free-port.js';
import type { BaselineWrites } from './baseline-writes.js';
import { pausesFromMetrics, statCpuSeconds, type GcPauses } from './controller-gc.js';
import { LEASE_NAMESPACE, sleep } from './kube.js';
import { round } from './stats.js';

/** What the bench reads from a running controller (operator or baseline). */
export interface ControllerStats {
  /** Reconciles (operator) or processed keys (baseline) so far. */
  processed: number;
  /** Keys waiting or in flight. */
  depth: number;
  rssBytes: number;
  /** Peak RSS (VmHWM). */
  peakRssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Operator only: its own counters (from /metrics). */
  counters?: Record<string, number>;
  /** The main thread's GC pauses so far (bench/controller-gc.ts); absent if the process does not report them. */
  gc?: GcPauses;
}

export type ControllerKind = 'operator' | 'baseline';

export interface ControllerProcess {
  readonly kind: ControllerKind;
  readonly pid: number;
  stats(): Promise<ControllerStats>;
  stop(): Promise<void>;
}

export interface StartOptions {
  kind: ControllerKind;
  /** Folder holding the compiled src/ and bench/ (dist/ or the bench's own build). */
  build: string;
  kubeconfig: string;
  logFile: string;
  workers: number;
  targetConcurrency: number;
  /** Baseline: what it writes besides content and status (bench/baseline-writes.ts; its own default when absent). */
  baselineWrites?: BaselineWrites;
  /** Baseline: node flags (bench/options.ts baselineNodeFlags). */
  baselineNodeFlags?: string[];
  resyncSeconds?: number;
  relistSeconds?: number;
  /** Operator: node flags, as the image passes them (Dockerfile ENTRYPOINT). */
  imageNodeFlags?: string[];
  /** Extra flags for node itself (--cpu-prof, --heapsnapshot-signal=...). */
  nodeFlags?: string[];
  /** Operator: environment, as the Deployment sets it (NODE_OPTIONS, ...). */
  env?: Record<string, string>;
  /** Operator: run with --leader-elect, as manifests/deployment.yaml does (Lease in configpush-system). */
  leaderElect?: boolean;
  /** Operator with leader election: resolves once `identity` holds the Lease (a standby is /readyz-ready before that). */
  waitLeader?: (identity: string) => Promise<void>;
}

export async function startController(options: StartOptions): Promise<ControllerProcess> {
  return options.kind.startsWith('baseline') ? startBaseline(options) : startOperatorProcess(options);
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
 * Undefined when the process is gone or /proc is missing.
 */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function procMemory(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

function spawnLogged(args: string[], logFile: string, ipc: boolean, env: Record<string, string> = {}): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(process.execPath, args, {
      stdio: ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
      env: { ...process.env, LOG_LEVEL: process.env.BENCH_OPERATOR_LOG_LEVEL ?? 'info', ...env },
    });
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timeout = sleep(20_000).then(() => 'timeout' as const);
  if ((await Promise.race([exited.then(() => 'exited' as const), timeout])) === 'timeout') {
    process.stderr.write(`bench: ${name} (pid ${child.pid}) ignored SIGTERM for 20 s; killing it\n`);
    child.kill('SIGKILL');
    await exited;
  }
}

let starts = 0;

async function startOperatorProcess(options: StartOptions): Promise<ControllerProcess> {
  const [metricsPort, healthPort] = (await freePorts(2)) as [number, number];
  const entry = `${options.build}/src/main.js`;
  const args = [
    ...(options.imageNodeFlags ?? []),
    ...(options.nodeFlags ?? []),
    entry,
    '--kubeconfig',
    options.kubeconfig,
    '--metrics-address',
    `127.0.0.1:${metricsPort}`,
    '--health-address',
    `127.0.0.1:${healthPort}`,
    '--workers',
    String(options.workers),
    '--target-concurrency',
    String(options.targetConcurrency),
    ...(options.resyncSeconds ? ['--resync-period', String(options.resyncSeconds)] : []),
    ...(options.relistSeconds ? ['--relist-period', String(options.relistSeconds)] : []),
    ...(options.leaderElect ? ['--leader-elect', '--leader-election-namespace', LEASE_NAMESPACE] : []),
  ];
  // POD_NAME is the replica's identity in the Lease (and in its User-Agent).
  const identity = `bench-operator-${++starts}`;
  const child = spawnLogged(args, options.logFile, false, { ...options.env, POD_NAME: identity });
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `exited (code ${code}, signal ${signal})`));
  const deadline = Date.now() + 90_000;
  let leading = !options.leaderElect || !options.waitLeader;
  for (;;) {
    if (exit) throw new Error(`${options.kind} ${exit} before it was ready; see ${options.logFile}`);
    if (!leading && options.waitLeader) {
      await options.waitLeader(identity);
      leading = true;
    }
    try {
      const response = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      await response.text();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child, options.kind);
      throw new Error(`${options.kind} not ready within 90 s; see ${options.logFile}`);
    }
    await sleep(100);
  }
  const pid = child.pid ?? 0;
  return {
    kind: options.kind,
    pid,
    async stats() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const metrics = parseMetrics(text);
      const memory = procMemory(pid);
      const counters: Record<string, number> = {
        reconciles: metrics.get('configpush_reconcile_total') ?? 0,
        targetWrites: metrics.get('configpush_target_writes_total') ?? 0,
        targetsSkipped: metrics.get('configpush_targets_skipped_total') ?? 0,
        statusWrites: metrics.get('configpush_status_writes_total') ?? 0,
        writeConflicts: metrics.get('configpush_write_conflicts_total') ?? 0,
        retries: metrics.get('configpush_workqueue_retries_total') ?? 0,
        requeues: metrics.get('configpush_reconcile_total{result="requeue"}') ?? 0,
        // The request budget (docs/throttling.md): requests that passed it, the time they waited, how many waited at all (over 1 ms).
        budgetRequests: metrics.get('configpush_client_rate_limiter_duration_seconds_count{reason="budget"}') ?? 0,
        budgetWaitSeconds: metrics.get('configpush_client_rate_limiter_duration_seconds_sum{reason="budget"}') ?? 0,
        budgetWaited:
          (metrics.get('configpush_client_rate_limiter_duration_seconds_count{reason="budget"}') ?? 0) -
          // prom-client writes `le` first.
          (metrics.get('configpush_client_rate_limiter_duration_seconds_bucket{le="0.001",reason="budget"}') ?? 0),
        retryAfterWaitSeconds: metrics.get('configpush_client_rate_limiter_duration_seconds_sum{reason="retry_after"}') ?? 0,
        throttledResponses: metrics.get('configpush_client_throttled_responses_total') ?? 0,
        // Where a reconcile's time goes before and during it (the load runs' queue row): keys taken within 1 ms, reconciles within 25 ms.
        queued: metrics.get('configpush_workqueue_queue_duration_seconds_count') ?? 0,
        queuedWithin1ms: metrics.get('configpush_workqueue_queue_duration_seconds_bucket{le="0.001"}') ?? 0,
        reconcilesWithin25ms: sumSeries(metrics, 'configpush_reconcile_duration_seconds_bucket{le="0.025",'),
      };
      return {
        processed: counters.reconciles ?? 0,
        depth: metrics.get('configpush_workqueue_depth') ?? 0,
        rssBytes: memory.rss || (metrics.get('process_resident_memory_bytes') ?? 0),
        peakRssBytes: memory.hwm,
        heapUsedBytes: metrics.get('nodejs_heap_size_used_bytes') ?? 0,
        heapTotalBytes: metrics.get('nodejs_heap_size_total_bytes') ?? 0,
        counters,
        ...optional('gc', pausesFromMetrics(metrics)),
      };
    },
    stop: () => stopChild(child, options.kind),
  };
}

/** The operator's reconciles over a span, from two readings of its counters (the load runs): how many, how soon a key left the queue, how long the reconcile took. */
export interface QueueSpend {
  reconciles: number;
  queued: number;
  queuedWithin1ms: number;
  reconcilesWithin25ms: number;
}

/** Undefined for a controller without these counters (the baseline). */
export function queueBetween(before: Record<string, number> | undefined, after: Record<string, number> | undefined): QueueSpend | undefined {
  if (!before || !after || after.queued === undefined) return undefined;
  const spent = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
  return { reconciles: spent('reconciles'), queued: spent('queued'), queuedWithin1ms: spent('queuedWithin1ms'), reconcilesWithin25ms: spent('reconcilesWithin25ms') };
}

/** The sum of every labelled series whose key starts with `prefix` (e.g. a histogram bucket over all `result`s). */
function sumSeries(metrics: Map<string, number>, prefix: string): number {
  let sum = 0;
  for (const [key, value] of metrics) if (key.startsWith(prefix)) sum += value;
  return sum;
}

/**
 * Prometheus text → sums per metric name (labels summed away), plus each
 * labelled series under its full `name{labels}` key.
 */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name = '', labels, raw = ''] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    out.set(name, (out.get(name) ?? 0) + value);
    if (labels) out.set(`${name}${labels}`, value);
  }
  return out;
}

async function startBaseline(options: StartOptions): Promise<ControllerProcess> {
  const args = [
    ...(options.baselineNodeFlags ?? []),
    ...(options.nodeFlags ?? []),
    `${options.build}/bench/baseline.js`,
    '--kubeconfig',
    options.kubeconfig,
    '--workers',
    String(options.workers),
    '--target-concurrency',
    String(options.targetConcurrency),
    ...(options.baselineWrites ? ['--writes', options.baselineWrites] : []),
  ];
  const child = spawnLogged(args, options.logFile, true);
  type Reply = { type: string; processed?: number; depth?: number; rss?: number; heapUsed?: number; heapTotal?: number; gc?: GcPauses };
  const replies: ((reply: Reply) => void)[] = [];
  let onReady: (() => void) | undefined;
  child.on('message', (message: Reply) => {
    if (message.type === 'ready') onReady?.();
    else if (message.type === 'stats') replies.shift()?.(message);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baseline not ready within 90 s; see ${options.logFile}`)), 90_000);
    onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`baseline exited (code ${code}) before it was ready; see ${options.logFile}`));
    });
  });
  const pid = child.pid ?? 0;
  return {
    kind: options.kind,
    pid,
    async stats() {
      const reply = await new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('baseline did not answer a stats request')), 10_000);
        replies.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
        child.send({ type: 'stats' });
      });
      const memory = procMemory(pid);
      return {
        processed: reply.processed ?? 0,
        depth: reply.depth ?? 0,
        rssBytes: memory.rss || (reply.rss ?? 0),
        peakRssBytes: memory.hwm,
        heapUsedBytes: reply.heapUsed ?? 0,
        heapTotalBytes: reply.heapTotal ?? 0,
        ...optional('gc', reply.gc),
      };
    },
    stop: () => stopChild(child, options.kind),
  };
}

/** `{[key]: value}` when there is a value, else nothing (exactOptionalPropertyTypes forbids an explicit undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Operator only: its requests that waited on its client-side budget (over 1 ms) between two readings of its counters, and the seconds they waited in all. */
export function budgetWaitBetween(before: Record<string, number>, after: Record<string, number>): { requests: number; seconds: number } {
  const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
  return { requests: delta('budgetWaited'), seconds: round(delta('budgetWaitSeconds'), 2) };
}

/** Waits until the controller has nothing queued and its processed count held still for `quietMs`. */
export async function settle(controller: ControllerProcess, quietMs = 2_000, timeoutMs = 600_000): Promise<ControllerStats> {
  const deadline = Date.now() + timeoutMs;
  let last = await controller.stats();
  let stableSince = Date.now();
  // The operator's reconcile count only moves when a reconcile ends, and a
  // push with 500 targets reconciles for seconds: its counters of targets
  // written and skipped show that it is still busy.
  const activity = (s: ControllerStats) => s.processed + (s.counters?.targetWrites ?? 0) + (s.counters?.targetsSkipped ?? 0) + (s.counters?.statusWrites ?? 0);
  for (;;) {
    await sleep(250);
    const now = await controller.stats();
    if (activity(now) !== activity(last) || now.depth > 0) stableSince = Date.now();
    last = now;
    if (Date.now() - stableSince >= quietMs) return now;
    if (Date.now() > deadline) throw new Error(`${controller.kind} did not settle within ${timeoutMs / 1000} s`);
  }
}

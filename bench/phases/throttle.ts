/**
 * The throttle phase (docs/throttling.md): the operator under a client-side
 * request budget at several settings, and under the apiserver's own
 * throttling (API Priority and Fairness giving it one seat and rejecting the
 * rest with 429 + Retry-After), each run on a fresh control plane:
 *
 * - budget sweep: the same burst of single-target pushes (--throughput, 1,000
 *   in the full run) with the budget off, at the default, and at
 *   controller-runtime's 20/30; client-go's 5/10 at a fifth of the pushes
 *   (at 1,000 it would take ~15 min), beside an unlimited run of that size;
 * - APF: a smaller burst (100) with the default budget, unthrottled and then
 *   throttled until every push is Ready.
 *
 * The operator runs as the manifests' ServiceAccount (a TokenRequest token),
 * not as admin: system:masters is exempt from APF. So the apiserver's APF
 * counters (dispatched and rejected, by flow schema) count the operator's
 * every request, reads included; the audit log counts its writes, and the
 * highest number of writes it made in one second.
 */
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { apfCounts, apiserverMetricsText, liftThrottle, metricSum, throttleSubject } from '../../test/support/apf.js';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, writeOperatorKubeconfig } from '../../test/support/operator-identity.js';
import { AuditWindow, breakdown } from '../audit-counts.js';
import { BenchCluster } from '../cluster.js';
import { BENCH_USER_AGENT, LEASE_NAMESPACE, OPERATOR_USER_AGENT, ReadyTracker, createNamespaces, createPush, forEachLimit, makeApi, pushSpec, readyKey, waitForLeader } from '../kube.js';
import type { BenchOptions } from '../options.js';
import { settle, startController, type ControllerProcess } from '../processes.js';
import { round } from '../stats.js';

export interface ThrottleRun {
  /** What ran: "budget off", "budget 500/1000 (default)", "APF 1 seat, Reject", ... */
  label: string;
  /** The budget (--kube-api-qps / --kube-api-burst); qps 0 = off. */
  qps: number;
  burst: number;
  apf: boolean;
  pushes: number;
  /** First create to the last push Ready. */
  seconds: number;
  pushesPerSecond: number;
  /** The operator's requests while converging (APF dispatched + rejected: reads, writes, watch starts). */
  requests: number;
  requestsPerSecond: number;
  /** Requests the apiserver answered 429. */
  rejected429: number;
  /** The most writes the operator made in one second (audit log). */
  peakWritesPerSecond: number;
  /** Successful target writes per target (exactly 1 expected). */
  targetWritesPerTarget: number;
  /** From the operator's own metrics: requests that waited on the budget (over 1 ms), and the seconds they waited in all. */
  budgetWaited: number;
  budgetWaitSeconds: number;
  /** Seconds requests were held back by a server's Retry-After, in all, and the 429s the operator was answered. */
  retryAfterWaitSeconds: number;
  throttledResponses: number;
}

export interface ThrottleContext {
  options: BenchOptions;
  root: string;
  /** Folder of the compiled src/ and bench/. */
  build: string;
  logs: string;
  quietMs: number;
  log(message: string): void;
}

interface Setting {
  label: string;
  qps: number;
  burst: number;
  apf: boolean;
  pushes: number;
}

/** The flow schemas the operator's ServiceAccount lands in: the default one, or ours while throttled. */
const OPERATOR_FLOWS = ['service-accounts', 'configpush-throttled'];

export function throttleSettings(options: BenchOptions, defaults: { qps: number; burst: number }): Setting[] {
  const n = options.throughputPushes;
  const small = Math.max(1, Math.round(n / 5));
  const apf = options.smoke ? n : Math.min(n, 100);
  const off = { label: 'budget off', qps: 0, burst: 0, apf: false, pushes: n };
  const byDefault = { label: `budget ${defaults.qps}/${defaults.burst} (default)`, qps: defaults.qps, burst: defaults.burst, apf: false, pushes: n };
  // Off and default twice, alternating: on this shared machine one run's time is noise; the operator's own count of requests that waited on the budget is not.
  return [
    off,
    byDefault,
    ...(options.smoke ? [] : [byDefault, off]),
    { label: 'budget 20/30 (controller-runtime)', qps: 20, burst: 30, apf: false, pushes: n },
    { label: 'budget off', qps: 0, burst: 0, apf: false, pushes: small },
    { label: 'budget 5/10 (client-go)', qps: 5, burst: 10, apf: false, pushes: small },
    { label: 'no APF throttle, default budget', qps: defaults.qps, burst: defaults.burst, apf: false, pushes: apf },
    { label: 'APF 1 seat, Reject (429 + Retry-After), default budget', qps: defaults.qps, burst: defaults.burst, apf: true, pushes: apf },
  ];
}

export async function throttlePhase(ctx: ThrottleContext, defaults: { qps: number; burst: number }): Promise<ThrottleRun[]> {
  const { options, log } = ctx;
  const runs: ThrottleRun[] = [];
  const cluster = new BenchCluster(ctx.root, `${options.clusterDir}-throttle`);
  try {
    for (const [i, setting] of throttleSettings(options, defaults).entries()) {
      // The smoke run shares one control plane (names are unique per run); the full run starts each on a fresh one.
      const fresh = !options.shareClusters || i === 0;
      log(`throttle: ${setting.label}, ${setting.pushes} pushes${fresh ? ' (fresh control plane)' : ''}`);
      if (fresh) await cluster.fresh();
      const run = await throttleRun(ctx, cluster, setting, i);
      runs.push(run);
      log(
        `  ${run.seconds} s to Ready (${run.pushesPerSecond} pushes/s), ${run.requests} requests (${run.requestsPerSecond}/s), ${run.rejected429} answered 429, ` +
          `peak ${run.peakWritesPerSecond} writes/s, ${run.targetWritesPerTarget} writes per target`,
      );
    }
  } finally {
    if (process.env.BENCH_KEEP_CLUSTER !== '1') cluster.down();
  }
  return runs;
}

async function throttleRun(ctx: ThrottleContext, cluster: BenchCluster, setting: Setting, index: number): Promise<ThrottleRun> {
  const { options } = ctx;
  const admin = new KubeConfig();
  admin.loadFromFile(cluster.kubeconfig);
  const server = admin.getCurrentCluster()?.server ?? '';
  const pki = join(cluster.dir, 'pki');
  const operatorKubeconfig = join(cluster.dir, 'operator.kubeconfig');
  await writeOperatorKubeconfig(admin, ctx.root, operatorKubeconfig);
  const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
  await createNamespaces(api, [LEASE_NAMESPACE, ...Array.from({ length: 10 }, (_, i) => `bench-${i}`)]);
  const tracker = new ReadyTracker(api);
  await tracker.start();
  let controller: ControllerProcess | undefined;
  try {
    controller = await startController({
      kind: 'operator',
      build: ctx.build,
      kubeconfig: operatorKubeconfig,
      logFile: join(ctx.logs, `throttle-${String(index + 1).padStart(2, '0')}.log`),
      workers: options.workers,
      targetConcurrency: options.targetConcurrency,
      leaderElect: options.leaderElect,
      waitLeader: (identity: string) => waitForLeader(api, identity),
      env: { ...options.operatorEnv, CONFIGPUSH_KUBE_API_QPS: String(setting.qps), CONFIGPUSH_KUBE_API_BURST: String(setting.burst) },
      imageNodeFlags: options.operatorNodeFlags,
    });
    if (setting.apf) {
      await throttleSubject(admin, { serviceAccount: { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT } });
      const deadline = Date.now() + 30_000;
      while (apfCounts(await apiserverMetricsText(server, pki)).seats !== 1) {
        if (Date.now() > deadline) throw new Error('the throttled priority level did not come into effect within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const audit = new AuditWindow(cluster.auditLog);
    const mark = audit.mark();
    const count = (text: string, metric: string) => OPERATOR_FLOWS.reduce((n, flow) => n + metricSum(text, metric, { flow_schema: flow }), 0);
    const before = await apiserverMetricsText(server, pki);
    const keys: string[] = [];
    const t0 = performance.now();
    await forEachLimit(
      Array.from({ length: setting.pushes }, (_, i) => i),
      options.applyConcurrency,
      async (i) => {
        const namespace = `bench-${i % 10}`;
        keys.push(readyKey(namespace, `th${index}-${i}`, 1));
        await createPush(api, namespace, `th${index}-${i}`, pushSpec(i, [{ kind: 'ConfigMap', name: `th${index}-cfg-${i}` }]));
      },
    );
    // The timeout follows the budget (5 requests a push at qps), and APF's one seat (~0.5 pushes/s in the smoke run).
    const timeoutMs = Math.max(300_000, setting.qps > 0 ? (setting.pushes * 6 * 1000) / setting.qps : 0, setting.apf ? setting.pushes * 6_000 : 0);
    const readyAt = await tracker.waitAll(keys, timeoutMs);
    const seconds = (Math.max(...readyAt) - t0) / 1000;
    const after = await apiserverMetricsText(server, pki);
    if (setting.apf) await liftThrottle(admin);
    await settle(controller, ctx.quietMs);
    const requests = count(after, 'apiserver_flowcontrol_dispatched_requests_total') + count(after, 'apiserver_flowcontrol_rejected_requests_total') -
      count(before, 'apiserver_flowcontrol_dispatched_requests_total') - count(before, 'apiserver_flowcontrol_rejected_requests_total');
    const rejected = count(after, 'apiserver_flowcontrol_rejected_requests_total') - count(before, 'apiserver_flowcontrol_rejected_requests_total');
    const events = audit.since(mark).filter((e) => e.userAgent?.startsWith(OPERATOR_USER_AGENT));
    const perSecond = new Map<number, number>();
    for (const e of events) {
      const second = Math.floor(Date.parse(e.requestReceivedTimestamp) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    const writes = breakdown(audit.since(mark), OPERATOR_USER_AGENT);
    const counters = (await controller.stats()).counters ?? {};
    return {
      label: setting.label,
      qps: setting.qps,
      burst: setting.burst,
      apf: setting.apf,
      pushes: setting.pushes,
      seconds: round(seconds, 2),
      pushesPerSecond: round(setting.pushes / seconds, 2),
      requests,
      requestsPerSecond: round(requests / seconds, 1),
      rejected429: rejected,
      peakWritesPerSecond: Math.max(0, ...perSecond.values()),
      targetWritesPerTarget: round((writes.byResource.configmaps?.ok ?? 0) / setting.pushes, 3),
      budgetWaited: counters.budgetWaited ?? 0,
      budgetWaitSeconds: round(counters.budgetWaitSeconds ?? 0, 2),
      retryAfterWaitSeconds: round(counters.retryAfterWaitSeconds ?? 0, 1),
      throttledResponses: counters.throttledResponses ?? 0,
    };
  } finally {
    tracker.stop();
    await controller?.stop();
  }
}

/** The phase's rows for the report: one per run, and the cost of each budget against "budget off" at the same size. */
export function throttleTable(runs: readonly ThrottleRun[]): string[] {
  if (runs.length === 0) return [];
  const lines = [
    '## Throttling (bench/phases/throttle.ts, docs/throttling.md)',
    '',
    'Single-target pushes applied 4 at a time; the operator runs as the manifests\' ServiceAccount. Requests are the apiserver\'s own APF counts for the operator\'s flow (dispatched + rejected, reads included); writes from the audit log; waits from the operator\'s configpush_client_rate_limiter_duration_seconds. "Cost" is time to Ready against the mean of the "budget off" runs of the same size (for the APF run: against the unthrottled run). Times on this shared machine are noisy; the count of requests that waited on the budget is not.',
    '',
    '| run | pushes | to Ready (s) | pushes/s | cost | requests | requests/s | 429s | peak writes/s | requests that waited on the budget (total wait) | held by Retry-After (s) | target writes per target |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const run of runs) {
    const offRuns = runs.filter((r) => r.qps === 0 && !r.apf && r.pushes === run.pushes);
    const unthrottled = runs.filter((r) => !r.apf && r.qps === run.qps && r.pushes === run.pushes);
    const reference = run.apf ? unthrottled : run.qps === 0 ? [] : offRuns;
    const cost = reference.length > 0 ? `${round(run.seconds / mean(reference.map((r) => r.seconds)), 2)}x` : '';
    lines.push(
      `| ${run.label} | ${run.pushes} | ${run.seconds} | ${run.pushesPerSecond} | ${cost} | ${run.requests} | ${run.requestsPerSecond} | ${run.rejected429} | ${run.peakWritesPerSecond} | ` +
        `${run.qps > 0 ? `${run.budgetWaited ?? 'n/a'} (${run.budgetWaitSeconds ?? 'n/a'} s)` : 'off'} | ${run.retryAfterWaitSeconds ?? 'n/a'} | ${run.targetWritesPerTarget} |`,
    );
  }
  return [...lines, ''];
}

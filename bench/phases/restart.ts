/**
 * The restart phase (issue 16): N applied single-target pushes (10,000 in the
 * full run), then the controller is restarted; measured is the time from the
 * new process's spawn until every push is verified, and every request the
 * apiserver served meanwhile (its own apiserver_request_total, by verb and
 * resource) plus the writes (audit log).
 *
 * - operator: a restart of the operator (leader election included, as
 *   deployed). "Verified": every push reconciled once by the new process and
 *   its queue empty. Its target watches' cache transform keeps a keyed digest
 *   of each target (docs/performance-idle-reads.md, "Restarts"), so the
 *   target: 0 writes, no GET of a target, at most one LIST per watched kind.
 * - baseline: the baseline controller trusts a Ready status after a restart
 *   and reads nothing, which verifies nothing; its restart here is the
 *   cheapest one that verifies: bench/restart-verify.ts, a fresh process
 *   doing one LIST of the pushes and one GET per target (4 at once, as the
 *   baseline's workers).
 *
 * No other client talks to the apiserver in the window: the bench's own push
 * watch is open before it and makes no request.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { readRequestTotals, requestsBetween } from '../apiserver-requests.js';
import { breakdown, type AuditWindow, type WriteBreakdown } from '../audit-counts.js';
import type { Api, ReadyTracker } from '../kube.js';
import type { BenchOptions } from '../options.js';
import { settle, type ControllerKind, type ControllerProcess, type StartOptions } from '../processes.js';
import { round } from '../stats.js';

/** The kinds whose requests are counted: what the operator watches, and what either side writes. */
const RESOURCES = ['configpushes', 'configmaps', 'secrets', 'namespaces', 'events', 'leases', 'controllerrevisions'] as const;

export interface RestartSide {
  kind: ControllerKind;
  api: Api;
  tracker: ReadyTracker;
  controller: ControllerProcess;
  userAgent: string;
  audit: AuditWindow;
  restart(extra?: Partial<StartOptions>): Promise<void>;
}

export interface RestartContext {
  options: BenchOptions;
  quietMs: number;
  build: string;
  log(message: string): void;
  side<T>(kind: ControllerKind, label: string, fn: (side: RestartSide) => Promise<T>): Promise<T>;
  /** Creates pushes prefix-0..n-1 (one ConfigMap each), `concurrency` at a time; their Ready keys. */
  applyPushes(side: RestartSide, prefix: string, count: number, concurrency: number): Promise<{ keys: string[]; firstStart: number }>;
  memory(controller: ControllerProcess): Promise<{ rssBytes: number; heapUsedBytes: number }>;
}

export interface RestartRun {
  kind: ControllerKind;
  pushes: number;
  /** Applying the pushes before the restart (creates to all Ready). */
  applySeconds: number;
  /** From the new process's spawn to every push verified. */
  seconds: number;
  /** operator: from the spawn until it leads and is ready (part of `seconds`). */
  readySeconds?: number;
  verifiedBy: string;
  /** apiserver_request_total in the window, `VERB resource`. */
  requests: Record<string, number>;
  /** Writes of the controller (audit log); Lease renewals of leader election are in byResource.leases. */
  writes: WriteBreakdown;
  /** operator: reconciles, targets skipped (verified without a read) and written in the window. */
  counters?: Record<string, number>;
  rssBytes?: number;
  heapUsedBytes?: number;
}

export async function restartPhase(ctx: RestartContext, results: { restart?: RestartRun[] }): Promise<void> {
  const runs: RestartRun[] = [];
  const n = ctx.options.restartPushes;
  for (const kind of ['baseline', 'operator'] as const) {
    await ctx.side(kind, `restart-${n}`, async (side) => {
      const t0 = performance.now();
      // Creates 16 at a time: the controller's pace, not the bench's, bounds this.
      const applied = await ctx.applyPushes(side, 'rs', n, 16);
      await side.tracker.waitAll(applied.keys, Math.max(120_000, n * 300));
      const applySeconds = (performance.now() - t0) / 1000;
      await settle(side.controller, ctx.quietMs);
      // With --share-clusters (the smoke run) earlier phases' pushes are there too: all of them are verified.
      const total = await countPushes(side.api);
      ctx.log(`  ${kind}: ${n} pushes applied in ${round(applySeconds, 1)} s (${total} on the cluster); restarting`);
      const run = kind === 'operator' ? await restartOperator(ctx, side, total) : await restartBaseline(ctx, side, total);
      runs.push({ ...run, applySeconds: round(applySeconds, 1) });
      ctx.log(`  ${kind} restart with ${n} pushes: ${run.seconds} s to verify all; requests ${JSON.stringify(run.requests)}; writes ${run.writes.ok + run.writes.failed}`);
    });
  }
  results.restart = runs;
}

async function restartOperator(ctx: RestartContext, side: RestartSide, n: number): Promise<Omit<RestartRun, 'applySeconds'>> {
  await side.controller.stop();
  const mark = side.audit.mark();
  const before = await readRequestTotals(side.api.kubeConfig);
  const t0 = performance.now();
  await side.restart();
  const readySeconds = (performance.now() - t0) / 1000;
  const deadline = Date.now() + Math.max(120_000, n * 100);
  let stats = await side.controller.stats();
  while (stats.processed < n || stats.depth > 0) {
    if (Date.now() > deadline) throw new Error(`the restarted operator reconciled ${stats.processed} of ${n} pushes`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stats = await side.controller.stats();
  }
  const seconds = (performance.now() - t0) / 1000;
  // Whatever follows the last reconcile (Events, echoes) is counted too.
  const settled = await settle(side.controller, ctx.quietMs);
  const after = await readRequestTotals(side.api.kubeConfig);
  const memory = await ctx.memory(side.controller);
  return {
    kind: side.kind,
    pushes: n,
    seconds: round(seconds, 2),
    readySeconds: round(readySeconds, 2),
    verifiedBy: 'a reconcile of every push by the new process (targets verified from the cache when their digest matches), queue empty',
    requests: requestsBetween(before, after, RESOURCES),
    writes: breakdown(side.audit.since(mark), side.userAgent),
    ...(settled.counters ? { counters: settled.counters } : {}),
    rssBytes: memory.rssBytes,
    heapUsedBytes: memory.heapUsedBytes,
  };
}

async function restartBaseline(ctx: RestartContext, side: RestartSide, n: number): Promise<Omit<RestartRun, 'applySeconds'>> {
  await side.controller.stop();
  const mark = side.audit.mark();
  const before = await readRequestTotals(side.api.kubeConfig);
  const t0 = performance.now();
  const out = await runVerifier(ctx, side.api, ctx.options.workers);
  const seconds = (performance.now() - t0) / 1000;
  // Every target of every push: in the smoke run earlier phases left pushes of several targets (amplification, fan-out) on the shared cluster.
  if (out.pushes !== n || out.verified !== out.targets || out.notVerified !== 0) {
    throw new Error(`the baseline's restart verified ${out.verified} of ${out.targets} targets of ${out.pushes} pushes (${out.notVerified} not; ${n} pushes expected)`);
  }
  const after = await readRequestTotals(side.api.kubeConfig);
  return {
    kind: side.kind,
    pushes: n,
    seconds: round(seconds, 2),
    verifiedBy: 'bench/restart-verify.ts: a fresh process, one LIST of the pushes, one GET per target',
    requests: requestsBetween(before, after, RESOURCES),
    writes: breakdown(side.audit.since(mark), side.userAgent),
  };
}

async function countPushes(api: Api): Promise<number> {
  const list = (await api.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: unknown[] };
  return list.items.length;
}

async function runVerifier(ctx: RestartContext, api: Api, workers: number): Promise<{ pushes: number; targets: number; verified: number; notVerified: number }> {
  const kubeconfig = join(tmpdir(), `bench-restart-verify-${process.pid}.kubeconfig`);
  writeFileSync(kubeconfig, api.kubeConfig.exportConfig(), { mode: 0o600 });
  const child = spawn(process.execPath, [join(ctx.build, 'bench/restart-verify.js'), '--kubeconfig', kubeconfig, '--workers', String(workers)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`restart-verify exited ${code}: ${stderr.slice(0, 500)}`);
  return JSON.parse(stdout) as { pushes: number; targets: number; verified: number; notVerified: number };
}

/** The report's lines for the phase (bench/report.ts). */
export function restartTable(runs: readonly RestartRun[]): string[] {
  if (runs.length === 0) return [];
  const lines = ['', '## Restart with pushes applied', '', '| side | pushes | to every push verified (s) | of which start to ready (s) | requests (apiserver_request_total) | writes (audit) | verified by |', '|---|---|---|---|---|---|---|'];
  for (const r of runs) {
    const requests = Object.entries(r.requests)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const writes = Object.entries(r.writes.byResource)
      .map(([k, v]) => `${k} ${v.ok}`)
      .join(', ');
    lines.push(`| ${r.kind} | ${r.pushes} | ${r.seconds} | ${r.readySeconds ?? ''} | ${requests || 'none'} | ${writes || '0'} | ${r.verifiedBy} |`);
  }
  return lines;
}

/** The figures: time against the baseline's; 0 writes and at most one LIST per watched kind, no GET of a target. */
export function restartFigures(runs: readonly RestartRun[]): { measure: string; figure: string; operator: string; baseline: string; ratio: string; target: string; result: 'pass' | 'miss' | 'info'; required?: boolean }[] {
  const op = runs.find((r) => r.kind === 'operator');
  const base = runs.find((r) => r.kind === 'baseline');
  if (!op) return [];
  const measure = `Restart with ${op.pushes} applied pushes`;
  const contentWrites = op.writes.ok + op.writes.failed - (op.writes.byResource.leases?.ok ?? 0) - (op.writes.byResource.leases?.failed ?? 0);
  const lists = Object.entries(op.requests).filter(([k]) => k.startsWith('LIST '));
  const watches = (r: RestartRun) =>
    Object.entries(r.requests)
      .filter(([k]) => k.startsWith('WATCH '))
      .map(([k, v]) => `${k.slice(6)} ${v}`)
      .join(', ');
  const gets = (r: RestartRun | undefined) => (r ? (r.requests['GET configmaps'] ?? 0) + (r.requests['GET secrets'] ?? 0) : Number.NaN);
  const ratio = base ? round(op.seconds / base.seconds, 2) : Number.NaN;
  return [
    {
      measure,
      figure: 'time from the new process to every push verified',
      operator: `${op.seconds} s`,
      baseline: base ? `${base.seconds} s` : 'n/a',
      ratio: Number.isFinite(ratio) ? String(ratio) : '',
      target: 'report against the baseline (relist + GET per target)',
      result: 'info',
      required: true,
    },
    {
      measure,
      figure: 'writes (audit log), Lease renewals of leader election apart',
      operator: `${contentWrites} (+${op.writes.byResource.leases?.ok ?? 0} Lease)`,
      baseline: base ? String(base.writes.ok + base.writes.failed) : 'n/a',
      ratio: '',
      target: '0',
      result: contentWrites === 0 ? 'pass' : 'miss',
      required: true,
    },
    {
      measure,
      figure: 'reads: LISTs per watched kind; GETs of targets',
      // Where the apiserver serves watch-lists (kube/watch-list.ts) the caches fill from watches: no LIST at all.
      operator: `${lists.length > 0 ? lists.map(([k, v]) => `${k.slice(5)} ${v}`).join(', ') : `no LIST (watch-lists: ${watches(op)})`}; GET ${gets(op)}`,
      baseline: base ? `${Object.entries(base.requests).filter(([k]) => k.startsWith('LIST ')).map(([k, v]) => `${k.slice(5)} ${v}`).join(', ')}; GET ${gets(base)}` : 'n/a',
      ratio: '',
      target: '<= 1 LIST per watched kind, 0 GETs of targets',
      result: lists.every(([, v]) => v <= 1) && gets(op) === 0 ? 'pass' : 'miss',
      required: true,
    },
  ];
}

import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { apiserverMetricsText } from '../test/support/apf.js';

/**
 * What the apiserver itself says it spent: `process_cpu_seconds_total` (its
 * own process, user + system) and `apiserver_request_total` summed by verb,
 * read from its /metrics with the admin client certificate of the bench's
 * control plane. Two readings around one controller's run give the cluster's
 * cost of that run; the counters include the bench driver's own requests,
 * which are the same for both sides.
 */
export interface ApiserverReading {
  cpuSeconds: number;
  /** apiserver_request_total by verb (GET, LIST, WATCH, POST, PUT, PATCH, DELETE, ...). */
  requests: Record<string, number>;
  /** When it was read (performance.now(), ms). */
  at?: number;
}

/**
 * Between two readings: what the apiserver spent, and the part of it that is
 * the run's work. An idle apiserver is not free (its own leases, bookmarks,
 * metrics; the controller's Lease renewals and resyncs): measured at ~0.05 CPU
 * s/s here, that is several seconds of a minute-long run, and a run slowed
 * by the machine's load would be charged for it. So the idle rate, measured
 * just before with the controller started and quiet, is taken off per
 * second of the run: netCpuSeconds is what the run's requests cost.
 */
export interface ApiserverSpend extends ApiserverReading {
  seconds: number;
  idleCpuPerSecond?: number;
  netCpuSeconds?: number;
}

export async function readApiserver(clusterDir: string): Promise<ApiserverReading> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(join(clusterDir, 'kubeconfig'));
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error(`${clusterDir}/kubeconfig has no current cluster`);
  const text = await apiserverMetricsText(server, join(clusterDir, 'pki'));
  return { ...parseApiserverMetrics(text), at: performance.now() };
}

/** The apiserver's CPU rate over `ms` of quiet (CPU seconds per second), and the reading at its end. */
export async function readIdleApiserver(clusterDir: string, ms: number): Promise<{ idleCpuPerSecond: number; reading: ApiserverReading }> {
  const start = await readApiserver(clusterDir);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const reading = await readApiserver(clusterDir);
  return { idleCpuPerSecond: idleRate(start, reading), reading };
}

function idleRate(start: ApiserverReading, end: ApiserverReading): number {
  const seconds = ((end.at ?? 0) - (start.at ?? 0)) / 1000;
  return seconds > 0 ? Math.max(0, (end.cpuSeconds - start.cpuSeconds) / seconds) : 0;
}

export function parseApiserverMetrics(text: string): ApiserverReading {
  let cpuSeconds = Number.NaN;
  const requests: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('process_cpu_seconds_total ')) cpuSeconds = Number(line.slice('process_cpu_seconds_total '.length));
    const match = /^apiserver_request_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const verb = /(?:^|,)verb="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? 'unknown';
    requests[verb] = (requests[verb] ?? 0) + Number(match[2]);
  }
  if (!Number.isFinite(cpuSeconds)) throw new Error('no process_cpu_seconds_total on the apiserver /metrics');
  return { cpuSeconds, requests };
}

/** after - before: CPU seconds and requests by verb spent between two readings; with an idle rate, the net of it too. */
export function apiserverSpent(before: ApiserverReading, after: ApiserverReading, idleCpuPerSecond?: number): ApiserverSpend {
  const requests: Record<string, number> = {};
  for (const [verb, count] of Object.entries(after.requests)) {
    const delta = count - (before.requests[verb] ?? 0);
    if (delta > 0) requests[verb] = delta;
  }
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const seconds = r2(((after.at ?? 0) - (before.at ?? 0)) / 1000);
  const cpuSeconds = r2(after.cpuSeconds - before.cpuSeconds);
  return {
    cpuSeconds,
    requests,
    seconds,
    ...(idleCpuPerSecond !== undefined ? { idleCpuPerSecond: Math.round(idleCpuPerSecond * 1000) / 1000, netCpuSeconds: r2(cpuSeconds - idleCpuPerSecond * seconds) } : {}),
  };
}

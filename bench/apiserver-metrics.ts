import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

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
}

export async function readApiserver(clusterDir: string): Promise<ApiserverReading> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(join(clusterDir, 'kubeconfig'));
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error(`${clusterDir}/kubeconfig has no current cluster`);
  const pki = join(clusterDir, 'pki');
  const url = new URL('/metrics', server);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`apiserver /metrics answered ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('apiserver /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
  return parseApiserverMetrics(text);
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

/** after - before: CPU seconds and requests by verb spent between two readings. */
export function apiserverSpent(before: ApiserverReading, after: ApiserverReading): ApiserverReading {
  const requests: Record<string, number> = {};
  for (const [verb, count] of Object.entries(after.requests)) {
    const delta = count - (before.requests[verb] ?? 0);
    if (delta > 0) requests[verb] = delta;
  }
  return { cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 100) / 100, requests };
}

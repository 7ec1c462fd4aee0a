import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * The apiserver's own count of the requests it served
 * (`apiserver_request_total` on its /metrics), read with the bench's admin
 * kubeconfig. It has no client label: a window measured with it must hold
 * no other client's requests of the kinds counted.
 */
export async function readRequestTotals(kubeConfig: KubeConfig): Promise<RequestSample[]> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the bench kubeconfig has no current cluster');
  const url = new URL('/metrics', server);
  const options: import('node:https').RequestOptions & { headers: Record<string, string> } = { host: url.hostname, port: url.port, path: url.pathname, timeout: 10_000, headers: {} };
  await kubeConfig.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`apiserver /metrics answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('apiserver /metrics timed out')));
    req.on('error', reject);
    req.end();
  });
  return parseRequestTotal(text);
}

/** Requests served between two readings, by `VERB resource` (verbs as the apiserver labels them: LIST, GET, WATCH, CREATE, UPDATE, PATCH, ...). */
export function requestsBetween(before: RequestSample[], after: RequestSample[], resources: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const verbs = new Set(after.map((s) => s.labels.verb ?? ''));
  for (const resource of resources) {
    for (const verb of verbs) {
      const match = { verb, resource, subresource: '' };
      const n = sumRequests(after, match) - sumRequests(before, match);
      if (n > 0) out[`${verb} ${resource}`] = n;
      const status = { verb, resource, subresource: 'status' };
      const s = sumRequests(after, status) - sumRequests(before, status);
      if (s > 0) out[`${verb} ${resource}/status`] = s;
    }
  }
  return out;
}

export interface RequestSample {
  labels: Record<string, string>;
  value: number;
}

/** The `apiserver_request_total` samples of a Prometheus text exposition (as test/support/apiserver-metrics.ts, which loads the tests' kubeconfig on import). */
export function parseRequestTotal(text: string): RequestSample[] {
  const samples: RequestSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^apiserver_request_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ labels, value: Number(match[2]) });
  }
  if (samples.length === 0) throw new Error('no apiserver_request_total samples on /metrics');
  return samples;
}

function sumRequests(samples: RequestSample[], match: Record<string, string>): number {
  return samples.filter((s) => Object.entries(match).every(([label, want]) => (s.labels[label] ?? '') === want)).reduce((sum, s) => sum + s.value, 0);
}

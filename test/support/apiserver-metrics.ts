import { join } from 'node:path';
import { clusterDir, kubeconfigPath } from './paths.js';
import { testKubeConfig } from './kube.js';
import { apiserverMetricsText } from './apf.js';

/** One sample of the apiserver's `apiserver_request_total` counter. */
export interface RequestSample {
  labels: Record<string, string>;
  value: number;
}

/**
 * The apiserver's own count of the requests it served (`apiserver_request_total`
 * on its /metrics, read with the admin client certificate). It counts every
 * client's requests (no label names the client), so a test that attributes a
 * change to the operator must make no such requests itself in between.
 */
export async function apiserverRequests(): Promise<RequestSample[]> {
  const server = testKubeConfig().getCurrentCluster()?.server;
  if (!server) throw new Error(`${kubeconfigPath} has no current cluster`);
  const text = await apiserverMetricsText(server, join(clusterDir, 'pki'));
  return parseRequestTotal(text);
}

/** The `apiserver_request_total` samples of a Prometheus text exposition. */
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

/** The sum of the samples whose labels include every given label value (e.g. { verb: 'GET', resource: 'configmaps' }). */
export function sumRequests(samples: RequestSample[], match: Record<string, string | string[]>): number {
  return samples
    .filter((s) => Object.entries(match).every(([label, want]) => (Array.isArray(want) ? want : [want]).includes(s.labels[label] ?? '')))
    .reduce((sum, s) => sum + s.value, 0);
}

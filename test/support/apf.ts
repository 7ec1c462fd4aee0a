import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { FlowcontrolApiserverV1Api, type KubeConfig } from '@kubernetes/client-node';

/**
 * API Priority and Fairness, configured to throttle one user hard: a
 * FlowSchema matching only that user, sending it to a PriorityLevelConfiguration
 * of type Limited with nominalConcurrencyShares 1, no borrowing, and
 * limitResponse Reject, so the apiserver answers 429 with Retry-After as soon
 * as two of the user's requests overlap. A "ballast" level with many shares
 * and no flow makes the one share worth 1 seat: the seats of a level are
 * ceil(serverConcurrencyLimit * shares / sum of all shares), 600 * 1 / ~5,250
 * here. (The default levels' shares sum to 245: 1 share alone would be 3 seats.)
 *
 * Used by the e2e throttling test and the bench's throttle phase, each on its
 * own control plane, so names are fixed.
 */
export const THROTTLE_FLOW_SCHEMA = 'configpush-throttled';
export const THROTTLE_PRIORITY_LEVEL = 'configpush-throttled';
export const BALLAST_PRIORITY_LEVEL = 'configpush-ballast';

export interface Subject {
  /** A ServiceAccount (the manifests' operator identity) ... */
  serviceAccount?: { namespace: string; name: string };
  /** ... or a user name. */
  user?: string;
}

function api(admin: KubeConfig): FlowcontrolApiserverV1Api {
  return admin.makeApiClient(FlowcontrolApiserverV1Api);
}

const notFound = (err: unknown) => (err as { code?: number }).code === 404;
const exists = (err: unknown) => (err as { code?: number }).code === 409;

/** Sends `subject`'s every request (resources and non-resource URLs) to a 1-seat level that rejects. */
export async function throttleSubject(admin: KubeConfig, subject: Subject): Promise<void> {
  const flow = api(admin);
  const limited = (name: string, shares: number) => ({
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'PriorityLevelConfiguration',
    metadata: { name },
    spec: {
      type: 'Limited',
      limited: { nominalConcurrencyShares: shares, lendablePercent: 0, borrowingLimitPercent: 0, limitResponse: { type: 'Reject' } },
    },
  });
  for (const body of [limited(BALLAST_PRIORITY_LEVEL, 5000), limited(THROTTLE_PRIORITY_LEVEL, 1)]) {
    await flow.createPriorityLevelConfiguration({ body }).catch((err: unknown) => {
      if (!exists(err)) throw err;
    });
  }
  const subjects = subject.serviceAccount
    ? [{ kind: 'ServiceAccount', serviceAccount: subject.serviceAccount }]
    : [{ kind: 'User', user: { name: subject.user ?? '' } }];
  await flow
    .createFlowSchema({
      body: {
        apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
        kind: 'FlowSchema',
        metadata: { name: THROTTLE_FLOW_SCHEMA },
        spec: {
          // Before every default schema (service-accounts is 9000, global-default 9900), after exempt (1).
          matchingPrecedence: 100,
          priorityLevelConfiguration: { name: THROTTLE_PRIORITY_LEVEL },
          distinguisherMethod: { type: 'ByUser' },
          rules: [
            {
              subjects,
              resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], clusterScope: true, namespaces: ['*'] }],
              nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            },
          ],
        },
      },
    })
    .catch((err: unknown) => {
      if (!exists(err)) throw err;
    });
}

/** Lifts the throttle: the subject's requests fall back to the default schemas. */
export async function liftThrottle(admin: KubeConfig): Promise<void> {
  const flow = api(admin);
  await flow.deleteFlowSchema({ name: THROTTLE_FLOW_SCHEMA }).catch((err: unknown) => {
    if (!notFound(err)) throw err;
  });
  for (const name of [THROTTLE_PRIORITY_LEVEL, BALLAST_PRIORITY_LEVEL]) {
    await flow.deletePriorityLevelConfiguration({ name }).catch((err: unknown) => {
      if (!notFound(err)) throw err;
    });
  }
}

/** The apiserver's /metrics text, read with the admin client certificate of `pkiDir`. */
export async function apiserverMetricsText(server: string, pkiDir: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const url = new URL('/metrics', server);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca: readFileSync(join(pkiDir, 'ca.crt')),
        cert: readFileSync(join(pkiDir, 'admin.crt')),
        key: readFileSync(join(pkiDir, 'admin.key')),
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
}

/** The sum of a metric's samples whose labels include every one of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{\s]+(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const have: Record<string, string> = {};
    for (const pair of (match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[pair[1] ?? ''] = pair[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(match[2]);
  }
  return sum;
}

/** What APF did with the throttled schema's requests so far: dispatched (served) and rejected (429). */
export interface ApfCounts {
  dispatched: number;
  rejected: number;
  /** The level's nominal seats (1 once the configuration is in effect; 0 before). */
  seats: number;
}

export function apfCounts(text: string): ApfCounts {
  return {
    dispatched: metricSum(text, 'apiserver_flowcontrol_dispatched_requests_total', { flow_schema: THROTTLE_FLOW_SCHEMA }),
    rejected: metricSum(text, 'apiserver_flowcontrol_rejected_requests_total', { flow_schema: THROTTLE_FLOW_SCHEMA }),
    seats: metricSum(text, 'apiserver_flowcontrol_nominal_limit_seats', { priority_level: THROTTLE_PRIORITY_LEVEL }),
  };
}

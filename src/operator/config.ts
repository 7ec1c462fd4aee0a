import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerOptions } from '../configpush/setup.js';

export interface OperatorConfig {
  kubeconfig?: string;
  /** host:port for /metrics; '' disables it. */
  metricsAddress: string;
  /** host:port for /healthz and /readyz; '' disables it. */
  healthAddress: string;
  requestTimeoutMs: number;
  /** The client-side request budget (client-go's QPS/burst); qps 0 = unlimited. See docs/throttling.md. */
  kubeApi: { qps: number; burst: number };
  controller: ControllerOptions;
  /** Present when leader election is on. */
  leaderElection?: { namespace: string; name: string; identity: string };
}

/**
 * The request budget's default: measured, see docs/throttling.md. The rate
 * is above what the operator sends at its full throughput on the bench
 * machine, and the burst covers one push fanned out to 5,000 namespaces
 * (5,004 requests), so neither paces the operator's own work there; it only
 * bounds a runaway (a bug that loops on requests) to a rate the apiserver's
 * priority and fairness can absorb. (A burst of 1,000 held that fan-out to
 * ~610 targets/s, where the apiserver took ~850 without it.)
 */
export const DEFAULT_KUBE_API_QPS = 500;
export const DEFAULT_KUBE_API_BURST = 5000;

const USAGE = `usage: configpush-operator [flags]
  --kubeconfig PATH          kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then in-cluster)
  --workers N                concurrent reconciles (default ${DEFAULT_CONTROLLER_OPTIONS.workers})
  --resync-period SECONDS    re-queue every push this often (default ${DEFAULT_CONTROLLER_OPTIONS.resyncPeriodMs / 1000})
  --relist-period SECONDS    re-list watched objects this often (default ${DEFAULT_CONTROLLER_OPTIONS.relistPeriodMs / 1000})
  --target-concurrency N     targets of one push written concurrently (default ${DEFAULT_CONTROLLER_OPTIONS.targetConcurrency})
  --request-timeout SECONDS  per-request timeout against the apiserver (default 30)
  --kube-api-qps N           client-side budget: apiserver requests per second, watches exempt; 0 = unlimited (default ${DEFAULT_KUBE_API_QPS})
  --kube-api-burst N         requests the budget lets through at once (default ${DEFAULT_KUBE_API_BURST})
  --metrics-address HOST:PORT  serve /metrics (default :8080; '' disables)
  --health-address HOST:PORT   serve /healthz and /readyz (default :8081; '' disables)
  --leader-elect             run only while holding a Lease (for several replicas)
  --leader-election-namespace NS  namespace of the Lease (default $POD_NAMESPACE, else configpush-system)
  --leader-election-id NAME  name of the Lease (default configpush-operator-leader)
  --require-service-account  refuse ConfigPushes without spec.serviceAccountName`;

export class ConfigError extends Error {}

/** --help: not an error; the usage goes to stdout and the program exits 0. */
export class HelpRequested extends ConfigError {}

/** Flags win over environment variables (CONFIGPUSH_WORKERS, ...), which win over defaults. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        workers: { type: 'string' },
        'resync-period': { type: 'string' },
        'relist-period': { type: 'string' },
        'target-concurrency': { type: 'string' },
        'request-timeout': { type: 'string' },
        'kube-api-qps': { type: 'string' },
        'kube-api-burst': { type: 'string' },
        'metrics-address': { type: 'string' },
        'health-address': { type: 'string' },
        'leader-elect': { type: 'boolean' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        'require-service-account': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.help) throw new HelpRequested(USAGE);

  const number = (flag: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new ConfigError(`--${flag} must be a number >= ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
  const d = DEFAULT_CONTROLLER_OPTIONS;
  const config: OperatorConfig = {
    metricsAddress: parsed['metrics-address'] ?? env.CONFIGPUSH_METRICS_ADDRESS ?? ':8080',
    healthAddress: parsed['health-address'] ?? env.CONFIGPUSH_HEALTH_ADDRESS ?? ':8081',
    requestTimeoutMs: number('request-timeout', parsed['request-timeout'] ?? env.CONFIGPUSH_REQUEST_TIMEOUT, 30, 1) * 1000,
    kubeApi: kubeApiBudget(parsed['kube-api-qps'] ?? env.CONFIGPUSH_KUBE_API_QPS, parsed['kube-api-burst'] ?? env.CONFIGPUSH_KUBE_API_BURST, number),
    controller: {
      ...d,
      workers: Math.floor(number('workers', parsed.workers ?? env.CONFIGPUSH_WORKERS, d.workers, 1)),
      resyncPeriodMs: number('resync-period', parsed['resync-period'] ?? env.CONFIGPUSH_RESYNC_PERIOD, d.resyncPeriodMs / 1000, 1) * 1000,
      relistPeriodMs: number('relist-period', parsed['relist-period'] ?? env.CONFIGPUSH_RELIST_PERIOD, d.relistPeriodMs / 1000, 1) * 1000,
      targetConcurrency: Math.floor(
        number('target-concurrency', parsed['target-concurrency'] ?? env.CONFIGPUSH_TARGET_CONCURRENCY, d.targetConcurrency, 1),
      ),
      requireServiceAccount: parsed['require-service-account'] === true || env.CONFIGPUSH_REQUIRE_SERVICE_ACCOUNT === 'true',
    },
  };
  if (parsed['leader-elect'] === true || env.CONFIGPUSH_LEADER_ELECT === 'true') {
    config.leaderElection = {
      namespace: parsed['leader-election-namespace'] ?? env.POD_NAMESPACE ?? 'configpush-system',
      name: parsed['leader-election-id'] ?? 'configpush-operator-leader',
      // Any unique name works: it only says who holds the lease, it never names an operation.
      identity: env.POD_NAME ?? `${hostname()}_${randomUUID().slice(0, 8)}`,
    };
  }
  const kubeconfig = parsed.kubeconfig ?? env.KUBECONFIG;
  if (kubeconfig) config.kubeconfig = kubeconfig;
  return config;
}

/** --kube-api-qps / --kube-api-burst: qps 0 turns the budget off; otherwise the burst must hold at least one request. */
function kubeApiBudget(
  qpsValue: string | undefined,
  burstValue: string | undefined,
  number: (flag: string, value: string | undefined, fallback: number, min: number) => number,
): OperatorConfig['kubeApi'] {
  const qps = number('kube-api-qps', qpsValue, DEFAULT_KUBE_API_QPS, 0);
  const burst = number('kube-api-burst', burstValue, DEFAULT_KUBE_API_BURST, 0);
  if (!Number.isInteger(burst)) throw new ConfigError(`--kube-api-burst must be a whole number, got ${JSON.stringify(burstValue)}`);
  if (qps > 0 && burst < 1) throw new ConfigError(`--kube-api-burst must be >= 1 when --kube-api-qps is above 0 (0 turns the budget off), got ${burst}`);
  return { qps, burst };
}

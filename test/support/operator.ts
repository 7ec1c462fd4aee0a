import type { Middleware } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS, type OperatorConfig } from '../../src/operator/config.js';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerOptions } from '../../src/configpush/setup.js';
import { startOperator, type Operator } from '../../src/operator/operator.js';
import { existsSync } from 'node:fs';
import { kubeconfigPath, operatorKubeconfigPath } from './paths.js';

export interface TestOperatorOptions {
  middleware?: Middleware[];
  controller?: Partial<ControllerOptions>;
  leaderElection?: OperatorConfig['leaderElection'];
  onLostLeadership?: () => void;
  /** Defaults to the manifests' ServiceAccount (see operator-identity.ts). */
  kubeconfig?: string;
  /** Serve /metrics and the probes (off by default). */
  http?: { metricsAddress: string; healthAddress: string };
  /** The operator's logger (default: stderr at warn, or LOG_LEVEL); a test that reads the log passes its own. */
  log?: Logger;
  /** The client-side request budget (default: the operator's defaults). */
  kubeApi?: OperatorConfig['kubeApi'];
}

/**
 * The operator authenticates as the manifests' ServiceAccount whenever the
 * e2e setup wrote its kubeconfig, so every e2e test also proves the shipped
 * RBAC suffices. (Suites with their own setup that skip it run as admin.)
 */
function defaultKubeconfig(): string {
  return existsSync(operatorKubeconfigPath) ? operatorKubeconfigPath : kubeconfigPath;
}

export interface TestOperator extends Operator {
  /** Reconciles run so far, per namespace/name key. */
  reconciles: Map<string, number>;
}

/**
 * Runs the real operator in-process against the test control plane. Logs go
 * to stderr at warn level (LOG_LEVEL overrides) so failures are visible
 * without drowning the test output.
 */
export async function startTestOperator(options: TestOperatorOptions = {}): Promise<TestOperator> {
  const log = options.log ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const reconciles = new Map<string, number>();
  const onReconcile = (key: string) => reconciles.set(key, (reconciles.get(key) ?? 0) + 1);
  const operator = await startOperator(
    {
      kubeconfig: options.kubeconfig ?? defaultKubeconfig(),
      metricsAddress: options.http?.metricsAddress ?? '',
      healthAddress: options.http?.healthAddress ?? '',
      requestTimeoutMs: 10_000,
      kubeApi: options.kubeApi ?? { qps: DEFAULT_KUBE_API_QPS, burst: DEFAULT_KUBE_API_BURST },
      controller: { ...DEFAULT_CONTROLLER_OPTIONS, backoffBaseMs: 50, backoffMaxMs: 5_000, ...options.controller },
      ...(options.leaderElection ? { leaderElection: options.leaderElection } : {}),
    },
    log,
    {
      onReconcile,
      ...(options.middleware ? { middleware: options.middleware } : {}),
      ...(options.onLostLeadership ? { onLostLeadership: options.onLostLeadership } : {}),
    },
  );
  return Object.assign(operator, { reconciles });
}

/** Total reconciles the operator has run, from its own metrics. */
export async function reconcileCount(operator: Operator): Promise<number> {
  const metric = await operator.metrics.reconciles.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

/** Waits until the operator has nothing queued or running, twice in a row (start-up resyncs of older pushes, echoes of its own writes). */
export async function settled(operator: Operator, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietChecks = 0;
  while (quietChecks < 2) {
    if (Date.now() > deadline) throw new Error('the operator did not settle');
    const quiet = operator.controller.queue.length === 0 && operator.controller.queue.inFlight === 0;
    quietChecks = quiet ? quietChecks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

import type { Middleware } from '@kubernetes/client-node';
import { pino } from 'pino';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerOptions } from '../../src/controller/controller.js';
import { startOperator, type Operator } from '../../src/operator.js';
import { kubeconfigPath } from './paths.js';

export interface TestOperatorOptions {
  middleware?: Middleware[];
  controller?: Partial<ControllerOptions>;
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
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const reconciles = new Map<string, number>();
  const onReconcile = (key: string) => reconciles.set(key, (reconciles.get(key) ?? 0) + 1);
  const operator = await startOperator(
    {
      kubeconfig: kubeconfigPath,
      metricsAddress: '',
      healthAddress: '',
      requestTimeoutMs: 10_000,
      controller: { ...DEFAULT_CONTROLLER_OPTIONS, backoffBaseMs: 50, backoffMaxMs: 5_000, ...options.controller },
    },
    log,
    { onReconcile, ...(options.middleware ? { middleware: options.middleware } : {}) },
  );
  return Object.assign(operator, { reconciles });
}

/** Total reconciles the operator has run, from its own metrics. */
export async function reconcileCount(operator: Operator): Promise<number> {
  const metric = await operator.metrics.reconciles.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

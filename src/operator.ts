import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { OperatorConfig } from './config.js';
import { Controller } from './controller/controller.js';
import { loadKubeConfig, makeClients, type ClientOptions } from './kube/clients.js';
import { startHttpServer } from './http-server.js';
import { createMetrics, type Metrics } from './metrics.js';

/** A running operator: the controller plus its HTTP endpoints. Tests start several in one process. */
export interface Operator {
  controller: Controller;
  metrics: Metrics;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra client middleware (tests inject faults and observe requests here). */
  middleware?: ClientOptions['middleware'];
  defaultMetrics?: boolean;
}

export async function startOperator(config: OperatorConfig, log: Logger, options: StartOptions = {}): Promise<Operator> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const clients = makeClients(kubeConfig, {
    requestTimeoutMs: config.requestTimeoutMs,
    ...(options.middleware ? { middleware: options.middleware } : {}),
  });
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const controller = new Controller(clients, metrics, log, config.controller);
  let server: Server | undefined;
  if (config.httpAddress) server = await startHttpServer(config.httpAddress, metrics, () => controller.hasSynced(), log);
  await controller.start();
  return {
    controller,
    metrics,
    async stop() {
      await controller.stop();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

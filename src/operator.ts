import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { OperatorConfig } from './config.js';
import { Controller, type ReconcileObserver } from './controller/controller.js';
import { loadKubeConfig, makeClients, type ClientOptions } from './kube/clients.js';
import { closeServer, startHttpServer } from './http-server.js';
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
  onReconcile?: ReconcileObserver;
}

export async function startOperator(config: OperatorConfig, log: Logger, options: StartOptions = {}): Promise<Operator> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const clients = makeClients(kubeConfig, {
    requestTimeoutMs: config.requestTimeoutMs,
    ...(options.middleware ? { middleware: options.middleware } : {}),
  });
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const controller = new Controller(clients, metrics, log, config.controller, options.onReconcile);
  const servers: Server[] = [];
  const text = (status: number, body: string) => ({ status, contentType: 'text/plain', body });
  if (config.healthAddress) {
    servers.push(
      await startHttpServer(
        config.healthAddress,
        {
          '/healthz': async () => text(200, 'ok'),
          // Ready once the caches have synced: before that a reconcile would see a partial world.
          '/readyz': async () => (controller.hasSynced() ? text(200, 'ok') : text(503, 'caches not synced')),
        },
        log,
      ),
    );
  }
  if (config.metricsAddress) {
    servers.push(
      await startHttpServer(
        config.metricsAddress,
        { '/metrics': async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }) },
        log,
      ),
    );
  }
  await controller.start();
  return {
    controller,
    metrics,
    async stop() {
      await controller.stop();
      await Promise.all(servers.map(closeServer));
    },
  };
}

import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { setupConfigPushController } from '../configpush/setup.js';
import { ClientFactory, loadKubeConfig, type ClientOptions } from '../kube/clients.js';
import type { Controller, ReconcileObserver } from '../runtime/controller.js';
import { DEFAULT_LEASE_TIMING, LeaderElector } from '../runtime/leader-elector.js';
import type { OperatorConfig } from './config.js';
import { closeServer, startHttpServer } from './http-server.js';
import { createMetrics, type Metrics } from './metrics.js';

/**
 * The composition root: builds the clients, the metrics and the ConfigPush
 * controller, serves the HTTP endpoints, and runs the controller directly or
 * under leader election.
 */
export interface Operator {
  controller: Controller;
  metrics: Metrics;
  /** Whether this instance is doing the work (always true without leader election). */
  isLeader(): boolean;
  /** Graceful stop: no new work, in-flight reconciles finish, the Lease is released. */
  stop(): Promise<void>;
  /** Stops without releasing the Lease: what a crash looks like to the other replicas. */
  abandon(): Promise<void>;
}

export interface StartOptions {
  /** Extra client middleware (tests inject faults and observe requests here). */
  middleware?: ClientOptions['middleware'];
  defaultMetrics?: boolean;
  onReconcile?: ReconcileObserver;
  /** Called when leadership is lost; main() exits the process, as client-go does. */
  onLostLeadership?: () => void;
  /** Overrides the Lease timing (tests); defaults to client-go's 15 s / 10 s / 2 s. */
  leaseTiming?: typeof DEFAULT_LEASE_TIMING;
}

export async function startOperator(config: OperatorConfig, log: Logger, options: StartOptions = {}): Promise<Operator> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const factory = new ClientFactory(kubeConfig, {
    requestTimeoutMs: config.requestTimeoutMs,
    budget: config.kubeApi,
    throttleObserver: metrics.throttleObserver,
    ...(config.leaderElection ? { userAgent: `configpush-operator (${config.leaderElection.identity})` } : {}),
    ...(options.middleware ? { middleware: options.middleware } : {}),
  });
  const { controller, events } = setupConfigPushController(factory, metrics, log, config.controller, options.onReconcile);

  let elector: LeaderElector | undefined;
  let controllerStarted: Promise<void> | undefined;
  const startController = () => (controllerStarted ??= controller.start());
  if (config.leaderElection) {
    elector = new LeaderElector(
      factory.operator.coordination,
      { ...config.leaderElection, ...(options.leaseTiming ?? DEFAULT_LEASE_TIMING) },
      {
        onStartedLeading: () => {
          metrics.isLeader.set(1);
          void startController();
        },
        onStoppedLeading: () => {
          metrics.isLeader.set(0);
          void controller.stop();
          (options.onLostLeadership ?? (() => process.exit(1)))();
        },
      },
      log,
    );
  }
  const isLeader = () => (elector ? elector.isLeader() : true);

  const servers: Server[] = [];
  const text = (status: number, body: string) => ({ status, contentType: 'text/plain', body });
  try {
    if (config.healthAddress) {
      servers.push(
        await startHttpServer(
          { flag: '--health-address', env: 'CONFIGPUSH_HEALTH_ADDRESS', address: config.healthAddress },
          {
            '/healthz': async () => text(200, 'ok'),
            // A standby replica is ready (it is healthy and waiting); the leader
            // is ready once its caches have synced.
            '/readyz': async () => (!isLeader() || controller.hasSynced() ? text(200, 'ok') : text(503, 'caches not synced')),
          },
          log,
        ),
      );
    }
    if (config.metricsAddress) {
      servers.push(
        await startHttpServer(
          { flag: '--metrics-address', env: 'CONFIGPUSH_METRICS_ADDRESS', address: config.metricsAddress },
          { '/metrics': async () => ({ status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }) },
          log,
        ),
      );
    }
  } catch (err) {
    // Nothing else has started yet: close what was just opened, so a caller
    // that handles the error (a test, a retry) is not left holding a port.
    await Promise.all(servers.map(closeServer));
    await factory.close();
    throw err;
  }

  if (elector) {
    metrics.isLeader.set(0);
    elector.start();
  } else {
    metrics.isLeader.set(1);
    await startController();
  }

  const shutdown = async (release: boolean) => {
    await elector?.stop(release);
    metrics.isLeader.set(0);
    if (controllerStarted) {
      await controllerStarted.catch(() => undefined);
      await controller.stop();
    }
    // Events are written behind the reconciles; give the last ones a moment.
    if (!(await events.flush(5_000))) log.warn('stopped before every event was written');
    await Promise.all(servers.map(closeServer));
    await factory.close();
  };
  return {
    controller,
    metrics,
    isLeader,
    stop: () => shutdown(true),
    abandon: () => shutdown(false),
  };
}

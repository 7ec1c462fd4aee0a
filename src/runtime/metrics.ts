import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics, named after controller-runtime's so existing dashboards
 * read them. One Registry per operator instance, so tests that run several
 * operators in one process keep their counters apart.
 */
export interface Metrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  targetWrites: Counter<'kind' | 'reason'>;
  targetsSkipped: Counter;
  conflicts: Counter<'kind'>;
  retries: Counter;
  statusWrites: Counter;
  queueDepth: Gauge;
  queueLatency: Histogram;
  driftCorrections: Counter;
  workloadRestarts: Counter<'kind'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: 'configpush_reconcile_total',
      help: 'Reconciles by result (success, requeue, error, stalled).',
      labelNames: ['result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'configpush_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    targetWrites: new Counter({
      name: 'configpush_target_writes_total',
      help: 'Successful conditional writes to targets, by kind and reason (create, new-content, drift, adopt).',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    targetsSkipped: new Counter({
      name: 'configpush_targets_skipped_total',
      help: 'Targets found already at the desired content for this owner: nothing written.',
      registers,
    }),
    conflicts: new Counter({
      name: 'configpush_write_conflicts_total',
      help: 'Target writes refused by a precondition (409 or AlreadyExists) and re-read.',
      labelNames: ['kind'],
      registers,
    }),
    retries: new Counter({
      name: 'configpush_workqueue_retries_total',
      help: 'Keys re-queued with backoff after a transient error.',
      registers,
    }),
    statusWrites: new Counter({
      name: 'configpush_status_writes_total',
      help: 'ConfigPush status writes (only made when the status changed).',
      registers,
    }),
    queueDepth: new Gauge({ name: 'configpush_workqueue_depth', help: 'Keys waiting in the work queue.', registers }),
    queueLatency: new Histogram({
      name: 'configpush_workqueue_queue_duration_seconds',
      help: 'How long a key waits in the queue before a worker takes it.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    }),
    workloadRestarts: new Counter({
      name: 'configpush_workload_restarts_total',
      help: 'Pod-template annotation writes that roll a workload, by kind (at most one per workload per operation).',
      labelNames: ['kind'],
      registers,
    }),
    driftCorrections: new Counter({
      name: 'configpush_drift_corrections_total',
      help: 'Targets restored after someone else changed them.',
      registers,
    }),
  };
}

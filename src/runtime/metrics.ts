import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The controller runtime's metrics, named after controller-runtime's so
 * existing dashboards read them. Registered on the registry the composition
 * root owns, beside the domain's (configpush/metrics.ts).
 */
export interface ControllerMetrics {
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram<'result'>;
  retries: Counter;
  queueDepth: Gauge;
  queueLatency: Histogram;
  /** 1 while this instance does the work (holds the Lease, or runs without leader election), else 0. */
  isLeader: Gauge;
}

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  return {
    reconciles: new Counter({
      name: 'configpush_reconcile_total',
      help: 'Reconciles by result (success, requeue, error).',
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
    retries: new Counter({
      name: 'configpush_workqueue_retries_total',
      help: 'Keys re-queued with backoff after a transient error.',
      registers,
    }),
    queueDepth: new Gauge({ name: 'configpush_workqueue_depth', help: 'Keys waiting in the work queue.', registers }),
    queueLatency: new Histogram({
      name: 'configpush_workqueue_queue_duration_seconds',
      help: 'How long a key waits in the queue before a worker takes it.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    }),
    // controller-runtime's leader_election_master_status. Summed over the
    // replicas it is the number of leaders: 0 for long means nobody works.
    isLeader: new Gauge({
      name: 'configpush_leader_is_leader',
      help: '1 while this replica holds the leader Lease (always 1 without --leader-elect), else 0.',
      registers,
    }),
  };
}

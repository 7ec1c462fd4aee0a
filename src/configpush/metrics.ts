import { Counter, type Registry } from 'prom-client';

/** What the ConfigPush domain counts: target writes and what they skipped, status writes, drift, restarts. */
export interface ConfigPushMetrics {
  targetWrites: Counter<'kind' | 'reason'>;
  targetsSkipped: Counter;
  conflicts: Counter<'kind'>;
  statusWrites: Counter;
  driftCorrections: Counter;
  workloadRestarts: Counter<'kind'>;
}

export function createConfigPushMetrics(registry: Registry): ConfigPushMetrics {
  const registers = [registry];
  return {
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
    statusWrites: new Counter({
      name: 'configpush_status_writes_total',
      help: 'ConfigPush status writes (only made when the status changed).',
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

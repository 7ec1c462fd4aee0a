import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConfigPush } from '../api/types.js';
import { countPushStates, type PushStateCounts } from '../core/push-states.js';

/** Where the push gauges read pushes at scrape time: the push cache, or undefined while it is not synced (a standby replica). */
export type PushSource = () => Iterable<Pick<ConfigPush, 'status'>> | undefined;

/**
 * What the ConfigPush domain counts: target writes and what they skipped,
 * status writes, drift, restarts; and what state the pushes are in.
 */
export interface ConfigPushMetrics {
  targetWrites: Counter<'kind' | 'reason'>;
  targetsSkipped: Counter;
  conflicts: Counter<'kind'>;
  statusWrites: Counter;
  driftCorrections: Counter;
  workloadRestarts: Counter<'kind'>;
  pushConditions: Gauge<'type' | 'status' | 'reason'>;
  pushRolloutPhases: Gauge<'phase'>;
  /** Points the push gauges at the push cache (setup.ts); until then they have no series. */
  observePushes(source: PushSource): void;
}

export function createConfigPushMetrics(registry: Registry): ConfigPushMetrics {
  const registers = [registry];
  let source: PushSource = () => undefined;
  // Both push gauges are read from one pass over the cache per scrape.
  // prom-client's Registry.metrics() calls every collect() in one synchronous
  // run, so the counts are kept only until that run ends (a microtask clears
  // them): nothing can change the cache in between, and a later scrape always
  // counts afresh. Should a collect ever run later, it just counts again.
  let scrapeCounts: PushStateCounts | undefined;
  const countsForThisScrape = (pushes: Iterable<Pick<ConfigPush, 'status'>>): PushStateCounts => {
    if (scrapeCounts === undefined) {
      scrapeCounts = countPushStates(pushes);
      queueMicrotask(() => {
        scrapeCounts = undefined;
      });
    }
    return scrapeCounts;
  };
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
    // Computed from the cache when scraped, not kept up to date on every
    // event: one pass over the cached pushes per scrape (for both gauges), no
    // request, no Secret data, nothing allocated per push. At 100,000 pushes
    // the pass is ~45 to 100 ms (bench/push-gauge-cost.ts); counts kept up to
    // date on every event would need each push's last contribution held
    // beside the cache (~40 B a push), which the memory row cannot spare.
    pushConditions: new Gauge({
      name: 'configpush_push_conditions',
      help: 'ConfigPushes by condition type (Ready, Reconciling, Stalled, Drifted), status and reason (a fixed set; others are "Other"). Only the leader reports.',
      labelNames: ['type', 'status', 'reason'],
      registers,
      collect() {
        this.reset();
        const pushes = source();
        if (!pushes) return;
        for (const c of countsForThisScrape(pushes).conditions) this.set({ type: c.type, status: c.status, reason: c.reason }, c.count);
      },
    }),
    pushRolloutPhases: new Gauge({
      name: 'configpush_push_rollout_phase',
      help: 'ConfigPushes by status.rollout.phase (Progressing, Waiting, Paused, Halted, Complete, Suspended; None before the first report). Only the leader reports.',
      labelNames: ['phase'],
      registers,
      collect() {
        this.reset();
        const pushes = source();
        if (!pushes) return;
        for (const [phase, count] of countsForThisScrape(pushes).phases) this.set({ phase }, count);
      },
    }),
    observePushes(next: PushSource) {
      source = next;
    },
  };
}

import type { Logger } from 'pino';

export interface ReachabilityOptions {
  /** A cheap request that succeeds once the apiserver answers again (GET /version). */
  probe(): Promise<unknown>;
  /** Called once each time the apiserver is back after an outage that at least one probe saw. */
  onBack(): void;
  /** Time between probes while it is unreachable (each plus up to 50% jitter). */
  intervalMs: number;
  log: Logger;
}

/**
 * Notices when the apiserver is back. While work is failing only because the
 * apiserver cannot be reached, per-key backoffs keep growing (during a long
 * outage, to minutes), so without this the work would resume only as those
 * delays run out, one key at a time, long after the apiserver returned. Only
 * while something is known to be unreachable does it probe, once per
 * interval: no traffic at all while everything works.
 */
export class ReachabilityProbe {
  private down = false;
  /** Probes that failed in this episode: only an outage the probe itself saw ends in onBack(). */
  private failedProbes = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ReachabilityOptions) {}

  /** A request just failed without an answer: start probing, unless already. */
  noteUnreachable(): void {
    if (this.down || this.stopped) return;
    this.down = true;
    this.failedProbes = 0;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.options.intervalMs * (1 + Math.random() * 0.5);
    this.timer = setTimeout(() => void this.tryOnce(), delay);
  }

  private async tryOnce(): Promise<void> {
    try {
      await this.options.probe();
    } catch {
      if (this.failedProbes++ === 0) this.options.log.warn('apiserver unreachable; probing until it answers');
      this.schedule();
      return;
    }
    if (this.stopped) return;
    this.down = false;
    // A first probe that answers means one request was lost, not that the
    // apiserver was away: the failed work keeps its ordinary backoff.
    if (this.failedProbes === 0) return;
    this.options.log.info({ failedProbes: this.failedProbes }, 'apiserver reachable again; retrying what failed to reach it');
    this.options.onBack();
  }
}

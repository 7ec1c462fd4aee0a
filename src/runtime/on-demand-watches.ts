import type { Logger } from 'pino';
import type { Source } from './controller.js';
import { ReferenceIndex } from './reference-index.js';

/**
 * Watches started on demand, one per group (e.g. a kind in one namespace),
 * ref-counted by the referrers (queued keys) that need them: the first
 * referrer of a group starts its watch, the last one to go stops it. This is
 * how the operator watches objects it does not own (a push's sources)
 * without a cluster-wide informer over every Secret and ConfigMap.
 *
 * It is itself a controller Source so that the controller starts and stops
 * it, but it does not gate the workers: start() resolves at once and
 * hasSynced() is always true (whoever needs the watched objects' content
 * reads them live; the watches only queue work when they change).
 */
export class OnDemandWatches implements Source {
  private readonly groups = new ReferenceIndex();
  private readonly watches = new Map<string, Source>();
  private running = false;

  constructor(
    /** Builds the watch for one group (not started). */
    private readonly create: (group: string) => Source,
    private readonly log: Logger,
    /** Told when a group's watch stops (its objects are no longer watched). */
    private readonly onStopped?: (group: string) => void,
  ) {}

  /** Replaces the groups `referrer` needs; starts and stops watches accordingly. */
  refer(referrer: string, groups: Iterable<string>): void {
    const { gained, lost } = this.groups.set(referrer, groups);
    for (const group of gained) this.open(group);
    for (const group of lost) this.close(group);
  }

  /** `referrer` is gone. */
  forget(referrer: string): void {
    this.refer(referrer, []);
  }

  /** The groups watched now. */
  active(): string[] {
    return [...this.watches.keys()];
  }

  async start(): Promise<void> {
    this.running = true;
    for (const [group, watch] of this.watches) this.launch(group, watch);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.watches.values()].map((watch) => watch.stop().catch(() => undefined)));
  }

  hasSynced(): boolean {
    return true;
  }

  retryNow(): void {
    for (const watch of this.watches.values()) watch.retryNow?.();
  }

  private open(group: string): void {
    const watch = this.create(group);
    this.watches.set(group, watch);
    if (this.running) this.launch(group, watch);
  }

  private close(group: string): void {
    const watch = this.watches.get(group);
    this.watches.delete(group);
    if (!watch) return;
    this.log.debug({ group }, 'on-demand watch stopped');
    void watch.stop().catch((err: unknown) => this.log.warn({ group, error: String(err) }, 'stopping an on-demand watch failed'));
    this.onStopped?.(group);
  }

  /** Not awaited: a watch that cannot list yet retries by itself (ResilientInformer), without holding anything up. */
  private launch(group: string, watch: Source): void {
    this.log.debug({ group }, 'on-demand watch started');
    void watch.start().catch((err: unknown) => this.log.warn({ group, error: String(err) }, 'an on-demand watch failed to start'));
  }
}

import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { V1MicroTime } from '../kube/client-node.js';
import type { Logger } from 'pino';
import { describeError, isAlreadyExists, isConflict, isNotFound } from '../kube/api-errors.js';

/**
 * Leader election on a coordination.k8s.io Lease, with client-go's timing
 * (lease 15 s, renew deadline 10 s, retry 2 s). Every Lease write is
 * conditional: create (AlreadyExists: someone else won), or replace at the
 * resourceVersion read (409: someone else moved it).
 *
 * Leader election is about efficiency, not safety: the operation key stored on
 * each target already makes two concurrent operators harmless. It keeps one
 * replica doing the work so the others don't race on status writes.
 */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  /** Called once if leadership is lost; the process should exit (a new leader may already be working). */
  onStoppedLeading(): void;
}

export class LeaderElector {
  private leading = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  /** Fires when the renew deadline passes without a renewal, even while a request hangs. */
  private watchdog: NodeJS.Timeout | undefined;
  /** The round in flight, if any: stop() waits for it before releasing the lease. */
  private round: Promise<void> | undefined;
  private lastRenew = 0;
  /** The holder's record as we last saw it, and when (our clock): client-go's skew-proof expiry check. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lease: V1Lease | undefined;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Logger,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; returns at once. A second call while campaigning does nothing. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  /**
   * Stops campaigning. A round in flight finishes first (without taking or
   * keeping the lease), so a release cannot be undone by a renewal that was
   * already on its way. With `release`, hands the lease back so a standby
   * takes over at once (graceful shutdown).
   */
  async stop(release: boolean): Promise<void> {
    const wasLeading = this.leading;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    await this.round;
    if (release && wasLeading && this.lease) {
      const lease = structuredClone(this.lease);
      const { acquireTime: _acquired, ...spec } = lease.spec ?? {};
      lease.spec = { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()) };
      try {
        await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
        this.log.info({ lease: this.options.name }, 'leader lease released');
      } catch (err) {
        this.log.warn({ error: describeError(err) }, 'could not release the leader lease');
      }
    }
    this.leading = false;
  }

  private run(): void {
    this.round = this.tick().finally(() => {
      this.round = undefined;
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), this.options.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      // When the winning write was sent. A standby counts the lease from when
      // it sees that write, which is after it was sent: so the renew deadline
      // runs from the sending, not from when the answer arrived. An answer
      // held up by the network (a partition right after the write landed)
      // would otherwise stretch this replica's leadership by its delay, past
      // the instant a standby may take the lease over.
      const sentAt = await this.tryAcquireOrRenew();
      // Stopped, or stepped down by the watchdog, while the round was in flight: its answer is stale.
      if (this.stopped) return;
      // An answer that took the whole deadline is too old to lead on; the next round renews.
      if (sentAt !== undefined && Date.now() - sentAt < this.options.renewDeadlineMs) {
        this.lastRenew = sentAt;
        this.armWatchdog();
        if (!this.leading) {
          this.leading = true;
          this.log.info({ identity: this.options.identity, lease: this.options.name }, 'became leader');
          // Not awaited: a slow callback must not hold up the renewals.
          Promise.resolve()
            .then(() => this.callbacks.onStartedLeading())
            .catch((err: unknown) => this.log.error({ error: describeError(err) }, 'onStartedLeading failed'));
        }
      }
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ error: describeError(err) }, 'leader election round failed');
    }
    if (this.leading && Date.now() - this.lastRenew > this.options.renewDeadlineMs) {
      this.stepDown();
      return;
    }
    this.schedule();
  }

  /**
   * A leader that has not renewed within the renew deadline steps down, even
   * if a renewal request is still hanging (a partition that drops packets):
   * otherwise it would lead on past the lease's expiry, beside the standby
   * that took over. The deadline is shorter than the lease, as in client-go,
   * and runs from when the last successful renewal was sent.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const remaining = this.lastRenew + this.options.renewDeadlineMs - Date.now();
    this.watchdog = setTimeout(
      () => {
        if (this.leading && !this.stopped && Date.now() - this.lastRenew >= this.options.renewDeadlineMs) this.stepDown();
      },
      Math.max(0, remaining),
    );
  }

  private stepDown(): void {
    this.leading = false;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.log.error({ identity: this.options.identity }, 'lost leadership: could not renew the lease in time');
    this.callbacks.onStoppedLeading();
  }

  /** One round: when we hold the lease after it, the time (Date.now()) its winning write was sent; otherwise undefined. */
  private async tryAcquireOrRenew(): Promise<number | undefined> {
    const { name, namespace, identity } = this.options;
    const now = new V1MicroTime(Date.now());
    const durationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        const sentAt = Date.now();
        this.lease = await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        return sentAt;
      } catch (createErr) {
        if (isAlreadyExists(createErr)) return undefined;
        throw createErr;
      }
    }

    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = String(spec.renewTime ?? '');
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const heldByOther = holder !== '' && holder !== identity;
    const expired = Date.now() > this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && !expired) return undefined;

    const body: V1Lease = structuredClone(lease);
    body.spec = {
      ...spec,
      // Times come back as strings; the serializer wants MicroTime objects (a
      // plain Date has 3 fraction digits and is rejected).
      ...(spec.acquireTime ? { acquireTime: new V1MicroTime(String(spec.acquireTime)) } : {}),
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      ...(holder === identity ? {} : { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const sentAt = Date.now();
      this.lease = await this.api.replaceNamespacedLease({ name, namespace, body });
      return sentAt;
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw err;
    }
  }
}

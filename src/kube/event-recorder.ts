import { createHash } from 'node:crypto';
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isAlreadyExists } from './api-errors.js';

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

/** The reasons the operator emits (CamelCase, per the API conventions). */
export type EventReason = 'Applied' | 'Conflict' | 'Contended' | 'Failed' | 'DriftCorrected' | 'Deleted' | 'Released' | 'RolledBack' | 'RevisionNotRecorded';

/**
 * Whether an Event may repeat. A `repeatable` one (a failure, a conflict, a
 * drift) may recur in a loop, so the recorder keeps a series for it to join
 * for the whole window. A `once` Event records what cannot recur with the same
 * message: an operation applied to its targets (the message names the
 * operation's key, and the key makes each target's write happen once). It
 * keeps no series: after a burst of new pushes, ~220 bytes each for the
 * window, for repeats that never come (bench memory phase, heap snapshot).
 */
export type EventOccurrence = 'repeatable' | 'once';

interface Series {
  name: string;
  namespace: string;
  count: number;
  /** Occurrences not yet written to the apiserver. */
  pending: number;
  lastWrittenAt: number;
  firstSeenAt: number;
}

export interface EventRecorderOptions {
  component: string;
  /** Repeats of one (object, reason, message) within this window join one Event. */
  windowMs: number;
  /** A series is written back at most this often; counts in between accumulate. */
  minUpdateIntervalMs: number;
  /** emit(): Event writes at most this many at a time (default 2)... */
  maxConcurrentWrites?: number;
  /** ...and at most this many waiting; more are dropped and logged, as client-go's broadcaster drops when its buffer is full (default 1000). */
  maxQueued?: number;
  /**
   * Drops are logged at most once per this interval, as a count (default
   * 10 s): a push whose 5,000 targets all fail drops thousands of Events at
   * once, and a warning each was a log flood of its own.
   */
  dropReportIntervalMs?: number;
}

/**
 * Records core/v1 Events, aggregating repeats like client-go's correlator and
 * kube-rs's recorder: the same (object, reason, message) within the window
 * bumps one Event's count instead of creating another, and updates to it are
 * rate-limited, so a failure loop cannot flood the apiserver. Events are
 * telemetry: a failure to record one is logged, never raised.
 */
export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly queued: (() => Promise<void>)[] = [];
  private writing = 0;
  private idleWaiters: (() => void)[] = [];
  private dropped = 0;
  /** Drops not yet logged, and when they were last logged (drop reports are rate-limited). */
  private droppedUnreported = 0;
  private lastDropReportAt: number | undefined;
  private dropReportTimer: NodeJS.Timeout | undefined;
  private lastDropped: { reason: EventReason; namespace: string; configpush: string } | undefined;

  constructor(
    private readonly core: CoreV1Api,
    private readonly log: Logger,
    private readonly options: EventRecorderOptions,
  ) {}

  /**
   * Records an Event without making the caller wait, like client-go's
   * recorder: a reconcile's worker is not held for a write that is only
   * telemetry (it was the fourth request on each new push's critical path).
   * Writes run in order of emission, a few at a time, so a burst cannot crowd
   * the apiserver with Events.
   */
  emit(object: InvolvedObject, type: EventType, reason: EventReason, message: string, occurrence: EventOccurrence = 'repeatable'): void {
    if (this.queued.length >= (this.options.maxQueued ?? 1000)) {
      this.dropped += 1;
      this.droppedUnreported += 1;
      this.lastDropped = { reason, namespace: object.namespace, configpush: object.name };
      this.reportDrops();
      return;
    }
    this.queued.push(() => this.record(object, type, reason, message, occurrence));
    this.pump();
  }

  /**
   * Logs the drops not yet logged, now if the last report is older than the
   * interval, else once it is (one timer, unref'd: a pending report never
   * holds the process). The line names the Event that was dropped last.
   * `now`: whatever the interval (a stop, whose process may exit before the timer).
   */
  private reportDrops(now = false): void {
    const interval = this.options.dropReportIntervalMs ?? 10_000;
    const sinceLast = this.lastDropReportAt === undefined ? Infinity : Date.now() - this.lastDropReportAt;
    if (!now && sinceLast < interval) {
      this.dropReportTimer ??= setTimeout(() => {
        this.dropReportTimer = undefined;
        this.reportDrops();
      }, interval - sinceLast).unref();
      return;
    }
    if (this.droppedUnreported === 0) return;
    clearTimeout(this.dropReportTimer);
    this.dropReportTimer = undefined;
    this.log.warn(
      { ...this.lastDropped, dropped: this.droppedUnreported, droppedTotal: this.dropped },
      'events dropped: too many waiting to be written',
    );
    this.droppedUnreported = 0;
    this.lastDropReportAt = Date.now();
  }

  /**
   * Resolves once every emitted Event is written (or given up), or after
   * `timeoutMs`: a graceful stop waits a little for them, never for an
   * apiserver that does not answer. Resolves true when all were written.
   */
  async flush(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    // Drops still waiting for their rate-limited report are told now: a stop may not outlive the timer.
    this.reportDrops(true);
    if (this.writing === 0 && this.queued.length === 0) return true;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    if (!Number.isFinite(timeoutMs)) return idle;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private pump(): void {
    while (this.writing < (this.options.maxConcurrentWrites ?? 2)) {
      const next = this.queued.shift();
      if (!next) break;
      this.writing += 1;
      void next().finally(() => {
        this.writing -= 1;
        this.pump();
        if (this.writing === 0 && this.queued.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  /** Records an Event and resolves when it is written; never rejects (a failure is logged). */
  async record(object: InvolvedObject, type: EventType, reason: EventReason, message: string, occurrence: EventOccurrence = 'repeatable'): Promise<void> {
    // Keyed by a digest: the series outlive their pushes' reconciles by the
    // whole window, one per push after a burst, and the full text as key cost
    // ~150 bytes more each.
    // 128 bits as 22 base64url characters of their own: a slice of the
    // whole digest's text kept that text alive behind it (a sliced string).
    const id = createHash('sha256').update(`${object.uid}/${reason}/${message}`).digest().toString('base64url', 0, 16);
    const now = Date.now();
    if (occurrence === 'once') {
      // The same name a series would get; the series itself is not kept.
      const once = { name: eventName(object.name, id, now), namespace: object.namespace, count: 1, pending: 0, lastWrittenAt: now, firstSeenAt: now };
      try {
        await this.create(object, type, reason, message, once, now);
      } catch (err) {
        this.log.debug({ err: String(err), reason }, 'could not record event');
      }
      return;
    }
    let series = this.series.get(id);
    if (series && now - series.firstSeenAt > this.options.windowMs) {
      this.series.delete(id);
      series = undefined;
    }
    try {
      if (!series) {
        series = { name: eventName(object.name, id, now), namespace: object.namespace, count: 1, pending: 0, lastWrittenAt: now, firstSeenAt: now };
        this.series.set(id, series);
        this.prune(now);
        await this.create(object, type, reason, message, series, now);
        return;
      }
      series.pending += 1;
      if (now - series.lastWrittenAt < this.options.minUpdateIntervalMs) return;
      await this.bump(series, now);
    } catch (err) {
      this.log.debug({ err: String(err), reason }, 'could not record event');
    }
  }

  private async create(object: InvolvedObject, type: EventType, reason: EventReason, message: string, series: Series, now: number) {
    const stamp = new Date(now);
    const event: CoreV1Event = {
      metadata: { name: series.name, namespace: object.namespace },
      involvedObject: object,
      reason,
      message: message.slice(0, 1024),
      type,
      count: 1,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: process.env.POD_NAME ?? 'local',
    };
    try {
      await this.core.createNamespacedEvent({ namespace: object.namespace, body: event });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  /** Conditional update of the series' count (read, then replace at that resourceVersion); a 409 drops this bump. */
  private async bump(series: Series, now: number) {
    const { name, namespace } = series;
    const event = await this.core.readNamespacedEvent({ name, namespace });
    series.count += series.pending;
    series.pending = 0;
    series.lastWrittenAt = now;
    event.count = series.count;
    event.lastTimestamp = new Date(now);
    await this.core.replaceNamespacedEvent({ name, namespace, body: event });
  }

  /** Series remembered (each one Event that repeats may still join). */
  get size(): number {
    return this.series.size;
  }

  /**
   * Drops expired series. A Map iterates in insertion order and a series is
   * inserted when first seen, so the expired ones are a prefix: stopping at
   * the first live one keeps a burst of new pushes from costing O(n) each.
   */
  private prune(now: number) {
    for (const [id, series] of this.series) {
      if (now - series.firstSeenAt <= this.options.windowMs) break;
      this.series.delete(id);
    }
  }
}

/** An Event's name: its object's, and 16 hex digits of its series and the time it was first seen. */
function eventName(objectName: string, id: string, now: number): string {
  // Flat: the template literal is a concatenation, which writing the Event flattens into a second copy held beside it.
  return flat(`${objectName}.${createHash('sha256').update(`${id}/${now}`).digest().toString('hex', 0, 8)}`);
}

/** A flat copy of `text`: a string that is only its characters, no concatenation tree or parent behind it. */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

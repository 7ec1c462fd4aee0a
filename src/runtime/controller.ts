import type { Logger } from 'pino';
import { messageOf, retryAfterOf, retryDecisionOf } from '../core/errors.js';
import { isUnreachable } from '../kube/api-errors.js';
import type { ControllerMetrics } from './metrics.js';
import { NamespacedMap } from './namespaced-map.js';
import { OwnWrites } from './own-writes.js';
import { ReachabilityProbe } from './reachability.js';
import { WorkQueue } from './work-queue.js';

/** The object a reconcile is about: a namespace/name key, split. */
export interface ReconcileRequest {
  namespace: string;
  name: string;
}

export interface ReconcileResult {
  /** Come back after this long (a rollout waiting for workloads or pausing between waves). */
  requeueAfterMs?: number;
}

/**
 * The domain's side of the contract: bring one object to its desired state.
 * It returns when it is done (or wants to be called again after a delay), and
 * throws an error whose retry decision (core/errors.ts) the result switch reads.
 */
export interface Reconciler {
  reconcile(request: ReconcileRequest, attempt: number): Promise<ReconcileResult>;
}

/** A watch whose cache must be filled before the workers start (an informer). */
export interface Source {
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
  /** The apiserver is back: stop waiting out a restart backoff. */
  retryNow?(): void;
}

/** Observes each finished reconcile (tests count reconciles of one key; tooling may trace). */
export type ReconcileObserver = (key: string, result: 'success' | 'requeue' | 'error') => void;

export interface RuntimeOptions {
  workers: number;
  /** Every key is re-queued this often (plus up to 20% jitter), to catch what no event announced. */
  resyncPeriodMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ControllerDeps {
  /** The reconciled kind, lower case: the log field that carries an object's name (e.g. `configpush`). */
  kind: string;
  reconciler: Reconciler;
  /** Every key the controller is responsible for (what a resync queues). */
  keys(): string[];
  metrics: ControllerMetrics;
  log: Logger;
  options: RuntimeOptions;
  observer?: ReconcileObserver;
  /** A cheap request that succeeds when the apiserver answers (GET /version): see ReachabilityProbe. */
  probe?(): Promise<unknown>;
}

/** While the apiserver is unreachable, it is probed this often. */
const PROBE_INTERVAL_MS = 1_000;
/** Keys that failed to reach the apiserver are retried within this window once it is back. */
const RECOVERY_SPREAD_MS = 1_000;
/** A worker that has run this long without waiting on I/O lets the event loop turn (timers, sockets) before its next key. */
const YIELD_AFTER_MS = 20;
/** A key the server told to come back after Retry-After R comes back within [R, R * (1 + this)]: keys throttled together do not return together. */
const RETRY_AFTER_JITTER = 0.2;

/**
 * How long a key whose reconcile failed with `err` waits at least: the
 * server's Retry-After plus jitter, or 0 when the server said nothing.
 */
export function retryAfterDelay(err: unknown, random: () => number = Math.random): number {
  const retryAfterMs = retryAfterOf(err);
  if (retryAfterMs === undefined || retryAfterMs <= 0) return 0;
  return Math.ceil(retryAfterMs * (1 + RETRY_AFTER_JITTER * random()));
}

/**
 * A generic controller, as controller-runtime's: event handlers
 * (runtime/handlers.ts) queue namespace/name keys; N workers drain the queue
 * into the reconciler; the result switch decides what happens to the key.
 * The queue guarantees one key is never reconciled by two workers at once.
 */
export class Controller {
  readonly queue: WorkQueue;
  /** Our own writes, whose watch echoes queue nothing. */
  readonly ownWrites = new OwnWrites();
  /** The last generation the watch showed of each object, by namespace and name (namespaced-map.ts: no key string per object). */
  private readonly generations = new NamespacedMap<number>();
  private readonly sources: Source[] = [];
  /** Keys whose last reconcile failed only because the apiserver could not be reached. */
  private readonly unreachable = new Set<string>();
  private readonly reachability: ReachabilityProbe | undefined;
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly deps: ControllerDeps) {
    const { backoffBaseMs: baseMs, backoffMaxMs: maxMs } = deps.options;
    this.queue = new WorkQueue({ backoff: { baseMs, maxMs, jitter: 0.5 } });
    const probe = deps.probe;
    this.reachability = probe && new ReachabilityProbe({ probe, onBack: () => this.recover(), intervalMs: PROBE_INTERVAL_MS, log: deps.log });
  }

  /** Adds a watch: started before the workers, stopped after them. */
  watch(source: Source): void {
    this.sources.push(source);
  }

  /** Starts the watches, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all(this.sources.map((s) => s.start()));
    this.workers = Array.from({ length: this.deps.options.workers }, () => this.work());
    this.scheduleResync();
    this.deps.log.info({ workers: this.deps.options.workers }, 'controller started');
  }

  /** Stops taking work, lets in-flight reconciles finish, stops the watches. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.resyncTimer);
    this.reachability?.stop();
    await this.queue.shutdown();
    await Promise.all(this.workers);
    await Promise.all(this.sources.map((s) => s.stop()));
    this.deps.log.info('controller stopped');
  }

  hasSynced(): boolean {
    return this.sources.every((s) => s.hasSynced());
  }

  /** Queues every known key (what a resync does); exposed for tests and tooling. */
  enqueueAll(): void {
    for (const key of this.deps.keys()) this.enqueue(key);
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.deps.metrics.queueDepth.set(this.queue.length);
  }

  /** Queues `key` for an event on one of its objects, unless the event only echoes our own write. */
  enqueueUnlessEcho(key: string, objectId: string, resourceVersion: string | undefined): void {
    if (this.ownWrites.shouldQueue(key, objectId, resourceVersion, this.queue.isProcessing(key))) this.enqueue(key);
  }

  /** The watch showed the object (queued as `key`) at `generation`: a new generation is new work, and old failures must not delay it. */
  observeGeneration(key: string, namespace: string, name: string, generation: number): void {
    const seen = this.generations.get(namespace, name);
    if (seen === generation) return;
    if (seen !== undefined) this.queue.forget(key);
    this.generations.set(namespace, name, generation);
  }

  /** The object is gone: drop what the controller remembered of it. */
  forgetObject(namespace: string, name: string): void {
    this.generations.delete(namespace, name);
  }

  /** How many objects the controller remembers a generation of (for tests and memory measurements). */
  get rememberedGenerations(): number {
    return this.generations.size;
  }

  /**
   * The apiserver answers again: what failed only because it could not be
   * reached runs again now, spread over a second (the workers bound how many
   * run at once), with its backoff forgotten; watches waiting to restart
   * restart too.
   */
  private recover(): void {
    for (const source of this.sources) source.retryNow?.();
    for (const key of this.unreachable) {
      this.queue.forget(key);
      if (this.running) this.queue.addAfter(key, Math.random() * RECOVERY_SPREAD_MS);
    }
    this.unreachable.clear();
  }

  private async work(): Promise<void> {
    let ranSince = performance.now();
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.deps.metrics.queueDepth.set(this.queue.length);
      const waited = this.queue.takeWaitTime(key);
      if (waited !== undefined) this.deps.metrics.queueLatency.observe(waited / 1000);
      await this.process(key);
      // Events that came in during the reconcile and were not its own writes: run it again.
      if (this.ownWrites.release(key)) this.enqueue(key);
      this.queue.done(key);
      // A reconcile that needs no request (a settled push, verified from the
      // caches) resolves in microtasks only, and so does the next get(): a
      // resync of 80,000 such pushes ran for more than 10 s without letting a
      // timer or a socket in, the lease renewal missed its deadline and the
      // leader stepped down (memory bench, docs/benchmarks.md). Let the event
      // loop turn at least every YIELD_AFTER_MS.
      if (performance.now() - ranSince >= YIELD_AFTER_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        ranSince = performance.now();
      }
    }
  }

  /**
   * The result switch: the only place that decides what happens to a key
   * after its reconcile. Done: forget its backoff (and come back after
   * requeueAfterMs if asked). Failed: the error's own retry decision says
   * whether to back off and retry, or to give up until the next change.
   */
  private async process(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const attempt = this.queue.attempts(key) + 1;
    const started = performance.now();
    let result: 'success' | 'requeue' | 'error' = 'success';
    try {
      const { requeueAfterMs } = await this.deps.reconciler.reconcile({ namespace, name }, attempt);
      this.unreachable.delete(key);
      this.queue.forget(key);
      if (requeueAfterMs !== undefined && this.running) this.queue.addAfter(key, requeueAfterMs);
    } catch (err) {
      const retry = retryDecisionOf(err);
      if (isUnreachable(err)) {
        this.unreachable.add(key);
        this.reachability?.noteUnreachable();
      } else {
        this.unreachable.delete(key);
      }
      if (retry === 'permanent') {
        result = 'error';
        this.queue.forget(key);
        this.deps.log.error({ [this.deps.kind]: name, namespace, attempt, error: messageOf(err) }, 'reconcile failed permanently');
      } else {
        result = 'requeue';
        // Throttled (429 with Retry-After): when the server asked, not by the
        // exponential backoff. The Retry-After gate (kube/request-throttle.ts)
        // already holds every request of this identity that long, so the
        // request rate stays bounded; growing the backoff on top would only
        // leave keys waiting long after the throttling ended (a 60 s storm
        // left them 46.6 s to converge after it).
        const atLeastMs = retryAfterDelay(err);
        const delay = this.running ? this.queue.addRateLimited(key, atLeastMs) : 0;
        this.deps.metrics.retries.inc();
        this.deps.log.warn(
          { [this.deps.kind]: name, namespace, attempt, retry, error: messageOf(err), retryInMs: delay, ...(atLeastMs > 0 ? { retryAfterMs: retryAfterOf(err) } : {}) },
          'reconcile will be retried',
        );
      }
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.deps.metrics.reconciles.inc({ result });
      this.deps.metrics.reconcileDuration.observe({ result }, seconds);
      this.deps.observer?.(key, result);
    }
  }

  private scheduleResync(): void {
    const delay = this.deps.options.resyncPeriodMs * (1 + Math.random() * 0.2);
    this.resyncTimer = setTimeout(() => {
      this.enqueueAll();
      if (this.running) this.scheduleResync();
    }, delay);
  }
}

import type { KubernetesListObject, KubernetesObject, V1ConfigMap, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ANNOTATION, GROUP, KIND, MANAGED_SELECTOR, PLURAL, VERSION } from '../api/constants.js';
import type { ConfigPush, TargetKind } from '../api/types.js';
import { classifyError, describeError } from '../core/errors.js';
import type { ClientFactory } from '../kube/clients.js';
import { kubeConfigPushClient } from '../kube/configpush-client.js';
import { EventRecorder } from '../kube/event-recorder.js';
import { ResilientInformer } from '../kube/resilient-informer.js';
import { kubeTargetClient } from '../kube/target-client.js';
import { kubeWorkloadClient } from '../kube/workload-client.js';
import type { Metrics } from './metrics.js';
import { WorkQueue } from './work-queue.js';
import { dropManagedFields, keepTargetMetadataOnly, trimPush } from './cache-transforms.js';
import { OwnerIndex } from './owner-index.js';
import { objectId, OwnWrites, recordingPushClient, recordingTargetClient } from './own-writes.js';
import { Reconciler } from '../configpush/reconciler.js';

export interface ControllerOptions {
  workers: number;
  /** Every push is re-queued this often (plus up to 20% jitter), to catch what no event announced. */
  resyncPeriodMs: number;
  /** Informers re-list this often. */
  relistPeriodMs: number;
  targetConcurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Refuse ConfigPushes without spec.serviceAccountName. */
  requireServiceAccount: boolean;
}

/** Observes each finished reconcile (tests count reconciles of one key; tooling may trace). */
export type ReconcileObserver = (key: string, result: 'success' | 'requeue' | 'error') => void;

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  workers: 4,
  resyncPeriodMs: 10 * 60_000,
  relistPeriodMs: 30 * 60_000,
  targetConcurrency: 4,
  backoffBaseMs: 100,
  backoffMaxMs: 5 * 60_000,
  requireServiceAccount: false,
};

/**
 * Wires watches to the work queue and the queue to the reconciler:
 * ConfigPush events and events on managed targets enqueue the push's
 * namespace/name; N workers drain the queue. The queue guarantees one key is
 * never reconciled by two workers at once.
 */
export class Controller {
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  // Custom objects arrive as raw JSON (timestamps are strings), so the cache
  // holds plain KubernetesObjects and asPush() names the shape at the boundary.
  private readonly pushInformer: ResilientInformer<KubernetesObject>;
  private readonly targetInformers: Record<TargetKind, ResilientInformer<V1ConfigMap | V1Secret>>;
  /** Namespaces: for the cross-namespace opt-in, and to retry pushes when a namespace appears or changes. */
  private readonly namespaceInformer: ResilientInformer<V1Namespace>;
  private readonly generations = new Map<string, number>();
  /** Our own writes, whose watch echoes queue nothing. */
  private readonly ownWrites = new OwnWrites();
  private readonly ownerIndex = new OwnerIndex();
  private readonly events: EventRecorder;
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    factory: ClientFactory,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions = DEFAULT_CONTROLLER_OPTIONS,
    private readonly observer?: ReconcileObserver,
  ) {
    const clients = factory.operator;
    this.queue = new WorkQueue({ backoff: { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs, jitter: 0.5 } });
    const pushes = recordingPushClient(kubeConfigPushClient(clients.custom), this.ownWrites);
    this.pushInformer = new ResilientInformer<KubernetesObject>({
      kubeConfig: clients.kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      list: () => pushes.list() as unknown as Promise<KubernetesListObject<KubernetesObject>>,
      handlers: { upsert: (push) => this.onPush(asPush(push)), delete: (push) => this.onPushDeleted(asPush(push)) },
      transform: trimPush,
      log,
      relistIntervalMs: options.relistPeriodMs,
    });
    const onTarget = (kind: TargetKind) => ({
      upsert: (t: V1ConfigMap | V1Secret) => this.onTarget(kind, t),
      delete: (t: V1ConfigMap | V1Secret) => this.onTargetDeleted(kind, t),
    });
    this.targetInformers = {
      ConfigMap: new ResilientInformer<V1ConfigMap | V1Secret>({
        kubeConfig: clients.kubeConfig,
        path: '/api/v1/configmaps',
        list: () => clients.core.listConfigMapForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
        labelSelector: MANAGED_SELECTOR,
        handlers: onTarget('ConfigMap'),
        transform: keepTargetMetadataOnly,
        log,
        relistIntervalMs: options.relistPeriodMs,
      }),
      Secret: new ResilientInformer<V1ConfigMap | V1Secret>({
        kubeConfig: clients.kubeConfig,
        path: '/api/v1/secrets',
        list: () => clients.core.listSecretForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
        labelSelector: MANAGED_SELECTOR,
        handlers: onTarget('Secret'),
        transform: keepTargetMetadataOnly,
        log,
        relistIntervalMs: options.relistPeriodMs,
      }),
    };
    this.namespaceInformer = new ResilientInformer<V1Namespace>({
      kubeConfig: clients.kubeConfig,
      path: '/api/v1/namespaces',
      list: () => clients.core.listNamespace(),
      handlers: { upsert: (ns) => this.onNamespace(ns), delete: (ns) => this.onNamespace(ns) },
      transform: dropManagedFields,
      log,
      relistIntervalMs: options.relistPeriodMs,
    });
    this.events = new EventRecorder(clients.core, log, { component: 'configpush-operator', windowMs: 10 * 60_000, minUpdateIntervalMs: 60_000 });
    const operatorTargets = recordingTargetClient(kubeTargetClient(clients.core), this.ownWrites);
    this.reconciler = new Reconciler({
      getPush: (namespace, name) => asPushOrUndefined(this.pushInformer.get(name, namespace)),
      pushes,
      targetClientFor: (namespace, serviceAccountName) =>
        serviceAccountName
          ? recordingTargetClient(kubeTargetClient(factory.forServiceAccount(namespace, serviceAccountName).core), this.ownWrites)
          : operatorTargets,
      namespaceAnnotations: (name) => {
        const namespace = this.namespaceInformer.get(name);
        return namespace ? (namespace.metadata?.annotations ?? {}) : undefined;
      },
      tenancy: { requireServiceAccount: options.requireServiceAccount },
      namespaces: () =>
        this.namespaceInformer
          .list()
          .filter((ns) => !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating')
          .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} })),
      ownedTargets: (uid) => this.ownerIndex.owned(uid),
      isTargetCached: (target) => this.targetInformers[target.kind].get(target.name, target.namespace) !== undefined,
      workloadsFor: (namespace, serviceAccountName) =>
        kubeWorkloadClient(serviceAccountName ? factory.forServiceAccount(namespace, serviceAccountName).apps : clients.apps),
      events: this.events,
      metrics,
      log,
      targetConcurrency: options.targetConcurrency,
    });
  }

  /** Starts the watches, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all([this.pushInformer.start(), this.namespaceInformer.start(), ...Object.values(this.targetInformers).map((i) => i.start())]);
    this.workers = Array.from({ length: this.options.workers }, () => this.work());
    this.scheduleResync();
    this.log.info({ workers: this.options.workers }, 'controller started');
  }

  /** Stops taking work, lets in-flight reconciles finish, stops the watches. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.resyncTimer);
    await this.queue.shutdown();
    await Promise.all(this.workers);
    // Events are written behind the reconciles; give the last ones a moment.
    if (!(await this.events.flush(5_000))) this.log.warn('stopped before every event was written');
    await Promise.all([this.pushInformer.stop(), this.namespaceInformer.stop(), ...Object.values(this.targetInformers).map((i) => i.stop())]);
    this.log.info('controller stopped');
  }

  hasSynced(): boolean {
    return this.pushInformer.hasSynced() && this.namespaceInformer.hasSynced() && Object.values(this.targetInformers).every((i) => i.hasSynced());
  }

  /** Queues every known push (what a resync does); exposed for tests and tooling. */
  enqueueAll(): void {
    for (const push of this.pushInformer.list()) this.enqueue(keyOf(push));
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.metrics.queueDepth.set(this.queue.length);
  }

  private onPush(push: ConfigPush): void {
    const key = keyOf(push);
    const generation = push.metadata.generation;
    const seen = this.generations.get(key);
    if (seen !== undefined && seen !== generation) {
      // A new generation is new work: old failures must not delay it.
      this.queue.forget(key);
    }
    this.generations.set(key, generation);
    this.enqueueUnlessEcho(key, objectId(KIND, push.metadata.namespace, push.metadata.name), push.metadata.resourceVersion);
  }

  /** Queues `key` for an event on one of its objects, unless the event only echoes our own write. */
  private enqueueUnlessEcho(key: string, id: string, resourceVersion: string | undefined): void {
    if (this.ownWrites.shouldQueue(key, id, resourceVersion, this.queue.isProcessing(key))) this.enqueue(key);
  }

  /**
   * A namespace appeared, changed (labels, the opt-in annotation) or went:
   * re-run the pushes that target it, or that select namespaces by label.
   */
  private onNamespace(namespace: V1Namespace): void {
    const name = namespace.metadata?.name;
    if (!name || !this.pushInformer.hasSynced()) return;
    for (const obj of this.pushInformer.list()) {
      const push = asPush(obj);
      const targets = Array.isArray(push.spec?.targets) ? push.spec.targets : [];
      const selects = targets.some((t) => t.namespaceSelector !== undefined) || (push.spec?.strategy?.waves ?? []).some((w) => w.namespaceSelector);
      if (selects || targets.some((t) => (t.namespace ?? push.metadata.namespace) === name)) this.enqueue(keyOf(push));
    }
  }

  private onPushDeleted(push: ConfigPush): void {
    this.ownWrites.forget(objectId(KIND, push.metadata.namespace, push.metadata.name));
    this.enqueue(keyOf(push));
  }

  private onTarget(kind: TargetKind, target: V1ConfigMap | V1Secret): void {
    const { namespace = '', name = '', annotations, resourceVersion } = target.metadata ?? {};
    this.ownerIndex.upsert(kind, namespace, name, annotations?.[ANNOTATION.ownerUid]);
    const owner = ownerKey(target);
    if (owner) this.enqueueUnlessEcho(owner, objectId(kind, namespace, name), resourceVersion);
  }

  private onTargetDeleted(kind: TargetKind, target: V1ConfigMap | V1Secret): void {
    const { namespace = '', name = '' } = target.metadata ?? {};
    this.ownerIndex.delete(kind, namespace, name);
    this.ownWrites.forget(objectId(kind, namespace, name));
    const owner = ownerKey(target);
    if (owner) this.enqueue(owner);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.metrics.queueDepth.set(this.queue.length);
      const waited = this.queue.takeWaitTime(key);
      if (waited !== undefined) this.metrics.queueLatency.observe(waited / 1000);
      await this.process(key);
      // Events that came in during the reconcile and were not its own writes: run it again.
      if (this.ownWrites.release(key)) this.enqueue(key);
      this.queue.done(key);
    }
  }

  private async process(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const attempt = this.queue.attempts(key) + 1;
    const started = performance.now();
    let result: 'success' | 'requeue' | 'error' = 'success';
    try {
      const { requeueAfterMs } = await this.reconciler.reconcile(namespace, name, attempt);
      this.queue.forget(key);
      if (requeueAfterMs !== undefined && this.running) this.queue.addAfter(key, requeueAfterMs);
      if (!this.pushInformer.get(name, namespace)) this.generations.delete(key);
    } catch (err) {
      const errorClass = classifyError(err);
      if (errorClass === 'permanent') {
        result = 'error';
        this.queue.forget(key);
        this.log.error({ configpush: name, namespace, attempt, error: describeError(err) }, 'reconcile failed permanently');
      } else {
        result = 'requeue';
        const delay = this.running ? this.queue.addRateLimited(key) : 0;
        this.metrics.retries.inc();
        this.log.warn({ configpush: name, namespace, attempt, errorClass, error: describeError(err), retryInMs: delay }, 'reconcile will be retried');
      }
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.reconciles.inc({ result });
      this.metrics.reconcileDuration.observe({ result }, seconds);
      this.observer?.(key, result);
    }
  }

  private scheduleResync(): void {
    const delay = this.options.resyncPeriodMs * (1 + Math.random() * 0.2);
    this.resyncTimer = setTimeout(() => {
      this.enqueueAll();
      if (this.running) this.scheduleResync();
    }, delay);
  }
}

/** The namespace/name of the push a target's owner annotation names, if well-formed. */
function ownerKey(target: V1ConfigMap | V1Secret): string | undefined {
  const owner = target.metadata?.annotations?.[ANNOTATION.owner];
  return owner && /^[^/]+\/[^/]+$/.test(owner) ? owner : undefined;
}

function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function asPush(obj: KubernetesObject): ConfigPush {
  return obj as unknown as ConfigPush;
}

function asPushOrUndefined(obj: KubernetesObject | undefined): ConfigPush | undefined {
  return obj === undefined ? undefined : asPush(obj);
}

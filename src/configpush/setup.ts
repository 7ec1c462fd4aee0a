import type { KubernetesListObject, KubernetesObject, V1ConfigMap, V1ControllerRevision, V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, KIND, MANAGED_SELECTOR, PLURAL, VERSION } from '../api/constants.js';
import type { ConfigPush, TargetKind } from '../api/types.js';
import type { NamespaceInfo, ResolvedSpec, ResolvedTarget } from '../core/resolve-spec.js';
import { desiredTargetDigest, newDigestKey, verificationFromCache, type DigestKey } from '../core/target-digest.js';
import type { ClientFactory } from '../kube/clients.js';
import { kubeConfigPushClient } from '../kube/configpush-client.js';
import { EventRecorder } from '../kube/event-recorder.js';
import { ResilientInformer } from '../kube/resilient-informer.js';
import { REVISION_OF_LABEL } from '../core/revisions.js';
import { kubeRevisionClient } from '../kube/revision-client.js';
import { kubeSourceClient } from '../kube/source-client.js';
import { kubeTargetClient } from '../kube/target-client.js';
import { kubeWorkloadClient } from '../kube/workload-client.js';
import { cachedTargetFacts, dropManagedFields, keepTargetFacts, targetOwnership, trimPush } from '../runtime/cache-transforms.js';
import { Controller, type ReconcileObserver, type RuntimeOptions } from '../runtime/controller.js';
import { allOf, enqueueForObject, enqueueForOwner, enqueueMapped, keyOf } from '../runtime/handlers.js';
import type { ControllerMetrics } from '../runtime/metrics.js';
import { objectId } from '../runtime/own-writes.js';
import { OwnerIndex } from '../runtime/owner-index.js';
import { ContentionTracker } from './contention-tracker.js';
import { NamespaceInterest } from './namespace-interest.js';
import { PushKeyByUid } from './push-key-by-uid.js';
import type { ConfigPushMetrics } from './metrics.js';
import { ConfigPushReconciler } from './reconciler.js';
import { keepRevisionMetadata, RevisionStore, shareRevisionStrings } from './revisions.js';
import { ownerOf, shareOwnerStrings } from './owner-strings.js';
import { recordingPushClient, recordingTargetClient } from './recording-clients.js';
import { sourceInformerFactory } from './source-informer.js';
import { SourceReadMemo } from './source-read-memo.js';
import { SourceWatches } from './source-watches.js';
import type { TargetVerifier } from './target-applier.js';
import { VerifiedTargets } from './verified-targets.js';

export interface ControllerOptions extends RuntimeOptions {
  /** Informers re-list this often. */
  relistPeriodMs: number;
  /** Targets of one push written concurrently. */
  targetConcurrency: number;
  /** Refuse ConfigPushes without spec.serviceAccountName. */
  requireServiceAccount: boolean;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  workers: 4,
  resyncPeriodMs: 10 * 60_000,
  relistPeriodMs: 30 * 60_000,
  targetConcurrency: 4,
  backoffBaseMs: 100,
  backoffMaxMs: 5 * 60_000,
  requireServiceAccount: false,
};

export interface ConfigPushController {
  controller: Controller;
  /** Events are written behind the reconciles; flush them on shutdown. */
  events: EventRecorder;
  /** The on-demand watches of spec.sources (which pushes reference which source; which namespaces are watched). */
  sourceWatches: SourceWatches;
}

/**
 * The ConfigPush controller's watches and reconciler, set up on a generic
 * runtime controller (controller-runtime's SetupWithManager):
 * - ConfigPushes: the push itself is queued;
 * - managed ConfigMaps and Secrets: the push their owner annotation names;
 * - Namespaces: the pushes that target them or select namespaces by label
 *   (a namespace appeared, changed its labels or opt-in, or went);
 * - the Secrets and ConfigMaps pushes copy from (spec.sources): the pushes
 *   that reference them, through namespaced watches started on demand
 *   (source-watches.ts).
 */
export function setupConfigPushController(
  factory: ClientFactory,
  metrics: ControllerMetrics & ConfigPushMetrics,
  log: Logger,
  options: ControllerOptions = DEFAULT_CONTROLLER_OPTIONS,
  observer?: ReconcileObserver,
): ConfigPushController {
  const clients = factory.operator;
  const ownerIndex = new OwnerIndex();
  // Kept in step with the target watches below: any other resourceVersion, or a delete, voids a verification.
  const verified = new VerifiedTargets();
  // Keys the target digests the target caches keep (keepTargetFacts): random, never leaves this process.
  const digestKey = newDigestKey();
  const pushClient = kubeConfigPushClient(clients.custom);
  const revisions = new RevisionStore(kubeRevisionClient(clients.apps, clients.core), log);
  const events = new EventRecorder(clients.core, log, { component: 'configpush-operator', windowMs: 10 * 60_000, minUpdateIntervalMs: 60_000 });
  // What the last live read of each push's sources gave, trusted while their watch shows them unchanged.
  const sourceReads = new SourceReadMemo({
    resourceVersionOf: (kind, namespace, name) => sourceWatches.resourceVersionOf(kind, namespace, name),
    targetDigest: (kind, content, digest) => desiredTargetDigest(kind, content, digest, digestKey),
  });

  /** The reconciler's view of the namespace cache (name and labels of each live namespace); undefined once a namespace event changed it. */
  let namespaceView: NamespaceInfo[] | undefined;
  // The reconciler reaches the informers (built below, once the controller
  // their handlers queue into exists) only through closures called after start().
  const reconciler: ConfigPushReconciler = new ConfigPushReconciler({
    getPush: (namespace, name): ConfigPush | undefined => {
      const obj: KubernetesObject | undefined = pushInformer.get(name, namespace);
      return obj === undefined ? undefined : asPush(obj);
    },
    pushes: recordingPushClient(pushClient, (id, rv) => recordWrite(id, rv)),
    targetClientFor: (namespace, serviceAccountName) => (serviceAccountName ? impersonatedTargets(namespace, serviceAccountName) : operatorTargets),
    sourcesFor: (namespace, serviceAccountName) =>
      serviceAccountName
        ? kubeSourceClient(factory.forServiceAccount(namespace, serviceAccountName).core, `ServiceAccount ${namespace}/${serviceAccountName}`)
        : kubeSourceClient(clients.core, 'the operator'),
    sourceReads,
    namespaceAnnotations: (name) => {
      const namespace = namespaceInformer.get(name);
      return namespace ? (namespace.metadata?.annotations ?? {}) : undefined;
    },
    tenancy: { requireServiceAccount: options.requireServiceAccount },
    // Built once per change of the namespace cache, not per reconcile: a
    // selector push is reconciled far more often than namespaces change, and
    // 5,000 namespaces listed and mapped twice a reconcile cost ~1.2 ms of CPU
    // under the image's --optimize-for-size (bench/results/namespace-view-cost-2026-12-01.md).
    namespaces: () =>
      (namespaceView ??= namespaceInformer
        .list()
        .filter((ns) => !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating')
        .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }))),
    ownedTargets: (uid) => ownerIndex.owned(uid),
    isTargetCached: (target) => targetInformers[target.kind].get(target.name, target.namespace) !== undefined,
    verifier: targetVerifier(verified, (kind, namespace, name) => targetInformers[kind].get(name, namespace), digestKey),
    workloadsFor: (namespace, serviceAccountName) =>
      kubeWorkloadClient(serviceAccountName ? factory.forServiceAccount(namespace, serviceAccountName).apps : clients.apps),
    contention: new ContentionTracker(),
    revisions,
    events,
    metrics,
    log,
    targetConcurrency: options.targetConcurrency,
  });

  const controller: Controller = new Controller({
    kind: 'configpush',
    reconciler,
    keys: () => Array.from(pushInformer.objects(), keyOf),
    metrics,
    log,
    options,
    probe: () => clients.version.getCode(),
    ...(observer ? { observer } : {}),
  });
  const recordWrite = (id: string, resourceVersion: string | undefined) => controller.ownWrites.record(id, resourceVersion);
  const operatorTargets = recordingTargetClient(kubeTargetClient(clients.core), recordWrite);
  const impersonatedTargets = (namespace: string, serviceAccountName: string) =>
    recordingTargetClient(kubeTargetClient(factory.forServiceAccount(namespace, serviceAccountName).core), recordWrite);

  // Sources are watched per (kind, namespace) that some push references, metadata only.
  const sourceWatches = new SourceWatches({
    watch: sourceInformerFactory({ kubeConfig: clients.kubeConfig, core: clients.core, log, relistIntervalMs: options.relistPeriodMs }),
    enqueue: (key) => controller.enqueue(key),
    log,
  });

  // Which pushes a namespace event concerns, kept by the push informer's handlers (no scan of every push an event).
  const namespaceInterest = new NamespaceInterest({
    get: (name, namespace) => pushInformer.get(name, namespace),
    list: (namespace) => pushInformer.list(namespace),
  });

  // Custom objects arrive as raw JSON (timestamps are strings), so the cache
  // holds plain KubernetesObjects and asPush() names the shape at the boundary.
  const pushInformer: ResilientInformer<KubernetesObject> = new ResilientInformer<KubernetesObject>({
    kubeConfig: clients.kubeConfig,
    path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    list: () => pushClient.list() as unknown as Promise<KubernetesListObject<KubernetesObject>>,
    handlers: allOf(sourceWatches.pushHandlers, namespaceInterest.handlers, enqueueForObject(controller, KIND), {
      upsert: () => {},
      delete: (obj) => sourceReads.forget(obj.metadata?.uid ?? ''),
    }),
    // The revision cache's copies of the uid, digests and keys first, so trimPush's sharing within the status uses them.
    transform: (obj) => {
      revisions.shareStrings(obj);
      trimPush(obj);
    },
    log,
    relistIntervalMs: options.relistPeriodMs,
  });
  // The push gauges count the cache when scraped; a replica that never started it (a standby) reports none.
  // The cached objects are visited one namespace at a time (asPush only names the type), never copied into one array of them all.
  metrics.observePushes(() => (pushInformer.hasSynced() ? (pushInformer.objects() as Iterable<unknown> as Iterable<ConfigPush>) : undefined));
  const namespaceInformer = new ResilientInformer<V1Namespace>({
    kubeConfig: clients.kubeConfig,
    path: '/api/v1/namespaces',
    list: () => clients.core.listNamespace(),
    handlers: allOf<V1Namespace>(
      { upsert: () => void (namespaceView = undefined), delete: () => void (namespaceView = undefined) },
      enqueueMapped(controller, (ns: V1Namespace) => (pushInformer.hasSynced() ? namespaceInterest.pushesAffectedBy(ns.metadata?.name) : [])),
    ),
    transform: dropManagedFields,
    log,
    relistIntervalMs: options.relistPeriodMs,
  });

  // A rare question (which push had this uid), asked in bursts: one scan of the push cache a burst.
  const previousOwners = new PushKeyByUid(() => pushInformer.objects());
  const targetOwner = (kind: TargetKind) => ({
    ownerKey: ownerKeyOf,
    observe: (target: V1ConfigMap | V1Secret, deleted: boolean): string[] => {
      const { namespace = '', name = '' } = target.metadata ?? {};
      if (deleted) {
        ownerIndex.delete(kind, namespace, name);
        verified.forget(objectId(kind, namespace, name));
        return [];
      }
      verified.saw(objectId(kind, namespace, name), target.metadata?.resourceVersion);
      // Taken over by another push, or released (by hand, or by its push's deletion under Retain): the push that owned it must see that too.
      const lostBy = ownerIndex.upsert(kind, namespace, name, targetOwnership(target).ownerUid);
      const previous = lostBy === undefined ? undefined : previousOwners.keyOf(lostBy);
      return previous === undefined ? [] : [previous];
    },
  });
  const targetInformer = (kind: TargetKind, path: string, list: () => Promise<KubernetesListObject<V1ConfigMap | V1Secret>>) =>
    new ResilientInformer<V1ConfigMap | V1Secret>({
      kubeConfig: clients.kubeConfig,
      path,
      list,
      labelSelector: MANAGED_SELECTOR,
      handlers: enqueueForOwner(controller, kind, targetOwner(kind)),
      transform: (() => {
        const keepFacts = keepTargetFacts(kind, digestKey);
        return (obj: V1ConfigMap | V1Secret) => {
          keepFacts(obj);
          const owner = ownerOf(obj);
          if (owner) shareOwnerStrings(obj, pushInformer.get(owner.name, owner.namespace));
        };
      })(),
      log,
      relistIntervalMs: options.relistPeriodMs,
    });
  const targetInformers: Record<TargetKind, ResilientInformer<V1ConfigMap | V1Secret>> = {
    ConfigMap: targetInformer('ConfigMap', '/api/v1/configmaps', () => clients.core.listConfigMapForAllNamespaces({ labelSelector: MANAGED_SELECTOR })),
    Secret: targetInformer('Secret', '/api/v1/secrets', () => clients.core.listSecretForAllNamespaces({ labelSelector: MANAGED_SELECTOR })),
  };

  // A push's content revisions, metadata only (revisions.ts): which exist, their numbers and digests, never their content.
  const revisionInformer = new ResilientInformer<V1ControllerRevision>({
    kubeConfig: clients.kubeConfig,
    path: '/apis/apps/v1/controllerrevisions',
    list: () => clients.apps.listControllerRevisionForAllNamespaces({ labelSelector: REVISION_OF_LABEL }),
    labelSelector: REVISION_OF_LABEL,
    handlers: { upsert: (obj) => revisions.observe(obj, false), delete: (obj) => revisions.observe(obj, true) },
    transform: (obj) => {
      const push = obj.metadata?.ownerReferences?.find((ref) => ref.controller)?.name;
      keepRevisionMetadata(obj);
      // A push cached before its revision (a restart lists both at once) takes the revision's strings now.
      const cached = push === undefined ? undefined : pushInformer.get(push, obj.metadata?.namespace);
      if (cached !== undefined) shareRevisionStrings(cached, [obj]);
    },
    log,
    relistIntervalMs: options.relistPeriodMs,
  });

  for (const source of [pushInformer, namespaceInformer, targetInformers.ConfigMap, targetInformers.Secret, revisionInformer]) controller.watch(source);
  // Started and stopped with the controller, but not waited for: sources are read live anyway.
  controller.watch(sourceWatches.source);
  return { controller, events, sourceWatches };
}

/**
 * The applier's view of this process's verifications (verified-targets.ts)
 * and of the target caches. A target the cache shows owned by the push, with
 * the desired content's digest (keepTargetFacts), is verified by the cache
 * itself (core/target-digest.ts): that is what lets a fresh process verify
 * every target from its first LIST, without a GET. The operator's own reads
 * and writes are therefore not recorded (the cache gives the same
 * verification once the watch delivers the version they saw, and a record
 * is only ever used at that version): only a ServiceAccount's are.
 */
function targetVerifier(
  verified: VerifiedTargets,
  cached: (kind: TargetKind, namespace: string, name: string) => V1ConfigMap | V1Secret | undefined,
  digestKey: DigestKey,
): TargetVerifier {
  const id = (target: ResolvedTarget) => objectId(target.kind, target.namespace, target.name);
  // One desired digest per spec and kind, not per target: a push fanned out to 5,000 namespaces hashes its content once a reconcile.
  const desired = new WeakMap<ResolvedSpec, Partial<Record<TargetKind, string>>>();
  const desiredDigest = (kind: TargetKind, spec: ResolvedSpec): string => {
    let byKind = desired.get(spec);
    if (!byKind) desired.set(spec, (byKind = {}));
    // A spec whose sources were not read carries the digests instead of the values (source-read-memo.ts).
    return (byKind[kind] ??= spec.targetDigests?.[kind] ?? desiredTargetDigest(kind, spec.content, spec.digest, digestKey));
  };
  return {
    lookup(target, wanted) {
      const object = cached(target.kind, target.namespace, target.name);
      const metadata = object?.metadata;
      const view = object && metadata && { resourceVersion: metadata.resourceVersion, ownerUid: targetOwnership(object).ownerUid };
      const held = verified.get(id(target));
      const facts = object && wanted && (held === undefined || held.resourceVersion !== view?.resourceVersion) ? cachedTargetFacts(object) : undefined;
      const fromCache =
        facts &&
        wanted &&
        verificationFromCache(
          { resourceVersion: view?.resourceVersion, ownerUid: view?.ownerUid, ...facts },
          { ownerUid: wanted.ownerUid, digest: wanted.spec.digest, client: wanted.client, operationKey: wanted.operationKey, targetDigest: () => desiredDigest(target.kind, wanted.spec) },
        );
      return { verification: fromCache || held, cached: view };
    },
    record: (target, verification) => {
      if (verification.client !== '') verified.record(id(target), verification);
      else verified.forget(id(target));
    },
    saw: (target, resourceVersion) => verified.saw(id(target), resourceVersion),
  };
}

/** The namespace/name of the push a target's owner annotation names, if well-formed. */
function ownerKeyOf(target: V1ConfigMap | V1Secret): string | undefined {
  const owner = targetOwnership(target).owner;
  return owner && /^[^/]+\/[^/]+$/.test(owner) ? owner : undefined;
}

function asPush(obj: KubernetesObject): ConfigPush {
  return obj as unknown as ConfigPush;
}

import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import type { ConfigPush, ConfigPushSpec } from '../src/api/types.js';
import { ConnectionReusingAuth } from '../src/kube/connection-reuse.js';

/**
 * The bench's own API access: it applies pushes, creates namespaces and
 * watches for Ready. It is the "user", not a measured party; it sends its
 * own User-Agent so the audit log never counts its writes as the operator's.
 */
export const BENCH_USER_AGENT = 'configpush-bench';
export const BASELINE_USER_AGENT = 'configpush-baseline';
export const OPERATOR_USER_AGENT = 'configpush-operator';
/** Where the operator's leader-election Lease lives (the manifests' namespace). */
export const LEASE_NAMESPACE = 'configpush-system';
export const LEASE_NAME = 'configpush-operator-leader';

export function userAgent(value: string): Middleware {
  return {
    pre: async (context: RequestContext) => {
      context.setHeaderParam('User-Agent', value);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
}

export interface Api {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  apps: AppsV1Api;
}

/**
 * Clients with the operator's own connection handling (one TLS connection
 * pool, src/kube/connection-reuse.ts), for the bench driver and the baseline
 * alike: the baseline then differs from the operator only in the controller
 * work, which is what the ratios are meant to compare.
 */
export function makeApi(kubeconfigPath: string, agent: string): Api {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfigPath}: no current cluster`);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: new ConnectionReusingAuth(kubeConfig) },
    promiseMiddleware: [userAgent(agent)],
  });
  return {
    kubeConfig,
    core: new CoreV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
    apps: new AppsV1Api(configuration),
  };
}

const base = { group: GROUP, version: VERSION, plural: PLURAL };

export function pushSpec(index: number, targets: ConfigPushSpec['targets'], revision = 1): ConfigPushSpec {
  return {
    targets,
    data: { 'app.properties': `color=blue\nindex=${index}\nrevision=${revision}\n`, mode: 'fast' },
  };
}

export async function createPush(api: Api, namespace: string, name: string, spec: ConfigPushSpec): Promise<ConfigPush> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace }, spec };
  return (await api.custom.createNamespacedCustomObject({ ...base, namespace, body })) as ConfigPush;
}

/** Replaces the spec at the version just read (a new generation); retries a 409 from a concurrent status write. */
export async function updatePush(api: Api, namespace: string, name: string, mutate: (spec: ConfigPushSpec) => ConfigPushSpec): Promise<number> {
  for (let round = 0; round < 10; round++) {
    const push = (await api.custom.getNamespacedCustomObject({ ...base, namespace, name })) as ConfigPush;
    try {
      const updated = (await api.custom.replaceNamespacedCustomObject({
        ...base,
        namespace,
        name,
        body: { ...push, spec: mutate(structuredClone(push.spec)) },
      })) as ConfigPush;
      return updated.metadata.generation;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  throw new Error(`${namespace}/${name}: spec update kept conflicting`);
}

export async function createNamespaces(
  api: Api,
  names: string[],
  concurrency = 8,
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): Promise<void> {
  await forEachLimit(names, concurrency, async (name) => {
    try {
      await api.core.createNamespace({ body: { metadata: { name, ...metadata } } });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  });
}

export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** Resolves once `identity` holds the operator's Lease. */
export async function waitForLeader(api: Api, identity: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const lease = await api.coordination.readNamespacedLease({ name: LEASE_NAME, namespace: LEASE_NAMESPACE });
      if (lease.spec?.holderIdentity === identity) return;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${identity} did not take the Lease ${LEASE_NAMESPACE}/${LEASE_NAME} within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const readyKey = (namespace: string, name: string, generation: number): string => `${namespace}/${name}@${generation}`;

/**
 * Watches every ConfigPush and records, per namespace/name@generation, the
 * first moment (performance.now()) it was seen Ready=True with status and
 * condition observedGeneration equal to the generation: what `kubectl wait
 * --for=condition=Ready` accepts. Operator and baseline are judged by the
 * same watcher.
 */
export class ReadyTracker {
  private readonly readyAt = new Map<string, number>();
  private resourceVersion = '';
  private stopped = false;
  private controller: AbortController | undefined;
  private reconnects = 0;

  constructor(private readonly api: Api) {}

  async start(): Promise<void> {
    await this.relist();
    await this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  get(key: string): number | undefined {
    return this.readyAt.get(key);
  }

  /** Waits until every key is Ready; returns the ready times. Throws with the missing keys on timeout. */
  async waitAll(keys: readonly string[], timeoutMs: number): Promise<number[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const missing = keys.filter((k) => !this.readyAt.has(k));
      if (missing.length === 0) return keys.map((k) => this.readyAt.get(k) as number);
      if (performance.now() > deadline) {
        throw new Error(`${missing.length} of ${keys.length} pushes not Ready after ${Math.round(timeoutMs / 1000)} s (e.g. ${missing.slice(0, 3).join(', ')})`);
      }
      await sleep(keys.length > 1000 ? 100 : 10);
    }
  }

  private observe(obj: ConfigPush | undefined): void {
    const meta = obj?.metadata;
    if (!obj || !meta) return;
    const generation = meta.generation;
    const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' && ready.observedGeneration === generation && obj.status?.observedGeneration === generation) {
      const key = readyKey(meta.namespace, meta.name, generation);
      if (!this.readyAt.has(key)) this.readyAt.set(key, performance.now());
    }
  }

  private async relist(): Promise<void> {
    const list = (await this.api.custom.listClusterCustomObject(base)) as { items: ConfigPush[]; metadata?: { resourceVersion?: string } };
    for (const item of list.items) this.observe(item);
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    this.controller = await new Watch(this.api.kubeConfig).watch(
      `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: ConfigPush & { code?: number }) => {
        if (type === 'ERROR') {
          if (obj.code === 410) gone = true;
          return;
        }
        if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED') this.observe(obj);
      },
      () => {
        if (this.stopped) return;
        // Quiet watches time out after 30 s in client-node; reconnect from where we were.
        this.reconnects++;
        setTimeout(() => {
          (gone ? this.relist() : Promise.resolve())
            .then(() => this.connect())
            .catch(() => setTimeout(() => void this.relist().then(() => this.connect()).catch(() => undefined), 1000));
        }, 100);
      },
    );
  }
}

/**
 * `count` ConfigMaps shaped as the operator's targets (its label and
 * annotations, one small key), created 4 at a time: the objects of the
 * watch probes (watch-read-cost.ts, watch-delivery-cost.ts).
 */
export async function createTargetShapedConfigMaps(api: Api, namespace: string, count: number): Promise<void> {
  await forEachLimit(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
    await api.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: `cm-${i}`,
          labels: { 'app.kubernetes.io/managed-by': 'configpush-operator' },
          annotations: {
            'configpush.io/owner-uid': '0b8f9a52-6c1e-4d2a-9e57-3f1c2b7d8e90',
            'configpush.io/owner': 'fanout/fanout-5000',
            'configpush.io/operation-key': '1-0b8f9a526c',
            'configpush.io/content-digest': `sha256:${'5f2c'.repeat(16)}`,
            'configpush.io/managed-keys': '{"labels":[],"annotations":[]}',
          },
        },
        data: { 'app.properties': `color=blue\nindex=${i}\n` },
      },
    });
  });
}

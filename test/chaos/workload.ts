import { createHash } from 'node:crypto';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  createConfiguration,
  ServerConfiguration,
  setHeaderOptions,
  type Middleware,
  type RequestContext,
  type ResponseContext,
  type V1ConfigMap,
  type V1Secret,
} from '@kubernetes/client-node';
import type { ConfigPush, ConfigPushSpec, TargetKind } from '../../src/api/types.js';
import type { ClusterEnv } from './cluster.js';
import { targetId, type TargetRef } from './ledger.js';
import type { Random } from './random.js';

// The API's names are repeated here on purpose: the suite checks the operator
// against the documented contract, not against its own constants.
const GROUP = 'configpush.io';
const VERSION = 'v1alpha1';
const PLURAL = 'configpushes';
export const ANNOTATION_OWNER_UID = 'configpush.io/owner-uid';
export const ANNOTATION_KEY = 'configpush.io/operation-key';
export const ANNOTATION_DIGEST = 'configpush.io/content-digest';
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=configpush-operator';
/** Lets ConfigPushes from other namespaces write into a namespace (the tenancy opt-in). */
export const ALLOWED_SOURCES = 'configpush.io/allowed-source-namespaces';

export interface Clients {
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

function userAgent(value: string): Middleware {
  return {
    pre: async (context: RequestContext) => {
      context.setHeaderParam('User-Agent', value);
      const timeout = AbortSignal.timeout(15_000);
      const existing = context.getSignal();
      context.setSignal(existing ? AbortSignal.any([existing, timeout]) : timeout);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
}

/** The test's own clients on the suite's cluster (the "user" and the "third party"), with a 15 s timeout. */
export function clients(kubeconfig: string, agent = 'configpush-chaos-suite'): Clients {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfig}: no current cluster`);
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [userAgent(agent)],
  });
  return { core: new CoreV1Api(configuration), custom: new CustomObjectsApi(configuration) };
}

export function code(err: unknown): number | undefined {
  const value = (err as { code?: unknown } | undefined)?.code;
  return typeof value === 'number' ? value : undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `fn` on transient failures (network, 429, 5xx) until `deadline`; the control plane may be restarting. */
export async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const status = code(err);
      const transient = status === undefined || status === 429 || status >= 500;
      if (!transient || Date.now() > deadline) throw new Error(`${what}: ${describe(err)}`, { cause: err });
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

export function describe(err: unknown): string {
  const status = code(err);
  const body = (err as { body?: unknown }).body;
  if (status !== undefined && typeof body === 'string') {
    try {
      return `${status}: ${(JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300)}`;
    } catch {
      return `${status}: ${body.slice(0, 300)}`;
    }
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** A ConfigPush the scenario creates, and what its targets must end as. */
export interface PlannedPush {
  namespace: string;
  name: string;
  spec: ConfigPushSpec;
  /** Specs applied after the create, in order (each changes the content). */
  updates: ConfigPushSpec[];
  targets: TargetRef[];
  uid?: string;
}

export function pushId(push: { namespace: string; name: string }): string {
  return `${push.namespace}/${push.name}`;
}

/** The spec the push ends with. */
export function finalSpec(push: PlannedPush): ConfigPushSpec {
  return push.updates.at(-1) ?? push.spec;
}

export function operationKey(uid: string, generation: number): string {
  return `${generation}-${createHash('sha256').update(`${uid}/${generation}`).digest('hex').slice(0, 10)}`;
}

function resource(kind: TargetKind): TargetRef['resource'] {
  return kind === 'ConfigMap' ? 'configmaps' : 'secrets';
}

export function randomContent(rnd: Random, tag: string): Pick<ConfigPushSpec, 'data' | 'binaryData' | 'labels' | 'annotations'> {
  const data: Record<string, string> = {};
  const keys = rnd.int(1, 4);
  for (let i = 0; i < keys; i++) data[`key-${i}.${rnd.word(3)}`] = `${tag}\n${rnd.word(rnd.int(8, 400))}`;
  const spec: Pick<ConfigPushSpec, 'data' | 'binaryData' | 'labels' | 'annotations'> = {
    data,
    labels: { 'chaos.configpush.io/run': tag.slice(0, 63).replace(/[^a-z0-9]/g, '') || 'x' },
    annotations: { 'chaos.configpush.io/note': `content ${tag}` },
  };
  if (rnd.chance(0.3)) spec.binaryData = { 'blob.bin': rnd.bytes(rnd.int(1, 64)).toString('base64') };
  return spec;
}

/**
 * `count` pushes in `homes` (round robin), each with 1..3 targets of random
 * kinds; about one in four also writes into `cross` (a namespace that opted
 * in). Target names are unique per push, so no two pushes share a target.
 */
export function planPushes(rnd: Random, count: number, homes: string[], cross: string | undefined, prefix: string): PlannedPush[] {
  const pushes: PlannedPush[] = [];
  for (let i = 0; i < count; i++) {
    const namespace = homes[i % homes.length] ?? 'default';
    const name = `${prefix}-${i}`;
    const targets: ConfigPushSpec['targets'] = [];
    const n = rnd.int(1, 3);
    for (let t = 0; t < n; t++) targets.push({ kind: rnd.pick(['ConfigMap', 'Secret'] as const), name: `${name}-t${t}` });
    if (cross && rnd.chance(0.25)) targets.push({ kind: rnd.pick(['ConfigMap', 'Secret'] as const), name: `${name}-x`, namespace: cross });
    const spec: ConfigPushSpec = { targets, ...randomContent(rnd, `${name}-g1`) };
    pushes.push({
      namespace,
      name,
      spec,
      updates: [],
      targets: targets.map((t) => ({ resource: resource(t.kind), namespace: t.namespace ?? namespace, name: t.name })),
    });
  }
  return pushes;
}

/** Target id -> how many operations (distinct contents) it legitimately gets. */
export function allowedWrites(pushes: readonly PlannedPush[]): Map<string, number> {
  const allowed = new Map<string, number>();
  for (const push of pushes) for (const target of push.targets) allowed.set(targetId(target), 1 + push.updates.length);
  return allowed;
}

export async function createNamespace(c: Clients, name: string, annotations: Record<string, string> = {}): Promise<void> {
  await retrying(`create namespace ${name}`, async () => {
    try {
      await c.core.createNamespace({ body: { metadata: { name, annotations } } });
    } catch (err) {
      if (code(err) !== 409) throw err;
    }
  });
}

const base = { group: GROUP, version: VERSION, plural: PLURAL };

/**
 * Creates the push once. A create whose answer was lost (the control plane
 * restarting) is retried by name: 409 AlreadyExists means the first one landed.
 */
export async function createPush(c: Clients, push: PlannedPush): Promise<void> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name: push.name, namespace: push.namespace }, spec: push.spec };
  const created = await retrying(`create ConfigPush ${pushId(push)}`, async () => {
    try {
      return (await c.custom.createNamespacedCustomObject({ ...base, namespace: push.namespace, body })) as ConfigPush;
    } catch (err) {
      if (code(err) === 409) return (await c.custom.getNamespacedCustomObject({ ...base, namespace: push.namespace, name: push.name })) as ConfigPush;
      throw err;
    }
  });
  push.uid = created.metadata.uid;
}

export async function getPush(c: Clients, namespace: string, name: string): Promise<ConfigPush> {
  return (await c.custom.getNamespacedCustomObject({ ...base, namespace, name })) as ConfigPush;
}

/** Replaces the spec at the version just read (a conditional update; 409 re-reads). */
export async function updateSpec(c: Clients, push: PlannedPush, spec: ConfigPushSpec): Promise<void> {
  await retrying(`update ConfigPush ${pushId(push)}`, async () => {
    for (;;) {
      const live = await getPush(c, push.namespace, push.name);
      try {
        await c.custom.replaceNamespacedCustomObject({ ...base, namespace: push.namespace, name: push.name, body: { ...live, spec } });
        return;
      } catch (err) {
        if (code(err) !== 409) throw err;
      }
    }
  });
  push.updates.push(spec);
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (item === undefined) return;
      await fn(item, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function listPushes(c: Clients, namespace: string): Promise<ConfigPush[]> {
  const list = (await c.custom.listNamespacedCustomObject({ ...base, namespace })) as { items: ConfigPush[] };
  return list.items;
}

type Target = V1ConfigMap | V1Secret;

export async function listTargets(c: Clients, namespace: string): Promise<Map<string, Target>> {
  const out = new Map<string, Target>();
  const [cms, secrets] = await Promise.all([
    c.core.listNamespacedConfigMap({ namespace, labelSelector: MANAGED_SELECTOR }),
    c.core.listNamespacedSecret({ namespace, labelSelector: MANAGED_SELECTOR }),
  ]);
  for (const cm of cms.items) out.set(targetId({ resource: 'configmaps', namespace, name: cm.metadata?.name ?? '' }), cm);
  for (const s of secrets.items) out.set(targetId({ resource: 'secrets', namespace, name: s.metadata?.name ?? '' }), s);
  return out;
}

function readyAtGeneration(push: ConfigPush): boolean {
  const ready = push.status?.conditions?.find((c) => c.type === 'Ready');
  const generation = push.metadata.generation;
  return ready?.status === 'True' && ready.observedGeneration === generation && push.status?.observedGeneration === generation;
}

function sameMap(actual: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  const a = actual ?? {};
  const keys = Object.keys(wanted);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === wanted[k]);
}

/** Why `target` does not hold what `push` (with `spec`) must leave in it; undefined when it does. */
export function targetMismatch(ref: TargetRef, target: Target | undefined, live: ConfigPush, spec: ConfigPushSpec): string | undefined {
  if (!target) return 'missing';
  const annotations = target.metadata?.annotations ?? {};
  const labels = target.metadata?.labels ?? {};
  if (annotations[ANNOTATION_OWNER_UID] !== live.metadata.uid) return `owner-uid ${annotations[ANNOTATION_OWNER_UID] ?? 'none'}`;
  const key = operationKey(live.metadata.uid, live.metadata.generation);
  if (annotations[ANNOTATION_KEY] !== key) return `operation-key ${annotations[ANNOTATION_KEY] ?? 'none'}, want ${key}`;
  if (!annotations[ANNOTATION_DIGEST] || annotations[ANNOTATION_DIGEST] !== live.status?.contentDigest) return 'content-digest differs from status';
  for (const [k, v] of Object.entries(spec.labels ?? {})) if (labels[k] !== v) return `label ${k}`;
  for (const [k, v] of Object.entries(spec.annotations ?? {})) if (annotations[k] !== v) return `annotation ${k}`;
  const data = spec.data ?? {};
  const binary = spec.binaryData ?? {};
  if (ref.resource === 'configmaps') {
    const cm = target as V1ConfigMap;
    if (!sameMap(cm.data, data)) return 'data differs';
    if (!sameMap(cm.binaryData, binary)) return 'binaryData differs';
    return undefined;
  }
  const want: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) want[k] = Buffer.from(v, 'utf8').toString('base64');
  for (const [k, v] of Object.entries(binary)) want[k] = Buffer.from(v, 'base64').toString('base64');
  return sameMap((target as V1Secret).data, want) ? undefined : 'secret data differs';
}

export interface Convergence {
  converged: number;
  /** Pushes not Ready with the right content at the deadline, and why. */
  lost: { push: string; why: string }[];
  /** When the last push converged (ms since the epoch). */
  at: number;
}

/**
 * Polls (with LISTs, cheap for hundreds of pushes) until every push is
 * Ready=True at its current generation and every target holds exactly its
 * content with this push's uid, key and digest; or until the deadline.
 */
export async function waitConverged(c: Clients, pushes: readonly PlannedPush[], timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Map(pushes.map((p) => [pushId(p), p]));
  const why = new Map<string, string>();
  let at = Date.now();
  const namespaces = [...new Set(pushes.flatMap((p) => [p.namespace, ...p.targets.map((t) => t.namespace)]))];
  while (pending.size > 0) {
    try {
      const targets = new Map<string, Target>();
      const lives = new Map<string, ConfigPush>();
      for (const namespace of namespaces) {
        for (const [id, t] of await listTargets(c, namespace)) targets.set(id, t);
      }
      for (const namespace of new Set([...pending.values()].map((p) => p.namespace))) {
        for (const live of await listPushes(c, namespace)) lives.set(pushId({ namespace, name: live.metadata.name }), live);
      }
      for (const [id, push] of pending) {
        const live = lives.get(id);
        if (!live) {
          why.set(id, 'push not found');
          continue;
        }
        if (!readyAtGeneration(live)) {
          const ready = live.status?.conditions?.find((c) => c.type === 'Ready');
          why.set(id, `not Ready at generation ${live.metadata.generation}: ${ready ? `${ready.status}/${ready.reason}: ${ready.message}` : 'no status'}`);
          continue;
        }
        const problems = push.targets
          .map((ref) => [ref, targetMismatch(ref, targets.get(targetId(ref)), live, finalSpec(push))] as const)
          .filter(([, problem]) => problem !== undefined)
          .map(([ref, problem]) => `${targetId(ref)}: ${problem ?? ''}`);
        if (problems.length > 0) {
          why.set(id, `Ready but ${problems.join('; ')}`);
          continue;
        }
        pending.delete(id);
        why.delete(id);
        at = Date.now();
      }
    } catch (err) {
      // The control plane may be restarting: keep polling until the deadline.
      why.set('(poll)', describe(err));
    }
    if (pending.size === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  return {
    converged: pushes.length - pending.size,
    lost: [...pending.keys()].map((id) => ({ push: id, why: why.get(id) ?? 'unknown' })),
    at,
  };
}

/**
 * Removes a scenario's pushes without the operator (deleted, then the
 * finalizer dropped) so later scenarios' operators do not re-reconcile them.
 * Targets are left as they are: the ledger of this scenario is already read.
 * In this order because the suite's control plane has the finalizer policy
 * (manifests/finalizer-policy.yaml), which puts the finalizer back on an
 * update of a push that is not being deleted.
 */
export async function purgePushes(c: Clients, namespaces: readonly string[]): Promise<void> {
  for (const namespace of namespaces) {
    const pushes = await retrying('list pushes', () => listPushes(c, namespace));
    await forEachLimit(pushes, 8, async (push) => {
      const name = push.metadata.name;
      await retrying(`purge ${namespace}/${name}`, async () => {
        try {
          await c.custom.deleteNamespacedCustomObject({ ...base, namespace, name });
          await c.custom.patchNamespacedCustomObject(
            { ...base, namespace, name, body: { metadata: { finalizers: null } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        } catch (err) {
          if (code(err) !== 404) throw err;
        }
      });
    });
  }
}

export { GROUP, PLURAL, VERSION };
export type { ClusterEnv };

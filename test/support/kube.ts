import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig, ServerConfiguration, createConfiguration, type Middleware, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { ALLOWED_SOURCES_ANNOTATION, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { kubeconfigPath } from './paths.js';

/** The test's own clients: the "user" and "third party" that act beside the operator. */
export function testKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig;
}

const kubeConfig = testKubeConfig();
export const core = kubeConfig.makeApiClient(CoreV1Api);
export const custom = kubeConfig.makeApiClient(CustomObjectsApi);

/** A fresh namespace per test, so audit counts of one test never see another's objects. */
export async function newNamespace(prefix = 'test', annotations: Record<string, string> = {}, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, annotations, labels } } });
  return name;
}

/** A namespace that accepts ConfigPushes from `sources` without a serviceAccountName (the opt-in annotation). */
export function acceptingPushesFrom(...sources: string[]): Record<string, string> {
  return { [ALLOWED_SOURCES_ANNOTATION]: sources.join(',') };
}

const base = { group: GROUP, version: VERSION, plural: PLURAL };

export async function createPush(namespace: string, name: string, spec: ConfigPushSpec): Promise<ConfigPush> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace }, spec };
  return (await custom.createNamespacedCustomObject({ ...base, namespace, body })) as ConfigPush;
}

export async function getPush(namespace: string, name: string): Promise<ConfigPush> {
  return (await custom.getNamespacedCustomObject({ ...base, namespace, name })) as ConfigPush;
}

/**
 * Runs a read-then-conditional-write again on a 409, up to 5 times, as `kubectl edit` and client-go's
 * RetryOnConflict do: the operator's status writes move a push's resourceVersion whenever they like, and a
 * conflict is decided before admission, so it would hide the answer a test is about.
 */
export async function retryOnConflict<T>(readThenWrite: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readThenWrite();
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
    }
  }
}

/** Replaces the spec (a conditional update at the version just read), again from a fresh read on a 409. */
export async function updateSpec(namespace: string, name: string, mutate: (spec: ConfigPushSpec) => ConfigPushSpec): Promise<ConfigPush> {
  return retryOnConflict(async () => {
    const push = await getPush(namespace, name);
    const body = { ...push, spec: mutate(structuredClone(push.spec)) };
    return (await custom.replaceNamespacedCustomObject({ ...base, namespace, name, body })) as ConfigPush;
  });
}

export async function deletePush(namespace: string, name: string): Promise<void> {
  await custom.deleteNamespacedCustomObject({ ...base, namespace, name });
}

/** The value of `read`, or undefined when the object does not exist. */
async function unless404<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function pushExists(namespace: string, name: string): Promise<boolean> {
  return (await unless404(() => getPush(namespace, name))) !== undefined;
}

export function readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
  return unless404(() => core.readNamespacedConfigMap({ namespace, name }));
}

export function readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
  return unless404(() => core.readNamespacedSecret({ namespace, name }));
}

export function condition(push: ConfigPush, type: string) {
  return push.status?.conditions?.find((c) => c.type === type);
}

/** Polls until `check` returns a value (not undefined/false) or the timeout passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

/** Waits for Ready=True at the push's current generation (what `kubectl wait --for=condition=Ready` checks). */
export async function waitReady(namespace: string, name: string, timeoutMs = 20_000): Promise<ConfigPush> {
  return eventually(async () => {
    const push = await getPush(namespace, name);
    const ready = condition(push, 'Ready');
    return ready?.status === 'True' && ready.observedGeneration === push.metadata.generation && push.status?.observedGeneration === push.metadata.generation
      ? push
      : undefined;
  }, `${namespace}/${name} Ready`, timeoutMs);
}

/** Waits until Ready has the given reason at the current generation. */
export async function waitReason(namespace: string, name: string, reason: string, timeoutMs = 20_000): Promise<ConfigPush> {
  return eventually(async () => {
    const push = await getPush(namespace, name);
    const ready = condition(push, 'Ready');
    return ready?.reason === reason && ready.observedGeneration === push.metadata.generation ? push : undefined;
  }, `${namespace}/${name} Ready reason ${reason}`, timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A client configuration that acts as `user` (impersonated from the admin
 * kubeconfig, as `kubectl --as` does): pass it to any client-node API class.
 */
export function impersonating(user: string, group = 'system:authenticated'): ReturnType<typeof createConfiguration> {
  const impersonate: Middleware = {
    pre: async (context) => {
      context.setHeaderParam('Impersonate-User', user);
      context.setHeaderParam('Impersonate-Group', group);
      return context;
    },
    post: async (context) => context,
  };
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no cluster in the test kubeconfig');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [impersonate],
  });
}

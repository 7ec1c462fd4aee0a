import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/**
 * The API clients the operator uses, all built from one KubeConfig with the
 * same middleware chain. client-node has no request timeout of its own, so a
 * hung connection would hold a worker forever; the timeout middleware turns it
 * into a transient error that the queue retries with backoff.
 */
export interface ApiClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
}

export interface ClientOptions {
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs: number;
  /** Extra middleware, run after the operator's own (tests inject faults here). */
  middleware?: Middleware[];
}

export function timeoutMiddleware(timeoutMs: number): Middleware {
  return {
    pre: async (context: RequestContext) => {
      const existing = context.getSignal();
      const timeout = AbortSignal.timeout(timeoutMs);
      context.setSignal(existing ? AbortSignal.any([existing, timeout]) : timeout);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
}

function userAgentMiddleware(): Middleware {
  return {
    pre: async (context: RequestContext) => {
      context.setHeaderParam('User-Agent', 'configpush-operator');
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
}

export function makeClients(kubeConfig: KubeConfig, options: ClientOptions): ApiClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [
      userAgentMiddleware(),
      timeoutMiddleware(options.requestTimeoutMs),
      ...(options.middleware ?? []),
    ],
  });
  return {
    kubeConfig,
    core: new CoreV1Api(configuration),
    custom: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
  };
}

/**
 * Loads the kubeconfig the way kubectl does: $KUBECONFIG, then ~/.kube/config,
 * then the in-cluster service account.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  VersionApi,
  createConfiguration,
  type Middleware,
  type RequestContext,
  type ResponseContext,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { withApiErrors } from './api-errors.js';
import { ConnectionReusingAuth } from './connection-reuse.js';
import { UndiciRequestLibrary } from './undici-http-library.js';

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
  apps: AppsV1Api;
  /** GET /version: the cheapest request every authenticated client may make (a reachability probe). */
  version: VersionApi;
}

export interface ClientOptions {
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs: number;
  /** Sent as User-Agent; the audit log records it. Default "configpush-operator". */
  userAgent?: string;
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

function userAgentMiddleware(userAgent: string): Middleware {
  return {
    pre: async (context: RequestContext) => {
      context.setHeaderParam('User-Agent', userAgent);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
}

/**
 * `auth` is shared by every client of one identity (the operator's own and
 * its impersonating ones), so they share one TLS connection pool.
 */
export function makeClients(kubeConfig: KubeConfig, options: ClientOptions, auth = new ConnectionReusingAuth(kubeConfig)): ApiClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    httpApi: wrapHttpLibrary(new UndiciRequestLibrary()),
    authMethods: { default: auth },
    promiseMiddleware: [
      userAgentMiddleware(options.userAgent ?? 'configpush-operator'),
      timeoutMiddleware(options.requestTimeoutMs),
      auth.healthMiddleware(),
      ...(options.middleware ?? []),
    ],
  });
  return {
    kubeConfig,
    // Failures leave these clients already mapped to errors that carry their retry decision.
    core: withApiErrors(new CoreV1Api(configuration)),
    custom: withApiErrors(new CustomObjectsApi(configuration)),
    coordination: withApiErrors(new CoordinationV1Api(configuration)),
    apps: withApiErrors(new AppsV1Api(configuration)),
    version: withApiErrors(new VersionApi(configuration)),
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

/**
 * The operator's own clients plus, on demand, clients that impersonate a
 * tenant's ServiceAccount (cached per account). Impersonation makes the
 * apiserver authorize each request as that account, so a tenant can only
 * write where its own RBAC allows: the operator's broad rights are not lent out.
 */
export class ClientFactory {
  readonly operator: ApiClients;
  private readonly impersonated = new Map<string, ApiClients>();
  // Impersonation is a header, not a TLS identity: every client shares one pool.
  private readonly auth: ConnectionReusingAuth;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: ClientOptions,
  ) {
    this.auth = new ConnectionReusingAuth(kubeConfig);
    this.operator = makeClients(kubeConfig, options, this.auth);
  }

  /** Closes the shared connection pool once in-flight requests finish. */
  close(): Promise<void> {
    return this.auth.close();
  }

  forServiceAccount(namespace: string, name: string): ApiClients {
    const user = `system:serviceaccount:${namespace}:${name}`;
    let clients = this.impersonated.get(user);
    if (!clients) {
      const impersonate: Middleware = {
        pre: async (context: RequestContext) => {
          context.setHeaderParam('Impersonate-User', user);
          return context;
        },
        post: async (context: ResponseContext) => context,
      };
      clients = makeClients(this.kubeConfig, { ...this.options, middleware: [impersonate, ...(this.options.middleware ?? [])] }, this.auth);
      this.impersonated.set(user, clients);
    }
    return clients;
  }
}

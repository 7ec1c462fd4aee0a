import type { Middleware, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, ServerConfiguration, VersionApi, createConfiguration, wrapHttpLibrary } from './client-node.js';
import { withApiErrors } from './api-errors.js';
import { ConnectionReusingAuth } from './connection-reuse.js';
import { inOrder } from './middleware-chain.js';
import { RequestBudget, RequestThrottle, RetryAfterGate, type BudgetOptions, type ThrottleObserver } from './request-throttle.js';
import { UndiciRequestLibrary } from './undici-http-library.js';

/**
 * The API clients the operator uses, all built from one KubeConfig with the
 * same middleware chain and the same request library (undici-http-library.ts:
 * the throttle, each request's deadline, the pool's health).
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
  /** The client-side request budget (qps 0 = unlimited; absent = unlimited). */
  budget?: BudgetOptions;
  /** Told of every wait on the budget or a Retry-After, and of every throttled answer (metrics). */
  throttleObserver?: ThrottleObserver;
}

/** The budget `options` ask for, or undefined for unlimited. */
export function budgetFor(options: ClientOptions): RequestBudget | undefined {
  return options.budget && options.budget.qps > 0 ? new RequestBudget(options.budget) : undefined;
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
export function makeClients(
  kubeConfig: KubeConfig,
  options: ClientOptions,
  auth = new ConnectionReusingAuth(kubeConfig),
  throttle = new RequestThrottle(budgetFor(options), new RetryAfterGate(), options.throttleObserver),
): ApiClients {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const configuration = (library: UndiciRequestLibrary) =>
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      httpApi: wrapHttpLibrary(library),
      authMethods: { default: auth },
      // One middleware, so client-node's in-place reversal cannot alternate their order (middleware-chain.ts).
      promiseMiddleware: [
        inOrder([
          userAgentMiddleware(options.userAgent ?? 'configpush-operator'),
          ...(options.middleware ?? []),
        ]),
      ],
    });
  // The deadline and the pool's health live in the request library, which alone knows when a request is over (request-deadline.ts).
  const perRequest = { timeoutMs: options.requestTimeoutMs, health: auth };
  const throttled = configuration(new UndiciRequestLibrary({ ...perRequest, throttle }));
  // Lease renewals go around the throttle, as client-go's leader election has
  // its own client: a renewal queued behind a backlog of work, or held by a
  // Retry-After, would cost the lease (a renew deadline of 10 s), and then
  // every replica's work. They are one request every 2 s.
  const unthrottled = configuration(new UndiciRequestLibrary(perRequest));
  return {
    kubeConfig,
    // Failures leave these clients already mapped to errors that carry their retry decision.
    core: withApiErrors(new CoreV1Api(throttled)),
    custom: withApiErrors(new CustomObjectsApi(throttled)),
    coordination: withApiErrors(new CoordinationV1Api(unthrottled)),
    apps: withApiErrors(new AppsV1Api(throttled)),
    version: withApiErrors(new VersionApi(throttled)),
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
  /** One request budget for every client of the operator, its own and the impersonating ones. */
  private readonly budget: RequestBudget | undefined;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: ClientOptions,
  ) {
    this.auth = new ConnectionReusingAuth(kubeConfig);
    this.budget = budgetFor(options);
    this.operator = makeClients(kubeConfig, options, this.auth, this.throttleFor());
  }

  /**
   * The shared budget, behind a Retry-After gate of the identity's own: API
   * Priority and Fairness classifies an impersonated request by the
   * impersonated user, so one tenant's throttled flow must not hold back the
   * operator's or another tenant's requests.
   */
  private throttleFor(): RequestThrottle {
    return new RequestThrottle(this.budget, new RetryAfterGate(), this.options.throttleObserver);
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
      clients = makeClients(this.kubeConfig, { ...this.options, middleware: [impersonate, ...(this.options.middleware ?? [])] }, this.auth, this.throttleFor());
      this.impersonated.set(user, clients);
    }
    return clients;
  }
}

import { readFileSync } from 'node:fs';
import type { AgentOptions, RequestOptions } from 'node:https';
import type { KubeConfig, SecurityAuthentication } from '@kubernetes/client-node';
import { Agent } from 'undici';
import { RequestContext } from './client-node.js';
import type { Dispatcher, PoolHealth } from './undici-http-library.js';

/** How long one answer of the kubeconfig's authentication serves every request (ConnectionReusingAuth). */
export const AUTHENTICATION_REUSE_MS = 1_000;

/** What the kubeconfig's authentication gave a request: its headers (a token, impersonation) and the kept pool. */
interface Authentication {
  readonly headers: readonly (readonly [string, string])[];
  /** undefined for plain http (no TLS options). */
  readonly dispatcher: Dispatcher | undefined;
  readonly expiresAt: number;
}

/**
 * The kubeconfig's authentication, but with one connection pool per TLS
 * identity instead of one per request.
 *
 * client-node 2.x builds a new undici Agent for every API call, so every call
 * pays a TLS handshake: in the benchmark that was more than half of the
 * operator's CPU and most of its latency. This wrapper lets the kubeconfig set
 * the request up as usual (headers, tokens, exec plugins) and then swaps the
 * fresh Agent for the one kept from before, as long as the TLS material
 * (server, CA, client certificate and key, proxy) is unchanged. When it
 * changes, a rotated client certificate for example, the new Agent is kept
 * and the old one is closed once its in-flight requests finish, so rotation
 * keeps working without a restart. The discarded per-call Agents never open a
 * socket. The kubeconfig is asked at most once a second (`reuseMs`), not for
 * every request: its answer costs more than the rest of the request path.
 *
 * A pool can also go bad: after an apiserver restart the CI run once saw
 * every request on the kept HTTP/2 session hang until its timeout, for good,
 * where a new connection per request would have recovered. So a request that
 * times out with no response at all arriving on the pool since it was sent
 * condemns the pool (the request library reports answers and timeouts,
 * `answered` and `timedOut`): it is destroyed and the next request
 * starts a new one.
 *
 * The kept pool speaks HTTP/1.1, one request per connection at a time, where
 * client-node's Agent would take HTTP/2 when the apiserver offers it. Node's
 * HTTP/2 client costs more per request (measured in the throughput bench, same
 * tree, 4 runs each: the operator's own CPU 6.2 ms a push over HTTP/2, 5.6
 * over HTTP/1.1; the apiserver's no higher). The connections open as the
 * requests in flight need them, so there are at most as many as the
 * operator's concurrency (workers times each push's target concurrency, its
 * maxParallel up to 64, plus events and the lease), and undici closes one
 * idle for its keep-alive time (4 s against the apiserver, which sends no
 * Keep-Alive hint). A proxy
 * (proxy-url) keeps client-node's own dispatcher.
 */
export class ConnectionReusingAuth implements SecurityAuthentication, PoolHealth {
  /** The pool of the current TLS identity, once built (`dispatcher`), or while it is being built. */
  private pool: { identity: TlsIdentity; ready: Promise<Dispatcher>; dispatcher?: Dispatcher } | undefined;
  /** When the last response (any status) came back: proof the pool is alive. */
  private lastResponseAt = -Infinity;
  /** The kubeconfig's last answer, reused by requests until `expiresAt` (see `reuseMs`). */
  private current: Authentication | undefined;
  /** Counts the answers dropped (a 401, a condemned pool, close): an answer asked for before a drop is not kept. */
  private drops = 0;

  /**
   * `reuseMs`: how long one answer of the kubeconfig's authentication (its
   * headers and the pool of its TLS identity) serves every request. Asking
   * it costs ~100 µs of CPU a request (bench/request-client-cost.ts):
   * client-node builds an undici Agent for every call and decodes the CA,
   * certificate and key from base64 or reads their files, all to be thrown
   * away here. Reused for a second, a token or certificate rotated by the
   * kubeconfig's files or plugins is picked up within that second, where
   * client-node itself rereads a token file once a minute; and an answer of
   * 401 drops it at once (`answered`), so the next request asks again.
   */
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly reuseMs = AUTHENTICATION_REUSE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  getName(): string {
    return 'kubeconfig authentication, connections reused';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    let authentication = this.current;
    if (authentication === undefined || this.now() >= authentication.expiresAt) authentication = await this.authenticate(context);
    for (const [name, value] of authentication.headers) context.setHeaderParam(name, value);
    // undefined: plain http, no TLS options; fetch's global pool already reuses.
    if (authentication.dispatcher !== undefined) context.setDispatcher(authentication.dispatcher);
  }

  /** Asks the kubeconfig, on a request of its own, for the headers and the TLS material; keeps the pool for that material. */
  private async authenticate(context: RequestContext): Promise<Authentication> {
    const probe = new RequestContext(context.getUrl(), context.getHttpMethod());
    const askedAt = this.now();
    const drops = this.drops;
    await this.kubeConfig.applySecurityAuthentication(probe);
    const headers = Object.entries(probe.getHeaders());
    const fresh = probe.getDispatcher();
    const dispatcher = fresh === undefined ? undefined : await this.poolFor(fresh);
    const authentication: Authentication = { headers, dispatcher, expiresAt: askedAt + this.reuseMs };
    // A 401 answered or a pool condemned while this was asked: used by this request only, the next one asks again.
    if (drops === this.drops) this.current = authentication;
    return authentication;
  }

  /** The next request asks the kubeconfig again. */
  private dropAuthentication(): void {
    this.current = undefined;
    this.drops++;
  }

  /** The kept pool for the TLS identity the kubeconfig shows now; a new one (and the old closed) when it changed. */
  private async poolFor(fresh: Dispatcher): Promise<Dispatcher> {
    const identity = tlsIdentity(this.kubeConfig);
    if (this.pool === undefined || !sameTlsIdentity(this.pool.identity, identity)) {
      const previous = this.pool;
      // Built once per identity: requests that arrive while it is being built wait for the same pool.
      const pool: NonNullable<typeof this.pool> = { identity, ready: this.http1Pool(fresh) };
      pool.ready.then(
        (dispatcher) => void (pool.dispatcher = dispatcher),
        () => void (this.pool === pool && (this.pool = undefined)), // the next request tries again
      );
      this.pool = pool;
      // close() waits for requests already sent on it; new ones use the new pool.
      previous?.ready.then((dispatcher) => dispatcher.close()).catch(() => undefined);
    }
    return this.pool.ready;
  }

  /**
   * The pool for the kubeconfig's TLS material: client-node's own
   * options (CA, client certificate and key, server name, keep-alive), in an
   * Agent that does not negotiate HTTP/2. Built only when the identity
   * changes. `fresh` (client-node's per-request Agent, which never opened a
   * socket) is kept for what client-node routes through a proxy.
   */
  private async http1Pool(fresh: Dispatcher): Promise<Dispatcher> {
    // What applyToHTTPSOptions fills in is the AgentOptions part of the RequestOptions it is typed with.
    const tls: AgentOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(tls as RequestOptions);
    const plan = this.kubeConfig.createDispatcherOptions(this.kubeConfig.getCurrentCluster(), tls);
    if (plan.type !== 'agent') return fresh;
    return new Agent({ connect: plan.connect as NonNullable<Agent.Options['connect']>, allowH2: false }) as unknown as Dispatcher;
  }

  /** A response came back on some request: the pool is alive. A 401 says the credentials went stale: ask the kubeconfig again. */
  answered(status: number): void {
    this.lastResponseAt = performance.now();
    if (status === 401) this.dropAuthentication();
  }

  /** A request sent at `sentAt` on `dispatcher` reached its deadline unanswered: if nothing answered since, the pool is dead. */
  timedOut(dispatcher: Dispatcher, sentAt: number): void {
    if (this.pool === undefined || dispatcher !== this.pool.dispatcher || this.lastResponseAt >= sentAt) return;
    this.pool = undefined;
    this.dropAuthentication();
    // destroy, not close: the requests still on it are hung, not finishing.
    dispatcher.destroy().catch(() => undefined);
  }

  /** Closes the pool (the operator is stopping). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.dropAuthentication();
    await pool?.ready.then((dispatcher) => dispatcher.close()).catch(() => undefined);
  }
}

/**
 * Everything client-node feeds into the Agent's TLS options, as it stands for
 * this request. Files are read each time the kubeconfig is asked (once a
 * second at most, ConnectionReusingAuth), so a certificate rotated on disk is
 * noticed within that second.
 * Inline data stays the kubeconfig's own base64 string: comparing it to the
 * last one is a pointer check while the kubeconfig is unchanged. Decoding
 * and hashing all three parts, as this did before, cost ~7 µs a request,
 * twice client-node's own authentication of it; comparing costs nothing
 * measurable (bench/request-auth-cost.ts).
 */
export type TlsIdentity = readonly [
  server: string | undefined,
  proxyUrl: string | undefined,
  skipTLSVerify: boolean | undefined,
  tlsServerName: string | undefined,
  ca: Buffer | string | undefined,
  cert: Buffer | string | undefined,
  key: Buffer | string | undefined,
];

export function tlsIdentity(kubeConfig: KubeConfig): TlsIdentity {
  const cluster = kubeConfig.getCurrentCluster();
  const user = kubeConfig.getCurrentUser();
  return [
    cluster?.server,
    cluster?.proxyUrl,
    cluster?.skipTLSVerify,
    cluster?.tlsServerName,
    fileOrData(cluster?.caFile, cluster?.caData),
    fileOrData(user?.certFile, user?.certData),
    fileOrData(user?.keyFile, user?.keyData),
  ];
}

/** The file's bytes when it is named, else the inline base64 text: client-node's precedence (bufferFromFileOrString). */
function fileOrData(file: string | undefined, data: string | undefined): Buffer | string | undefined {
  if (file) return readFileSync(file);
  return data || undefined;
}

/** Whether two identities would give client-node the same TLS options. */
export function sameTlsIdentity(a: TlsIdentity, b: TlsIdentity): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y) ? !x.equals(y) : x !== y) return false;
  }
  return true;
}

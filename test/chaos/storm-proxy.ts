import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { ClusterEnv } from './cluster.js';
import { mulberry32 } from './random.js';
import { TlsFront } from '../support/tls-front.js';

/**
 * A TLS-terminating proxy between the operator and the apiserver that, while
 * a storm is on, answers a share of requests itself with what an overloaded
 * apiserver's priority and fairness sends: 429 TooManyRequests with a
 * Retry-After of 1..maxRetryAfterS seconds. A rejected request never reaches
 * the apiserver (APF rejects before the handler), so it writes nothing. Watch
 * starts are rejected the same way; watches already open stream on.
 *
 * Every request's arrival is recorded (what a counting proxy sees), so the
 * scenario can tell whether the operator came back before the Retry-After it
 * was given, and how many requests a second it sent while throttled.
 *
 * Like lossy-proxy.ts: the apiserver's certificate towards the client, the
 * admin client certificate upstream (the audit log sees the same identity and
 * User-Agent), loopback only, bounded lifetime.
 */
export interface StormProxyOptions {
  cluster: ClusterEnv;
  seed: number;
  /** Share of requests rejected while the storm is on, 0..1. */
  share: number;
  /** Retry-After of each rejection: 1..this many seconds, drawn per answer. */
  maxRetryAfterS: number;
  maxLifetimeMs?: number;
}

export interface Arrival {
  at: number;
  /** When the TCP connection it came on was accepted, and whether it was that connection's first request. */
  connectedAt: number;
  firstOnConnection: boolean;
  method: string;
  path: string;
  watch: boolean;
  /** Set when the proxy answered 429 itself. */
  retryAfterS?: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export class StormProxy {
  readonly arrivals: Arrival[] = [];
  /** While true, `share` of the requests are answered 429. */
  storm = false;
  private readonly front: TlsFront;
  /** TCP accept time of each connection (the TLS socket's parent), and the connections that already carried a request. */
  private readonly acceptedAt = new WeakMap<object, number>();
  private readonly used = new WeakSet<object>();
  private readonly agent: Agent;
  private readonly random: () => number;
  private lifetime: NodeJS.Timeout | undefined;

  constructor(private readonly options: StormProxyOptions) {
    const pki = options.cluster.pki;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 64,
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    });
    this.random = mulberry32(options.seed);
    this.front = new TlsFront(
      { pki, name: 'storm proxy', onConnection: (socket) => this.acceptedAt.set(socket, Date.now()) },
      (req, res) => this.handle(req, res),
    );
  }

  get port(): number {
    return this.front.port;
  }

  get url(): string {
    return this.front.url;
  }

  async start(): Promise<void> {
    await this.front.start();
    this.lifetime = setTimeout(() => void this.stop(), this.options.maxLifetimeMs ?? 60 * 60_000);
    this.lifetime.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.lifetime);
    this.agent.destroy();
    await this.front.stop();
  }

  /** A kubeconfig that points at the proxy (same CA, admin client certificate). */
  kubeconfig(): string {
    const pki = this.options.cluster.pki;
    const b64 = (file: string) => readFileSync(join(pki, file)).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: storm-proxy',
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('admin.crt')}`,
      `    client-key-data: ${b64('admin.key')}`,
      'contexts:',
      '- name: storm-proxy',
      '  context: {cluster: storm-proxy, user: admin, namespace: default}',
      'current-context: storm-proxy',
      '',
    ].join('\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const watch = method === 'GET' && /[?&]watch=(true|1)(&|$)/.test(path);
    const at = Date.now();
    // https: the request's socket is the TLS socket; the accepted TCP socket is its _parent.
    const tcp = (req.socket as Socket & { _parent?: object })._parent ?? req.socket;
    const firstOnConnection = !this.used.has(tcp);
    this.used.add(tcp);
    const arrival: Arrival = { at, connectedAt: this.acceptedAt.get(tcp) ?? at, firstOnConnection, method, path, watch };
    this.arrivals.push(arrival);
    if (this.storm && this.random() < this.options.share) {
      const retryAfterS = 1 + Math.floor(this.random() * this.options.maxRetryAfterS);
      arrival.retryAfterS = retryAfterS;
      req.resume();
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'too many requests, please try again later',
        reason: 'TooManyRequests',
        details: { retryAfterSeconds: retryAfterS },
        code: 429,
      });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfterS) }).end(body);
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(key.toLowerCase())) headers[key] = value;
    }
    const upstream = request({ host: '127.0.0.1', port: this.options.cluster.apiserverPort, method, path, headers, agent: this.agent });
    if (!watch) upstream.setTimeout(60_000, () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', () => req.socket.destroy());
    upstream.on('response', (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(key.toLowerCase())) out[key] = value;
      }
      res.writeHead(answer.statusCode ?? 502, out);
      if (watch) res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => req.socket.destroy());
      res.on('close', () => answer.destroy());
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (watch) upstream.destroy();
    });
  }
}

/**
 * Requests that came back sooner than a Retry-After allowed: for each 429
 * answered at T with Retry-After R, the non-watch requests that arrived in
 * (T + inFlightMs, T + R), except those already on their way at T: the first
 * request of a connection accepted by T + inFlightMs was sent when that
 * connection was opened (a process starting under load opens several at
 * once, and their TLS handshakes took 300+ ms before the requests arrived).
 * Windows that a restart of the operator falls in are skipped: a new process
 * has not heard the old one's Retry-After. (Watches do not pass the
 * operator's request throttle, as client-go's do not.)
 */
export function earlyReturns(arrivals: readonly Arrival[], restarts: readonly number[], inFlightMs: number): { rejection: Arrival; early: Arrival }[] {
  const found: { rejection: Arrival; early: Arrival }[] = [];
  const requests = arrivals.filter((a) => !a.watch);
  // Arrivals are recorded in arrival order: each window is scanned forward from its rejection.
  for (const [i, rejection] of requests.entries()) {
    if (rejection.retryAfterS === undefined) continue;
    const end = rejection.at + rejection.retryAfterS * 1000;
    if (restarts.some((t) => t >= rejection.at && t <= end)) continue;
    for (let j = i + 1; j < requests.length && (requests[j] as Arrival).at < end; j++) {
      const a = requests[j] as Arrival;
      const sentBefore = a.firstOnConnection && a.connectedAt <= rejection.at + inFlightMs;
      if (a.at > rejection.at + inFlightMs && !sentBefore) found.push({ rejection, early: a });
    }
  }
  return found;
}

/** The most requests (watches excluded) that arrived within one second, between `from` and `to`. */
export function peakPerSecond(arrivals: readonly Arrival[], from: number, to: number): number {
  const times = arrivals.filter((a) => !a.watch && a.at >= from && a.at <= to).map((a) => a.at);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[j] as number) < (times[i] as number) - 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

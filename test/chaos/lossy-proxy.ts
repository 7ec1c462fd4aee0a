import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { ClusterEnv } from './cluster.js';
import { mulberry32 } from './random.js';
import { TlsFront } from '../support/tls-front.js';

/**
 * A TLS-terminating proxy between a client (the operator) and the apiserver
 * that loses responses of writes that happened. It serves TLS with the
 * apiserver's own certificate (signed by the cluster CA, SAN 127.0.0.1), and
 * forwards upstream with the admin client certificate, so the apiserver sees
 * the same identity and User-Agent as without the proxy.
 *
 * For a share of write requests (POST/PUT/PATCH/DELETE) it forwards the
 * request, waits until the apiserver has answered (so the write is done and
 * in the audit log), reads the whole answer, and then gives the client
 * nothing: either it destroys the client's socket at once ('reset', the
 * client sees a connection error) or holds it silent until the client gives
 * up ('hold', the client sees its own request timeout; destroyed after
 * holdMs at the latest). Reads and watches stream through untouched.
 *
 * Loopback only, and bounded: at most maxRequests requests, each upstream
 * request (not watches) at most upstreamTimeoutMs, and the whole proxy closes
 * itself after maxLifetimeMs.
 */
export type DropMode = 'reset' | 'hold';

export interface LossyProxyOptions {
  cluster: ClusterEnv;
  /** Share of write requests whose response is dropped, 0..1. */
  dropRate: number;
  seed: number;
  /** How a dropped response is lost; 'mixed' alternates at random. */
  mode?: DropMode | 'mixed';
  holdMs?: number;
  /** Overrides dropRate: decide per request (method, path) whether to drop its response. */
  shouldDrop?: (method: string, path: string) => boolean;
  maxRequests?: number;
  upstreamTimeoutMs?: number;
  maxLifetimeMs?: number;
  /**
   * Told, synchronously, when a request (not a watch) has fully reached the
   * proxy ('sent': it goes on upstream whatever the client does next) and
   * when its answer has been handed to the client ('answered'). The
   * crash-at-every-step scenario kills the operator from here.
   */
  tap?: (event: TapEvent) => void;
  /** Hand the tap each write's request body too ('sent', up to 64 KiB), e.g. to read the operation key a write carries. */
  tapBodies?: boolean;
  /**
   * How long a client's idle keep-alive connection stays open, advertised to
   * the client in a Keep-Alive header (Node's default: 5 s). 0: as the
   * apiserver does, no header and no server-side idle close (the apiserver's
   * is 90 s), so the client's own idle timeout applies (undici: 4 s). With
   * Node's 5 s, a partition longer than it sees the proxy close every idle
   * connection behind it, which no apiserver would do.
   */
  keepAliveTimeoutMs?: number;
}

export interface TapEvent {
  /** The request's number in this proxy's life: the same for its 'sent' and its 'answered'. */
  id: number;
  phase: 'sent' | 'answered';
  method: string;
  path: string;
  /** The apiserver's status code ('answered' only). */
  status?: number;
  /** The request body of a write ('sent' only, with tapBodies). */
  body?: string;
}

export interface DroppedResponse {
  method: string;
  path: string;
  /** The apiserver's answer that the client never got. */
  status: number;
  mode: DropMode;
  at: number;
}

export interface ProxyStats {
  requests: number;
  writes: number;
  watches: number;
  dropped: DroppedResponse[];
  upstreamErrors: number;
  refused: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

export class LossyProxy {
  readonly stats: ProxyStats = { requests: 0, writes: 0, watches: 0, dropped: [], upstreamErrors: 0, refused: 0 };
  private readonly front: TlsFront;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly agent: Agent;
  private readonly random: () => number;
  private lifetime: NodeJS.Timeout | undefined;
  /** Set to 0 to stop dropping (e.g. for the final convergence check). */
  dropRate: number;

  constructor(private readonly options: LossyProxyOptions) {
    const pki = options.cluster.pki;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 64,
      ca: readFileSync(join(pki, 'ca.crt')),
      cert: readFileSync(join(pki, 'admin.crt')),
      key: readFileSync(join(pki, 'admin.key')),
    });
    this.random = mulberry32(options.seed);
    this.dropRate = options.dropRate;
    this.front = new TlsFront(
      { pki, name: 'proxy', ...(options.keepAliveTimeoutMs !== undefined ? { keepAliveTimeoutMs: options.keepAliveTimeoutMs } : {}) },
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
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.agent.destroy();
    await this.front.stop();
  }

  /**
   * Writes a kubeconfig that points at the proxy (same CA, admin client
   * certificate), or at `server` in front of it (a relay such as the
   * partition gate, which passes the TLS session through).
   */
  kubeconfig(server = this.url): string {
    const pki = this.options.cluster.pki;
    const b64 = (file: string) => readFileSync(join(pki, file)).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: lossy-proxy',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('admin.crt')}`,
      `    client-key-data: ${b64('admin.key')}`,
      'contexts:',
      '- name: lossy-proxy',
      '  context: {cluster: lossy-proxy, user: admin, namespace: default}',
      'current-context: lossy-proxy',
      '',
    ].join('\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const stats = this.stats;
    const id = ++stats.requests;
    if (id > (this.options.maxRequests ?? 500_000)) {
      stats.refused++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('lossy proxy: request budget exhausted');
      return;
    }
    const isWrite = WRITE_METHODS.has(method);
    const isWatch = method === 'GET' && /[?&]watch=(true|1)(&|$)/.test(path);
    if (isWrite) stats.writes++;
    if (isWatch) stats.watches++;
    const drop = isWrite && (this.options.shouldDrop ? this.options.shouldDrop(method, path) : this.random() < this.dropRate);

    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(key.toLowerCase())) headers[key] = value;
    }
    const upstream = request({
      host: '127.0.0.1',
      port: this.options.cluster.apiserverPort,
      method,
      path,
      headers,
      agent: this.agent,
    });
    if (!isWatch) {
      upstream.setTimeout(this.options.upstreamTimeoutMs ?? 60_000, () => upstream.destroy(new Error('upstream timeout')));
    }
    upstream.on('error', () => {
      stats.upstreamErrors++;
      // The client sees what it would see if the apiserver went away.
      req.socket.destroy();
    });
    upstream.on('response', (answer) => {
      if (!drop) {
        const out: Record<string, string | string[]> = {};
        for (const [key, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(key.toLowerCase())) out[key] = value;
        }
        res.writeHead(answer.statusCode ?? 502, out);
        if (isWatch) res.flushHeaders();
        else if (this.options.tap) res.on('finish', () => this.options.tap?.({ id, phase: 'answered', method, path, status: answer.statusCode ?? 0 }));
        answer.pipe(res);
        answer.on('error', () => req.socket.destroy());
        res.on('close', () => answer.destroy());
        return;
      }
      // The write is done; read the answer to its end, then lose it.
      answer.resume();
      answer.on('end', () => {
        const mode: DropMode =
          this.options.mode === 'reset' || this.options.mode === 'hold'
            ? this.options.mode
            : this.random() < 0.5
              ? 'reset'
              : 'hold';
        stats.dropped.push({ method, path, status: answer.statusCode ?? 0, mode, at: Date.now() });
        const socket = req.socket;
        if (mode === 'reset') {
          socket.destroy();
          return;
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          socket.destroy();
        }, this.options.holdMs ?? 10_000);
        this.timers.add(timer);
        socket.on('close', () => {
          clearTimeout(timer);
          this.timers.delete(timer);
        });
      });
    });
    const chunks: Buffer[] = [];
    let bodyBytes = 0;
    if (isWrite && this.options.tapBodies) {
      req.on('data', (chunk: Buffer) => {
        if (bodyBytes + chunk.length > 64 * 1024) return;
        chunks.push(chunk);
        bodyBytes += chunk.length;
      });
    }
    req.pipe(upstream);
    if (!isWatch && this.options.tap) {
      req.on('end', () =>
        this.options.tap?.({ id, phase: 'sent', method, path, ...(chunks.length > 0 ? { body: Buffer.concat(chunks).toString('utf8') } : {}) }),
      );
    }
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (isWatch) upstream.destroy();
    });
  }
}

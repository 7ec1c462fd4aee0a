import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterDir } from './paths.js';
import { TlsFront } from './tls-front.js';

/**
 * A TLS-terminating proxy between the operator and the apiserver that can
 * hold back chosen watches, so a test can make the operator's watch cache lag
 * behind the apiserver for real: the watch stream is stalled, not faked.
 *
 * It serves TLS with the apiserver's own certificate (SAN 127.0.0.1, signed
 * by the cluster CA, which the operator's kubeconfig trusts) and forwards
 * every request with its own headers (the operator's bearer token included)
 * and no client certificate, so the apiserver sees the operator's identity
 * and User-Agent. Everything streams through untouched except watch requests
 * that `gated` selects:
 * - hold(): gated watches stop forwarding events (what the apiserver sends
 *   waits in the proxy's socket buffers); a gated watch opened meanwhile gets
 *   its response headers and then silence. The operator's watch caches
 *   freeze while its reads, writes and LISTs still work: a silent watch;
 * - release(): held watches stream again, delivering what they held late
 *   (a delayed watch);
 * - release({ drop: true }): held watches are cut instead (a dropped watch:
 *   the client sees its connection fail and must re-watch or re-list).
 * Loopback only; stop() closes everything.
 */
export class WatchGate {
  private readonly front: TlsFront;
  private readonly agent: Agent;
  /** Gated watches streaming now: their upstream answer, the client's response and socket. */
  private readonly open = new Set<{ answer: IncomingMessage; res: ServerResponse; socket: Socket }>();
  private holding = false;
  /** Gated watch requests seen, those opened while holding, and those cut by release({ drop }). */
  readonly stats = { gatedWatches: 0, openedWhileHeld: 0, droppedWatches: 0 };

  constructor(
    private readonly upstreamPort: number,
    private readonly gated: (path: string) => boolean = isTargetWatch,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(join(clusterDir, 'pki', 'ca.crt')) });
    this.front = new TlsFront({ pki: join(clusterDir, 'pki'), name: 'watch gate' }, (req, res) => this.handle(req, res));
  }

  get port(): number {
    return this.front.port;
  }

  get url(): string {
    return this.front.url;
  }

  start(): Promise<void> {
    return this.front.start();
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await this.front.stop();
  }

  /** A copy of kubeconfig `path` whose cluster is this proxy (same CA, same user), written to `out`. */
  kubeconfig(path: string, out: string): string {
    const source = new KubeConfig();
    source.loadFromFile(path);
    const cluster = source.getCurrentCluster();
    const user = source.getCurrentUser();
    if (!cluster || !user) throw new Error(`${path} has no current cluster or user`);
    const proxied = new KubeConfig();
    proxied.loadFromOptions({
      clusters: [{ ...cluster, server: this.url }],
      users: [user],
      contexts: [{ name: 'watch-gate', cluster: cluster.name, user: user.name }],
      currentContext: 'watch-gate',
    });
    writeFileSync(out, proxied.exportConfig(), { mode: 0o600 });
    return out;
  }

  hold(): void {
    this.holding = true;
    for (const watch of this.open) {
      watch.answer.unpipe(watch.res);
      watch.answer.pause();
    }
  }

  release({ drop = false }: { drop?: boolean } = {}): void {
    this.holding = false;
    for (const watch of [...this.open]) {
      if (drop) {
        this.stats.droppedWatches++;
        this.open.delete(watch);
        watch.socket.destroy();
      } else {
        watch.answer.pipe(watch.res);
        watch.answer.resume();
      }
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const isWatch = method === 'GET' && /[?&]watch=(true|1)(&|$)/.test(path);
    const gated = isWatch && this.gated(path);
    if (gated) this.stats.gatedWatches++;
    if (gated && this.holding) this.stats.openedWhileHeld++;
    const headers: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
    const upstream = request({ host: '127.0.0.1', port: this.upstreamPort, method, path, headers, agent: this.agent });
    upstream.on('error', () => req.socket.destroy());
    upstream.on('response', (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
      res.writeHead(answer.statusCode ?? 502, out);
      answer.on('error', () => req.socket.destroy());
      res.on('close', () => answer.destroy());
      // A watch's headers go out at once, as the apiserver sends them: a quiet
      // watch has no body to carry them, and the client waits for them.
      if (isWatch) res.flushHeaders();
      if (!gated) {
        answer.pipe(res);
        return;
      }
      const stream = { answer, res, socket: req.socket };
      this.open.add(stream);
      res.on('close', () => this.open.delete(stream));
      if (this.holding) answer.pause();
      else answer.pipe(res);
    });
    req.pipe(upstream);
    req.on('error', () => upstream.destroy());
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

/** The operator's cluster-wide watches of managed ConfigMaps and Secrets (its target caches). */
export function isTargetWatch(path: string): boolean {
  return /^\/api\/v1\/(configmaps|secrets)\?/.test(path);
}

/** The port of the apiserver this test run uses (hack/cluster.sh's env file). */
export function apiserverPort(): number {
  const line = readFileSync(join(clusterDir, 'env'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('APISERVER_PORT='));
  const port = Number(line?.slice('APISERVER_PORT='.length));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${clusterDir}/env has no APISERVER_PORT`);
  return port;
}

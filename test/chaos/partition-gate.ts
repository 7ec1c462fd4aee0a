import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A network partition between a client and a server, at the TCP level: a
 * plain byte relay (no TLS of its own: the client's TLS session goes through
 * it to the server, e.g. the lossy proxy in front of the apiserver) that can
 * stop carrying bytes in both directions at any instant without closing
 * anything. Packets dropped, not refused: no FIN, no RST, no error reaches
 * either side; the client sees a request sent and an answer that never comes,
 * a watch that goes silent, a TLS handshake that never completes.
 *
 * Bytes sent into the partition are held (as the sender's TCP stack would
 * keep retransmitting them) and a close by either side is held too. How it
 * heals:
 *  - 'resume': a short partition, as TCP sees it: the held bytes are delivered
 *    in order, then the held closes (a request written before the client gave
 *    up still lands, after it gave up: a late delivery);
 *  - 'blackhole': the far side forgot every connection (a long partition, a
 *    conntrack entry gone): connections open at the heal never carry another
 *    byte and the client gets no FIN; a close by the client is passed on so the
 *    relay does not leak. New connections work.
 *
 * A connection accepted during the partition completes its TCP handshake
 * (this relay is the client's TCP peer) but nothing beyond: from the client's
 * side, a TLS handshake that hangs, as a connect whose SYNs are dropped does.
 *
 * Loopback only; the held bytes are bounded per direction (beyond it they are
 * dropped and counted), and the relay closes itself after maxLifetimeMs.
 */
export type HealMode = 'resume' | 'blackhole';

export interface PartitionGateOptions {
  /** The server side: host and port the relay connects each client to. */
  upstreamPort: number;
  upstreamHost?: string;
  /** Per direction of one connection; default 16 MiB. */
  maxHeldBytes?: number;
  maxLifetimeMs?: number;
}

export interface PartitionEpisode {
  startedAt: number;
  healedAt?: number;
  mode?: HealMode;
  /** Connections open when it began. */
  connections: number;
  /** Bytes held in each direction (to the server, to the client). */
  heldToServer: number;
  heldToClient: number;
  /** Bytes delivered at the heal ('resume'). */
  deliveredLate: number;
  /** Connections silenced for good at the heal ('blackhole'). */
  blackholed: number;
}

export interface GateStats {
  connections: number;
  /** Connections accepted while partitioned. */
  acceptedDuringPartition: number;
  droppedOverflowBytes: number;
  episodes: PartitionEpisode[];
}

/** One direction of one connection. */
interface Link {
  from: Socket;
  to: Socket;
  toServer: boolean;
  held: Buffer[];
  heldBytes: number;
  /** What `from` did while partitioned: half-closed (FIN) or closed (destroyed). */
  pendingEnd: boolean;
  pendingClose: boolean;
  /** Silenced for good (a blackhole heal). */
  dead: boolean;
}

export class PartitionGate {
  readonly stats: GateStats = { connections: 0, acceptedDuringPartition: 0, droppedOverflowBytes: 0, episodes: [] };
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private readonly sockets = new Set<Socket>();
  private lifetime: NodeJS.Timeout | undefined;
  private episode: PartitionEpisode | undefined;
  port = 0;

  constructor(private readonly options: PartitionGateOptions) {}

  get partitioned(): boolean {
    return this.episode !== undefined;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('partition gate: no port');
    this.port = address.port;
    this.server = server;
    this.lifetime = setTimeout(() => void this.stop(), this.options.maxLifetimeMs ?? 60 * 60_000);
    this.lifetime.unref();
  }

  /** From now on no byte crosses, either way, on any connection; nothing is closed. Synchronous. */
  partition(): PartitionEpisode {
    if (this.episode) return this.episode;
    const connections = new Set([...this.links].filter((l) => !l.dead).map((l) => (l.toServer ? l.from : l.to))).size;
    this.episode = { startedAt: Date.now(), connections, heldToServer: 0, heldToClient: 0, deliveredLate: 0, blackholed: 0 };
    this.stats.episodes.push(this.episode);
    return this.episode;
  }

  /** Ends the partition (see the class comment for the modes). Synchronous. */
  heal(mode: HealMode): void {
    const episode = this.episode;
    if (!episode) return;
    this.episode = undefined;
    episode.healedAt = Date.now();
    episode.mode = mode;
    const silenced = new Set<Socket>();
    for (const link of [...this.links]) {
      if (link.dead) continue;
      if (mode === 'blackhole') {
        link.dead = true;
        link.held = [];
        link.heldBytes = 0;
        silenced.add(link.toServer ? link.from : link.to);
        // The client's own close (now or later) ends the relay's server side; the server's never reaches the client.
        if (link.toServer && link.pendingClose) this.drop(link);
        continue;
      }
      for (const chunk of link.held) {
        episode.deliveredLate += chunk.length;
        if (!link.to.destroyed) link.to.write(chunk);
      }
      link.held = [];
      link.heldBytes = 0;
      if (link.pendingClose) this.drop(link);
      else if (link.pendingEnd && !link.to.destroyed) link.to.end();
    }
    episode.blackholed = silenced.size;
  }

  async stop(): Promise<void> {
    clearTimeout(this.lifetime);
    this.episode = undefined;
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.links.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (!this.server) {
      client.destroy();
      return;
    }
    this.stats.connections++;
    if (this.episode) this.stats.acceptedDuringPartition++;
    const upstream = connect({ port: this.options.upstreamPort, host: this.options.upstreamHost ?? '127.0.0.1', allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      // Errors are the sockets' own business: each shows up as a close.
      socket.on('error', () => undefined);
    }
    this.relay(client, upstream, true);
    this.relay(upstream, client, false);
  }

  private relay(from: Socket, to: Socket, toServer: boolean): void {
    const link: Link = { from, to, toServer, held: [], heldBytes: 0, pendingEnd: false, pendingClose: false, dead: false };
    this.links.add(link);
    const max = this.options.maxHeldBytes ?? 16 * 1024 * 1024;
    from.on('data', (chunk: Buffer) => {
      if (link.dead) return;
      const episode = this.episode;
      if (!episode) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      if (link.heldBytes + chunk.length > max) {
        this.stats.droppedOverflowBytes += chunk.length;
        return;
      }
      link.held.push(chunk);
      link.heldBytes += chunk.length;
      if (toServer) episode.heldToServer += chunk.length;
      else episode.heldToClient += chunk.length;
    });
    from.on('end', () => {
      if (link.dead) return;
      if (this.episode) link.pendingEnd = true;
      else if (!to.destroyed) to.end();
    });
    from.on('close', () => {
      if (link.dead) {
        // Blackholed: only the client's close is passed on (to the relay's own upstream socket).
        if (toServer) this.drop(link);
        else this.links.delete(link);
        return;
      }
      if (this.episode) link.pendingClose = true;
      else this.drop(link);
    });
  }

  /** `link.from` is gone: finish `link.to` gracefully (after what was written) and forget the link. */
  private drop(link: Link): void {
    this.links.delete(link);
    if (!link.to.destroyed) link.to.end();
    // A peer that never answers the FIN must not keep the socket for ever.
    setTimeout(() => link.to.destroy(), 5_000).unref();
  }
}

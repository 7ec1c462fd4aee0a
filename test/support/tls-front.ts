import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';

export interface TlsFrontOptions {
  /** The control plane's pki directory: the front serves the apiserver's own certificate (SAN 127.0.0.1), so clients keep their CA. */
  pki: string;
  /** What an error message calls it. */
  name: string;
  /** The server's keep-alive timeout (node's default when absent). */
  keepAliveTimeoutMs?: number;
  /** Told of every accepted TCP connection, before its TLS handshake. */
  onConnection?: (socket: Socket) => void;
}

/**
 * The listening half of the test relays that stand between the operator and
 * the apiserver (the lossy proxy, the 429 storm proxy, the watch gate): an
 * HTTPS server on a free loopback port with the apiserver's certificate,
 * HTTP/1.1 only (each relay forwards request by request), no request timeout
 * (watches are long responses: client and apiserver bound them), and every
 * connection tracked so stop() ends them all, watches included.
 */
export class TlsFront {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly options: TlsFrontOptions,
    private readonly handle: (req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { pki } = this.options;
    const server = createServer(
      { cert: readFileSync(join(pki, 'apiserver.crt')), key: readFileSync(join(pki, 'apiserver.key')), ALPNProtocols: ['http/1.1'] },
      (req, res) => this.handle(req, res),
    );
    server.requestTimeout = 0;
    if (this.options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = this.options.keepAliveTimeoutMs;
    const track = (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    };
    server.on('connection', (socket: Socket) => {
      this.options.onConnection?.(socket);
      track(socket);
    });
    server.on('secureConnection', track);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error(`${this.options.name}: no port`);
    this.port = address.port;
    this.server = server;
  }

  /** Ends every connection (open watches too) and closes the server. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

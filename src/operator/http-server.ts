import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

/** One endpoint address and the flag that set it, so an error can name what to change. */
export interface Endpoint {
  /** e.g. '--metrics-address'. */
  flag: string;
  /** The environment variable that sets it too, e.g. 'CONFIGPUSH_METRICS_ADDRESS'. */
  env?: string;
  /** HOST:PORT or :PORT. */
  address: string;
}

/**
 * The address could not be served (in use, not permitted, ...). Its message
 * is for the person who started the operator: it names the flag and the
 * address, and says what to do. The program prints it without a stack trace.
 */
export class ListenError extends Error {
  constructor(
    readonly endpoint: Endpoint,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** HOST:PORT or :PORT (all interfaces) into what server.listen() takes. */
export function parseAddress(address: string): { host: string; port: number } {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator) || '0.0.0.0';
  const port = Number(address.slice(separator + 1));
  if (separator < 0 || address.slice(separator + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid address ${JSON.stringify(address)}: want HOST:PORT or :PORT`);
  }
  return { host, port };
}

/**
 * A tiny HTTP server for the operator's endpoints: /metrics on one address,
 * /healthz and /readyz on another (as controller-runtime does), so probes
 * never compete with a slow scrape.
 */
export async function startHttpServer(endpoint: Endpoint, routes: Record<string, Route>, log: Logger): Promise<Server> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseAddress(endpoint.address));
  } catch (err) {
    throw new ListenError(endpoint, undefined, `${endpoint.flag}: ${(err as Error).message}`);
  }
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route()
      .then(({ status, contentType, body }) => res.writeHead(status, { 'content-type': contentType }).end(body))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(endpoint, err)));
    server.listen(port, host, () => {
      log.info({ address: server.address(), paths: Object.keys(routes) }, 'serving');
      resolve(server);
    });
  });
}

/** Why listening failed, in terms of the flag: a second operator (or `npm start`) on one machine meets EADDRINUSE. */
function listenError(endpoint: Endpoint, err: NodeJS.ErrnoException): ListenError {
  const { flag, env, address } = endpoint;
  const change = `pass ${flag} HOST:PORT${env ? ` (or set ${env})` : ''} to serve on another address, or ${flag} '' to turn it off`;
  const why =
    err.code === 'EADDRINUSE'
      ? `address ${address} is already in use (another process holds it: another operator or \`npm start\`?)`
      : err.code === 'EACCES'
        ? `permission denied to listen on ${address}`
        : `cannot listen on ${address}: ${err.message}`;
  return new ListenError(endpoint, err.code, `${flag}: ${why}; ${change}`);
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

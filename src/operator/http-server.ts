import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';

export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

/**
 * A tiny HTTP server for the operator's endpoints: /metrics on one address,
 * /healthz and /readyz on another (as controller-runtime does), so probes
 * never compete with a slow scrape.
 */
export function startHttpServer(address: string, routes: Record<string, Route>, log: Logger): Promise<Server> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator) || '0.0.0.0';
  const port = Number(address.slice(separator + 1));
  if (separator < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid address ${JSON.stringify(address)}: want HOST:PORT or :PORT`);
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
    server.once('error', reject);
    server.listen(port, host, () => {
      log.info({ address: server.address(), paths: Object.keys(routes) }, 'serving');
      resolve(server);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

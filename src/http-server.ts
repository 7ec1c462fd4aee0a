import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * /metrics for Prometheus, /healthz (the process is alive), /readyz (the
 * caches have synced, so reconciles see the whole world).
 */
export function startHttpServer(address: string, metrics: Metrics, isReady: () => boolean, log: Logger): Promise<Server> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator) || '0.0.0.0';
  const port = Number(address.slice(separator + 1));
  if (separator < 0 || !Number.isInteger(port)) throw new Error(`invalid --http-address ${JSON.stringify(address)}: want HOST:PORT`);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const ready = isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'caches not synced');
    } else if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      log.info({ address: server.address() }, 'serving /metrics, /healthz, /readyz');
      resolve(server);
    });
  });
}

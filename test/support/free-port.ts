import { createServer, type Server } from 'node:net';

/**
 * `count` distinct loopback ports nothing listens on right now (an operator's
 * metrics and probe addresses in a test or the bench). Each listener stays
 * open until all are bound: closing one before asking for the next lets the
 * kernel hand out the same port twice, and the operator then exits at start
 * with "address already in use" (seen in the bench, 2026-12-02).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (typeof address !== 'object' || !address) throw new Error('no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/** One loopback port nothing listens on right now; for two or more at once, freePorts. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

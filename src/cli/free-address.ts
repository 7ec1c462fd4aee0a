import { createServer } from 'node:net';
import { parseAddress } from '../operator/http-server.js';

/** Whether a server could listen on host:port right now (as the operator's endpoints listen). */
export type CanListen = (host: string, port: number) => Promise<boolean>;

export const canListen: CanListen = (host, port) =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });

/** How many ports above the wanted one to try before giving up (the operator then names the flag). */
export const SCAN = 100;

/**
 * The wanted HOST:PORT if it can be served, else the same host on the next
 * free port above it that is not in `taken` (ports already picked for the
 * other endpoint). Undefined when none of the next SCAN ports is free; port
 * 0 (any port) is always free. For `npm start` only: the operator itself
 * serves exactly the address it is given.
 */
export async function freeAddress(wanted: string, taken: ReadonlySet<number>, listenable: CanListen = canListen): Promise<string | undefined> {
  const { host, port } = parseAddress(wanted);
  if (port === 0) return wanted;
  const prefix = wanted.slice(0, wanted.lastIndexOf(':'));
  for (let candidate = port; candidate <= Math.min(65535, port + SCAN); candidate++) {
    if (!taken.has(candidate) && (await listenable(host, candidate))) return `${prefix}:${candidate}`;
  }
  return undefined;
}

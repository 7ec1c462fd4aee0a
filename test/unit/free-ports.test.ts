import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../support/free-port.js';

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

describe('freePorts', () => {
  it('hands out distinct ports, all free again once it returns (the bench gives an operator two at once)', async () => {
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) expect(await bindable(port), `port ${port}`).toBe(true);
  });
});

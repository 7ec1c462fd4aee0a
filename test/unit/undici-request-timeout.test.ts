import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { settleOnAbort } from '../../src/kube/abort-race.js';
import { UndiciRequestLibrary } from '../../src/kube/undici-http-library.js';

/**
 * A path that drops packets: the TCP connection is accepted, and then nothing,
 * so the TLS handshake never completes. undici waits out its own connect
 * timeout (10 s) whatever the request's AbortSignal says; the operator's
 * request timeout must hold anyway.
 */
describe('UndiciRequestLibrary on a silent path', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  let agent: Agent | undefined;
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await agent?.destroy().catch(() => undefined);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function silentServer(): Promise<number> {
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return (server.address() as AddressInfo).port;
  }

  it('a request waiting for its TLS handshake fails at its own timeout (300 ms), not at undici’s 10 s connect timeout', async () => {
    const port = await silentServer();
    agent = new Agent({ connect: { rejectUnauthorized: false } });
    const context = new RequestContext(`https://127.0.0.1:${port}/api/v1/namespaces/ns/configmaps`, HttpMethod.POST);
    context.setDispatcher(agent);
    context.setBody('{}');
    context.setSignal(AbortSignal.timeout(300));
    const started = performance.now();
    const error = await new UndiciRequestLibrary().send(context).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    const took = performance.now() - started;
    expect(error?.name).toBe('TimeoutError');
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2_000);
  });
});

describe('settleOnAbort', () => {
  it('passes the work’s own result and error through when the signal does not abort', async () => {
    const controller = new AbortController();
    await expect(settleOnAbort(Promise.resolve(7), controller.signal, () => undefined)).resolves.toBe(7);
    await expect(settleOnAbort(Promise.reject(new Error('refused')), controller.signal, () => undefined)).rejects.toThrow('refused');
  });

  it('rejects with the signal’s reason at the abort, and hands a result that comes later to discard', async () => {
    const controller = new AbortController();
    let finish: ((value: string) => void) | undefined;
    const work = new Promise<string>((resolve) => (finish = resolve));
    const discarded: string[] = [];
    const settled = settleOnAbort(work, controller.signal, (late) => discarded.push(late));
    controller.abort(new DOMException('gave up', 'TimeoutError'));
    await expect(settled).rejects.toMatchObject({ name: 'TimeoutError' });
    finish?.('late response');
    await work;
    await Promise.resolve();
    expect(discarded).toEqual(['late response']);
  });

  it('with a signal already aborted, rejects at once', async () => {
    const discarded: number[] = [];
    await expect(settleOnAbort(Promise.resolve(1), AbortSignal.abort(new Error('already')), (n) => discarded.push(n))).rejects.toThrow('already');
    await Promise.resolve();
    expect(discarded).toEqual([1]);
  });
});

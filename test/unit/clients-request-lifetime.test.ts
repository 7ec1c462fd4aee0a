import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../src/kube/clients.js';

/**
 * What a request leaves behind once it is over, through the clients the
 * operator really builds (makeClients: middleware, throttle, deadline, pool
 * health). A request's deadline armed for the whole --request-timeout after
 * the answer kept ~1 KiB a request alive for 30 s (request-deadline.ts); here
 * the timeout is 1 s, so a deadline still armed would show as an aborted
 * signal a little after it. (It was 80 ms: on a CI machine busy with both
 * suites, a request once took longer than that, its deadline fired while it
 * was in flight, and the test took that for a timer left armed.)
 */
describe('makeClients: a request leaves nothing armed once answered', () => {
  let server: Server;
  let kubeConfig: KubeConfig;
  const signals: AbortSignal[] = [];
  const original = Agent.prototype.request;

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata":{"name":"default"}}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      // client-node refuses plain http unless TLS verification is off.
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    // Every undici Agent (the kept pool is one) records the signal each request was given.
    Agent.prototype.request = function (this: Agent, options: Dispatcher.RequestOptions, ...rest: unknown[]) {
      if (options.signal instanceof AbortSignal) signals.push(options.signal);
      return (original as (...args: unknown[]) => unknown).call(this, options, ...rest);
    } as Agent['request'];
  });
  afterAll(async () => {
    Agent.prototype.request = original;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('neither a listener nor a timer outlives the answer', async () => {
    const timeoutMs = 1_000;
    const clients = makeClients(kubeConfig, { requestTimeoutMs: timeoutMs });
    for (let i = 0; i < 3; i++) await clients.core.readNamespace({ name: 'default' });
    await clients.coordination.listNamespacedLease({ namespace: 'default' });
    expect(signals.length).toBe(4);
    // Answered within their deadlines: none aborted yet, so an abort seen later can only be a timer left armed.
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false, false]);
    await new Promise((resolve) => setImmediate(resolve));
    for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, timeoutMs + 200));
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false, false]);
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ApiException, CoreV1Api, HttpMethod, RequestContext, ServerConfiguration, createConfiguration, wrapHttpLibrary } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import { getGlobalDispatcher, type Dispatcher } from 'undici';
import type { RequestThrottle } from '../../src/kube/request-throttle.js';
import { UndiciRequestLibrary, type Dispatcher as PoolDispatcher, type PoolHealth } from '../../src/kube/undici-http-library.js';

/**
 * The HTTP layer alone, against a plain local HTTP server standing in for the
 * apiserver's wire format (the e2e and fault suites run it against the real
 * one): what goes out, what comes back, and that client-node's own response
 * handling on top still yields typed objects and ApiException.
 */
describe('UndiciRequestLibrary', () => {
  let server: Server;
  let base: string;
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const route = routes.get(`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`);
        if (route) route(req, res);
        else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'NotFound', code: 404 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const core = () =>
    new CoreV1Api(createConfiguration({ baseServer: new ServerConfiguration(base, {}), httpApi: wrapHttpLibrary(new UndiciRequestLibrary()) }));

  it('sends method, path, query, headers and body as client-node built them, and returns the typed object', async () => {
    routes.set('POST /api/v1/namespaces/ns/configmaps', (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { name: 'cfg', resourceVersion: '7' }, data: { k: 'v' } }));
    });
    const created = await core().createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'cfg' }, data: { k: 'v' } }, fieldManager: 'fm' });
    expect(created.metadata?.resourceVersion).toBe('7');
    expect(created.data).toEqual({ k: 'v' });
    const request = seen.at(-1);
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/api/v1/namespaces/ns/configmaps?fieldManager=fm');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({ metadata: { name: 'cfg' }, data: { k: 'v' } });
  });

  it('decodes a gzip-compressed response (the apiserver compresses large lists)', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ metadata: { name: `cm-${i}` }, data: { k: 'x'.repeat(100) } }));
    routes.set('GET /api/v1/namespaces/ns/configmaps', (req, res) => {
      expect(req.headers['accept-encoding']).toContain('gzip');
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify({ items })));
    });
    const list = await core().listNamespacedConfigMap({ namespace: 'ns' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(items.map((i) => i.metadata.name));
  });

  it('hands an error status to client-node, which raises ApiException with the Status body', async () => {
    routes.set('PUT /api/v1/namespaces/ns/configmaps/cfg', (_req, res) => {
      res
        .writeHead(409, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'the object has been modified', code: 409 }));
    });
    const error = await core()
      .replaceNamespacedConfigMap({ namespace: 'ns', name: 'cfg', body: { metadata: { name: 'cfg', resourceVersion: '1' } } })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(409);
    expect(JSON.parse((error as ApiException<string>).body)).toMatchObject({ reason: 'Conflict' });
  });

  it('refuses a body it would not send faithfully (FormData), before sending anything', async () => {
    const before = seen.length;
    const context = new RequestContext(`${base}/upload`, HttpMethod.POST);
    context.setBody(new FormData() as unknown as URLSearchParams);
    await expect(new UndiciRequestLibrary().send(context)).rejects.toThrow(/unsupported request body/);
    expect(seen.length).toBe(before);
  });

  it("rejects with the abort signal's reason, so a timeout stays a TimeoutError", async () => {
    routes.set('GET /slow', () => undefined); // never answers
    const context = new RequestContext(`${base}/slow`, HttpMethod.GET);
    context.setSignal(AbortSignal.timeout(50));
    const error = await new UndiciRequestLibrary().send(context).catch((err: unknown) => err);
    expect((error as Error).name).toBe('TimeoutError');
  });

  describe('each request\'s deadline and the pool\'s health', () => {
    /** The pool health the library reports to, recording what it was told. */
    function recordingHealth() {
      const told: { answered: number[]; timedOut: { dispatcher: unknown; sentAt: number }[] } = { answered: [], timedOut: [] };
      const health: PoolHealth = {
        answered: (status) => void told.answered.push(status),
        timedOut: (dispatcher, sentAt) => void told.timedOut.push({ dispatcher, sentAt }),
      };
      return { told, health };
    }

    /** A dispatcher that hands requests to undici's global one and keeps the signal each was given. */
    function capturingDispatcher() {
      const signals: AbortSignal[] = [];
      const dispatcher = {
        request: (options: Dispatcher.RequestOptions) => {
          if (options.signal instanceof AbortSignal) signals.push(options.signal);
          return getGlobalDispatcher().request(options);
        },
      };
      return { signals, dispatcher: dispatcher as unknown as PoolDispatcher };
    }

    it('times a request out at timeoutMs as a TimeoutError and tells the health which pool, sent when', async () => {
      routes.set('GET /hangs', () => undefined); // never answers
      const { told, health } = recordingHealth();
      const { dispatcher } = capturingDispatcher();
      const context = new RequestContext(`${base}/hangs`, HttpMethod.GET);
      context.setDispatcher(dispatcher);
      const before = performance.now();
      const error = await new UndiciRequestLibrary({ timeoutMs: 80, health }).send(context).catch((err: unknown) => err);
      expect((error as Error).name).toBe('TimeoutError');
      expect(told.answered).toEqual([]);
      expect(told.timedOut).toHaveLength(1);
      expect(told.timedOut[0]?.dispatcher).toBe(dispatcher);
      expect(told.timedOut[0]?.sentAt).toBeGreaterThanOrEqual(before);
    });

    it('tells the health of every answer and its status, and leaves nothing armed behind it', async () => {
      routes.set('GET /ok', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      const { told, health } = recordingHealth();
      const { signals, dispatcher } = capturingDispatcher();
      const caller = new AbortController();
      // Long enough that a busy CI machine answers within it; an armed deadline shows as an abort after it.
      const timeoutMs = 1_000;
      const library = new UndiciRequestLibrary({ timeoutMs, health });
      for (const path of ['/ok', '/missing']) {
        const context = new RequestContext(`${base}${path}`, HttpMethod.GET);
        context.setDispatcher(dispatcher);
        context.setSignal(caller.signal);
        await library.send(context);
      }
      expect(told.answered).toEqual([200, 404]); // the route table answers 404 for /missing
      expect(told.timedOut).toHaveLength(0);
      // No listener on either signal (a listener keeps a timed signal alive until it fires), and no deadline still armed.
      // undici lets go of its own listener once the body stream has closed, a tick after the body was read.
      await new Promise((resolve) => setImmediate(resolve));
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
      expect(signals).toHaveLength(2);
      for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, timeoutMs + 200));
      expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
    });

    it("a caller giving up, or a timeout while the request still waited on the throttle, says nothing about the pool", async () => {
      routes.set('GET /hangs', () => undefined);
      const { told, health } = recordingHealth();
      const caller = new AbortController();
      const context = new RequestContext(`${base}/hangs`, HttpMethod.GET);
      context.setSignal(caller.signal);
      const cancelled = new UndiciRequestLibrary({ timeoutMs: 10_000, health }).send(context).catch((err: unknown) => err);
      setTimeout(() => caller.abort(new DOMException('stopping', 'AbortError')), 30);
      expect(((await cancelled) as Error).name).toBe('AbortError');

      // A throttle that holds the request until its signal aborts (a Retry-After longer than the deadline).
      const holding = {
        beforeSend: (signal?: AbortSignal) => new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error))),
        afterResponse: () => undefined,
      } as unknown as RequestThrottle;
      const held = new RequestContext(`${base}/hangs`, HttpMethod.GET);
      const error = await new UndiciRequestLibrary({ timeoutMs: 40, health, throttle: holding }).send(held).catch((err: unknown) => err);
      expect((error as Error).name).toBe('TimeoutError');
      expect(told.timedOut).toHaveLength(0);
    });
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig, KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ResilientInformer } from '../../src/kube/resilient-informer.js';
import { localKubeConfig } from '../support/local-kubeconfig.js';
import { INITIAL_EVENTS_END, listThroughWatch, WatchListStalled, WatchListUnsupported } from '../../src/kube/watch-list.js';

/**
 * The watch-list (sendInitialEvents) against a local HTTP server that plays
 * the apiserver's side: ADDED lines, then the initial-events-end bookmark;
 * or a refusal, an ERROR event, silence. The e2e tests run it against the
 * real apiserver (idle-reads.test.ts: a restart LISTs nothing).
 */
const log = pino({ level: 'silent' });

function configMap(name: string, resourceVersion: string): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion, uid: `uid-${name}` }, data: { big: 'x'.repeat(100) } };
}
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;
const bookmark = (resourceVersion: string) => line('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion, annotations: { [INITIAL_EVENTS_END]: 'true' } } });

type Answer = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void;

describe('listThroughWatch', () => {
  let server: Server | undefined;
  const open: ServerResponse[] = [];
  const requests: URLSearchParams[] = [];
  let closed = 0;

  afterEach(async () => {
    for (const res of open.splice(0)) res.destroy();
    requests.length = 0;
    closed = 0;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(answer: Answer): Promise<KubeConfig> {
    server = createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      requests.push(query);
      res.on('close', () => closed++);
      answer(req, res, query);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return localKubeConfig((server.address() as AddressInfo).port);
  }

  /** Streams `items` as ADDED events and then the bookmark at `resourceVersion`, and keeps the watch open after. */
  const streams =
    (items: V1ConfigMap[], resourceVersion: string): Answer =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const item of items) res.write(line('ADDED', item));
      res.write(bookmark(resourceVersion));
      open.push(res);
    };

  it('asks for the initial events, collects them until the bookmark, trims each as it arrives, and closes its watch', async () => {
    const kubeConfig = await serve(streams([configMap('a', '5'), configMap('b', '7')], '9'));
    const trimmed: string[] = [];
    const list = await listThroughWatch<V1ConfigMap>(kubeConfig, '/api/v1/configmaps', {
      labelSelector: 'app=x',
      transform: (cm) => {
        trimmed.push(cm.metadata?.name ?? '');
        delete cm.data;
      },
    });
    expect(list.metadata?.resourceVersion).toBe('9');
    expect(list.items.map((cm) => cm.metadata?.name)).toEqual(['a', 'b']);
    expect(list.items.every((cm) => cm.data === undefined)).toBe(true);
    expect(trimmed).toEqual(['a', 'b']);
    const query = requests[0]!;
    expect(Object.fromEntries(query)).toMatchObject({
      watch: 'true',
      sendInitialEvents: 'true',
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: 'true',
      labelSelector: 'app=x',
    });
    // Its purpose served, the watch is closed (the informer watches on from the bookmark on a connection of its own).
    await expect.poll(() => closed, { timeout: 2_000 }).toBe(1);
  });

  it('an ordinary bookmark before the end, and a change among the initial events, are taken as they come', async () => {
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(200);
      res.write(line('ADDED', configMap('a', '5')));
      res.write(line('BOOKMARK', { metadata: { resourceVersion: '6' } }));
      res.write(line('ADDED', configMap('b', '7')));
      res.write(line('MODIFIED', configMap('a', '8')));
      res.write(line('DELETED', configMap('b', '9')));
      res.write(bookmark('9'));
      open.push(res);
    });
    const list = await listThroughWatch<V1ConfigMap>(kubeConfig, '/api/v1/configmaps');
    expect(list.items.map((cm) => `${cm.metadata?.name}@${cm.metadata?.resourceVersion}`)).toEqual(['a@8']);
    expect(list.metadata?.resourceVersion).toBe('9');
  });

  it('an apiserver that refuses it (422, 400, or an ERROR event saying so): WatchListUnsupported; any other failure as it came', async () => {
    let status = 422;
    const kubeConfig = await serve((_req, res) => {
      if (status === 0) {
        res.writeHead(200);
        res.end(line('ERROR', { kind: 'Status', code: 422, reason: 'Invalid', message: 'sendInitialEvents is forbidden' }));
        return;
      }
      res.writeHead(status).end();
    });
    await expect(listThroughWatch(kubeConfig, '/api/v1/configmaps')).rejects.toBeInstanceOf(WatchListUnsupported);
    status = 400;
    await expect(listThroughWatch(kubeConfig, '/api/v1/configmaps')).rejects.toBeInstanceOf(WatchListUnsupported);
    status = 0;
    await expect(listThroughWatch(kubeConfig, '/api/v1/configmaps')).rejects.toBeInstanceOf(WatchListUnsupported);
    status = 403;
    const forbidden = await listThroughWatch(kubeConfig, '/api/v1/configmaps').catch((err: unknown) => err);
    expect(forbidden).not.toBeInstanceOf(WatchListUnsupported);
    expect((forbidden as { statusCode?: number }).statusCode).toBe(403);
  });

  it('a watch that goes silent, or closes before the end: rejected, not waited on', async () => {
    let close = false;
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(200);
      res.write(line('ADDED', configMap('a', '5')));
      if (close) res.end();
      else open.push(res);
    });
    const started = Date.now();
    await expect(listThroughWatch(kubeConfig, '/api/v1/configmaps', { stallTimeoutMs: 300 })).rejects.toBeInstanceOf(WatchListStalled);
    expect(Date.now() - started).toBeLessThan(2_000);
    close = true;
    await expect(listThroughWatch(kubeConfig, '/api/v1/configmaps', { stallTimeoutMs: 5_000 })).rejects.toThrow(/closed before its initial events ended/);
  });

  it('stops when its signal aborts', async () => {
    const kubeConfig = await serve((_req, res) => {
      res.writeHead(200);
      res.flushHeaders();
      open.push(res);
    });
    const abort = new AbortController();
    const listing = listThroughWatch(kubeConfig, '/api/v1/configmaps', { signal: abort.signal });
    setTimeout(() => abort.abort(new Error('informer stopped')), 100);
    await expect(listing).rejects.toThrow('informer stopped');
  });
});

describe('ResilientInformer fills its cache from a watch-list', () => {
  let server: Server | undefined;
  let informer: ResilientInformer<V1ConfigMap> | undefined;
  const open: ServerResponse[] = [];

  afterEach(async () => {
    await informer?.stop();
    for (const res of open.splice(0)) res.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** `watchList` answers the watch-list requests; an ordinary watch is held open and silent. */
  async function start(watchList: (res: ServerResponse) => void) {
    const counts = { watchLists: 0, watches: 0, lists: 0, transforms: 0 };
    server = createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      if (query.get('sendInitialEvents') === 'true') {
        counts.watchLists++;
        watchList(res);
        return;
      }
      counts.watches++;
      res.writeHead(200);
      res.flushHeaders();
      open.push(res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const kubeConfig = localKubeConfig((server.address() as AddressInfo).port);
    const upserts: string[] = [];
    informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig,
      path: '/api/v1/configmaps',
      list: async (): Promise<KubernetesListObject<V1ConfigMap>> => {
        counts.lists++;
        return { metadata: { resourceVersion: '50' }, items: [configMap('listed', '50')] };
      },
      handlers: { upsert: (obj) => upserts.push(obj.metadata?.name ?? ''), delete: () => undefined },
      transform: (cm) => {
        counts.transforms++;
        delete cm.data;
      },
      log,
      relistIntervalMs: 10 * 60_000,
    });
    await informer.start();
    return { informer, counts, upserts };
  }

  it('no LIST: the objects come from the watch-list, trimmed once each, and the watch goes on from its bookmark', async () => {
    const t = await start((res) => {
      res.writeHead(200);
      res.write(line('ADDED', configMap('a', '5')));
      res.write(line('ADDED', configMap('b', '6')));
      res.write(bookmark('9'));
      open.push(res);
    });
    expect(t.counts.lists).toBe(0);
    expect(t.upserts.sort()).toEqual(['a', 'b']);
    expect(t.counts.transforms).toBe(2);
    expect(t.informer.get('a', 'ns')?.data).toBeUndefined();
    await expect.poll(() => t.counts.watches, { timeout: 3_000 }).toBe(1);
  });

  it('a relist keeps the objects its cache holds at the same resourceVersion (no second copy, no second trim) and takes the changed ones', async () => {
    let round = 0;
    const t = await start((res) => {
      round++;
      res.writeHead(200);
      res.write(line('ADDED', configMap('a', '5')));
      res.write(line('ADDED', configMap('b', round === 1 ? '6' : '8')));
      res.write(bookmark(round === 1 ? '9' : '10'));
      open.push(res);
    });
    const a = t.informer.get('a', 'ns');
    const b = t.informer.get('b', 'ns');
    expect(t.counts.transforms).toBe(2);
    t.informer.retryNow(0);
    await expect.poll(() => t.informer.get('b', 'ns')?.metadata?.resourceVersion, { timeout: 3_000 }).toBe('8');
    // The very object the old cache held, not an equal copy; the changed one is new, and was trimmed once.
    expect(t.informer.get('a', 'ns')).toBe(a);
    expect(t.informer.get('b', 'ns')).not.toBe(b);
    expect(t.informer.get('b', 'ns')?.data).toBeUndefined();
    expect(t.counts.transforms).toBe(3);
    // The relist still tells the handlers of every object, as before.
    expect(t.upserts.filter((n) => n === 'a')).toHaveLength(2);
  });

  it('an apiserver that serves no watch-lists: LISTs, and does not ask again at the next relist', async () => {
    const t = await start((res) => res.writeHead(422).end());
    expect(t.counts).toMatchObject({ watchLists: 1, lists: 1, transforms: 1 });
    expect(t.upserts).toEqual(['listed']);
    const listed = t.informer.get('listed', 'ns');
    t.informer.retryNow(0);
    await expect.poll(() => t.counts.lists, { timeout: 3_000 }).toBe(2);
    expect(t.counts.watchLists).toBe(1);
    // A LIST's unchanged objects are kept from the cache too (its copy dropped untrimmed).
    await expect.poll(() => t.upserts.length, { timeout: 3_000 }).toBe(2);
    expect(t.informer.get('listed', 'ns')).toBe(listed);
    expect(t.counts.transforms).toBe(1);
  });

  it('a throttled watch-list (429) does not turn into a LIST: the informer waits and asks again', async () => {
    let throttled = true;
    const t = await start((res) => {
      if (throttled) {
        throttled = false;
        res.writeHead(429, { 'retry-after': '1' }).end();
        return;
      }
      res.writeHead(200);
      res.write(line('ADDED', configMap('a', '5')));
      res.write(bookmark('9'));
      open.push(res);
    });
    expect(t.counts).toMatchObject({ watchLists: 2, lists: 0 });
    expect(t.upserts).toEqual(['a']);
  });

  it('a watch-list that stalls or fails: LISTs this time, and tries the watch-list again next time', async () => {
    const t = await start((res) => res.writeHead(500).end());
    expect(t.counts).toMatchObject({ watchLists: 1, lists: 1 });
    t.informer.retryNow(0);
    await expect.poll(() => t.counts.lists, { timeout: 3_000 }).toBe(2);
    expect(t.counts.watchLists).toBe(2);
  });
});

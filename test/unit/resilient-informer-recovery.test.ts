import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubernetesListObject, V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ResilientInformer } from '../../src/kube/resilient-informer.js';
import { localKubeConfig } from '../support/local-kubeconfig.js';

/**
 * A watch black-holed by a partition: its connection stays open and silent
 * (no event, no FIN). The watch endpoint here is a local HTTP server that
 * answers a watch with its headers and then nothing; the LIST is the
 * informer's own function. When the operator learns the apiserver is back
 * (retryNow), the informer must not go on trusting that watch.
 */
const log = pino({ level: 'silent' });

function configMap(name: string, resourceVersion: string, namespace = 'ns'): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, resourceVersion, uid: `uid-${name}` }, data: {} };
}

/** What objects() visits, and what list() holds, as sorted namespace/name keys. */
const keys = (objects: Iterable<V1ConfigMap>) => Array.from(objects, (o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();

describe('ResilientInformer after an outage', () => {
  let server: Server | undefined;
  let informer: ResilientInformer<V1ConfigMap> | undefined;
  const held: ServerResponse[] = [];

  afterEach(async () => {
    await informer?.stop();
    for (const res of held.splice(0)) res.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /**
   * `beforeList` runs before every LIST answers (a slow LIST, for instance);
   * `onUpsert` is called with each upserted object and the informer (a
   * handler that reads the cache, as a reconcile does).
   */
  async function start(
    items: () => V1ConfigMap[],
    beforeList: () => Promise<void> = async () => undefined,
    onUpsert: (obj: V1ConfigMap, informer: ResilientInformer<V1ConfigMap>) => void = () => undefined,
    beforeWatchAnswers: () => Promise<void> = async () => undefined,
    onDelete: (obj: V1ConfigMap) => void = () => undefined,
  ) {
    let watches = 0;
    let watchesAsked = 0;
    server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      if (!(req.url ?? '').includes('watch=true')) {
        res.writeHead(404).end();
        return;
      }
      watchesAsked++;
      await beforeWatchAnswers();
      watches++;
      // Headers, then silence for good: the partition ate everything after.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      held.push(res);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const kubeConfig = localKubeConfig((server.address() as AddressInfo).port);
    let lists = 0;
    const seen: string[] = [];
    informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig,
      path: '/api/v1/configmaps',
      list: async (): Promise<KubernetesListObject<V1ConfigMap>> => {
        lists++;
        await beforeList();
        return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(100 + lists) }, items: items() };
      },
      handlers: {
        upsert: (obj) => {
          seen.push(obj.metadata?.name ?? '');
          onUpsert(obj, informer!);
        },
        delete: (obj) => onDelete(obj),
      },
      log,
      relistIntervalMs: 10 * 60_000,
      // These tests are about the LIST and the watch after it; watch-list.test.ts covers the watch-list.
      watchList: false,
    });
    await informer.start();
    return { informer, seen, lists: () => lists, watches: () => watches, watchesAsked: () => watchesAsked };
  }

  async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  it('replaces a watch that stayed open (silent, no FIN) across the outage with a freshly listed one, so changes made meanwhile are seen', async () => {
    let items = [configMap('before', '1')];
    const t = await start(() => items);
    expect(await until(() => t.watches() === 1, 5_000)).toBe(true);
    expect(t.seen).toEqual(['before']);

    // During the partition, 'during' was created and 'before' changed; the watch carried none of it.
    items = [configMap('before', '2'), configMap('during', '3')];
    t.informer.retryNow(50);

    // The replacement serves reads once it has listed.
    expect(await until(() => t.informer.get('during', 'ns') !== undefined, 3_000)).toBe(true);
    expect(t.seen).toContain('during');
    expect(t.lists()).toBe(2);
    expect(t.informer.get('before', 'ns')?.metadata?.resourceVersion).toBe('2');
    expect(t.informer.get('during', 'ns')?.metadata?.resourceVersion).toBe('3');
    // The new cache watches on a connection of its own.
    expect(await until(() => t.watches() === 2, 5_000)).toBe(true);
  });

  it('tells its handlers of the replacement’s objects only once reads see them: a reconcile queued by the news finds the object', async () => {
    let items = [configMap('before', '1')];
    let release: (() => void) | undefined;
    let slow = false;
    /** What a reconcile queued by each notification read from the cache, by name. */
    const readBack: string[] = [];
    const t = await start(
      () => items,
      async () => {
        if (slow) await new Promise<void>((resolve) => (release = resolve));
      },
      (obj, informer) => {
        const name = obj.metadata?.name ?? '';
        readBack.push(`${name}@${informer.get(name, 'ns')?.metadata?.resourceVersion ?? 'absent'}`);
      },
    );
    expect(await until(() => t.watches() === 1, 5_000)).toBe(true);
    expect(readBack).toEqual(['before@1']);

    items = [configMap('before', '2'), configMap('during', '3')];
    slow = true;
    t.informer.retryNow(0);
    // The replacement's LIST is under way (its answer held): nothing told yet.
    expect(await until(() => release !== undefined, 2_000)).toBe(true);
    slow = false;
    release?.();
    expect(await until(() => readBack.length === 3, 5_000)).toBe(true);
    // Each notification read the object it told of, at the version it told of.
    expect(readBack.slice(1).sort()).toEqual(['before@2', 'during@3']);
  });

  it('a replacement whose LIST fails is tried again after a short backoff, not after the relist interval (10 minutes here)', async () => {
    let items = [configMap('before', '1')];
    let failures = 0;
    const t = await start(
      () => items,
      async () => {
        if (failures > 0) {
          failures--;
          throw new Error('request timed out');
        }
      },
    );
    expect(await until(() => t.watches() === 1, 5_000)).toBe(true);
    items = [configMap('before', '1'), configMap('during', '2')];
    // The first LIST after the outage goes out on a connection that is still dead.
    failures = 1;
    t.informer.retryNow(0);
    expect(await until(() => t.informer.get('during', 'ns') !== undefined, 5_000)).toBe(true);
    expect(t.lists()).toBe(3);
  });

  it('objects() visits every cached object one namespace at a time, and may be left early', async () => {
    let items = [configMap('a1', '1', 'a'), configMap('a2', '2', 'a'), configMap('b1', '3', 'b'), configMap('c1', '4', 'c')];
    const t = await start(() => items);
    expect(keys(t.informer.objects())).toEqual(['a/a1', 'a/a2', 'b/b1', 'c/c1']);
    expect(keys(t.informer.objects())).toEqual(keys(t.informer.list()));
    for (const obj of t.informer.objects()) {
      expect(obj.metadata?.name).toBeDefined();
      break;
    }

    // Namespace b emptied and d new, seen by a relist: b is dropped, d visited.
    items = [configMap('a1', '5', 'a'), configMap('a2', '2', 'a'), configMap('c1', '4', 'c'), configMap('d1', '6', 'd')];
    t.informer.retryNow(0);
    expect(await until(() => t.informer.get('d1', 'd') !== undefined, 5_000)).toBe(true);
    expect(keys(t.informer.objects())).toEqual(['a/a1', 'a/a2', 'c/c1', 'd/d1']);
    expect(keys(t.informer.objects())).toEqual(keys(t.informer.list()));
    // b comes back: it is visited again.
    items = [...items, configMap('b2', '7', 'b')];
    t.informer.retryNow(0);
    expect(await until(() => t.informer.get('b2', 'b') !== undefined, 5_000)).toBe(true);
    expect(keys(t.informer.objects())).toEqual(['a/a1', 'a/a2', 'b/b2', 'c/c1', 'd/d1']);
  });

  it('objects() keeps a namespace that only the replacement being listed holds, so it is visited after the swap', async () => {
    let items = [configMap('x1', '1', 'a')];
    let holdWatch = false;
    let release: (() => void) | undefined;
    const t = await start(
      () => items,
      undefined,
      undefined,
      async () => {
        if (holdWatch) await new Promise<void>((resolve) => (release = resolve));
      },
    );
    expect(await until(() => t.watches() === 1, 5_000)).toBe(true);

    items = [configMap('x1', '1', 'a'), configMap('y1', '2', 'e')];
    holdWatch = true;
    t.informer.retryNow(0);
    // The replacement has listed (its objects are in its cache) and waits on its watch: reads still see the old cache.
    expect(await until(() => t.watchesAsked() === 2 && release !== undefined, 5_000)).toBe(true);
    expect(t.informer.get('y1', 'e')).toBeUndefined();
    expect(keys(t.informer.objects())).toEqual(['a/x1']);

    holdWatch = false;
    release?.();
    expect(await until(() => t.informer.get('y1', 'e') !== undefined, 5_000)).toBe(true);
    expect(keys(t.informer.objects())).toEqual(['a/x1', 'e/y1']);
  });

  it('visits and relists a namespace of 130,000 objects, past where the list() of all in client-node throws', async () => {
    // client-node's list() of all spreads a namespace's objects into the arguments of one call: a RangeError past ~120,000.
    const many = (count: number) => Array.from({ length: count }, (_, i) => configMap(`cm-${i}`, '1'));
    let items = many(130_000);
    const deleted: string[] = [];
    const t = await start(() => items, undefined, undefined, undefined, (obj) => deleted.push(obj.metadata?.name ?? ''));
    let visited = 0;
    for (const obj of t.informer.objects()) if (obj.metadata?.namespace === 'ns') visited++;
    expect(visited).toBe(130_000);

    // One object gone while the watch was silent: the relist's check of what vanished runs over both caches and reports it.
    items = many(129_999);
    t.informer.retryNow(0);
    expect(await until(() => deleted.length > 0, 20_000)).toBe(true);
    expect(deleted).toEqual(['cm-129999']);
    expect(t.informer.get('cm-129999', 'ns')).toBeUndefined();
  }, 60_000);

  it('a second retryNow while the replacement is being listed does not list again', async () => {
    let release: (() => void) | undefined;
    let slow = false;
    const t = await start(
      () => [configMap('a', '1')],
      async () => {
        if (slow) await new Promise<void>((resolve) => (release = resolve));
      },
    );
    expect(await until(() => t.watches() === 1, 5_000)).toBe(true);
    slow = true;
    t.informer.retryNow(0);
    expect(await until(() => release !== undefined, 2_000)).toBe(true);
    t.informer.retryNow(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    slow = false;
    release?.();
    expect(await until(() => t.watches() === 2, 5_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(t.lists()).toBe(2);
  });
});

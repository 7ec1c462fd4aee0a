import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { Watch } from './client-node.js';
import { statusCode } from './api-errors.js';

/** The bookmark annotation that ends a watch's initial events (KEP-3157). */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/**
 * A collection's current state through a watch instead of a LIST
 * (`sendInitialEvents=true`, KEP-3157 "WatchList", as client-go's reflector
 * does with WatchListClient): the apiserver sends every object as an ADDED
 * event, one JSON line each, then a bookmark annotated
 * k8s.io/initial-events-end at the resourceVersion the state is consistent
 * at. A LIST response is one body that client-node reads whole into a string
 * and then parses: at 100,000 pushes that is ~344 MB of JSON held at once
 * beside the parsed objects (V8 cannot hold a string past 512 MiB at all,
 * ~156,000 pushes), on every start and every relist. Line by line, the peak
 * is the objects themselves, each trimmed by `transform` as it arrives.
 *
 * Resolves with a list whose resourceVersion is the bookmark's, for the
 * informer to watch on from. Rejects with WatchListUnsupported when the
 * apiserver refuses the request (the WatchList feature off, before 1.32, or
 * no watch cache), with WatchListStalled when nothing arrives for
 * `stallTimeoutMs` (a healthy apiserver streams from its watch cache at
 * once, and sends the bookmark at once for an empty collection; a silent
 * watch is what a relist exists to get past, so it must not wait on one),
 * and with any other failure as it came. The caller then LISTs.
 */
export function listThroughWatch<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  options: WatchListOptions<T> = {},
): Promise<KubernetesListObject<T>> {
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const objects = new Map<string, T>();
  const keyOf = (obj: T) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    let request: AbortController | undefined;
    let abortWhenStarted = false;
    let stallTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(stallTimer);
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
      // The watch has served its purpose: the informer starts its own from the bookmark.
      if (request) request.abort();
      else abortWhenStarted = true;
    };
    const progressed = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => finish(() => reject(new WatchListStalled(path, stallTimeoutMs))), stallTimeoutMs);
    };
    const onAbort = () => finish(() => reject(options.signal?.reason ?? new Error('aborted')));
    const onEvent = (type: string, obj: T) => {
      if (settled) return;
      progressed();
      switch (type) {
        case 'ADDED':
        case 'MODIFIED': {
          const held = options.reuse?.(obj);
          if (held !== undefined) {
            objects.set(keyOf(obj), held);
            return;
          }
          options.transform?.(obj);
          objects.set(keyOf(obj), obj);
          return;
        }
        case 'DELETED':
          objects.delete(keyOf(obj));
          return;
        case 'BOOKMARK':
          if (obj.metadata?.annotations?.[INITIAL_EVENTS_END] !== 'true') return;
          finish(() => resolve({ metadata: { resourceVersion: obj.metadata?.resourceVersion ?? '' }, items: [...objects.values()] } as KubernetesListObject<T>));
          return;
        case 'ERROR': {
          const status = obj as unknown as { code?: number; reason?: string; message?: string };
          finish(() => reject(classify(Object.assign(new Error(status.message ?? 'watch error'), { statusCode: status.code, reason: status.reason }))));
          return;
        }
      }
    };
    const onDone = (err: unknown) =>
      finish(() => reject(err ? classify(err) : new Error(`watch of ${path} closed before its initial events ended`)));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort);
    progressed();
    const query: Record<string, string | boolean> = { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true };
    if (options.labelSelector !== undefined) query.labelSelector = options.labelSelector;
    new Watch(kubeConfig)
      .watch(path, query, onEvent as (type: string, obj: unknown) => void, onDone)
      .then((controller) => {
        request = controller;
        if (abortWhenStarted) controller.abort();
      }, onDone);
  });
}

export interface WatchListOptions<T> {
  labelSelector?: string;
  /** Trims each object as it arrives (the informer's transform), so the untrimmed collection is never held at once. */
  transform?: (obj: T) => void;
  /**
   * An object already held at this very resourceVersion (a relist's current
   * cache), to keep instead of the one that arrived, which is then dropped
   * untrimmed: a relist does not hold two copies of every unchanged object.
   */
  reuse?: (obj: T) => T | undefined;
  /** Gives up when nothing arrived for this long (default DEFAULT_STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  /** Abandons the watch (the informer stopped). */
  signal?: AbortSignal;
}

export const DEFAULT_STALL_TIMEOUT_MS = 5_000;

/** Nothing arrived for the stall timeout: the caller LISTs instead. */
export class WatchListStalled extends Error {
  constructor(path: string, ms: number) {
    super(`watch-list of ${path}: nothing arrived for ${ms} ms`);
    this.name = 'WatchListStalled';
  }
}

/**
 * The apiserver does not serve watch-lists: a 400 or 422 on the request (the
 * sendInitialEvents and resourceVersionMatch parameters are refused unless
 * the WatchList feature is on and a watch cache serves the resource).
 */
export class WatchListUnsupported extends Error {
  constructor(cause: unknown) {
    super(`the apiserver does not serve watch-lists: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'WatchListUnsupported';
  }
}

function classify(err: unknown): unknown {
  const code = statusCode(err);
  return code === 400 || code === 422 ? new WatchListUnsupported(err) : err;
}

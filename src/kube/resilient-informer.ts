import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { makeInformer } from './client-node.js';
import type { Logger } from 'pino';
import { ExponentialBackoff } from '../util/backoff.js';
import { retryAfterMsOf, statusCode } from './api-errors.js';
import { listThroughWatch, WatchListUnsupported } from './watch-list.js';

/**
 * How long a LIST or watch start that the apiserver throttled waits before it
 * tries again: the Retry-After it was given (a watch start's error carries no
 * headers: then 1 s, what API Priority and Fairness sends first), plus up to
 * 20%. Undefined when the failure was not throttling. Without this the
 * restart backoff grew to a minute during a 429 storm, and a process started
 * during the storm kept its caches cold (and its workers stopped) for up to a
 * minute after the storm ended.
 */
export function throttledRetryDelay(err: unknown, random: () => number = Math.random): number | undefined {
  const retryAfterMs = retryAfterMsOf(err);
  if (statusCode(err) !== 429 && retryAfterMs === undefined) return undefined;
  return Math.ceil((retryAfterMs ?? 1_000) * (1 + 0.2 * random()));
}

export interface InformerHandlers<T> {
  /** Called for add and update. Must not throw: it only enqueues. */
  upsert(obj: T): void;
  delete(obj: T): void;
}

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/configmaps. */
  path: string;
  /** The LIST, for an apiserver that serves no watch-lists (watch-list.ts), or with `watchList: false`. */
  list: () => Promise<KubernetesListObject<T>>;
  /** Fill the cache from a watch-list (default), or always LIST. */
  watchList?: boolean;
  labelSelector?: string;
  handlers: InformerHandlers<T>;
  log: Logger;
  /** A fresh LIST this often (jittered), so a watch that went silent cannot starve the operator. */
  relistIntervalMs: number;
  /**
   * Trims an object in place before the handlers see it. client-node's cache
   * stores the very object it hands to the add and update handlers, so what
   * this removes is not held in memory (the e2e informer test checks that).
   */
  transform?: (obj: T) => void;
}

type Cache<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/**
 * client-node's informer stops for good on most errors (network, 5xx, 401,
 * 403, 429, a failed LIST) and can go silent without one. This wrapper
 * restarts it with exponential backoff and jitter, and replaces it with a
 * freshly listed one periodically, reporting objects that vanished meanwhile
 * as deletes.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private current: Cache<T> | undefined;
  /** A replacement being listed by relist(); it becomes `current` once synced. */
  private pending: Cache<T> | undefined;
  /** The replacement's notifications, held until it serves reads (relist). */
  private deferred: (() => void)[] = [];
  private stopping = false;
  private synced = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new ExponentialBackoff<'restart' | 'relist'>({ baseMs: 500, maxMs: 60_000, jitter: 0.5 });
  /** Why the last start or restart failed (read for a throttled LIST's Retry-After). */
  private lastError: unknown;
  /** Set once the apiserver refused a watch-list: from then on this informer LISTs. */
  private watchListUnsupported = false;
  /** Objects a watch-list already trimmed as they arrived, so that the informer's add does not trim them again. */
  private readonly trimmed = new WeakSet<T>();
  /** Aborts the watch-lists under way when the informer stops. */
  private lists = new AbortController();
  /**
   * Every namespace an object of this informer's caches has been told from
   * (current or replacement), so that objects() can visit the cache one
   * namespace at a time. A namespace a visit finds empty in both is dropped.
   */
  private readonly namespaces = new Set<string>();

  constructor(private readonly options: ResilientInformerOptions<T>) {}

  /**
   * Resolves once a LIST has filled the cache. A failed LIST (the CRD not
   * installed yet, the apiserver down, RBAC missing) is retried with backoff
   * here: the operator waits, not-ready, instead of running on an empty cache.
   */
  async start(): Promise<void> {
    this.stopping = false;
    if (this.lists.signal.aborted) this.lists = new AbortController();
    this.current = this.create();
    while (!this.stopping) {
      if (await this.startOnce(this.current)) {
        this.backoff.forget('restart');
        break;
      }
      const delay = throttledRetryDelay(this.lastError) ?? this.backoff.next('restart');
      this.options.log.warn({ path: this.options.path, code: statusCode(this.lastError), retryInMs: delay }, 'initial list failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    this.synced = !this.stopping;
    // stop() may have come during the LIST (an on-demand watch released at
    // once): then no relist timer, which would keep the process alive.
    if (!this.stopping) this.scheduleRelist();
  }

  /** Starts `informer`; true when its LIST succeeded (client-node reports a failed LIST only as an error event). */
  private async startOnce(informer: Cache<T>): Promise<boolean> {
    let failed = false;
    const onError = (err: unknown) => {
      failed = true;
      this.lastError = err;
    };
    informer.on('error', onError);
    try {
      await informer.start();
    } catch (err) {
      failed = true;
      this.lastError = err;
    } finally {
      informer.off('error', onError);
    }
    return !failed;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.lists.abort();
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    clearTimeout(this.relistTimer);
    await Promise.all([this.current?.stop(), this.pending?.stop()]);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  /**
   * The cached objects of one namespace (client-node keeps a Map per
   * namespace: no scan of the rest), or, without one, all of them; for all of
   * them use objects(), as client-node's list of all throws past ~120,000
   * objects in one namespace.
   */
  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  /**
   * Every cached object, one namespace at a time. client-node's list() of
   * all spreads each namespace's objects into one array as the arguments of
   * a call, which throws a RangeError once a namespace holds more than
   * ~120,000 objects; and visiting 100,000 pushes in 10 namespaces through
   * it cost 66 ms under the image's node flag, against 9 one namespace at a
   * time (bench/results/push-gauge-cost-2026-12-01.md).
   * For a caller that visits every object, or stops at the first it wants.
   * Iterate it synchronously: the cache may change between turns of the
   * event loop.
   */
  objects(): Generator<T, void, undefined> {
    return this.visit(this.current, true);
  }

  /**
   * The objects of `cache`, one namespace at a time. With `prune`, a
   * namespace found empty is dropped, unless a replacement being listed
   * holds it (after the swap it would be missed). client-node reads an
   * empty namespace as "all": only a cluster-scoped cache has it, and then
   * it is its only one.
   */
  private *visit(cache: Cache<T> | undefined, prune: boolean): Generator<T, void, undefined> {
    if (cache === undefined) return;
    for (const namespace of this.namespaces) {
      const objects = cache.list(namespace);
      if (objects.length > 0) yield* objects;
      else if (prune && !this.pending?.list(namespace).length) this.namespaces.delete(namespace);
    }
  }

  private create(): Cache<T> {
    const { kubeConfig, path, labelSelector, handlers, log, transform } = this.options;
    const informer: Cache<T> = makeInformer<T>(kubeConfig, path, () => this.initialState(informer), labelSelector);
    const safely = (what: string, fn: () => void) => {
      // A throwing handler would become an unhandled rejection and crash Node.
      try {
        fn();
      } catch (err) {
        log.error({ err, path, event: what }, 'informer handler failed');
      }
    };
    const guard = (what: string, fn: (obj: T) => void) => (obj: T) => safely(what, () => fn(obj));
    // A replacement's notifications wait until it serves reads: a handler
    // queues a reconcile that reads the cache (get), and must find there what
    // it was told of. Told during the replacement's LIST, it read the old
    // cache: an object created while the old watch was silent (a partition)
    // read as absent, and its reconcile did nothing, for good.
    const notify = (what: string, fn: () => void) => {
      const run = () => safely(what, fn);
      if (informer === this.pending && informer !== this.current) this.deferred.push(run);
      else run();
    };
    const upsert = (obj: T) => {
      // client-node keys its per-namespace Maps the same way.
      this.namespaces.add(obj.metadata?.namespace || '');
      // At once: the cache keeps the very object, so it is trimmed before it is held (a watch-list's, as it arrived).
      if (!this.trimmed.delete(obj)) transform?.(obj);
      notify('upsert', () => handlers.upsert(obj));
    };
    informer.on('add', guard('add', upsert));
    informer.on('update', guard('update', upsert));
    informer.on('delete', (obj: T) => notify('delete', () => handlers.delete(obj)));
    // Not forgotten on 'connect': client-node emits it before every LIST/WATCH
    // attempt, failed or not, which would hold the restart delay at its floor
    // for a whole outage. A restart that listed forgets it (onError).
    informer.on('error', (err: unknown) => this.onError(informer, err));
    return informer;
  }

  /**
   * What the informer lists from: a watch-list (watch-list.ts), which holds
   * no whole response body, or the LIST, where the apiserver serves no
   * watch-lists (for good) or this one failed or stalled (this time: as
   * client-go's reflector falls back), but not when it was throttled. The
   * informer watches on from its resourceVersion.
   */
  private async initialState(filling: Cache<T>): Promise<KubernetesListObject<T>> {
    const { kubeConfig, path, list, labelSelector, transform, log } = this.options;
    const reuse = this.reuseFrom(filling);
    const listed = async () => {
      const answer = await list();
      return { ...answer, items: answer.items.map((item) => reuse?.(item) ?? item) };
    };
    if (this.watchListUnsupported || this.options.watchList === false) return listed();
    try {
      return await listThroughWatch<T>(kubeConfig, path, {
        signal: this.lists.signal,
        ...(reuse ? { reuse } : {}),
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        ...(transform
          ? {
              transform: (obj: T) => {
                transform(obj);
                this.trimmed.add(obj);
              },
            }
          : {}),
      });
    } catch (err) {
      // Throttled: a LIST now would be one more request the server asked us not to send; the informer waits its Retry-After.
      if (this.stopping || statusCode(err) === 429) throw err;
      if (err instanceof WatchListUnsupported) {
        this.watchListUnsupported = true;
        log.info({ path, error: err.message }, 'the apiserver serves no watch-lists; listing instead');
      } else {
        log.warn({ path, code: statusCode(err), error: err instanceof Error ? err.message : String(err) }, 'watch-list failed; listing instead');
      }
      return listed();
    }
  }

  /**
   * For a replacement filling beside the cache that serves reads (a relist):
   * the object that cache holds at the same resourceVersion, marked trimmed,
   * to keep instead of the one that arrived. resourceVersions are etcd
   * revisions, one per write, so the two are the same object state. Without
   * this a relist held two trimmed copies of every object until the swap
   * (the memory phase's peak at 100,000 pushes: 623 MiB against 448 at rest).
   */
  private reuseFrom(filling: Cache<T>): ((obj: T) => T | undefined) | undefined {
    const serving = this.current;
    if (serving === undefined || serving === filling) return undefined;
    return (obj) => {
      const held = serving.get(obj.metadata?.name ?? '', obj.metadata?.namespace);
      if (held === undefined || held.metadata?.resourceVersion === undefined || held.metadata.resourceVersion !== obj.metadata?.resourceVersion) return undefined;
      // Trimmed already: the replacement's add must not trim it again (keepTargetFacts would digest what it dropped).
      this.trimmed.add(held);
      return held;
    };
  }

  private onError(informer: Cache<T>, err: unknown): void {
    // stop() also reports an AbortError; an informer we replaced is done; and
    // until the first sync, start() does its own retrying.
    if (this.stopping || informer !== this.current || !this.synced) return;
    const code = statusCode(err);
    // 401/403 heal only when someone fixes credentials or RBAC: retry, but
    // slowly (at least 30 s), so a forbidden watch is not a hot loop.
    const forbidden = code === 401 || code === 403;
    const delay = forbidden ? Math.max(30_000, this.backoff.next('restart')) : (throttledRetryDelay(err) ?? this.backoff.next('restart'));
    this.options.log[forbidden ? 'error' : 'warn'](
      { path: this.options.path, code, error: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'watch stopped; restarting',
    );
    this.scheduleRestart(informer, delay);
  }

  private scheduleRestart(informer: Cache<T>, delayMs: number): void {
    clearTimeout(this.restartTimer);
    // Not unref'd: while every watch is down (the apiserver restarting), this
    // timer may be all that keeps the process alive, and it must come back.
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping || informer !== this.current) return;
      void this.startOnce(informer).then((listed) => {
        if (listed) this.backoff.forget('restart');
      });
    }, delayMs);
  }

  /**
   * The apiserver is reachable again after an outage. A watch waiting out its
   * restart backoff restarts now (after `jitterMs` at most, so the watches of
   * one process do not all list in the same instant) instead of when its
   * grown delay ends.
   *
   * A watch that stayed open across the outage is not trusted either: after a
   * partition that dropped packets its connection may be black-holed (no FIN
   * ever comes; it stays silent until client-node's 30 s idle timeout), and
   * the cache then misses every change since, our own writes included, so
   * each status write of a reconcile retried from it fails 409 on a stale
   * resourceVersion, with a growing backoff. It is replaced by a freshly
   * listed one now (within `jitterMs`), as the periodic relist would.
   */
  retryNow(jitterMs = 1_000): void {
    if (this.stopping || this.current === undefined) return;
    if (this.restartTimer !== undefined) {
      this.backoff.forget('restart');
      this.scheduleRestart(this.current, Math.random() * jitterMs);
      return;
    }
    // Still on its first LIST, or a relist already under way: that one is fresh enough.
    if (!this.synced || this.pending !== undefined) return;
    clearTimeout(this.relistTimer);
    this.relistTimer = setTimeout(() => void this.relist(), Math.random() * jitterMs);
  }

  /**
   * The next relist: after the interval (plus up to 20%), or, when the last
   * one failed, after a growing backoff (at most the interval). A failed
   * relist leaves in place a watch that may be dead (one kept open across a
   * partition: retryNow), so waiting a whole interval (30 minutes by default)
   * could leave the cache stale for that long.
   */
  private scheduleRelist(failed = false): void {
    const interval = this.options.relistIntervalMs;
    const delay = failed ? Math.min(interval, this.backoff.next('relist')) : interval + Math.random() * interval * 0.2;
    this.relistTimer = setTimeout(() => void this.relist(), delay);
  }

  /**
   * Swaps in a freshly listed informer; objects missing from the new list are
   * reported deleted. The old cache keeps serving reads until the new one has
   * listed: swapping first would show readers an empty world for the length
   * of a LIST.
   */
  private async relist(): Promise<void> {
    if (this.stopping) return;
    const previous = this.current;
    const fresh = this.create();
    this.pending = fresh;
    let failed = false;
    try {
      if (!(await this.startOnce(fresh))) throw new Error('list failed');
      if (this.stopping) throw new Error('stopping');
      this.backoff.forget('relist');
      this.current = fresh;
      for (const run of this.deferred.splice(0)) run();
      const present = new Set(Array.from(this.visit(fresh, false), keyOf));
      for (const obj of this.visit(previous, false)) {
        if (!present.has(keyOf(obj))) this.options.handlers.delete(obj);
      }
      await previous?.stop();
    } catch (err) {
      failed = true;
      if (!this.stopping) this.options.log.warn({ path: this.options.path, error: String(err) }, 'relist failed; keeping the previous watch');
      await fresh.stop().catch(() => undefined);
    } finally {
      // Whatever the replacement told and never delivered (it failed): the next relist tells it again.
      this.deferred = [];
      this.pending = undefined;
      if (!this.stopping) this.scheduleRelist(failed);
    }
  }
}

function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { SOURCE_KINDS, type ConfigPush, type SourceKind } from '../api/types.js';
import { sourceId } from '../core/sources.js';
import type { InformerHandlers } from '../kube/resilient-informer.js';
import type { Source } from '../runtime/controller.js';
import { keyOf } from '../runtime/handlers.js';
import { OnDemandWatches } from '../runtime/on-demand-watches.js';
import { ReferenceIndex } from '../runtime/reference-index.js';

export interface SourceWatchDeps {
  /**
   * The watch (not started) of one kind of source in one namespace, calling
   * `handlers`. It should cache metadata only (cache-transforms.ts, keepMetadataOnly).
   */
  watch(kind: SourceKind, namespace: string, handlers: InformerHandlers<KubernetesObject>): Source;
  /** Queues a push. Not echo-suppressed: the operator never writes a source. */
  enqueue(key: string): void;
  log: Logger;
}

/**
 * Watches of the Secrets and ConfigMaps that pushes copy from (spec.sources),
 * so that a changed source rolls out like a changed spec. No cluster-wide
 * informer over every Secret: one namespaced watch per (kind, namespace) that
 * some push references, started when the first such push appears and
 * stopped when the last one goes (runtime/on-demand-watches.ts), and an
 * index from source to the pushes that reference it, kept from the push
 * watch. An event on a source queues exactly those pushes; the reconcile
 * reads the source live and decides (a source edit that changes no copied
 * byte makes the same operation key, and writes nothing).
 */
export class SourceWatches {
  /** push key (namespace/name) -> the source ids it references. */
  private readonly index = new ReferenceIndex();
  private readonly watches: OnDemandWatches;
  /**
   * Per watched group, the resourceVersion last seen of each object: a
   * relist or a restarted watch re-delivers every object, and an unchanged
   * one queues nothing.
   */
  private readonly seen = new Map<string, Map<string, string | undefined>>();

  constructor(private readonly deps: SourceWatchDeps) {
    this.watches = new OnDemandWatches(
      (group) => {
        const { kind, namespace } = parseGroup(group);
        return deps.watch(kind, namespace, this.sourceHandlers(group));
      },
      deps.log,
      (group) => this.seen.delete(group),
    );
  }

  /** The controller Source that starts and stops the watches with the controller (without gating it). */
  get source(): Source {
    return this.watches;
  }

  /** For the push watch: keeps the index and the watches in step with each push's spec.sources. */
  readonly pushHandlers: InformerHandlers<KubernetesObject> = {
    upsert: (obj) => this.observe(keyOf(obj), referencedSources(obj as unknown as ConfigPush)),
    delete: (obj) => this.observe(keyOf(obj), []),
  };

  /** The pushes that reference a source (tests and tooling). */
  referrers(kind: SourceKind, namespace: string, name: string): string[] {
    return this.index.referrers(sourceId({ kind, namespace, name }));
  }

  /**
   * The resourceVersion at which the watch last showed a source; undefined
   * when it does not show it (not watched, not listed yet, or deleted).
   */
  resourceVersionOf(kind: SourceKind, namespace: string, name: string): string | undefined {
    return this.seen.get(groupOf(kind, namespace))?.get(name);
  }

  /** The (kind/namespace) groups watched now. */
  watchedGroups(): string[] {
    return this.watches.active();
  }

  private observe(pushKey: string, sources: { kind: SourceKind; namespace: string; name: string }[]): void {
    this.index.set(pushKey, sources.map(sourceId));
    this.watches.refer(pushKey, sources.map((s) => groupOf(s.kind, s.namespace)));
  }

  private sourceHandlers(group: string): InformerHandlers<KubernetesObject> {
    const changed = (obj: KubernetesObject, deleted: boolean) => {
      const name = obj.metadata?.name ?? '';
      let seen = this.seen.get(group);
      if (!seen) this.seen.set(group, (seen = new Map()));
      if (deleted) seen.delete(name);
      else {
        const resourceVersion = obj.metadata?.resourceVersion;
        if (seen.has(name) && seen.get(name) === resourceVersion) return;
        seen.set(name, resourceVersion);
      }
      for (const key of this.index.referrers(`${group}/${name}`)) this.deps.enqueue(key);
    };
    return { upsert: (obj) => changed(obj, false), delete: (obj) => changed(obj, true) };
  }
}

/** The sources a push references (namespaces defaulted); malformed entries are skipped (the reconcile reports them). */
export function referencedSources(push: ConfigPush): { kind: SourceKind; namespace: string; name: string }[] {
  const sources = push.spec?.sources;
  if (!Array.isArray(sources)) return [];
  const refs: { kind: SourceKind; namespace: string; name: string }[] = [];
  for (const source of sources) {
    const ref = source?.secretRef ?? source?.configMapRef;
    if (typeof ref?.name !== 'string' || ref.name === '') continue;
    const namespace = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : push.metadata?.namespace;
    if (!namespace) continue;
    refs.push({ kind: source.secretRef ? 'Secret' : 'ConfigMap', namespace, name: ref.name });
  }
  return refs;
}

function groupOf(kind: SourceKind, namespace: string): string {
  return `${kind}/${namespace}`;
}

function parseGroup(group: string): { kind: SourceKind; namespace: string } {
  const [kind = '', namespace = ''] = group.split('/');
  if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw new Error(`not a source group: ${group}`);
  return { kind: kind as SourceKind, namespace };
}

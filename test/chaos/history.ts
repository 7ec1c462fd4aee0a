import { KubeConfig, Watch } from '@kubernetes/client-node';

/**
 * Every committed change of the managed targets (their operation key) and of
 * the Deployments (their pod-template restart annotations), in order, from
 * watches that resume at the last resourceVersion seen. The audit log (the
 * ledger) is at Metadata level: it counts writes but does not say which
 * operation key a write carried. A watch delivers each committed version of
 * an object exactly once, in order, so this history tells which keys a target
 * went through and which restart values a workload got, and a key that came
 * back (written, replaced, written again) shows up as a repeat.
 *
 * A watch that expires (410 Gone) starts over from a LIST and is counted in
 * `gaps`: a history with gaps may have missed a version, so scenarios assert
 * gaps === 0 before trusting it.
 */
export interface Change {
  rv: string;
  /** configpush.io/operation-key (targets) or the restart annotation's value (Deployments). */
  value: string | undefined;
}

export const MANAGED = 'app.kubernetes.io/managed-by=configpush-operator';
const OPERATION_KEY = 'configpush.io/operation-key';
const RESTART_PREFIX = 'restart.configpush.io/';

export class ChangeHistory {
  /** `configmaps/<ns>/<name>`, `secrets/<ns>/<name>`, `deployments/<ns>/<name>/<annotation>` -> its distinct values, in order. */
  readonly changes = new Map<string, Change[]>();
  gaps = 0;
  private running = true;
  private readonly aborts = new Set<AbortController>();
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly kubeconfig: string,
    private readonly inScope: (namespace: string) => boolean,
  ) {}

  start(): void {
    this.loops.push(this.loop('/api/v1/configmaps', 'configmaps', MANAGED));
    this.loops.push(this.loop('/api/v1/secrets', 'secrets', MANAGED));
    this.loops.push(this.loop('/apis/apps/v1/deployments', 'deployments', undefined));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const abort of this.aborts) abort.abort();
    await Promise.all(this.loops);
  }

  /** The distinct values `id` went through, in order (consecutive repeats collapsed). */
  values(id: string): (string | undefined)[] {
    return (this.changes.get(id) ?? []).map((c) => c.value);
  }

  /** Values that `id` took more than once, non-consecutively (set, replaced, set again): a repeat of one operation. */
  repeats(id: string): string[] {
    const seen = new Set<string>();
    const repeated: string[] = [];
    for (const value of this.values(id)) {
      if (value === undefined) continue;
      if (seen.has(value)) repeated.push(value);
      seen.add(value);
    }
    return repeated;
  }

  private record(id: string, rv: string, value: string | undefined): void {
    let list = this.changes.get(id);
    if (!list) this.changes.set(id, (list = []));
    if (list.length > 0 && list.at(-1)?.value === value) return;
    list.push({ rv, value });
  }

  private async loop(path: string, resource: string, labelSelector: string | undefined): Promise<void> {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(this.kubeconfig);
    const watch = new Watch(kubeConfig);
    let resourceVersion: string | undefined;
    while (this.running) {
      let gone = false;
      await new Promise<void>((resolve) => {
        const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
        if (labelSelector) query.labelSelector = labelSelector;
        if (resourceVersion) query.resourceVersion = resourceVersion;
        watch
          .watch(
            path,
            query,
            (phase, obj: { metadata?: { namespace?: string; name?: string; resourceVersion?: string; annotations?: Record<string, string> }; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } }; code?: number }) => {
              if (phase === 'ERROR') {
                if (obj?.code === 410) gone = true;
                return;
              }
              const rv = obj.metadata?.resourceVersion;
              if (rv) resourceVersion = rv;
              if (phase === 'BOOKMARK' || phase === 'DELETED') return;
              const namespace = obj.metadata?.namespace ?? '';
              if (!rv || !this.inScope(namespace)) return;
              const name = obj.metadata?.name ?? '';
              if (resource === 'deployments') {
                const annotations = obj.spec?.template?.metadata?.annotations ?? {};
                for (const [key, value] of Object.entries(annotations)) {
                  if (key.startsWith(RESTART_PREFIX)) this.record(`deployments/${namespace}/${name}/${key}`, rv, value);
                }
              } else {
                this.record(`${resource}/${namespace}/${name}`, rv, obj.metadata?.annotations?.[OPERATION_KEY]);
              }
            },
            () => resolve(),
          )
          .then((abort) => {
            this.aborts.add(abort);
            if (!this.running) abort.abort();
          })
          .catch(() => resolve());
      });
      if (gone) {
        // Expired: the versions in between are unknown; start over from a LIST.
        this.gaps++;
        resourceVersion = undefined;
      }
      if (this.running) await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * The raw baseline: the least a controller can do to take ConfigPushes to
 * Ready with the same conditional writes as the operator, written directly
 * against @kubernetes/client-node. Run as a child process by bench/run.ts.
 *
 * Per push and generation: a merge patch adding the finalizer at the
 * resourceVersion read (first generation only); per target a create when the
 * push's status lists no written target yet (AlreadyExists: read), otherwise
 * a GET and then a create or a replace at the resourceVersion read (409:
 * re-read); then one PUT of /status at the push's resourceVersion. The
 * same --workers pushes at once, and --target-concurrency targets per push.
 *
 * --writes (bench --baseline-writes, bench/baseline-writes.ts) says what
 * else it writes. By default (`revision`) a ControllerRevision of the
 * content before the status (named after the content digest; AlreadyExists
 * is success), shaped as the operator's: the conditional write issue 14 made
 * part of every completed rollout. `plain` leaves it out; `records` also
 * sends an `Applied` core/v1 Event after the status, without waiting for
 * it, as the operator's EventRecorder does, so the requests per push are
 * then the operator's and the ratios show its machinery alone.
 *
 * What it leaves out is what the operator adds: target watches and drift
 * correction, per-reconcile re-reads of every target, status rebuilt from the
 * targets, events, metrics, logs, backoff. It remembers in memory which
 * generation it finished, and skips a push whose status already says Ready at
 * its generation (so it writes nothing when idle or after a restart).
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { PatchStrategy, makeInformer, setHeaderOptions, type KubernetesListObject, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import type { ConfigPush, ConfigPushStatus, TargetStatus } from '../src/api/types.js';
import { TARGET_STATUS_LIMIT } from '../src/core/build-status.js';
import { BASELINE_WRITES, isBaselineWrites, writesEvent, writesRevision, type BaselineWrites } from './baseline-writes.js';
import { observeGc } from './controller-gc.js';
import { BASELINE_USER_AGENT, forEachLimit, makeApi, type Api } from './kube.js';

const MANAGED_BY = 'app.kubernetes.io/managed-by';
const base = { group: GROUP, version: VERSION, plural: PLURAL };

type Message = { type: 'stats' } | { type: 'stop' };

class Baseline {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly done = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];
  private informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  private stopping = false;
  processed = 0;
  writes = 0;
  errors = 0;

  constructor(
    private readonly api: Api,
    private readonly workers: number,
    private readonly targetConcurrency: number,
    private readonly extraWrites: BaselineWrites,
  ) {}

  async start(): Promise<void> {
    const informer = makeInformer<KubernetesObject>(
      this.api.kubeConfig,
      `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      () => this.api.custom.listClusterCustomObject(base) as Promise<KubernetesListObject<KubernetesObject>>,
    );
    const onPush = (obj: KubernetesObject) => {
      try {
        this.consider(obj as unknown as ConfigPush);
      } catch (err) {
        process.stderr.write(`baseline: handler: ${String(err)}\n`);
      }
    };
    informer.on('add', onPush);
    informer.on('update', onPush);
    informer.on('error', (err: unknown) => {
      if (this.stopping) return;
      process.stderr.write(`baseline: watch stopped (${String(err)}); restarting\n`);
      setTimeout(() => void informer.start().catch(() => undefined), 1000);
    });
    this.informer = informer;
    await informer.start();
    for (let i = 0; i < this.workers; i++) void this.work();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.waiters.splice(0)) wake();
    await this.informer?.stop();
  }

  get depth(): number {
    return this.queue.length + this.processing.size;
  }

  private consider(push: ConfigPush): void {
    const key = `${push.metadata.namespace}/${push.metadata.name}`;
    if (this.done.get(key) === push.metadata.generation) return;
    if (readyAt(push)) {
      this.done.set(key, push.metadata.generation);
      return;
    }
    this.enqueue(key);
  }

  /** Dedup like client-go's queue: a key queued while it runs goes back in when it is done. */
  private enqueue(key: string): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      const key = this.queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      this.queued.delete(key);
      this.processing.add(key);
      try {
        await this.process(key);
      } catch (err) {
        this.errors++;
        process.stderr.write(`baseline: ${key}: ${describe(err)}; retrying\n`);
        setTimeout(() => this.enqueue(key), 500);
      } finally {
        this.processing.delete(key);
        this.processed++;
        if (this.queued.has(key)) {
          this.queue.push(key);
          this.waiters.shift()?.();
        }
      }
    }
  }

  private async process(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    let push = this.informer?.get(name, namespace) as unknown as ConfigPush | undefined;
    if (!push || push.metadata.deletionTimestamp) return;
    const generation = push.metadata.generation;
    if (this.done.get(key) === generation || readyAt(push)) {
      this.done.set(key, generation);
      return;
    }
    if (!push.metadata.finalizers?.includes(FINALIZER)) {
      push = (await this.api.custom.patchNamespacedCustomObject(
        { ...base, namespace, name, body: { metadata: { resourceVersion: push.metadata.resourceVersion, finalizers: [...(push.metadata.finalizers ?? []), FINALIZER] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as ConfigPush;
      this.writes++;
    }
    const data = push.spec.data ?? {};
    const digest = `sha256:${createHash('sha256').update(JSON.stringify(Object.entries(data).sort())).digest('hex')}`;
    const targets: { kind: string; name: string; namespace: string }[] = [];
    for (const t of push.spec.targets) {
      if (t.namespaceSelector) {
        // Fan-out: a LIST of the namespaces the selector matches (matchLabels only).
        const labelSelector = Object.entries(t.namespaceSelector.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const list = await this.api.core.listNamespace({ labelSelector });
        for (const ns of list.items) targets.push({ kind: t.kind, name: t.name, namespace: ns.metadata?.name ?? '' });
      } else targets.push({ kind: t.kind, name: t.name, namespace: t.namespace ?? namespace });
    }
    const results: TargetStatus[] = new Array(targets.length);
    const owner = push;
    // Like the operator: a push whose status lists no written targets creates them without reading first.
    const firstApply = (push.status?.targets ?? []).length === 0;
    await forEachLimit(targets, this.targetConcurrency, async (target, index) => {
      if (target.kind !== 'ConfigMap') throw new Error('the baseline writes ConfigMap targets only');
      results[index] = await this.applyTarget(owner, target.namespace, target.name, data, digest, firstApply);
    });
    if (writesRevision(this.extraWrites)) await this.recordRevision(push, digest);
    const status: ConfigPushStatus = {
      observedGeneration: generation,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Applied',
          message: `applied to ${targets.length} targets`,
          observedGeneration: generation,
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      ],
      contentDigest: digest,
      targetSummary: `${targets.length}/${targets.length}`,
      // The CRD bounds status.targets (maxItems), as the operator's status does: a fan-out past it lists the first ones.
      targets: results.slice(0, TARGET_STATUS_LIMIT),
    };
    for (let round = 0; ; round++) {
      try {
        await this.api.custom.replaceNamespacedCustomObjectStatus({
          ...base,
          namespace,
          name,
          // No spec, as the operator sends none (src/kube/configpush-client.ts): the status subresource ignores it.
          body: { apiVersion: push.apiVersion, kind: push.kind, metadata: { name, namespace, resourceVersion: push.metadata.resourceVersion }, status },
        });
        this.writes++;
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || round >= 3) throw err;
        push = (await this.api.custom.getNamespacedCustomObject({ ...base, namespace, name })) as ConfigPush;
        if (push.metadata.generation !== generation) return; // a newer generation is queued
      }
    }
    this.done.set(key, generation);
    if (writesEvent(this.extraWrites)) void this.recordEvent(push, `operation ${push.metadata.uid}/${generation} applied to ${targets.length} targets`);
  }

  /** A ControllerRevision of the content, shaped as the operator's (labels, annotations, owner, payload); one per content digest. */
  private async recordRevision(push: ConfigPush, digest: string): Promise<void> {
    const { namespace = '', name = '', uid = '' } = push.metadata;
    const spec: Record<string, unknown> = {};
    if (push.spec.data !== undefined) spec.data = push.spec.data;
    try {
      await this.api.apps.createNamespacedControllerRevision({
        namespace,
        body: {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: {
            name: `${name}-${digest.slice('sha256:'.length, 'sha256:'.length + 10)}`,
            namespace,
            labels: { 'configpush.io/revision-of': uid },
            annotations: { 'configpush.io/content-digest': digest, 'configpush.io/operation-key': `${uid}/${push.metadata.generation}`, 'configpush.io/owner': `${namespace}/${name}` },
            ownerReferences: [{ apiVersion: push.apiVersion, kind: push.kind, name, uid, controller: true }],
          },
          revision: push.metadata.generation,
          data: { 'revision.json': { spec } },
        },
      });
      this.writes++;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }

  /** An `Applied` Event on the push (core/v1, as the operator's EventRecorder writes it); a failure is only counted. */
  private async recordEvent(push: ConfigPush, message: string): Promise<void> {
    const { namespace = '', name = '', uid = '' } = push.metadata;
    const now = new Date();
    try {
      await this.api.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${createHash('sha256').update(`${uid}/${push.metadata.generation}`).digest('hex').slice(0, 16)}`, namespace },
          involvedObject: { apiVersion: push.apiVersion, kind: push.kind, name, namespace, uid, resourceVersion: push.metadata.resourceVersion },
          reason: 'Applied',
          message,
          type: 'Normal',
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: BASELINE_USER_AGENT },
          reportingComponent: BASELINE_USER_AGENT,
          reportingInstance: 'local',
        },
      });
      this.writes++;
    } catch {
      this.errors++;
    }
  }

  /** `createFirst`: the push never wrote its targets, so try the create before any read (AlreadyExists: read). */
  private async applyTarget(push: ConfigPush, namespace: string, name: string, data: Record<string, string>, digest: string, createFirst: boolean): Promise<TargetStatus> {
    for (let round = 0; round < 5; round++) {
      let live: V1ConfigMap | undefined;
      try {
        if (!(createFirst && round === 0)) live = await this.api.core.readNamespacedConfigMap({ name, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      const status: TargetStatus = { kind: 'ConfigMap', name, namespace, state: 'Applied' };
      if (live?.metadata?.annotations?.['configpush.io/content-digest'] === digest) {
        if (live.metadata.resourceVersion) status.resourceVersion = live.metadata.resourceVersion;
        return status;
      }
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace,
          labels: { ...(live?.metadata?.labels ?? {}), [MANAGED_BY]: BASELINE_USER_AGENT },
          annotations: {
            ...(live?.metadata?.annotations ?? {}),
            'configpush.io/owner-uid': push.metadata.uid,
            'configpush.io/owner': `${push.metadata.namespace}/${push.metadata.name}`,
            'configpush.io/content-digest': digest,
          },
          ...(live?.metadata?.resourceVersion ? { resourceVersion: live.metadata.resourceVersion } : {}),
        },
        data,
      };
      try {
        const written = live
          ? await this.api.core.replaceNamespacedConfigMap({ name, namespace, body })
          : await this.api.core.createNamespacedConfigMap({ namespace, body });
        this.writes++;
        if (written.metadata?.resourceVersion) status.resourceVersion = written.metadata.resourceVersion;
        return status;
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
    throw new Error(`ConfigMap ${namespace}/${name} kept changing`);
  }
}

function readyAt(push: ConfigPush): boolean {
  const generation = push.metadata.generation;
  const ready = push.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === generation && push.status?.observedGeneration === generation;
}

function describe(err: unknown): string {
  const code = (err as { code?: number }).code;
  if (typeof code === 'number') return `HTTP ${code}`;
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      workers: { type: 'string', default: '4' },
      'target-concurrency': { type: 'string', default: '4' },
      writes: { type: 'string', default: 'revision' },
    },
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig is required');
  if (!isBaselineWrites(values.writes)) throw new Error(`--writes must be one of ${BASELINE_WRITES.join(', ')}, got ${JSON.stringify(values.writes)}`);
  const api = makeApi(values.kubeconfig, BASELINE_USER_AGENT);
  const baseline = new Baseline(api, Number(values.workers), Number(values['target-concurrency']), values.writes);
  await baseline.start();
  const send = (message: object) => process.send?.(message);
  // GC pauses, tallied as prom-client does for the operator (bench/controller-gc.ts).
  const gc = observeGc();
  process.on('message', (message: Message) => {
    if (message.type === 'stats') {
      const memory = process.memoryUsage();
      send({ type: 'stats', processed: baseline.processed, depth: baseline.depth, writes: baseline.writes, errors: baseline.errors, rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, gc: gc.read() });
    } else if (message.type === 'stop') {
      void baseline.stop().finally(() => process.exit(0));
    }
  });
  process.on('SIGTERM', () => void baseline.stop().finally(() => process.exit(0)));
  process.on('disconnect', () => void baseline.stop().finally(() => process.exit(0)));
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

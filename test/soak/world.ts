import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { targetId, type TargetRef } from '../chaos/ledger.js';
import type { Random } from '../chaos/random.js';
import {
  ALLOWED_SOURCES,
  ANNOTATION_KEY,
  ANNOTATION_OWNER_UID,
  code,
  createNamespace,
  finalSpec,
  listPushes,
  listTargets,
  planPushes,
  randomContent,
  retrying,
  updateSpec,
  waitConverged,
  type Clients,
  type PlannedPush,
} from '../chaos/workload.js';

/**
 * The soak's pushes, sources and namespaces, and the mixed work done to them
 * each round: spec changes (new generations, multi-target, cross-namespace,
 * waves), source changes, and foreign edits of targets under driftPolicy
 * Correct and Report. Every change is counted, so the end can say how many
 * writes each target was allowed.
 */
export type Role = 'spec' | 'wave' | 'source' | 'report';

export interface SoakPush extends PlannedPush {
  role: Role;
  policy: 'Correct' | 'Report';
  source?: SourceObject;
  /** Source revisions written after this push was created: one operation each. */
  sourceChanges: number;
}

export interface SourceObject {
  kind: 'Secret' | 'ConfigMap';
  namespace: string;
  name: string;
  revision: number;
  data: Record<string, string>;
}

export interface WorldSizes {
  specPushes: number;
  wavePushes: number;
  sourcePushes: number;
  reportPushes: number;
  sources: number;
  waveNamespaces: number;
}

export const SIZES: WorldSizes = { specPushes: 24, wavePushes: 4, sourcePushes: 8, reportPushes: 4, sources: 4, waveNamespaces: 4 };

const RUN_LABEL = 'soak.configpush.io/run';
const THIRD_PARTY_KEY = 'third-party';
const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

export class World {
  readonly pushes: SoakPush[] = [];
  readonly sources: SourceObject[] = [];
  readonly namespaces: string[] = [];
  /** Foreign edits that changed a target's content, by target id. */
  readonly driftEdits = new Map<string, number>();
  readonly counts = { specUpdates: 0, sourceChanges: 0, correctEdits: 0, reportEdits: 0, refusedEdits: 0, harnessErrors: 0 };
  /** The first few harness errors (a change that failed after its retries). */
  readonly harnessErrors: string[] = [];

  constructor(
    readonly c: Clients,
    readonly third: Clients,
    readonly rnd: Random,
    readonly runId: string,
  ) {}

  private async namespace(suffix: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
    const name = `soak-${this.runId}-${suffix}`;
    await createNamespace(this.c, name, annotations);
    if (Object.keys(labels).length > 0) {
      await retrying(`label ${name}`, async () => {
        const live = await this.c.core.readNamespace({ name });
        live.metadata = { ...live.metadata, labels: { ...live.metadata?.labels, ...labels } };
        await this.c.core.replaceNamespace({ name, body: live });
      });
    }
    this.namespaces.push(name);
    return name;
  }

  /** Namespaces, sources at revision 0, and the planned pushes (not yet created). */
  async plan(sizes: WorldSizes = SIZES): Promise<void> {
    const homeA = await this.namespace('a');
    const homeB = await this.namespace('b');
    const cross = await this.namespace('x', {}, { [ALLOWED_SOURCES]: '*' });
    const waves: string[] = [];
    for (let w = 0; w < sizes.waveNamespaces; w++) waves.push(await this.namespace(`w${w}`, { [RUN_LABEL]: this.runId }, { [ALLOWED_SOURCES]: '*' }));

    for (const push of planPushes(this.rnd, sizes.specPushes, [homeA, homeB], cross, 'spec')) {
      push.spec.driftPolicy = 'Correct';
      this.pushes.push({ ...push, role: 'spec', policy: 'Correct', sourceChanges: 0 });
    }
    for (let i = 0; i < sizes.wavePushes; i++) {
      const kind = i % 2 === 0 ? 'ConfigMap' : 'Secret';
      const name = `wave-${i}`;
      const spec: ConfigPushSpec = {
        targets: [{ kind, name, namespaceSelector: { matchLabels: { [RUN_LABEL]: this.runId } } }],
        strategy: { waves: [{ name: 'canary', namespaces: [waves[0]!] }, { name: 'early', namespaces: [waves[1]!] }], maxParallel: 2 },
        driftPolicy: 'Correct',
        ...randomContent(this.rnd, `${name}-g1`),
      };
      const resource = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
      this.pushes.push({ namespace: homeA, name, spec, updates: [], targets: waves.map((ns) => ({ resource, namespace: ns, name })), role: 'wave', policy: 'Correct', sourceChanges: 0 });
    }
    for (let s = 0; s < sizes.sources; s++) {
      const kind = s % 2 === 0 ? 'Secret' : 'ConfigMap';
      const source: SourceObject = { kind, namespace: homeB, name: `${kind === 'Secret' ? 'secret' : 'cm'}-source-${s}`, revision: 0, data: {} };
      this.sources.push(source);
      await this.writeSource(source);
    }
    for (let i = 0; i < sizes.sourcePushes; i++) {
      const source = this.sources[i % this.sources.length]!;
      const name = `sourced-${i}`;
      // A Secret may only feed Secrets; a ConfigMap source feeds both kinds.
      const kinds = source.kind === 'Secret' ? (['Secret'] as const) : (['ConfigMap', 'Secret'] as const);
      const targets = kinds.map((kind, t) => ({ kind, name: `${name}-t${t}` }));
      const ref = { name: source.name };
      const spec = {
        targets,
        sources: [source.kind === 'Secret' ? { secretRef: ref } : { configMapRef: ref }],
        driftPolicy: 'Correct',
      } as ConfigPushSpec;
      this.pushes.push({
        namespace: homeB,
        name,
        spec,
        updates: [],
        targets: targets.map((t) => ({ resource: t.kind === 'ConfigMap' ? 'configmaps' : 'secrets', namespace: homeB, name: t.name })),
        role: 'source',
        policy: 'Correct',
        source,
        sourceChanges: 0,
      });
    }
    for (const push of planPushes(this.rnd, sizes.reportPushes, [homeA], undefined, 'report')) {
      push.spec.driftPolicy = 'Report';
      this.pushes.push({ ...push, role: 'report', policy: 'Report', sourceChanges: 0 });
    }
  }

  private async writeSource(source: SourceObject): Promise<void> {
    const r = source.revision;
    source.data = { token: `${source.name}-r${r}-${this.rnd.word(this.rnd.int(8, 64))}`, 'settings.conf': `revision=${r}\n${this.rnd.word(this.rnd.int(16, 400))}` };
    const { namespace, name } = source;
    await retrying(`write source ${namespace}/${name}`, async () => {
      if (source.kind === 'Secret') {
        const body: V1Secret = { metadata: { name }, data: Object.fromEntries(Object.entries(source.data).map(([k, v]) => [k, b64(v)])) };
        try {
          const live = await this.c.core.readNamespacedSecret({ namespace, name });
          await this.c.core.replaceNamespacedSecret({ namespace, name, body: { ...live, data: body.data ?? {} } });
        } catch (err) {
          if (code(err) !== 404) throw err;
          await this.c.core.createNamespacedSecret({ namespace, body });
        }
      } else {
        const body: V1ConfigMap = { metadata: { name }, data: { ...source.data } };
        try {
          const live = await this.c.core.readNamespacedConfigMap({ namespace, name });
          await this.c.core.replaceNamespacedConfigMap({ namespace, name, body: { ...live, data: body.data ?? {} } });
        } catch (err) {
          if (code(err) !== 404) throw err;
          await this.c.core.createNamespacedConfigMap({ namespace, body });
        }
      }
    });
  }

  private record(err: unknown, what: string): void {
    this.counts.harnessErrors++;
    if (this.harnessErrors.length < 20) this.harnessErrors.push(`${new Date().toISOString()} ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }

  /** A new generation of a spec or wave push: new content (targets, waves and policy kept). */
  async specChange(): Promise<void> {
    const push = this.rnd.pick(this.pushes.filter((p) => p.role === 'spec' || p.role === 'wave'));
    const previous = finalSpec(push);
    const content = randomContent(this.rnd, `${push.name}-g${push.updates.length + 2}`);
    const spec: ConfigPushSpec = { ...previous, ...content };
    // A generation without binaryData drops the previous one's.
    if (content.binaryData === undefined) delete spec.binaryData;
    try {
      await updateSpec(this.c, push, spec);
      this.counts.specUpdates++;
    } catch (err) {
      this.record(err, `spec change of ${push.namespace}/${push.name}`);
    }
  }

  /** A new revision of one source: every push copying it has a new operation. */
  async sourceChange(): Promise<void> {
    const source = this.rnd.pick(this.sources);
    source.revision++;
    try {
      await this.writeSource(source);
      this.counts.sourceChanges++;
      for (const push of this.pushes) if (push.source === source) push.sourceChanges++;
    } catch (err) {
      this.record(err, `change of source ${source.namespace}/${source.name}`);
    }
  }

  /** A foreign edit of one managed target of a push with `policy` (a conditional replace, as a careful third party). */
  async foreignEdit(policy: 'Correct' | 'Report'): Promise<void> {
    const push = this.rnd.pick(this.pushes.filter((p) => p.policy === policy && p.uid !== undefined));
    const ref = this.rnd.pick(push.targets);
    const { namespace, name } = ref;
    const value = `edited by a third party at ${Date.now()}`;
    try {
      const changed = await retrying(`edit ${targetId(ref)}`, async () => {
        try {
          if (ref.resource === 'configmaps') {
            const live = await this.third.core.readNamespacedConfigMap({ namespace, name });
            live.data = { ...live.data, [THIRD_PARTY_KEY]: value };
            await this.third.core.replaceNamespacedConfigMap({ namespace, name, body: live });
          } else {
            const live = await this.third.core.readNamespacedSecret({ namespace, name });
            live.data = { ...live.data, [THIRD_PARTY_KEY]: b64(value) };
            await this.third.core.replaceNamespacedSecret({ namespace, name, body: live });
          }
          return true;
        } catch (err) {
          // Not there yet, or the operator wrote it since the read: no edit happened.
          if (code(err) === 404 || code(err) === 409) return false;
          throw err;
        }
      });
      if (!changed) {
        this.counts.refusedEdits++;
        return;
      }
      const id = targetId(ref);
      this.driftEdits.set(id, (this.driftEdits.get(id) ?? 0) + 1);
      if (policy === 'Correct') this.counts.correctEdits++;
      else this.counts.reportEdits++;
    } catch (err) {
      this.record(err, `foreign edit of ${targetId(ref)}`);
    }
  }

  /** A Secret in a push's namespace named <push name>-<10 hex>: where a revision's payload is kept (docs/revisions.md). */
  isRevisionSecret(ref: TargetRef): boolean {
    if (ref.resource !== 'secrets') return false;
    return this.pushes.some((p) => p.namespace === ref.namespace && ref.name.startsWith(`${p.name}-`) && /^[0-9a-f]{10}$/.test(ref.name.slice(p.name.length + 1)));
  }

  /**
   * Writes each target may have had from the operator: one per operation
   * (its create, each later generation, each revision of its source) plus,
   * under Correct, one correction per foreign edit. Report targets: 1.
   */
  allowedWrites(): { base: Map<string, number>; allowance: (id: string, base: number) => number } {
    const base = new Map<string, number>();
    const correct = new Set<string>();
    for (const push of this.pushes) {
      for (const ref of push.targets) {
        const id = targetId(ref);
        base.set(id, 1 + push.updates.length + push.sourceChanges);
        if (push.policy === 'Correct') correct.add(id);
      }
    }
    return { base, allowance: (id, n) => n + (correct.has(id) ? (this.driftEdits.get(id) ?? 0) : 0) };
  }

  /**
   * Why each push is not where it must end, after the work stopped: spec and
   * wave pushes Ready with exactly their last spec's content; sourced pushes
   * Ready with their source's last revision under the status's key; Report
   * pushes at their generation, Drifted=True exactly when a target was edited
   * (the edit left in place), else Ready. Empty when all converged.
   */
  async notConverged(timeoutMs: number): Promise<{ push: string; why: string }[]> {
    const deadline = Date.now() + timeoutMs;
    const specLike = this.pushes.filter((p) => p.role === 'spec' || p.role === 'wave');
    const spec = await waitConverged(this.c, specLike, timeoutMs);
    const lost = [...spec.lost];
    for (;;) {
      const why = new Map<string, string>();
      try {
        const lives = new Map<string, ConfigPush>();
        const targets = new Map<string, V1ConfigMap | V1Secret>();
        for (const namespace of this.namespaces) {
          for (const live of await listPushes(this.c, namespace)) lives.set(`${namespace}/${live.metadata.name}`, live);
          for (const [id, t] of await listTargets(this.c, namespace)) targets.set(id, t);
        }
        for (const push of this.pushes.filter((p) => p.role === 'source' || p.role === 'report')) {
          const problem = push.role === 'source' ? sourcedProblem(push, lives, targets) : reportProblem(push, lives, targets, this.driftEdits);
          if (problem) why.set(`${push.namespace}/${push.name}`, problem);
        }
      } catch (err) {
        why.set('(poll)', err instanceof Error ? err.message : String(err));
      }
      if (why.size === 0 || Date.now() > deadline) return [...lost, ...[...why].map(([push, reason]) => ({ push, why: reason }))];
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

function readyAtGeneration(live: ConfigPush): boolean {
  const ready = live.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === live.metadata.generation && live.status?.observedGeneration === live.metadata.generation;
}

function sameData(actual: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  const a = actual ?? {};
  return Object.keys(a).length === Object.keys(wanted).length && Object.entries(wanted).every(([k, v]) => a[k] === v);
}

function sourcedProblem(push: SoakPush, lives: Map<string, ConfigPush>, targets: Map<string, V1ConfigMap | V1Secret>): string | undefined {
  const live = lives.get(`${push.namespace}/${push.name}`);
  if (!live) return 'push not found';
  if (!readyAtGeneration(live)) {
    const ready = live.status?.conditions?.find((c) => c.type === 'Ready');
    return `not Ready: ${ready ? `${ready.status}/${ready.reason}` : 'no status'}`;
  }
  const source = push.source!;
  for (const ref of push.targets) {
    const target = targets.get(targetId(ref));
    const annotations = target?.metadata?.annotations ?? {};
    if (!target) return `${targetId(ref)} missing`;
    if (annotations[ANNOTATION_OWNER_UID] !== live.metadata.uid) return `${targetId(ref)} not owned by the push`;
    if (annotations[ANNOTATION_KEY] !== live.status?.operationKey) return `${targetId(ref)} key ${annotations[ANNOTATION_KEY] ?? 'none'}, status ${live.status?.operationKey ?? 'none'}`;
    const want = ref.resource === 'configmaps' ? source.data : Object.fromEntries(Object.entries(source.data).map(([k, v]) => [k, b64(v)]));
    if (!sameData(target.data, want)) return `${targetId(ref)} does not hold revision ${source.revision} of ${source.name}`;
  }
  return undefined;
}

function reportProblem(push: SoakPush, lives: Map<string, ConfigPush>, targets: Map<string, V1ConfigMap | V1Secret>, edits: Map<string, number>): string | undefined {
  const live = lives.get(`${push.namespace}/${push.name}`);
  if (!live) return 'push not found';
  if (live.status?.observedGeneration !== live.metadata.generation) return 'status not at the generation';
  const edited = push.targets.filter((ref) => (edits.get(targetId(ref)) ?? 0) > 0);
  const drifted = live.status?.conditions?.find((c) => c.type === 'Drifted');
  if (edited.length === 0) return readyAtGeneration(live) ? undefined : 'not Ready, and nothing was edited';
  if (drifted?.status !== 'True') return `${edited.length} target(s) edited under Report, Drifted is ${drifted?.status ?? 'absent'}`;
  for (const ref of edited) {
    const data = targets.get(targetId(ref))?.data ?? {};
    if (!(THIRD_PARTY_KEY in data)) return `${targetId(ref)}: the foreign edit was undone under driftPolicy Report`;
  }
  return undefined;
}

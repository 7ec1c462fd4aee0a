import type { V1ConfigMap } from '@kubernetes/client-node';
import { ANNOTATION, MANAGED_BY_LABEL } from '../../../api/constants.js';
import type { ConfigPush, RolloutPhase, SourceStatus, TargetKind } from '../../../api/types.js';
import { MANAGED_KEYS_ANNOTATION, renderTarget, type Ownership, type TargetObject } from '../../../core/desired-target.js';
import { operationKey } from '../../../core/operation-key.js';
import { targetId, type ResolvedSpec, type ResolvedTarget } from '../../../core/resolve-spec.js';
import { planTargetOf } from '../../../core/target-plan.js';
import { refuseTarget } from '../../../core/tenancy.js';
import { diffMaps, type KeyChange, type ValueKind } from './key-diff.js';
import type { WaveView } from './waves.js';

export const DIFF_ACTIONS = ['create', 'update', 'unchanged', 'conflict', 'drifted', 'stale', 'rolled-back', 'refused', 'error'] as const;
export type DiffAction = (typeof DIFF_ACTIONS)[number];

/** What the next apply would do to one target, and how its content would change. */
export interface TargetDiff {
  kind: TargetKind;
  namespace: string;
  name: string;
  wave: number;
  totalWaves: number;
  action: DiffAction;
  /** update: why (the planner's reason). */
  reason?: 'new-content' | 'drift' | 'adopt';
  /** conflict: who owns it; refused: the refusal's reason. */
  owner?: string;
  refusal?: string;
  message?: string;
  /** True for Secrets, and for every target of a push that writes a Secret: only sizes are shown. */
  valuesHidden: boolean;
  /** The operation key the target carries, and the one the write would stamp. */
  operationKey?: { from?: string; to: string };
  data: KeyChange[];
  binaryData: KeyChange[];
  labels: KeyChange[];
  annotations: KeyChange[];
}

export interface PushDiff {
  configPush: { namespace: string; name: string; generation: number };
  operationKey: string;
  contentDigest: string;
  /** spec.sources as read for this plan (never a value), as the operator reports them in status.sources. */
  sources?: SourceStatus[];
  /** spec.suspend: the changes wait for resume. */
  suspended: boolean;
  /** The operator refuses the whole push (an invalid spec): it writes nothing until the spec changes. */
  refused?: { reason: string; message: string };
  rollout?: { phase: RolloutPhase; currentWave: number; totalWaves: number };
  targets: TargetDiff[];
  /** Targets per action (only the actions that occur). */
  summary: Partial<Record<DiffAction, number>>;
  /** Targets the next apply would write (create + update). */
  changes: number;
}

/** A live read of one target: the object (undefined: it does not exist), or why it could not be read. */
export type LiveRead = { object: TargetObject | undefined } | { error: string };

export interface DiffInput {
  push: ConfigPush;
  /** With spec.sources merged into its content (sourced-spec.ts) when the push has any. */
  spec: ResolvedSpec;
  /** The operation key the writes would stamp (with spec.sources: it includes the sources revision). Default: operationKey(uid, generation). */
  operationKey?: string;
  /** status.sources for this plan, shown with it. */
  sources?: SourceStatus[];
  waves: WaveView[];
  live(target: ResolvedTarget): LiveRead;
  /** A namespace's annotations (tenancy opt-in); undefined if the namespace does not exist. */
  namespaceAnnotations(name: string): Record<string, string> | undefined;
}

/** The operator's own markers on a target: they change with every operation, so they are summed up as the operation key. */
const MARKERS = new Set<string>([...Object.values(ANNOTATION), MANAGED_KEYS_ANNOTATION]);

/**
 * Plans every target as the operator's reconcile would, with the same pure
 * functions (refuseTarget, planTarget, renderTarget), against what was read
 * live, and says what would change. Writes nothing, so it is exact only until
 * someone else writes: a plan, like `kubectl diff`.
 */
export function planDiff(input: DiffInput): PushDiff {
  const { push, spec } = input;
  const { namespace, name, uid, generation } = push.metadata;
  const key = input.operationKey ?? operationKey(uid, generation);
  const context: PlanContext = {
    input,
    ownership: { ownerUid: uid, owner: `${namespace}/${name}`, operationKey: key, generation, contentDigest: spec.digest },
    previouslyWritten: new Set((push.status?.targets ?? []).filter((t) => t.state === 'Applied' || t.state === 'Drifted').map((t) => targetId(t))),
    // The same content goes to every target: if one is a Secret, the values are secret everywhere.
    hideValues: spec.targets.some((t) => t.kind === 'Secret'),
  };
  const targets = input.waves.flatMap((wave) => wave.targets.map((target) => planOne(context, target, wave)));

  const summary: Partial<Record<DiffAction, number>> = {};
  for (const t of targets) summary[t.action] = (summary[t.action] ?? 0) + 1;
  const rollout = push.status?.rollout;
  return {
    configPush: { namespace, name, generation },
    operationKey: key,
    contentDigest: spec.digest,
    ...(input.sources ? { sources: input.sources } : {}),
    suspended: spec.suspend,
    ...(rollout ? { rollout: { phase: rollout.phase, currentWave: rollout.currentWave, totalWaves: rollout.totalWaves } } : {}),
    targets,
    summary,
    changes: (summary.create ?? 0) + (summary.update ?? 0),
  };
}

interface PlanContext {
  input: DiffInput;
  ownership: Ownership;
  previouslyWritten: ReadonlySet<string>;
  hideValues: boolean;
}

/** One target, decided as target-applier.ts decides it: tenancy first, then the planner on the live object. */
function planOne({ input, ownership, previouslyWritten, hideValues }: PlanContext, target: ResolvedTarget, wave: WaveView): TargetDiff {
  const { push, spec } = input;
  const valuesHidden = hideValues || target.kind === 'Secret';
  const result = (fields: Partial<TargetDiff>): TargetDiff =>
    orderedDiff({
      kind: target.kind,
      namespace: target.namespace,
      name: target.name,
      wave: wave.index,
      totalWaves: wave.total,
      action: 'unchanged',
      valuesHidden,
      data: [],
      binaryData: [],
      labels: [],
      annotations: [],
      ...fields,
    });
  const refused = refuseTarget(push.metadata.namespace, target, spec, input.namespaceAnnotations(target.namespace));
  if (refused) return result({ action: 'refused', refusal: refused.reason, message: refused.message });
  const read = input.live(target);
  if ('error' in read) return result({ action: 'error', message: read.error });
  const live = read.object;
  const plan = planTargetOf(target.kind, live, spec, ownership, previouslyWritten.has(targetId(target)));
  const changes = () => contentChanges(target.kind, live, renderTarget(target.kind, target.name, target.namespace, spec.content, ownership, live), valuesHidden);
  switch (plan.action) {
    case 'none':
      return result({});
    case 'create':
      return result({ action: 'create', ...changes() });
    case 'update':
      return result({ action: 'update', reason: plan.reason, ...changes() });
    case 'conflict':
      return result({ action: 'conflict', owner: plan.owner, message: `owned by ${plan.owner}${plan.owner === 'unmanaged' ? ' (set spec.adopt to take it over)' : ''}` });
    case 'report-drift':
      return result({ action: 'drifted', message: `${live ? 'differs from the desired content' : 'was deleted'}; driftPolicy Report: reported, not corrected`, ...changes() });
    case 'stale':
      return result({
        action: 'stale',
        message: `carries generation ${plan.liveGeneration}, newer than this push's generation ${ownership.generation}: the operator will not write it`,
      });
    case 'rolled-back':
      return result({
        action: 'rolled-back',
        message: `generation ${ownership.generation} failed and was rolled back (failurePolicy Rollback): the operator will not write it until the spec changes`,
      });
    case 'untouched':
      return result({});
  }
}

/** The same fields in the same order for every action, so -o json|yaml reads alike for every target. */
function orderedDiff(d: TargetDiff): TargetDiff {
  const optional = <K extends keyof TargetDiff>(key: K) => (d[key] !== undefined ? { [key]: d[key] } : {});
  return {
    kind: d.kind,
    namespace: d.namespace,
    name: d.name,
    wave: d.wave,
    totalWaves: d.totalWaves,
    action: d.action,
    ...optional('reason'),
    ...optional('owner'),
    ...optional('refusal'),
    ...optional('message'),
    valuesHidden: d.valuesHidden,
    ...optional('operationKey'),
    data: d.data,
    binaryData: d.binaryData,
    labels: d.labels,
    annotations: d.annotations,
  };
}

/** The key-level changes from the live target to the object the operator would write. */
function contentChanges(kind: TargetKind, live: TargetObject | undefined, desired: TargetObject, hidden: boolean): Pick<TargetDiff, 'data' | 'binaryData' | 'labels' | 'annotations' | 'operationKey'> {
  const from = live?.metadata?.annotations?.[ANNOTATION.operationKey];
  const to = desired.metadata?.annotations?.[ANNOTATION.operationKey] ?? '';
  const dataKind: ValueKind = kind === 'Secret' ? 'base64' : hidden ? 'hidden-text' : 'text';
  return {
    operationKey: from !== undefined ? { from, to } : { to },
    data: diffMaps(live?.data, desired.data, dataKind),
    binaryData: kind === 'ConfigMap' ? diffMaps((live as V1ConfigMap | undefined)?.binaryData, (desired as V1ConfigMap).binaryData, 'base64') : [],
    labels: diffMaps(withoutOurLabel(live?.metadata?.labels), withoutOurLabel(desired.metadata?.labels), 'text'),
    annotations: diffMaps(withoutMarkers(live?.metadata?.annotations), withoutMarkers(desired.metadata?.annotations), 'text'),
  };
}

/** The managed-by label is the operator's (its watches select on it), not the spec's. */
function withoutOurLabel(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => key !== MANAGED_BY_LABEL));
}

function withoutMarkers(annotations: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => !MARKERS.has(key)));
}


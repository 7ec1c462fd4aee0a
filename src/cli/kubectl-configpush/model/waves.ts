import type { ConfigPush, RolloutStatus, WaveSpec } from '../../../api/types.js';
import { matchesSelector, selectorToQuery } from '../../../core/label-selector.js';
import { resolveSpec, type NamespaceInfo, type ResolvedSpec, type ResolvedTarget } from '../../../core/resolve-spec.js';
import { planWaves } from '../../../core/wave-plan.js';

/** One wave as the plugin shows it. */
export interface WaveView {
  /** 1-based. */
  index: number;
  total: number;
  /** The spec's name for it, or what selects it; '' for batches and a single wave. */
  name: string;
  targets: ResolvedTarget[];
}

/**
 * The waves the operator computes for this push now, from the same pure
 * functions it uses (resolveSpec, planWaves), or why they cannot be known
 * (an invalid spec).
 */
export function wavesOf(push: ConfigPush, namespaces: readonly NamespaceInfo[]): { spec: ResolvedSpec; waves: WaveView[] } | { error: string } {
  let spec: ResolvedSpec;
  try {
    spec = resolveSpec(push, namespaces);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const planned = planWaves(spec.targets, spec.strategy, namespaces);
  const labels = new Map(namespaces.map((ns) => [ns.name, ns.labels]));
  const waves = planned.map((targets, i) => ({
    index: i + 1,
    total: planned.length,
    name: waveName(targets[0], spec.strategy.waves, labels),
    targets,
  }));
  return { spec, waves };
}

/**
 * planWaves drops empty waves, so a wave's place in the spec is found again
 * from its first target, by planWaves' own rule: the first spec wave that
 * names the target's namespace or whose selector matches it.
 */
function waveName(first: ResolvedTarget | undefined, specWaves: WaveSpec[] | undefined, labels: Map<string, Record<string, string>>): string {
  if (!specWaves || !first) return '';
  const wave = specWaves.find(
    (w) => w.namespaces?.includes(first.namespace) || (w.namespaceSelector !== undefined && matchesSelector(w.namespaceSelector, labels.get(first.namespace))),
  );
  if (!wave) return 'the rest';
  if (wave.name) return wave.name;
  if (wave.namespaces?.length) return wave.namespaces.join(', ');
  return wave.namespaceSelector ? selectorToQuery(wave.namespaceSelector) || 'every namespace' : '';
}

/** Where wave `index` stands, from the rollout status (recomputed by every reconcile). */
export function waveState(index: number, rollout: RolloutStatus | undefined): string {
  if (!rollout) return 'not reported yet';
  if (rollout.phase === 'Complete' || index < rollout.currentWave) return 'done';
  if (index > rollout.currentWave) return 'pending';
  switch (rollout.phase) {
    case 'Progressing':
      return 'in progress';
    case 'Waiting':
      return 'waiting for workloads';
    case 'Paused':
      return 'paused before this wave';
    case 'Halted':
      return 'halted';
    case 'Suspended':
      return 'suspended here';
  }
  return rollout.phase;
}

/** The namespaces the operator's cache would hold: live, not terminating. */
export function namespaceInfos(namespaces: { metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: unknown }; status?: { phase?: string } }[]): NamespaceInfo[] {
  return namespaces
    .filter((ns) => !ns.metadata?.deletionTimestamp && ns.status?.phase !== 'Terminating')
    .map((ns) => ({ name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} }));
}

import { matchesSelector } from './label-selector.js';
import type { NamespaceInfo, ResolvedStrategy, ResolvedTarget } from './resolve-spec.js';

/**
 * Splits the targets into ordered waves. Pure and deterministic: the same
 * spec and namespaces always give the same waves, so the rollout's position
 * can be recomputed from the targets at any time (after a restart, or when
 * status was lost) instead of being remembered.
 *
 * - strategy.waves: each target joins the first wave that names its
 *   namespace or whose selector matches it; targets matching none form a
 *   final wave.
 * - strategy.batchSize: waves of that many namespaces, in name order.
 * - neither: one wave.
 * Empty waves are dropped.
 */
export function planWaves(targets: readonly ResolvedTarget[], strategy: ResolvedStrategy, namespaces: readonly NamespaceInfo[]): ResolvedTarget[][] {
  if (strategy.waves) {
    const labels = new Map(namespaces.map((ns) => [ns.name, ns.labels]));
    const waves: ResolvedTarget[][] = strategy.waves.map(() => []);
    const rest: ResolvedTarget[] = [];
    for (const target of targets) {
      const index = strategy.waves.findIndex(
        (wave) =>
          wave.namespaces?.includes(target.namespace) ||
          (wave.namespaceSelector !== undefined && matchesSelector(wave.namespaceSelector, labels.get(target.namespace))),
      );
      (index >= 0 ? waves[index] : rest)?.push(target);
    }
    return [...waves, rest].filter((wave) => wave.length > 0);
  }
  if (strategy.batchSize) {
    const names = [...new Set(targets.map((t) => t.namespace))].sort();
    const waves: ResolvedTarget[][] = [];
    for (let i = 0; i < names.length; i += strategy.batchSize) {
      const batch = new Set(names.slice(i, i + strategy.batchSize));
      waves.push(targets.filter((t) => batch.has(t.namespace)));
    }
    return waves;
  }
  return targets.length > 0 ? [[...targets]] : [];
}

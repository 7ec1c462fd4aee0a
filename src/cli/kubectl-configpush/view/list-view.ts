import type { ConfigPush } from '../../../api/types.js';
import { age } from './age.js';
import { renderTable, type Column } from './table.js';
import { oneLine } from './text.js';

/**
 * `kubectl configpush get`: one row per push. PROGRESS is the rollout's wave
 * and phase (TARGETS already counts the targets). When the table is wider
 * than the terminal: a long REASON is cut to 10 columns, then KEY is left
 * out (`status NAME` and `history` show it), then PROGRESS is cut. Names are
 * never cut, since they are what the next command needs: with very long
 * names a line can still be wider.
 */
export function renderPushTable(pushes: ConfigPush[], allNamespaces: boolean, width: number, now: Date): string[] {
  const columns: Column[] = [
    ...(allNamespaces ? [{ header: 'NAMESPACE' }] : []),
    { header: 'NAME' },
    { header: 'READY' },
    { header: 'REASON', shrinkOrder: 1, min: 10 },
    { header: 'KEY', dropOrder: 2 },
    { header: 'TARGETS' },
    { header: 'PROGRESS', shrinkOrder: 3, min: 8 },
    { header: 'AGE' },
  ];
  const rows = pushes.map((push) => [...(allNamespaces ? [push.metadata.namespace] : []), ...pushRow(push, now)]);
  return renderTable(columns, rows, width);
}

function pushRow(push: ConfigPush, now: Date): string[] {
  const status = push.status ?? {};
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const rollout = status.rollout;
  return [
    push.metadata.name,
    ready?.status ?? '-',
    oneLine(ready?.reason ?? '-'),
    status.operationKey ?? '-',
    status.targetSummary ?? '-',
    rollout ? `${rollout.currentWave}/${rollout.totalWaves} ${rollout.phase}` : '-',
    age((push.metadata as { creationTimestamp?: string }).creationTimestamp, now),
  ];
}

/** Namespace, then name: the order kubectl lists in. */
export function byNamespaceAndName(a: ConfigPush, b: ConfigPush): number {
  return a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name);
}

import type { FieldChange, KeptRevision } from '../model/rollback.js';
import { shortDigest } from './status-view.js';
import { printable, wrap } from './text.js';

export interface RollbackReport {
  namespace: string;
  name: string;
  revision: KeptRevision;
  /** Why this revision: named by --to-revision, the one the operator rolled back to, or the previous content. */
  why: 'requested' | 'rolled-back' | 'previous';
  generationBefore: number;
  /** The generation the write made; undefined for a dry run. */
  generationAfter: number | undefined;
  changes: FieldChange[];
}

const WHY: Record<RollbackReport['why'], string> = {
  requested: '',
  'rolled-back': ' (the revision the operator rolled the targets back to)',
  previous: ' (the previous content)',
};

/**
 * What a rollback did, or would do: the revision, its digest and the
 * operation that completed it, the generation before and after, and per
 * content field the keys added, removed and changed. Key names only: never a
 * value (a push's content may be secret).
 */
export function renderRollback(report: RollbackReport, width: number): string[] {
  const { namespace, name, revision } = report;
  const dryRun = report.generationAfter === undefined;
  const head = dryRun
    ? `configpush ${namespace}/${name} would be rolled back to revision ${revision.revision}${WHY[report.why]} (dry run: nothing written)`
    : `configpush ${namespace}/${name} rolled back to revision ${revision.revision}${WHY[report.why]}`;
  const lines = wrap(head, width);
  // The label, then the value wrapped in the column after it (as the status view lays out its fields).
  const field = (label: string, value: string) => wrap(value, width - LABEL_WIDTH).map((line, i) => `${(i === 0 ? label : '').padEnd(LABEL_WIDTH)}${line}`);
  lines.push(...field('Generation:', dryRun ? `${report.generationBefore} -> ${report.generationBefore + 1} when written` : `${report.generationBefore} -> ${report.generationAfter}`));
  lines.push(...field('Revision:', `${revision.revision}, completed by operation ${revision.operationKey ?? '(unknown)'}${revision.created ? ` at ${revision.created}` : ''}`));
  lines.push(...field('Digest:', shortDigest(revision.digest)));
  lines.push('Spec:');
  for (const change of report.changes) lines.push(...describe(change).flatMap((line) => wrap(line, width - 2).map((l) => `  ${l}`)));
  return lines.map(printable);
}

function describe(change: FieldChange): string[] {
  const path = `spec.${change.field}`;
  if (change.field === 'sources') {
    const parts = [...change.added.map((s) => `+ ${s}`), ...change.removed.map((s) => `- ${s}`), ...change.changed.map((s) => `~ ${s}`)];
    if (change.change === 'removed') return [`${path}: removed (${change.removed.join(', ')})`];
    return [`${path}: ${change.change === 'set' ? 'set' : 'changed'}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`];
  }
  if (change.change === 'removed') return [`${path}: removed (${count(change.removed.length)})`];
  const keys = [...change.added.map((k) => `+ ${k}`), ...change.removed.map((k) => `- ${k}`), ...change.changed.map((k) => `~ ${k}`)];
  return [`${path}: ${change.change === 'set' ? 'set' : 'changed'}${keys.length > 0 ? `: ${keys.join(', ')}` : ''}`];
}

const LABEL_WIDTH = 12;

const count = (n: number) => `${n} key${n === 1 ? '' : 's'}`;

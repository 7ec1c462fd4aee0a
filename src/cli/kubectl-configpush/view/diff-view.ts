import { lineDiff, type KeyChange, type ValueView } from '../model/key-diff.js';
import { DIFF_ACTIONS, type DiffAction, type PushDiff, type TargetDiff } from '../model/target-diff.js';
import { oneLine, printable, wrapLimited } from './text.js';

const REASONS: Record<NonNullable<TargetDiff['reason']>, string> = {
  'new-content': 'new content',
  drift: 'drift: restores what someone changed',
  adopt: 'adopt: takes over the existing object',
};

/**
 * `kubectl configpush diff NAME`: per target the action and, for writes and
 * reported drift, the keys added (+), removed (-) and changed (~).
 * ConfigMap values appear as line diffs; hidden values only as sizes.
 * Header and summary lines wrap to `width`; content lines are the values
 * themselves and are not cut.
 */
export function renderDiff(diff: PushDiff, width: number): string[] {
  const { configPush: p } = diff;
  const lines = [`ConfigPush ${p.namespace}/${p.name}, generation ${p.generation}, operation ${diff.operationKey}`];
  if (diff.sources?.length) {
    // Which sources the plan read, and what of them: a revision (a digest of the copied bytes), never a value.
    const read = diff.sources.map((s) => `${s.kind} ${s.namespace}/${s.name} ${s.revision ? `(revision ${s.revision})` : '(absent, optional)'}`);
    lines.push(...wrapLimited(`sources, read as you: ${read.join(', ')}`, width, 6));
  }
  if (diff.suspended) lines.push(...wrapLimited('spec.suspend is true: the operator writes none of this until the push is resumed (kubectl configpush resume).', width, 4));
  if (diff.rollout?.phase === 'Halted') {
    lines.push(...wrapLimited(`The rollout is halted at wave ${diff.rollout.currentWave}/${diff.rollout.totalWaves}: later waves wait until the failure is resolved.`, width, 4));
  }
  // A one-line entry (unchanged, say) follows the previous one directly; an
  // entry with detail is set off by blank lines. A target whose changes are
  // those of an earlier one (a fan-out, all at the same old content) names
  // it instead of repeating them.
  const shown = new Map<string, string>();
  let lastHadDetail = true;
  for (const target of diff.targets) {
    const [head = '', ...detail] = renderTarget(target, width);
    const writes = target.action === 'create' || target.action === 'update' || target.action === 'drifted';
    const changes = writes && detail.length > 1 ? detail.join('\n') : undefined;
    const first = changes !== undefined ? shown.get(changes) : undefined;
    const entry = first !== undefined ? [head, `  the same changes as ${first}`] : [head, ...detail];
    if (changes !== undefined && first === undefined) shown.set(changes, `${target.kind} ${target.namespace}/${target.name}`);
    if (lastHadDetail || entry.length > 1) lines.push('');
    lines.push(...entry);
    lastHadDetail = entry.length > 1;
  }
  lines.push('', summaryLine(diff));
  return lines;
}

export function summaryLine(diff: PushDiff): string {
  if (diff.targets.length === 0) return 'No targets: the spec resolves to none.';
  const words: Record<DiffAction, string> = {
    create: 'to create',
    update: 'to update',
    unchanged: 'unchanged',
    conflict: 'in conflict',
    drifted: 'drifted (reported only)',
    stale: 'newer than this push',
    'rolled-back': 'rolled back',
    refused: 'refused',
    error: 'unreadable',
  };
  return DIFF_ACTIONS.filter((a) => diff.summary[a]).map((a) => `${diff.summary[a]} ${words[a]}`).join(', ') + '.';
}

function renderTarget(t: TargetDiff, width: number): string[] {
  const where = t.totalWaves > 1 ? ` [wave ${t.wave}/${t.totalWaves}]` : '';
  const action = t.action === 'update' && t.reason ? `update (${REASONS[t.reason]})` : t.action === 'refused' ? `refused (${t.refusal})` : t.action;
  const lines = wrapLimited(`${t.kind} ${t.namespace}/${t.name}: ${action}${where}`, width, 4);
  if (t.message) lines.push(...wrapLimited(t.message, width - 2, 6).map((l) => `  ${l}`));
  if (t.operationKey && (t.action === 'create' || t.action === 'update')) {
    lines.push(`  operation key: ${t.operationKey.from !== undefined ? `${t.operationKey.from} -> ` : ''}${t.operationKey.to}`);
  }
  const section = (title: string, changes: KeyChange[]) => {
    if (changes.length === 0) return;
    lines.push(`  ${title}:`);
    for (const change of changes) lines.push(...renderChange(change));
  };
  section(t.valuesHidden ? 'data (values hidden)' : 'data', t.data);
  section('binaryData (values hidden)', t.binaryData);
  section('labels', t.labels);
  section('annotations', t.annotations);
  return lines;
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/** One key: its text when it may be shown, else its size: `password: (changed, 12 bytes -> 14 bytes)`. */
export function renderChange(change: KeyChange): string[] {
  const key = oneLine(change.key);
  const head = `    ${SIGN[change.change]} ${key}`;
  const shown = (change.before === undefined || change.before.text !== undefined) && (change.after === undefined || change.after.text !== undefined);
  if (!shown) {
    const size =
      change.change === 'changed'
        ? `changed, ${bytes(change.before)} -> ${bytes(change.after)}`
        : `${change.change}, ${bytes(change.change === 'added' ? change.after : change.before)}`;
    return [`${head}: (${size})`];
  }
  if (change.change === 'changed') {
    return [
      head,
      ...lineDiff(change.before?.text ?? '', change.after?.text ?? '').map((line) => (line.op === '…' ? `        … ${line.text}` : `        ${line.op} ${printable(line.text)}`)),
    ];
  }
  const text = (change.change === 'added' ? change.after?.text : change.before?.text) ?? '';
  if (!text.replace(/\n$/, '').includes('\n')) return [`${head}: ${text === '' ? '""' : printable(text.replace(/\n$/, ''))}`];
  return [`${head}:`, ...text.replace(/\n$/, '').split('\n').map((line) => `        ${SIGN[change.change]} ${printable(line)}`)];
}

function bytes(view: ValueView | undefined): string {
  const n = view?.bytes ?? 0;
  return `${n} byte${n === 1 ? '' : 's'}`;
}

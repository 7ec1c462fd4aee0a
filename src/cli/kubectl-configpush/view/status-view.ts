import type { Condition, ConfigPush, TargetStatus } from '../../../api/types.js';
import { targetId, type ResolvedTarget } from '../../../core/resolve-spec.js';
import { waveState, type WaveView } from '../model/waves.js';
import type { WorkloadView } from '../model/workloads.js';
import { age } from './age.js';
import { padEnd, oneLine, widthOf, wrapLimited } from './text.js';
import { renderTree, type TreeNode } from './tree.js';

export interface StatusViewInput {
  push: ConfigPush;
  /** The waves computed from the spec now; undefined when they cannot be (see wavesNote). */
  waves?: WaveView[];
  wavesNote?: string;
  /** Per wave index, the workloads the push restarts there. */
  workloads?: Map<number, WorkloadView[]>;
  workloadsNote?: string;
  now: Date;
}

/** A wave with more targets than this lists its problems and counts the Applied ones. */
export const LISTED_TARGETS_PER_WAVE = 10;
const MESSAGE_LINES = 4;

/** One push as `kubectl configpush status NAME` prints it: header, conditions, rollout, the waves as a tree. */
export function renderStatus(input: StatusViewInput, width: number): string[] {
  const { push, now } = input;
  const status = push.status ?? {};
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(...wrapField(label, value, width));

  field('Name', push.metadata.name);
  field('Namespace', push.metadata.namespace);
  const observed = status.observedGeneration;
  field('Generation', observed === undefined || observed < 0 ? `${push.metadata.generation} (not reconciled yet)` : `${push.metadata.generation} (status is of ${observed})`);
  if (status.operationKey) field('Key', status.operationKey);
  if (status.contentDigest) field('Digest', shortDigest(status.contentDigest));
  if (status.targetSummary) field('Targets', `${status.targetSummary} at the desired content`);
  if (push.spec?.suspend) field('Suspended', 'yes: the operator writes nothing until resumed');
  if (status.lastHandledReconcileAt) field('Reconcile', `last request handled: ${status.lastHandledReconcileAt}`);
  field('Age', age((push.metadata as { creationTimestamp?: string }).creationTimestamp, now));

  if (observed === undefined || observed < 0) {
    lines.push('', ...wrapLimited('No status yet: the operator has not reconciled this push. Is it running? (kubectl -n configpush-system get deployment configpush-operator)', width, MESSAGE_LINES));
  } else if (observed !== push.metadata.generation) {
    lines.push('', ...wrapLimited(`Note: the status describes generation ${observed}; the operator has not finished generation ${push.metadata.generation} yet.`, width, MESSAGE_LINES));
  }

  if (status.conditions?.length) lines.push('', 'Conditions:', ...renderConditions(status.conditions, width));

  const rollout = status.rollout;
  if (rollout) {
    lines.push('');
    field('Rollout', `${rollout.phase}, ${rollout.progress}`);
    if (rollout.failed) lines.push(...wrapField('  Failed at', rollout.failed, width));
    if (rollout.message) lines.push(...wrapField('  Message', rollout.message, width));
    if (rollout.lastWaveCompletedAt) lines.push(...wrapField('  Last wave', `completed ${rollout.lastWaveCompletedAt}`, width));
  }

  const restart = push.spec?.rollout?.restart ?? [];
  const consumers = push.spec?.rollout?.restartConsumers === true;
  if (restart.length > 0 || consumers) lines.push('');
  if (restart.length > 0) field('Restarts', `${restart.map((r) => `${r.kind} ${r.name ?? JSON.stringify(r.selector ?? {})}`).join(', ')} (in each target namespace)`);
  // Consumers mode finds its workloads by what their pod templates read (docs/restarts.md): the tree lists only the explicit ones.
  if (consumers) field(restart.length > 0 ? '' : 'Restarts', 'consumers of its targets (each workload whose pods read one; not listed below)');

  lines.push('', ...renderTargets(input, width));
  return lines;
}

/** "Label:      value", wrapped with the value's column kept. */
function wrapField(label: string, value: string, width: number): string[] {
  // An empty label continues the field above.
  const head = padEnd(label ? `${label}:` : '', 14);
  const [first = '', ...rest] = wrapLimited(value, Math.max(24, width - head.length), MESSAGE_LINES);
  return [`${head}${first}`, ...rest.map((line) => `${' '.repeat(head.length)}${line}`)];
}

/** The conditions as columns, each message wrapped in the space left (or under the row, if too little is left). */
export function renderConditions(conditions: Condition[], width: number): string[] {
  const order = ['Ready', 'Reconciling', 'Stalled', 'Drifted'];
  const sorted = [...conditions].sort((a, b) => rank(order, a.type) - rank(order, b.type));
  const typeWidth = Math.max(4, ...sorted.map((c) => widthOf(c.type)));
  const statusWidth = Math.max(6, ...sorted.map((c) => widthOf(c.status)));
  const reasonWidth = Math.max(6, ...sorted.map((c) => widthOf(oneLine(c.reason))));
  const lead = 2 + typeWidth + 2 + statusWidth + 2 + reasonWidth + 2;
  const lines: string[] = [];
  for (const c of sorted) {
    const row = `  ${padEnd(c.type, typeWidth)}  ${padEnd(c.status, statusWidth)}  ${padEnd(oneLine(c.reason), reasonWidth)}  `;
    if (width - lead >= 24) {
      const [first = '', ...rest] = wrapLimited(c.message, width - lead, MESSAGE_LINES);
      lines.push(`${row}${first}`.trimEnd(), ...rest.map((line) => `${' '.repeat(lead)}${line}`));
    } else {
      lines.push(row.trimEnd(), ...wrapLimited(c.message, width - 4, MESSAGE_LINES).map((line) => `    ${line}`));
    }
  }
  return lines;
}

function rank(order: string[], type: string): number {
  const i = order.indexOf(type);
  return i < 0 ? order.length : i;
}

/** The waves with their targets and workloads, as a tree; or the status's targets when the waves are unknown. */
function renderTargets(input: StatusViewInput, width: number): string[] {
  const reported = new Map((input.push.status?.targets ?? []).map((t) => [targetId(t), t]));
  if (!input.waves) {
    const note = input.wavesNote ? [...wrapLimited(`(waves unknown: ${input.wavesNote})`, width, MESSAGE_LINES)] : [];
    const targets = [...reported.values()];
    if (targets.length === 0) return ['Targets: none reported', ...note];
    return ['Targets:', ...note, ...renderTree(targetNodes(targets, (t) => reported.get(targetId(t))), width)];
  }
  const inWaves = new Set(input.waves.flatMap((w) => w.targets.map(targetId)));
  const nodes: TreeNode[] = input.waves.map((wave) => {
    const label = `wave ${wave.index}/${wave.total}${wave.name ? ` (${wave.name})` : ''}: ${waveState(wave.index, input.push.status?.rollout)}`;
    const workloads = (input.workloads?.get(wave.index) ?? []).map(workloadNode);
    return { label, children: [...targetNodes(wave.targets, (t) => reported.get(targetId(t))), ...workloads] };
  });
  const gone = [...reported.values()].filter((t) => !inWaves.has(targetId(t)));
  if (gone.length > 0) nodes.push({ label: 'in the status, no longer in the spec', children: targetNodes(gone, (t) => reported.get(targetId(t))) });
  const notes = [input.wavesNote, input.workloadsNote].filter((n): n is string => n !== undefined).flatMap((n) => wrapLimited(`(${n})`, width, MESSAGE_LINES));
  return [nodes.length > 0 ? 'Waves:' : 'Waves: none (the spec resolves to no targets)', ...notes, ...renderTree(nodes, width)];
}

/** A wave's targets: all of them, or (in a big wave) the ones with a problem and a count of the rest. */
function targetNodes(targets: ResolvedTarget[], statusOf: (t: ResolvedTarget) => TargetStatus | undefined): TreeNode[] {
  const node = (t: ResolvedTarget): TreeNode => {
    const s = statusOf(t);
    const label = `${t.kind} ${t.namespace}/${t.name}: ${s ? s.state : 'no status yet'}`;
    return s?.message && s.state !== 'Applied' ? { label: oneLine(label), detail: [s.message] } : { label: oneLine(label) };
  };
  if (targets.length <= LISTED_TARGETS_PER_WAVE) return targets.map(node);
  const problems = targets.filter((t) => statusOf(t)?.state !== 'Applied');
  const applied = targets.length - problems.length;
  const shown = problems.slice(0, LISTED_TARGETS_PER_WAVE).map(node);
  const more = problems.length - shown.length;
  if (more > 0) shown.push({ label: `… ${more} more not Applied` });
  if (applied > 0) shown.push({ label: `${applied} more target${applied === 1 ? '' : 's'} Applied (all of them: -o yaml)` });
  return shown;
}

function workloadNode(w: WorkloadView): TreeNode {
  const restarted = w.restartedFor ? `restarted for ${w.restartedFor}` : w.state === 'not found' || w.state === 'none match' ? '' : 'not restarted by this push';
  return { label: oneLine(`${w.ref.kind} ${w.ref.namespace}/${w.ref.name}: ${w.state}${restarted ? `, ${restarted}` : ''}`) };
}

/** "sha256:" (or "hmac-sha256:", for content copied from Secrets) and the first 12 hex digits: enough to tell digests apart. */
export function shortDigest(digest: string): string {
  const match = /^((?:hmac-)?sha256:)([0-9a-f]{12})/.exec(digest);
  return match ? `${match[1]}${match[2]}` : digest;
}

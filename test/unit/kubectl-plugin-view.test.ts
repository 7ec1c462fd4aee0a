import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/constants.js';
import type { Condition, ConfigPush, ConfigPushStatus, TargetStatus } from '../../src/api/types.js';
import { namespaceInfos, waveState, wavesOf } from '../../src/cli/kubectl-configpush/model/waves.js';
import { missingWorkload, workloadView } from '../../src/cli/kubectl-configpush/model/workloads.js';
import { age, humanDuration } from '../../src/cli/kubectl-configpush/view/age.js';
import { renderHistory } from '../../src/cli/kubectl-configpush/view/history-view.js';
import { renderPushTable } from '../../src/cli/kubectl-configpush/view/list-view.js';
import { renderConditions, renderStatus, shortDigest } from '../../src/cli/kubectl-configpush/view/status-view.js';
import { renderTable } from '../../src/cli/kubectl-configpush/view/table.js';
import { oneLine, printable, truncate, wrap, wrapLimited } from '../../src/cli/kubectl-configpush/view/text.js';
import { renderTree } from '../../src/cli/kubectl-configpush/view/tree.js';

const NOW = new Date('2026-11-29T12:00:00Z');
const width = (lines: string[]) => Math.max(0, ...lines.map((l) => [...l].length));
const LONG = 'ConfigMap web-eu-3/app-config is owned by platform-team-configuration/app-config-for-every-web-frontend (set spec.adopt to take it over); ConfigMap web-eu-4/app-config is owned by another-push-with-a-long-name';

const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => ({
  type,
  status,
  reason,
  message,
  observedGeneration: 3,
  lastTransitionTime: '2026-11-29T11:00:00Z',
});

const pushOf = (name: string, namespace: string, status: ConfigPushStatus | undefined, spec: Partial<ConfigPush['spec']> = {}): ConfigPush =>
  ({
    apiVersion: API_VERSION,
    kind: 'ConfigPush',
    metadata: { name, namespace, uid: `uid-${name}`, generation: 3, resourceVersion: '9', creationTimestamp: '2026-11-29T11:55:00Z' },
    spec: { targets: [{ kind: 'ConfigMap', name: 'app-config' }], ...spec },
    ...(status ? { status } : {}),
  }) as ConfigPush;

describe('text helpers', () => {
  it('wrap keeps words whole, breaks a word longer than the line, and never exceeds the width', () => {
    expect(wrap('one two three four', 9)).toEqual(['one two', 'three', 'four']);
    expect(wrap('a-very-long-word-indeed', 8)).toEqual(['a-very-l', 'ong-word', '-indeed']);
    expect(wrap('', 10)).toEqual(['']);
    for (const w of [10, 24, 37, 80]) expect(width(wrap(LONG, w))).toBeLessThanOrEqual(w);
  });

  it('wrapLimited says that it cut', () => {
    const lines = wrapLimited(LONG, 30, 3);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/…$/);
    expect(width(lines)).toBeLessThanOrEqual(30);
  });

  it('truncate ends a cut text with an ellipsis; printable and oneLine defuse control characters', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(printable('red \u001b[31m!\r')).toBe('red \\u001b[31m!\\u000d');
    expect(oneLine(' a\n\tb  c ')).toBe('a b c');
  });

  it('ages read like kubectl get', () => {
    expect(humanDuration(45_000)).toBe('45s');
    expect(humanDuration(119_000)).toBe('119s');
    expect(humanDuration(200_000)).toBe('3m20s');
    expect(humanDuration(25 * 60_000)).toBe('25m');
    expect(humanDuration(5 * 3_600_000 + 10 * 60_000)).toBe('5h10m');
    expect(humanDuration(30 * 3_600_000)).toBe('30h');
    expect(humanDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d4h');
    expect(humanDuration(400 * 86_400_000)).toBe('400d');
    expect(humanDuration(3 * 365 * 86_400_000 + 10 * 86_400_000)).toBe('3y10d');
    expect(age('2026-11-29T11:55:00Z', NOW)).toBe('5m');
    expect(age(undefined, NOW)).toBe('<unknown>');
  });
});

describe('tables', () => {
  const columns = [
    { header: 'NAME' },
    { header: 'READY' },
    { header: 'REASON', shrinkOrder: 1, min: 8 },
    { header: 'KEY', dropOrder: 2 },
    { header: 'TARGETS' },
    { header: 'PROGRESS', shrinkOrder: 3, min: 8 },
  ];
  const rows = [['a-rather-long-push-name', 'True', 'ProgressDeadlineExceeded', '12-0123456789', '480/500', '3/5 Halted']];

  it('fit the width step by step: cut, then leave out, then cut again; never cut the names', () => {
    expect(renderTable(columns, rows, 200)[1]).toBe('a-rather-long-push-name  True   ProgressDeadlineExceeded  12-0123456789  480/500  3/5 Halted');
    expect(renderTable(columns, rows, 80)).toEqual([
      'NAME                     READY  REASON        KEY            TARGETS  PROGRESS',
      'a-rather-long-push-name  True   ProgressDea…  12-0123456789  480/500  3/5 Halted',
    ]);
    // Cutting REASON is not enough: KEY goes, and REASON gets back the room it frees.
    expect(renderTable(columns, rows, 66)).toEqual([
      'NAME                     READY  REASON         TARGETS  PROGRESS',
      'a-rather-long-push-name  True   ProgressDead…  480/500  3/5 Halted',
    ]);
    expect(renderTable(columns, rows, 54)).toEqual([
      'NAME                     READY  REASON    TARGETS  PROGRESS',
      'a-rather-long-push-name  True   Progres…  480/500  3/5 Hal…',
    ]);
    // Too narrow even so: the name stays whole.
    expect(renderTable(columns, rows, 30)[1]).toMatch(/^a-rather-long-push-name  /);
  });

  it('a push list within 80 columns, with the columns the plugin promises', () => {
    const ready = condition('Ready', 'False', 'ProgressDeadlineExceeded', LONG);
    const status: ConfigPushStatus = {
      observedGeneration: 3,
      operationKey: '3-0123456789',
      targetSummary: '480/500',
      conditions: [ready],
      rollout: { currentWave: 3, totalWaves: 5, phase: 'Halted', progress: '480/500 targets, wave 3/5' },
    };
    const pushes = [pushOf('app-config', 'platform-config', status), pushOf('db-credentials', 'team-payments', undefined)];
    for (const all of [false, true]) {
      const lines = renderPushTable(pushes, all, 80, NOW);
      expect(width(lines)).toBeLessThanOrEqual(80);
    }
    const one = renderPushTable(pushes, false, 80, NOW);
    expect(one[0]).toMatch(/^NAME\s+READY\s+REASON\s+KEY\s+TARGETS\s+PROGRESS\s+AGE$/);
    expect(one[1]).toMatch(/^app-config\s+False\s+ProgressDeadline…\s+3-0123456789\s+480\/500\s+3\/5 Halted\s+5m$/);
    expect(one[2]).toMatch(/^db-credentials\s+-\s+-\s+-\s+-\s+-\s+5m$/);
    // With NAMESPACE too, the long reason is cut, then KEY is left out: the names stay whole.
    const all = renderPushTable(pushes, true, 80, NOW);
    expect(all[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+REASON\s+TARGETS\s+PROGRESS\s+AGE$/);
    expect(all[1]).toMatch(/^platform-config\s+app-config\s+False\s+ProgressDeadl…\s+480\/500\s+3\/5 Halted\s+5m$/);
    expect(renderPushTable(pushes, true, 120, NOW)[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+REASON\s+KEY\s+TARGETS\s+PROGRESS\s+AGE$/);
  });

  it('history: newest first, the digest short, the revision of each operation', () => {
    const lines = renderHistory(
      [
        { key: '1-aaaaaaaaaa', generation: 1, digest: `sha256:${'a'.repeat(64)}`, appliedAt: '2026-11-29T10:00:00Z', revision: 1 },
        { key: '3-bbbbbbbbbb', generation: 3, digest: `sha256:${'b'.repeat(64)}`, appliedAt: '2026-11-29T11:00:00Z' },
      ],
      90,
      NOW,
    );
    expect(lines).toEqual([
      'GENERATION  KEY           REVISION  DIGEST               APPLIED AT            AGE',
      '3           3-bbbbbbbbbb  -         sha256:bbbbbbbbbbbb  2026-11-29T11:00:00Z  60m',
      '1           1-aaaaaaaaaa  1         sha256:aaaaaaaaaaaa  2026-11-29T10:00:00Z  120m',
    ]);
    expect(shortDigest('not-a-digest')).toBe('not-a-digest');
  });
});

describe('trees', () => {
  it('draw branches, wrap labels and details under their node, within the width', () => {
    const lines = renderTree(
      [
        { label: 'wave 1/2 (canary): done', children: [{ label: 'ConfigMap a/app: Applied' }, { label: 'Secret a/creds: Conflict', detail: [LONG] }] },
        { label: 'wave 2/2 (the rest): pending', children: [{ label: 'ConfigMap b/app: Pending' }] },
      ],
      60,
    );
    expect(lines.slice(0, 4)).toEqual(['├─ wave 1/2 (canary): done', '│  ├─ ConfigMap a/app: Applied', '│  └─ Secret a/creds: Conflict', '│        ConfigMap web-eu-3/app-config is owned by']);
    expect(lines.at(-2)).toBe('└─ wave 2/2 (the rest): pending');
    expect(lines.at(-1)).toBe('   └─ ConfigMap b/app: Pending');
    expect(width(lines)).toBeLessThanOrEqual(60);
  });
});

describe('one push as a tree', () => {
  const namespaces = [
    { metadata: { name: 'home', labels: {} } },
    { metadata: { name: 'web-1', labels: { canary: 'true' } } },
    { metadata: { name: 'web-2', labels: {} } },
    { metadata: { name: 'gone', labels: {}, deletionTimestamp: '2026-11-29T00:00:00Z' }, status: { phase: 'Terminating' } },
  ];
  const spec: Partial<ConfigPush['spec']> = {
    targets: [{ kind: 'ConfigMap', name: 'app-config', namespaceSelector: { matchLabels: {} } }],
    strategy: { waves: [{ name: 'canary', namespaceSelector: { matchLabels: { canary: 'true' } } }] },
    rollout: { restart: [{ kind: 'Deployment', name: 'web' }] },
  };
  const target = (namespace: string, state: TargetStatus['state'], message?: string): TargetStatus => ({
    kind: 'ConfigMap',
    name: 'app-config',
    namespace,
    state,
    ...(message ? { message } : {}),
  });
  const status: ConfigPushStatus = {
    observedGeneration: 3,
    operationKey: '3-0123456789',
    contentDigest: `sha256:${'c'.repeat(64)}`,
    targetSummary: '1/3',
    conditions: [
      condition('Stalled', 'True', 'Conflict', LONG),
      condition('Ready', 'False', 'Conflict', `wave 2/2 halted at ConfigMap web-2/app-config: ${LONG}`),
      condition('Reconciling', 'False', 'Conflict', 'waiting for a change to the spec or the targets'),
      condition('Drifted', 'False', 'NoDrift', 'targets match the desired content'),
    ],
    rollout: { currentWave: 2, totalWaves: 2, phase: 'Halted', progress: '1/3 targets, wave 2/2', failed: 'ConfigMap web-2/app-config', message: LONG },
    targets: [target('web-1', 'Applied'), target('home', 'Pending', 'waiting for wave 2 of 2'), target('web-2', 'Conflict', LONG), target('old', 'Applied')],
  };

  it('the waves as the operator computes them, named as the spec names them', () => {
    const planned = wavesOf(pushOf('p', 'home', status, spec), namespaceInfos(namespaces));
    if ('error' in planned) throw new Error(planned.error);
    expect(planned.waves.map((w) => [w.index, w.name, w.targets.map((t) => t.namespace)])).toEqual([
      [1, 'canary', ['web-1']],
      [2, 'the rest', ['home', 'web-2']],
    ]);
    expect(wavesOf(pushOf('p', 'home', status, { targets: [] }), [])).toEqual({ error: 'spec.targets must list at least one target' });
    expect([1, 2, 3].map((i) => waveState(i, status.rollout))).toEqual(['done', 'halted', 'pending']);
    expect(waveState(2, { ...status.rollout!, phase: 'Paused' })).toBe('paused before this wave');
    expect(waveState(1, undefined)).toBe('not reported yet');
  });

  it('conditions first Ready, messages wrapped in their column; everything within 80 columns', () => {
    const push = pushOf('app-config', 'home', status, spec);
    const planned = wavesOf(push, namespaceInfos(namespaces));
    if ('error' in planned) throw new Error(planned.error);
    const workloads = new Map([
      [1, [workloadView({ kind: 'Deployment', name: 'web' }, 'web-1', { metadata: { name: 'web', generation: 2 }, spec: { replicas: 2, template: { metadata: { annotations: { rk: '3-0123456789/abcd' } } } }, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } } as never, 'rk')]],
      [2, [missingWorkload({ kind: 'Deployment', name: 'web' }, 'home'), workloadView({ kind: 'Deployment', name: 'web' }, 'web-2', { metadata: { name: 'web', generation: 3 }, spec: { replicas: 3, template: {} }, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 } } as never, 'rk')]],
    ]);
    for (const w of [80, 60]) {
      const lines = renderStatus({ push, waves: planned.waves, workloads, now: NOW }, w);
      expect(width(lines), lines.join('\n')).toBeLessThanOrEqual(w);
    }
    const out = renderStatus({ push, waves: planned.waves, workloads, now: NOW }, 80).join('\n');
    expect(out).toMatch(/^Conditions:\n {2}Ready {8}False {3}Conflict {2}wave 2\/2 halted at ConfigMap web-2\/app-config:\n {33}ConfigMap web-eu-3/m);
    expect(out.indexOf('  Ready ')).toBeLessThan(out.indexOf('  Stalled '));
    expect(out).toContain('Rollout:      Halted, 1/3 targets, wave 2/2\n  Failed at:  ConfigMap web-2/app-config\n');
    expect(out).toContain('├─ wave 1/2 (canary): done\n│  ├─ ConfigMap web-1/app-config: Applied\n│  └─ Deployment web-1/web: rolled out, restarted for 3-0123456789\n');
    expect(out).toContain('├─ wave 2/2 (the rest): halted\n│  ├─ ConfigMap home/app-config: Pending\n│  │     waiting for wave 2 of 2\n│  ├─ ConfigMap web-2/app-config: Conflict\n');
    expect(out).toContain('│  ├─ Deployment home/web: not found\n│  └─ Deployment web-2/web: rolling out (1/3 updated, 2/3 available, spec not\n│        yet observed), not restarted by this push\n');
    expect(out).toContain('└─ in the status, no longer in the spec\n   └─ ConfigMap old/app-config: Applied');
    expect(out).toContain('Digest:       sha256:cccccccccccc\n');
  });

  it('a push not reconciled yet says so, and a stale status says which generation it describes', () => {
    const fresh = renderStatus({ push: pushOf('p', 'home', undefined), now: NOW, wavesNote: 'x' }, 80).join('\n');
    expect(fresh).toContain('Generation:   3 (not reconciled yet)');
    expect(fresh).toContain('No status yet: the operator has not reconciled this push. Is it running?');
    const stale = renderStatus({ push: pushOf('p', 'home', { ...status, observedGeneration: 2 }), now: NOW }, 80).join('\n');
    expect(stale).toContain('Note: the status describes generation 2; the operator has not finished\ngeneration 3 yet.');
  });

  it('a big wave lists its problems and counts the Applied targets', () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ kind: 'ConfigMap' as const, name: 'c', namespace: `ns-${String(i).padStart(2, '0')}` }));
    const targets = many.map((t, i) => ({ ...t, state: i === 7 ? ('Failed' as const) : ('Applied' as const), ...(i === 7 ? { message: 'boom' } : {}) }));
    const rollout = { currentWave: 1, totalWaves: 1, phase: 'Halted' as const, progress: '29/30 targets, wave 1/1' };
    const out = renderStatus({ push: pushOf('p', 'home', { ...status, rollout, targets }), waves: [{ index: 1, total: 1, name: '', targets: many }], now: NOW }, 80).join('\n');
    expect(out).toContain('└─ wave 1/1: halted\n   ├─ ConfigMap ns-07/c: Failed\n   │     boom\n   └─ 29 more targets Applied (all of them: -o yaml)');
  });

  it('consumers mode: status says the push restarts the consumers of its targets, beside the explicit list or alone', () => {
    const explicit = renderStatus({ push: pushOf('p', 'home', status, spec), now: NOW }, 80).join('\n');
    expect(explicit).toContain('Restarts:     Deployment web (in each target namespace)\n');
    expect(explicit).not.toContain('consumers');
    const both = renderStatus({ push: pushOf('p', 'home', status, { ...spec, rollout: { ...spec.rollout, restartConsumers: true } }), now: NOW }, 80);
    expect(both.join('\n')).toContain(
      'Restarts:     Deployment web (in each target namespace)\n              consumers of its targets (each workload whose pods read one; not\n              listed below)\n',
    );
    expect(width(both)).toBeLessThanOrEqual(80);
    const alone = renderStatus({ push: pushOf('p', 'home', status, { rollout: { restartConsumers: true } }), now: NOW }, 80).join('\n');
    expect(alone).toMatch(/^Restarts: {5}consumers of its targets \(/m);
    // restartConsumers: false is the explicit list only.
    const off = renderStatus({ push: pushOf('p', 'home', status, { rollout: { restartConsumers: false } }), now: NOW }, 80).join('\n');
    expect(off).not.toMatch(/Restarts:/);
  });

  it('renderConditions puts the message under the row when the column would be too narrow', () => {
    const lines = renderConditions([condition('Ready', 'True', 'AVeryLongReasonThatTakesTheWholeLine', 'short message here')], 50);
    expect(lines).toEqual(['  Ready  True    AVeryLongReasonThatTakesTheWholeLine', '    short message here']);
  });
});

import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ALLOWED_SOURCES_ANNOTATION, API_VERSION } from '../../src/api/constants.js';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { diffMaps, lineDiff, valueView } from '../../src/cli/kubectl-configpush/model/key-diff.js';
import { planDiff, type LiveRead, type PushDiff } from '../../src/cli/kubectl-configpush/model/target-diff.js';
import { wavesOf } from '../../src/cli/kubectl-configpush/model/waves.js';
import { renderChange, renderDiff } from '../../src/cli/kubectl-configpush/view/diff-view.js';
import { renderTarget, type TargetObject } from '../../src/core/desired-target.js';
import { CliError, EXIT } from '../../src/cli/kubectl-configpush/errors.js';
import { sourcedSpec } from '../../src/cli/kubectl-configpush/model/sourced-spec.js';
import { PermanentError } from '../../src/core/errors.js';
import { operationKey } from '../../src/core/operation-key.js';
import { withSources, type SourceObject } from '../../src/core/sources.js';
import type { SourceClient } from '../../src/kube/source-client.js';
import { resolveSpec, targetId, type NamespaceInfo, type ResolvedTarget } from '../../src/core/resolve-spec.js';

const UID = 'b1a5c0de-0000-4000-8000-000000000003';
const OTHER_UID = 'b1a5c0de-0000-4000-8000-000000000004';
const SECRET = 'hunter2-correct-horse';
const NEW_SECRET = 'battery-staple-0123456789';

const pushOf = (spec: ConfigPushSpec, generation = 3): ConfigPush => ({
  apiVersion: API_VERSION,
  kind: 'ConfigPush',
  metadata: { name: 'app', namespace: 'home', uid: UID, generation, resourceVersion: '7' },
  spec,
});

/** The object the operator would have written for `spec` at `generation`: a target as the operator leaves it. */
function written(spec: ConfigPushSpec, generation: number, target: ResolvedTarget, uid = UID, owner = 'home/app'): TargetObject {
  // Content only: which targets the old spec named does not change what it wrote into this one.
  const resolved = resolveSpec(pushOf({ ...spec, targets: [{ kind: target.kind, name: target.name, namespace: target.namespace }] }, generation), NAMESPACES);
  const object = renderTarget(target.kind, target.name, target.namespace, resolved.content, { ownerUid: uid, owner, operationKey: operationKey(uid, generation), generation, contentDigest: resolved.digest }, undefined);
  object.metadata = { ...object.metadata, resourceVersion: '100' };
  return object;
}

const NAMESPACES: NamespaceInfo[] = ['home', 'open', 'closed'].map((name) => ({ name, labels: {} }));
const ANNOTATIONS: Record<string, Record<string, string>> = { home: {}, open: { [ALLOWED_SOURCES_ANNOTATION]: 'home' }, closed: {} };

function diffOf(push: ConfigPush, live: Map<string, TargetObject | undefined | Error>): PushDiff {
  const planned = wavesOf(push, NAMESPACES);
  if ('error' in planned) throw new Error(planned.error);
  return planDiff({
    push,
    spec: planned.spec,
    waves: planned.waves,
    live: (t): LiveRead => {
      const found = live.get(targetId(t));
      return found instanceof Error ? { error: found.message } : { object: found };
    },
    namespaceAnnotations: (ns) => ANNOTATIONS[ns],
  });
}

const cm = (name: string, namespace = 'home'): ResolvedTarget => ({ kind: 'ConfigMap', name, namespace });
const secret = (name: string, namespace = 'home'): ResolvedTarget => ({ kind: 'Secret', name, namespace });

describe('kubectl configpush diff: the plan, per target, from the operator\'s planner', () => {
  const v1: ConfigPushSpec = { targets: [], data: { 'app.properties': 'color=blue\nsize=10\n', greeting: 'hello' }, labels: { team: 'a' } };
  const v3: ConfigPushSpec = {
    targets: [
      { kind: 'ConfigMap', name: 'new' },
      { kind: 'ConfigMap', name: 'same' },
      { kind: 'ConfigMap', name: 'old' },
      { kind: 'ConfigMap', name: 'theirs' },
      { kind: 'ConfigMap', name: 'unmanaged' },
      { kind: 'ConfigMap', name: 'shared', namespace: 'open' },
      { kind: 'ConfigMap', name: 'shared', namespace: 'closed' },
      { kind: 'ConfigMap', name: 'locked' },
      { kind: 'ConfigMap', name: 'future' },
    ],
    data: { 'app.properties': 'color=green\nsize=10\n', extra: 'x' },
    labels: { team: 'a', tier: 'web' },
  };
  const live = new Map<string, TargetObject | undefined | Error>([
    [targetId(cm('new')), undefined],
    [targetId(cm('same')), written(v3, 2, cm('same'))],
    [targetId(cm('old')), written(v1, 1, cm('old'))],
    [targetId(cm('theirs')), written(v1, 1, cm('theirs'), OTHER_UID, 'elsewhere/other')],
    [targetId(cm('unmanaged')), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unmanaged', namespace: 'home', resourceVersion: '5' }, data: { mine: 'yes' } }],
    [targetId(cm('shared', 'open')), undefined],
    [targetId(cm('locked')), new Error('reading ConfigMap home/locked: 403: forbidden')],
    [targetId(cm('future')), written(v3, 5, cm('future'))],
  ]);
  const diff = diffOf(pushOf(v3), live);
  const byName = (name: string, namespace = 'home') => diff.targets.find((t) => t.name === name && t.namespace === namespace);

  it('create, update, unchanged, conflict, refused, stale and unreadable, as the reconcile would decide', () => {
    expect(diff.targets.map((t) => `${t.namespace}/${t.name} ${t.action}${t.reason ? ` ${t.reason}` : ''}`)).toEqual([
      'home/new create',
      'home/same unchanged',
      'home/old update new-content',
      'home/theirs conflict',
      'home/unmanaged conflict',
      'open/shared create',
      'closed/shared refused',
      'home/locked error',
      'home/future stale',
    ]);
    expect(byName('theirs')).toMatchObject({ owner: 'elsewhere/other', message: 'owned by elsewhere/other' });
    expect(byName('unmanaged')).toMatchObject({ owner: 'unmanaged', message: 'owned by unmanaged (set spec.adopt to take it over)' });
    expect(byName('shared', 'closed')).toMatchObject({ refusal: 'CrossNamespaceNotAllowed' });
    expect(byName('future')?.message).toMatch(/carries generation 5, newer than this push's generation 3/);
    expect(diff.summary).toEqual({ create: 2, update: 1, unchanged: 1, conflict: 2, refused: 1, error: 1, stale: 1 });
    expect(diff.changes).toBe(3);
    expect(diff.operationKey).toBe(operationKey(UID, 3));
  });

  it('an update lists the keys and labels that change, with ConfigMap values, and the operation key it stamps', () => {
    const old = byName('old');
    expect(old?.operationKey).toEqual({ from: operationKey(UID, 1), to: operationKey(UID, 3) });
    expect(old?.data).toEqual([
      { key: 'app.properties', change: 'changed', before: { bytes: 19, text: 'color=blue\nsize=10\n' }, after: { bytes: 20, text: 'color=green\nsize=10\n' } },
      { key: 'extra', change: 'added', after: { bytes: 1, text: 'x' } },
      { key: 'greeting', change: 'removed', before: { bytes: 5, text: 'hello' } },
    ]);
    expect(old?.labels).toEqual([{ key: 'tier', change: 'added', after: { bytes: 3, text: 'web' } }]);
    // The operator's own markers change with every operation: summed up as the key, not listed.
    expect(old?.annotations).toEqual([]);
    expect(byName('new')?.data.map((d) => `${d.change} ${d.key}`)).toEqual(['added app.properties', 'added extra']);
  });

  it('renders it: each target, the ConfigMap line diff, a summary', () => {
    const text = renderDiff(diff, 80).join('\n');
    expect(text).toContain(
      [
        'ConfigMap home/old: update (new content)',
        `  operation key: ${operationKey(UID, 1)} -> ${operationKey(UID, 3)}`,
        '  data:',
        '    ~ app.properties',
        '        - color=blue',
        '        + color=green',
        '          size=10',
        '    + extra: x',
        '    - greeting: hello',
        '  labels:',
        '    + tier: web',
      ].join('\n'),
    );
    expect(text).toContain('ConfigMap closed/shared: refused (CrossNamespaceNotAllowed)\n  ConfigMap closed/shared: namespace closed does not accept ConfigPushes from');
    expect(text).toContain('ConfigMap home/theirs: conflict\n  owned by elsewhere/other');
    // One-line entries follow each other; a target with the same changes as the one before says so.
    expect(text).toContain('ConfigMap home/new: create\n');
    expect(text).toContain('\n\nConfigMap home/same: unchanged\n\nConfigMap home/old: update (new content)\n');
    expect(text).toContain('\n\nConfigMap open/shared: create\n  the same changes as ConfigMap home/new\n\n');
    expect(text.split('\n').at(-1)).toBe('2 to create, 1 to update, 1 unchanged, 2 in conflict, 1 newer than this push, 1 refused, 1 unreadable.');
  });

  it('drift: restored under driftPolicy Correct (an update for drift), only reported under Report', () => {
    const spec: ConfigPushSpec = { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } };
    const edited = written(spec, 3, cm('cfg'));
    edited.data = { k: 'edited' };
    const correct = diffOf(pushOf(spec), new Map([[targetId(cm('cfg')), edited]]));
    expect(correct.targets[0]).toMatchObject({ action: 'update', reason: 'drift', data: [{ key: 'k', change: 'changed' }] });
    const report = diffOf(pushOf({ ...spec, driftPolicy: 'Report' }), new Map([[targetId(cm('cfg')), edited]]));
    expect(report.targets[0]).toMatchObject({ action: 'drifted', message: 'differs from the desired content; driftPolicy Report: reported, not corrected' });
    expect(report.changes).toBe(0);
  });
});

describe('kubectl configpush diff: Secret values never shown', () => {
  const forms = (value: string) => [value, Buffer.from(value).toString('base64')];
  const before: ConfigPushSpec = { targets: [{ kind: 'Secret', name: 'creds' }], data: { username: 'app', password: SECRET, gone: SECRET } };
  const after: ConfigPushSpec = { targets: [{ kind: 'Secret', name: 'creds' }], data: { username: 'app', password: NEW_SECRET, token: NEW_SECRET } };

  it('a Secret\'s keys show only their sizes, in the text and in -o json|yaml', () => {
    const diff = diffOf(pushOf(after), new Map([[targetId(secret('creds')), written(before, 1, secret('creds'))]]));
    const target = diff.targets[0];
    expect(target).toMatchObject({ action: 'update', valuesHidden: true });
    expect(target?.data).toEqual([
      { key: 'gone', change: 'removed', before: { bytes: SECRET.length } },
      { key: 'password', change: 'changed', before: { bytes: SECRET.length }, after: { bytes: NEW_SECRET.length } },
      { key: 'token', change: 'added', after: { bytes: NEW_SECRET.length } },
    ]);
    const text = renderDiff(diff, 80).join('\n');
    expect(text).toContain(
      `  data (values hidden):\n    - gone: (removed, ${SECRET.length} bytes)\n    ~ password: (changed, ${SECRET.length} bytes -> ${NEW_SECRET.length} bytes)\n    + token: (added, ${NEW_SECRET.length} bytes)`,
    );
    for (const output of [text, JSON.stringify(diff), stringify(diff)]) {
      for (const form of [...forms(SECRET), ...forms(NEW_SECRET)]) expect(output).not.toContain(form);
    }
  });

  it('a push that writes a Secret hides the values of its ConfigMap targets too (the same content goes to both)', () => {
    const spec: ConfigPushSpec = { targets: [{ kind: 'ConfigMap', name: 'mirror' }, { kind: 'Secret', name: 'creds' }], data: { password: NEW_SECRET } };
    const diff = diffOf(pushOf(spec), new Map());
    expect(diff.targets.map((t) => [t.kind, t.action, t.valuesHidden])).toEqual([
      ['ConfigMap', 'create', true],
      ['Secret', 'create', true],
    ]);
    const text = renderDiff(diff, 80).join('\n');
    expect(text).toContain(`ConfigMap home/mirror: create\n  operation key: ${operationKey(UID, 3)}\n  data (values hidden):\n    + password: (added, ${NEW_SECRET.length} bytes)`);
    for (const output of [text, JSON.stringify(diff)]) for (const form of forms(NEW_SECRET)) expect(output).not.toContain(form);
  });

  it('binaryData shows sizes only', () => {
    expect(diffMaps({ logo: 'AAEC' }, { logo: 'AAECAw==' }, 'base64')).toEqual([{ key: 'logo', change: 'changed', before: { bytes: 3 }, after: { bytes: 4 } }]);
    expect(renderChange({ key: 'logo', change: 'added', after: valueView('AAECAw==', 'base64') })).toEqual(['    + logo: (added, 4 bytes)']);
  });
});

describe('kubectl configpush diff: key and line differences', () => {
  it('diffMaps: added, removed and changed keys, sorted; equal values are not listed', () => {
    expect(diffMaps({ b: '1', a: '1', same: 's' }, { c: '2', a: '2', same: 's' }, 'text').map((c) => `${c.change} ${c.key}`)).toEqual(['changed a', 'removed b', 'added c']);
    expect(diffMaps(undefined, undefined, 'text')).toEqual([]);
    expect(valueView('héllo', 'hidden-text')).toEqual({ bytes: 6 });
  });

  it('lineDiff: removals before additions, context cut to two lines each side, a final newline is not a line', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n') + '\n';
    const after = ['a', 'b', 'c', 'd', 'E', 'f', 'g', 'h'].join('\n') + '\n';
    expect(lineDiff(before, after)).toEqual([
      { op: '…', text: '2 unchanged lines' },
      { op: ' ', text: 'c' },
      { op: ' ', text: 'd' },
      { op: '-', text: 'e' },
      { op: '+', text: 'E' },
      { op: ' ', text: 'f' },
      { op: ' ', text: 'g' },
      { op: '…', text: '1 unchanged line' },
    ]);
    expect(lineDiff('x\n', 'x')).toEqual([{ op: ' ', text: 'x' }, { op: '…', text: 'newline at the end removed' }]);
  });

  it('renderChange: one-line values inline, several lines each on its own, control characters made visible', () => {
    expect(renderChange({ key: 'k', change: 'added', after: valueView('v', 'text') })).toEqual(['    + k: v']);
    expect(renderChange({ key: 'k', change: 'added', after: valueView('', 'text') })).toEqual(['    + k: ""']);
    expect(renderChange({ key: 'k', change: 'removed', before: valueView('a\nb\n', 'text') })).toEqual(['    - k:', '        - a', '        - b']);
    expect(renderChange({ key: 'k', change: 'changed', before: valueView('\u001b[2J', 'text'), after: valueView('ok', 'text') })).toEqual(['    ~ k', '        - \\u001b[2J', '        + ok']);
    expect(renderChange({ key: 'pw', change: 'changed', before: valueView('a', 'hidden-text'), after: valueView('abc', 'hidden-text') })).toEqual(['    ~ pw: (changed, 1 byte -> 3 bytes)']);
  });
});

describe('kubectl configpush diff: spec.sources read and merged as the operator merges them', () => {
  const SOURCE_UID = 'b1a5c0de-0000-4000-8000-0000000000aa';
  const spec: ConfigPushSpec = {
    targets: [{ kind: 'Secret', name: 'creds' }, { kind: 'Secret', name: 'creds', namespace: 'open' }],
    sources: [{ secretRef: { name: 'upstream' } }, { configMapRef: { name: 'maybe' }, optional: true }],
    data: { username: 'app' },
  };
  const upstream = (password: string): SourceObject => ({
    kind: 'Secret',
    namespace: 'home',
    name: 'upstream',
    uid: SOURCE_UID,
    annotations: {},
    data: {},
    binaryData: { password: Buffer.from(password).toString('base64') },
  });
  /** A SourceClient on plain objects: what the plugin's reads as the user would return. */
  const client = (objects: SourceObject[]): SourceClient => ({
    read: async (kind, namespace, name) => objects.find((o) => o.kind === kind && o.namespace === namespace && o.name === name),
  });
  const forms = (value: string) => [value, Buffer.from(value).toString('base64')];

  async function plan(push: ConfigPush, sources: SourceClient, live: (t: ResolvedTarget) => TargetObject | undefined): Promise<PushDiff> {
    const planned = wavesOf(push, NAMESPACES);
    if ('error' in planned) throw new Error(planned.error);
    const sourced = await sourcedSpec(push, planned.spec, sources);
    return planDiff({
      push,
      spec: sourced.spec,
      operationKey: sourced.operationKey,
      ...(sourced.sources ? { sources: sourced.sources } : {}),
      waves: planned.waves,
      live: (t) => ({ object: live(t) }),
      namespaceAnnotations: (ns) => ANNOTATIONS[ns],
    });
  }

  /** The targets as the operator left them after applying `password` from the source. */
  async function appliedWith(password: string): Promise<(t: ResolvedTarget) => TargetObject> {
    const push = pushOf(spec);
    const planned = wavesOf(push, NAMESPACES);
    if ('error' in planned) throw new Error(planned.error);
    const sourced = await sourcedSpec(push, planned.spec, client([upstream(password)]));
    const ownership = { ownerUid: UID, owner: 'home/app', operationKey: sourced.operationKey, generation: 3, contentDigest: sourced.spec.digest };
    return (t) => renderTarget(t.kind, t.name, t.namespace, sourced.spec.content, ownership, undefined);
  }

  it('the key carries the sources revision and the digest is keyed with the copied Secret\'s uid, exactly as withSources gives them', async () => {
    const push = pushOf(spec);
    const resolved = resolveSpec(push, NAMESPACES);
    const sourced = withSources(resolved.content, resolved.sources ?? [], [upstream(SECRET), undefined], 'home');
    const diff = await plan(push, client([upstream(SECRET)]), () => undefined);
    expect(diff.operationKey).toBe(operationKey(UID, 3, sourced.revision));
    expect(diff.operationKey).not.toBe(operationKey(UID, 3));
    expect(diff.contentDigest).toBe(sourced.digest);
    expect(diff.contentDigest).toMatch(/^hmac-sha256:/);
    expect(diff.sources).toEqual(sourced.statuses);
    expect(diff.sources?.[1]).toEqual({ kind: 'ConfigMap', namespace: 'home', name: 'maybe' });
    expect(diff.targets.map((t) => [t.namespace, t.action, t.data.map((d) => `${d.change} ${d.key}`)])).toEqual([
      ['home', 'create', ['added password', 'added username']],
      ['open', 'create', ['added password', 'added username']],
    ]);
  });

  it('a source change is an update of every target; no change is none; the copied value appears in no output', async () => {
    const live = await appliedWith(SECRET);
    const same = await plan(pushOf(spec), client([upstream(SECRET)]), live);
    expect(same.changes).toBe(0);
    expect(same.summary).toEqual({ unchanged: 2 });

    const changed = await plan(pushOf(spec), client([upstream(NEW_SECRET)]), live);
    expect(changed.changes).toBe(2);
    expect(changed.targets.map((t) => [t.namespace, t.action, t.reason, t.valuesHidden])).toEqual([
      ['home', 'update', 'new-content', true],
      ['open', 'update', 'new-content', true],
    ]);
    expect(changed.targets[0]?.operationKey).toEqual({ from: same.operationKey, to: changed.operationKey });
    expect(changed.targets[0]?.data).toEqual([{ key: 'password', change: 'changed', before: { bytes: SECRET.length }, after: { bytes: NEW_SECRET.length } }]);
    const text = renderDiff(changed, 80).join('\n');
    expect(text).toContain(`sources, read as you: Secret home/upstream (revision ${changed.sources?.[0]?.revision}), ConfigMap\nhome/maybe (absent, optional)\n`);
    expect(text).toContain(`    ~ password: (changed, ${SECRET.length} bytes -> ${NEW_SECRET.length} bytes)`);
    for (const output of [text, JSON.stringify(changed), stringify(changed), renderDiff(same, 80).join('\n'), JSON.stringify(same)]) {
      for (const form of [...forms(SECRET), ...forms(NEW_SECRET)]) expect(output).not.toContain(form);
    }
  });

  it('a source the operator would refuse: a CliError (exit 3) with the operator\'s reason', async () => {
    const push = pushOf(spec);
    const resolved = resolveSpec(push, NAMESPACES);
    const missing = sourcedSpec(push, resolved, client([]));
    await expect(missing).rejects.toBeInstanceOf(CliError);
    await expect(missing).rejects.toMatchObject({
      exitCode: EXIT.failed,
      message: 'configpush home/app cannot be planned: SourceNotFound: Secret home/upstream (spec.sources[0]) does not exist; the operator refuses it with the same reason (see: kubectl configpush status app -n home)',
    });
    const elsewhere = pushOf({ ...spec, sources: [{ secretRef: { name: 'upstream', namespace: 'open' } }] });
    await expect(sourcedSpec(elsewhere, resolveSpec(elsewhere, NAMESPACES), client([{ ...upstream(SECRET), namespace: 'open' }]))).rejects.toThrow(/^configpush home\/app cannot be planned: SourceNotAllowed: /);
    const keyed = pushOf({ ...spec, sources: [{ secretRef: { name: 'upstream' }, items: [{ key: 'nope' }] }] });
    await expect(sourcedSpec(keyed, resolveSpec(keyed, NAMESPACES), client([upstream(SECRET)]))).rejects.toThrow(/SourceKeyNotFound: Secret home\/upstream \(spec.sources\[0\]\) has no key "nope"/);
    const forbidden: SourceClient = {
      read: async (kind, namespace, name) => {
        throw new PermanentError('SourceForbidden', `the kubeconfig's user may not get ${kind} ${namespace}/${name} (a spec.sources entry): grant it get on secrets there`);
      },
    };
    await expect(sourcedSpec(push, resolved, forbidden)).rejects.toThrow(/SourceForbidden: .*; diff reads spec.sources as you, the operator as the operator, so the operator may still be allowed to$/);
  });

  it('a push without sources keeps the key minted before sources existed', async () => {
    const push = pushOf({ targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
    const sourced = await sourcedSpec(push, resolveSpec(push, NAMESPACES), client([]));
    expect(sourced).toEqual({ spec: resolveSpec(push, NAMESPACES), operationKey: operationKey(UID, 3) });
  });
});

import { ApiException, type V1ControllerRevision } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/constants.js';
import type { ConfigPush, ConfigPushStatus } from '../../src/api/types.js';
import { isChangedSinceRead } from '../../src/cli/kubectl-configpush/api.js';
import { parseInvocation } from '../../src/cli/kubectl-configpush/args.js';
import { UsageError } from '../../src/cli/kubectl-configpush/errors.js';
import { usage } from '../../src/cli/kubectl-configpush/help.js';
import {
  chooseRevision,
  contentSpecOf,
  fieldChanges,
  keptRevisions,
  rollbackPatch,
  sameJson,
  type KeptRevision,
} from '../../src/cli/kubectl-configpush/model/rollback.js';
import { historyOutput, renderHistory, renderRevisions } from '../../src/cli/kubectl-configpush/view/history-view.js';
import { renderRollback } from '../../src/cli/kubectl-configpush/view/rollback-view.js';
import { rollbackKey } from '../../src/core/operation-key.js';
import { REVISION_ANNOTATION, REVISION_OF_LABEL } from '../../src/core/revisions.js';
import { ApiError } from '../../src/kube/api-errors.js';

const UID = 'uid-web';
const NOW = new Date('2026-11-29T12:00:00Z');
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const width = (lines: string[]) => Math.max(0, ...lines.map((l) => [...l].length));

const pushOf = (spec: Partial<ConfigPush['spec']>, status?: ConfigPushStatus, generation = 2): ConfigPush =>
  ({
    apiVersion: API_VERSION,
    kind: 'ConfigPush',
    metadata: { name: 'web', namespace: 'team-a', uid: UID, generation, resourceVersion: '4711' },
    spec: { targets: [{ kind: 'ConfigMap', name: 'web' }], ...spec },
    ...(status ? { status } : {}),
  }) as ConfigPush;

const kept = (revision: number, c: string, extra: Partial<KeptRevision> = {}): KeptRevision => ({
  name: `web-${c.repeat(10)}`,
  revision,
  digest: digest(c),
  operationKey: `${revision}-${c.repeat(10)}`,
  created: '2026-11-29T11:00:00Z',
  inSecret: false,
  ...extra,
});

const controllerRevision = (revision: number, c: string, options: { owner?: string; secret?: boolean; payload?: unknown } = {}): V1ControllerRevision => ({
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: {
    name: `web-${c.repeat(10)}`,
    namespace: 'team-a',
    uid: `rev-${c}`,
    resourceVersion: '10',
    creationTimestamp: new Date('2026-11-29T11:00:00.123Z'),
    labels: { [REVISION_OF_LABEL]: UID },
    annotations: {
      [REVISION_ANNOTATION.digest]: digest(c),
      [REVISION_ANNOTATION.operationKey]: `${revision}-${c.repeat(10)}`,
      ...(options.secret ? { [REVISION_ANNOTATION.contentSecret]: `web-${c.repeat(10)}` } : {}),
    },
    ownerReferences: [{ apiVersion: API_VERSION, kind: 'ConfigPush', name: 'web', uid: options.owner ?? UID, controller: true }],
  },
  revision,
  data: options.secret ? { contentSecret: `web-${c.repeat(10)}` } : { 'revision.json': options.payload ?? { spec: { data: { v: c } }, content: { data: { v: c }, binaryData: {}, labels: {}, annotations: {} } } },
});

describe('kubectl configpush rollback: the revisions kept', () => {
  it('keeps only the push\'s own revisions (label AND controlling owner), newest first, with where the payload is', () => {
    const list = keptRevisions(
      [controllerRevision(1, 'a'), controllerRevision(3, 'c', { secret: true }), controllerRevision(2, 'b'), controllerRevision(4, 'd', { owner: 'someone-else' })],
      UID,
    );
    expect(list.map((r) => [r.revision, r.inSecret])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    expect(list[0]).not.toHaveProperty('inlinePayload');
    expect(list[1]).toMatchObject({ name: 'web-bbbbbbbbbb', digest: digest('b'), operationKey: '2-bbbbbbbbbb', created: '2026-11-29T11:00:00Z', inlinePayload: { spec: { data: { v: 'b' } } } });
  });
});

describe('kubectl configpush rollback: which revision', () => {
  const revisions = [kept(3, 'c'), kept(2, 'b'), kept(1, 'a')];
  const current = (c: string, extra: Partial<ConfigPushStatus> = {}): ConfigPushStatus => ({ observedGeneration: 2, contentDigest: digest(c), ...extra });

  it('--to-revision N: that revision; one that is not kept is refused, naming the kept ones', () => {
    expect(chooseRevision(pushOf({}, current('c')), revisions, 1)).toMatchObject({ revision: { revision: 1 }, why: 'requested' });
    expect(chooseRevision(pushOf({}, current('c')), revisions, 7)).toEqual({
      refused: 'configpush team-a/web has no revision 7; kept: 3, 2, 1 (see: kubectl configpush history web -n team-a)',
    });
  });

  it('refuses the revision the push is already at, and a push without revisions', () => {
    expect(chooseRevision(pushOf({}, current('c')), revisions, 3)).toEqual({
      refused: `configpush team-a/web is already at revision 3: its spec gives that content (${digest('c')}); nothing to do`,
    });
    expect(chooseRevision(pushOf({}, current('c')), [])).toEqual({
      refused: expect.stringMatching(/^configpush team-a\/web has no revisions to roll back to: a revision is kept each time a rollout completes/),
    });
  });

  it('default: the newest revision whose content is not the current content (the previous good one)', () => {
    expect(chooseRevision(pushOf({}, current('c')), revisions)).toMatchObject({ revision: { revision: 2 }, why: 'previous' });
    // The current content is not the newest revision (a later generation failed, or is rolling out): the newest is the previous.
    expect(chooseRevision(pushOf({}, current('z')), revisions)).toMatchObject({ revision: { revision: 3 }, why: 'previous' });
    expect(chooseRevision(pushOf({}, current('a')), [kept(1, 'a')])).toEqual({ refused: expect.stringMatching(/has no earlier revision: its only revision \(1\) is the current content; name one with --to-revision/) });
  });

  it('default while the operator has rolled this generation back: the revision it returned to, found by the rollback key (not the number, which a renumbering changes)', () => {
    const key = rollbackKey(UID, 2, digest('a'));
    const rollback = { revision: 9, operationKey: key, failedOperationKey: '2-zzzzzzzzzz', failedWave: 3, reason: 'ProgressDeadlineExceeded', message: 'm' };
    // status.contentDigest is the revision rolled back to: "the newest other than the current" would pick revision 3.
    const push = pushOf({}, current('a', { rollout: { currentWave: 3, totalWaves: 5, phase: 'RolledBack', progress: '', rollback } }));
    expect(chooseRevision(push, revisions)).toMatchObject({ revision: { revision: 1 }, why: 'rolled-back' });
    // And --to-revision of that revision is not "already at": the spec still says the failed content.
    expect(chooseRevision(push, revisions, 1)).toMatchObject({ revision: { revision: 1 }, why: 'requested' });
    // A rollback reported for an older generation is not this one's.
    const stale = pushOf({}, current('a', { observedGeneration: 1, rollout: { currentWave: 3, totalWaves: 5, phase: 'RolledBack', progress: '', rollback } }));
    expect(chooseRevision(stale, revisions)).toMatchObject({ why: 'previous' });
  });
});

describe('kubectl configpush rollback: the one conditional write', () => {
  it('tests metadata.resourceVersion first, sets each content field that differs, removes those the revision has none of', () => {
    const push = pushOf({ data: { v: '2', extra: 'x' }, labels: { tier: 'web' }, annotations: { a: '1' }, sources: [{ secretRef: { name: 'root' } }] });
    const ops = rollbackPatch(push, { data: { v: '1' }, binaryData: { b: 'AA==' }, annotations: { a: '1' } });
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '4711' },
      { op: 'add', path: '/spec/data', value: { v: '1' } },
      { op: 'add', path: '/spec/binaryData', value: { b: 'AA==' } },
      { op: 'remove', path: '/spec/labels' },
      { op: 'remove', path: '/spec/sources' },
    ]);
  });

  it('only the test when the spec already has the revision\'s content fields (key order does not matter)', () => {
    const push = pushOf({ data: { b: '2', a: '1' }, sources: [{ configMapRef: { name: 'c', namespace: 'n' } }] });
    expect(rollbackPatch(push, { data: { a: '1', b: '2' }, sources: [{ configMapRef: { namespace: 'n', name: 'c' } }] })).toEqual([{ op: 'test', path: '/metadata/resourceVersion', value: '4711' }]);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });

  it('refuses to build an unconditional write', () => {
    const push = pushOf({ data: { v: '2' } });
    delete (push.metadata as { resourceVersion?: string }).resourceVersion;
    expect(() => rollbackPatch(push, { data: { v: '1' } })).toThrow(/no resourceVersion/);
  });

  it('checks the payload\'s spec fields before they are written into a spec', () => {
    const content = { data: {}, binaryData: {}, labels: {}, annotations: {} };
    expect(contentSpecOf({ spec: { data: { v: '1' }, sources: [{ secretRef: { name: 's' } }] }, content })).toEqual({ data: { v: '1' }, sources: [{ secretRef: { name: 's' } }] });
    expect(() => contentSpecOf({ spec: { data: { v: 1 } } as never, content })).toThrow('revision payload: spec.data must be a map of strings');
    expect(() => contentSpecOf({ spec: { sources: {} } as never, content })).toThrow('revision payload: spec.sources must be a list');
  });

  it('a failed test (422) and a conflict (409) both mean the push changed since it was read; other errors do not', () => {
    const apiError = (code: number, message: string) => new ApiError(new ApiException(code, 'x', JSON.stringify({ kind: 'Status', message, reason: 'Invalid', details: {} }), {}));
    // What kube-apiserver answers a JSON patch whose test fails (no detail at all).
    expect(isChangedSinceRead(apiError(422, 'the server rejected our request due to an error in our request'))).toBe(true);
    expect(isChangedSinceRead(apiError(409, 'Operation cannot be fulfilled on configpushes.configpush.io "web": the object has been modified'))).toBe(true);
    expect(isChangedSinceRead(apiError(422, 'ConfigPush.configpush.io "web" is invalid: spec.data: Invalid value'))).toBe(false);
    expect(isChangedSinceRead(apiError(403, 'forbidden'))).toBe(false);
  });
});

describe('kubectl configpush rollback: what it prints', () => {
  const SECRET = 'hunter2-very-secret';
  const current = { data: { password: SECRET, user: 'app', gone: 'x' }, labels: { tier: 'web' }, sources: [{ secretRef: { name: 'root', namespace: 'vault' } }] };
  const target = { data: { password: `old-${SECRET}`, user: 'app', added: 'y' }, annotations: { note: 'n' } };

  it('key names per field, never a value, the generations, the revision and its digest, within the width', () => {
    const changes = fieldChanges(current, target);
    expect(changes).toEqual([
      { field: 'data', change: 'changed', added: ['added'], removed: ['gone'], changed: ['password'] },
      { field: 'labels', change: 'removed', added: [], removed: ['tier'], changed: [] },
      { field: 'annotations', change: 'set', added: ['note'], removed: [], changed: [] },
      { field: 'sources', change: 'removed', added: [], removed: ['Secret vault/root'], changed: [] },
    ]);
    const report = { namespace: 'team-a', name: 'web', revision: kept(1, 'a'), why: 'requested' as const, generationBefore: 2, changes };
    const done = renderRollback({ ...report, generationAfter: 3 }, 80);
    expect(done).toEqual([
      'configpush team-a/web rolled back to revision 1',
      'Generation: 2 -> 3',
      'Revision:   1, completed by operation 1-aaaaaaaaaa at 2026-11-29T11:00:00Z',
      'Digest:     sha256:aaaaaaaaaaaa',
      'Spec:',
      '  spec.data: changed: + added, - gone, ~ password',
      '  spec.labels: removed (1 key)',
      '  spec.annotations: set: + note',
      '  spec.sources: removed (Secret vault/root)',
    ]);
    const dry = renderRollback({ ...report, why: 'previous', generationAfter: undefined }, 60);
    expect(dry.slice(0, 3)).toEqual(['configpush team-a/web would be rolled back to revision 1', '(the previous content) (dry run: nothing written)', 'Generation: 2 -> 3 when written']);
    for (const lines of [done, dry]) {
      expect(lines.join('\n')).not.toContain(SECRET);
      expect(lines.join('\n')).not.toContain(Buffer.from(SECRET).toString('base64'));
    }
    expect(width(dry)).toBeLessThanOrEqual(60);
  });
});

describe('kubectl configpush rollback: the command line and its help', () => {
  it('rollback NAME [--to-revision N] [--dry-run], waiting by default', () => {
    expect(parseInvocation(['rollback', 'web', '-n', 'team-a', '--to-revision', '2', '--dry-run'])).toMatchObject({
      command: 'rollback',
      name: 'web',
      toRevision: 2,
      dryRun: true,
      wait: true,
      options: { namespace: 'team-a' },
    });
    const plain = parseInvocation(['rollback', 'web', '--no-wait', '--timeout', '2m']);
    expect(plain).toMatchObject({ wait: false, timeoutMs: 120_000 });
    expect(plain).not.toHaveProperty('toRevision');
    expect(plain).not.toHaveProperty('dryRun');
  });

  it('bad rollback command lines are usage errors that say what is wrong', () => {
    const message = (argv: string[]) => {
      try {
        parseInvocation(argv);
      } catch (err) {
        if (err instanceof UsageError) return err.message;
        throw err;
      }
      return 'no error';
    };
    for (const bad of ['0', '-1', 'two', '1.5', '']) {
      expect(message(['rollback', 'web', `--to-revision=${bad}`]), bad).toMatch(/^--to-revision must be a revision number \(1, 2, 3, \.\.\.: see kubectl configpush history\), got /);
    }
    expect(message(['rollback'])).toBe('rollback needs the NAME of a ConfigPush');
    expect(message(['rollback', 'web', '-o', 'json'])).toBe('rollback does not take --output');
    expect(message(['history', 'web', '--to-revision', '1'])).toBe('history does not take --to-revision');
    expect(message(['reconcile', 'web', '--dry-run'])).toBe('reconcile does not take --dry-run');
  });

  it('the usage names the command, its flags and examples, within 80 columns; the main usage lists it', () => {
    const text = usage('rollback');
    expect(text).toMatch(/^kubectl configpush rollback: /);
    expect(text).toContain('--to-revision N');
    expect(text).toContain('--dry-run');
    expect(text).toContain('  kubectl configpush rollback app-config --to-revision 2 --dry-run');
    expect(width(text.split('\n'))).toBeLessThanOrEqual(80);
    expect(usage()).toMatch(/^ {2}rollback NAME {3}set the spec's content from a kept revision$/m);
  });
});

describe('kubectl configpush history: operations and revisions', () => {
  it('the history shows each operation\'s revision, and what a rollback undid', () => {
    const lines = renderHistory(
      [
        { key: '2-rcccccccccc', generation: 2, digest: digest('a'), appliedAt: '2026-11-29T11:30:00Z', revision: 1, rolledBack: '2-bbbbbbbbbb' },
        { key: '2-bbbbbbbbbb', generation: 2, digest: digest('b'), appliedAt: '2026-11-29T11:20:00Z' },
        { key: '1-aaaaaaaaaa', generation: 1, digest: digest('a'), appliedAt: '2026-11-29T11:00:00Z', revision: 1 },
      ],
      80,
      NOW,
    );
    // APPLIED AT is left out to fit 80 columns (AGE says when); the digest stays whole.
    expect(lines).toEqual([
      'GENERATION  KEY            REVISION  DIGEST               AGE  ROLLED BACK',
      '2           2-rcccccccccc  1         sha256:aaaaaaaaaaaa  30m  2-bbbbbbbbbb',
      '2           2-bbbbbbbbbb   -         sha256:bbbbbbbbbbbb  40m',
      '1           1-aaaaaaaaaa   1         sha256:aaaaaaaaaaaa  60m',
    ]);
    expect(renderHistory([{ key: '1-aaaaaaaaaa', generation: 1, digest: digest('a'), appliedAt: '2026-11-29T11:00:00Z', revision: 1 }], 120, NOW)[0]).toBe(
      'GENERATION  KEY           REVISION  DIGEST               APPLIED AT            AGE',
    );
  });

  it('the revisions: number (the current one marked), digest, operation, age, and whether the content is in a Secret; -o has no payload', () => {
    const revisions = [kept(2, 'b', { inSecret: true, inlinePayload: undefined }), kept(1, 'a', { inlinePayload: { spec: { data: { v: 'secret-ish' } } } })];
    const lines = renderRevisions(revisions, digest('b'), 80, NOW);
    expect(lines).toEqual([
      'REVISION     DIGEST               OPERATION     AGE  CONTENT IN',
      '2 (current)  sha256:bbbbbbbbbbbb  2-bbbbbbbbbb  60m  Secret',
      '1            sha256:aaaaaaaaaaaa  1-aaaaaaaaaa  60m  ControllerRevision',
    ]);
    expect(renderRevisions(revisions, undefined, 120, NOW)[0]).toMatch(/^REVISION\s+DIGEST\s+OPERATION\s+CREATED\s+AGE\s+CONTENT IN$/);
    const output = historyOutput([], revisions);
    expect(output).toEqual({
      history: [],
      revisions: [
        { revision: 2, name: 'web-bbbbbbbbbb', digest: digest('b'), operationKey: '2-bbbbbbbbbb', created: '2026-11-29T11:00:00Z', contentIn: 'Secret' },
        { revision: 1, name: 'web-aaaaaaaaaa', digest: digest('a'), operationKey: '1-aaaaaaaaaa', created: '2026-11-29T11:00:00Z', contentIn: 'ControllerRevision' },
      ],
    });
    expect(JSON.stringify(output)).not.toContain('secret-ish');
    expect(historyOutput([], undefined)).toEqual({ history: [] });
  });
});

import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/constants.js';
import type { ConfigPush, RollbackStatus, RolloutStatus } from '../../src/api/types.js';
import { buildStatus, conditionsFor, type StatusInput } from '../../src/core/build-status.js';
import { contentDigest, type DesiredContent } from '../../src/core/content-digest.js';
import { renderTarget, type TargetObject } from '../../src/core/desired-target.js';
import { PermanentError } from '../../src/core/errors.js';
import { generationOfKey, isRollbackKey, operationKey, rollbackKey } from '../../src/core/operation-key.js';
import type { ResolvedStrategy, ResolvedTarget } from '../../src/core/resolve-spec.js';
import {
  holdsSecretContent,
  nextRevisionNumber,
  parsePayload,
  payloadOf,
  revisionName,
  revisionOfRollbackKey,
  revisionsToPrune,
  rollbackTarget,
  type RevisionRecord,
} from '../../src/core/revisions.js';
import { nextStep, type RolloutContext } from '../../src/core/rollout-plan.js';
import { planTarget, type PlanInput } from '../../src/core/target-plan.js';
import type { TargetOutcome } from '../../src/core/target-outcome.js';

const UID = '7d3c1c9e-0000-4000-8000-000000000001';
const content = (v: string): DesiredContent => ({ data: { version: v }, binaryData: {}, labels: {}, annotations: {} });
const D1 = contentDigest(content('1'));
const D2 = contentDigest(content('2'));
const D3 = contentDigest(content('3'));

const record = (revision: number, digest: string, name = `web-${revision}`): RevisionRecord => ({
  name,
  namespace: 'home',
  uid: `rev-uid-${revision}`,
  resourceVersion: String(100 + revision),
  revision,
  digest,
  operationKey: operationKey(UID, revision),
  contentSecret: false,
});

describe('rollbackKey', () => {
  it('is a function of (uid, generation, the revision rolled back to) only', () => {
    expect(rollbackKey(UID, 2, D1)).toBe(rollbackKey(UID, 2, D1));
    expect(rollbackKey(UID, 2, D1)).toMatch(/^2-r[0-9a-f]{10}$/);
    expect(new Set([rollbackKey(UID, 2, D1), rollbackKey(UID, 3, D1), rollbackKey(UID, 2, D3), rollbackKey('other', 2, D1)]).size).toBe(4);
  });

  it('is told apart from a generation own key, and carries its generation', () => {
    const key = rollbackKey(UID, 7, D1);
    expect(isRollbackKey(key)).toBe(true);
    expect(isRollbackKey(operationKey(UID, 7))).toBe(false);
    expect(isRollbackKey(undefined)).toBe(false);
    expect(generationOfKey(key)).toBe(7);
    expect(generationOfKey(operationKey(UID, 7))).toBe(7);
  });

  it('refuses what is not a uid, a generation or a digest', () => {
    expect(() => rollbackKey('', 1, D1)).toThrow(/uid/);
    expect(() => rollbackKey(UID, 0, D1)).toThrow(/generation/);
    expect(() => rollbackKey(UID, 1, 'not-a-digest')).toThrow(/digest/);
  });
});

describe('revisions', () => {
  it('names a revision after the push and its content: the same content, the same name; within 253 characters', () => {
    expect(revisionName('web', D1)).toBe(`web-${D1.slice('sha256:'.length, 'sha256:'.length + 10)}`);
    expect(revisionName('web', D1)).toBe(revisionName('web', D1));
    expect(revisionName('web', D2)).not.toBe(revisionName('web', D1));
    const long = revisionName(`${'a'.repeat(240)}.b-${'c'.repeat(20)}`, D1);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?-[0-9a-f]{10}$/);
    expect(revisionName(`${'a'.repeat(241)}-x`, D1)).not.toMatch(/--/);
  });

  it('keeps Secret-derived content out of the readable ControllerRevision', () => {
    expect(holdsSecretContent({ targets: [{ kind: 'ConfigMap', name: 'a' }] })).toBe(false);
    expect(holdsSecretContent({ targets: [{ kind: 'ConfigMap', name: 'a' }], sources: [{ configMapRef: { name: 's' } }] })).toBe(false);
    expect(holdsSecretContent({ targets: [{ kind: 'Secret', name: 'a' }] })).toBe(true);
    expect(holdsSecretContent({ targets: [{ kind: 'ConfigMap', name: 'a' }], sources: [{ secretRef: { name: 's' } }] })).toBe(true);
  });

  it('rolls back to the newest revision that is not the failing content', () => {
    const records = [record(1, D1), record(3, D3), record(2, D2)];
    expect(rollbackTarget(records, D3)?.revision).toBe(2);
    expect(rollbackTarget(records, D2)?.revision).toBe(3);
    expect(rollbackTarget([record(1, D1)], D1)).toBeUndefined();
    expect(rollbackTarget([], D1)).toBeUndefined();
  });

  it('finds the revision a rollback key was made for', () => {
    const records = [record(1, D1), record(2, D2)];
    expect(revisionOfRollbackKey(records, UID, 3, rollbackKey(UID, 3, D1))?.revision).toBe(1);
    expect(revisionOfRollbackKey(records, UID, 4, rollbackKey(UID, 3, D1))).toBeUndefined();
  });

  it('numbers revisions one above the highest kept', () => {
    expect(nextRevisionNumber([])).toBe(1);
    expect(nextRevisionNumber([record(4, D1), record(9, D2)])).toBe(10);
  });

  it('prunes the oldest beyond the limit, never one in use', () => {
    const records = [1, 2, 3, 4, 5].map((n) => record(n, contentDigest(content(String(n)))));
    expect(revisionsToPrune(records, 3).map((r) => r.revision)).toEqual([1, 2]);
    expect(revisionsToPrune(records, 3, new Set(['web-1'])).map((r) => r.revision)).toEqual([2]);
    expect(revisionsToPrune(records, 10)).toEqual([]);
  });

  it('stores the spec content fields, and the written content only when sources made it; parses them back strictly', () => {
    const payload = payloadOf({ targets: [], data: { version: '1' }, sources: [{ configMapRef: { name: 'base' } }] }, content('1'));
    expect(payload).toEqual({ spec: { data: { version: '1' }, sources: [{ configMapRef: { name: 'base' } }] }, content: content('1') });
    expect(parsePayload(JSON.stringify(payload))).toEqual(payload);
    // Without sources the content is the spec's own, canonical (base64 re-encoded as the apiserver stores it): not stored twice.
    const plain = payloadOf({ targets: [], data: { version: '1' }, binaryData: { b: 'YR==' } }, content('1'));
    expect(plain).toEqual({ spec: { data: { version: '1' }, binaryData: { b: 'YR==' } } });
    expect(parsePayload(JSON.stringify(plain)).content).toEqual({ data: { version: '1' }, binaryData: { b: 'YQ==' }, labels: {}, annotations: {} });
    expect(() => parsePayload('{"content":{}}')).toThrow(/spec, content/);
    expect(() => parsePayload('{"spec":{},"content":3}')).toThrow(/spec, content/);
    expect(() => parsePayload('{"spec":{"data":{"a":1}}}')).toThrow(/spec.data/);
    expect(() => parsePayload({ spec: {}, content: { data: { a: 1 }, binaryData: {}, labels: {}, annotations: {} } })).toThrow(/content.data/);
  });
});

describe('the planner and a rollback', () => {
  const ownership = (key: string, generation: number, c: DesiredContent) => ({ ownerUid: UID, owner: 'home/web', operationKey: key, generation, contentDigest: contentDigest(c) });
  const target = (key: string, generation: number, c: DesiredContent): TargetObject => {
    const rendered = renderTarget('ConfigMap', 'cfg', 'a', c, ownership(key, generation, c), undefined);
    return { ...rendered, metadata: { ...rendered.metadata, resourceVersion: '7' } };
  };
  const plan = (live: TargetObject | undefined, key: string, generation: number, c: DesiredContent, over: Partial<PlanInput> = {}) =>
    planTarget({ kind: 'ConfigMap', live, ownerUid: UID, generation, content: c, digest: contentDigest(c), adopt: false, driftPolicy: 'Correct', operationKey: key, ...over });

  const forward2 = operationKey(UID, 2);
  const back2 = rollbackKey(UID, 2, D1);

  it("the generation's own operation never writes over its rollback", () => {
    expect(plan(target(back2, 2, content('1')), forward2, 2, content('2'))).toEqual({ action: 'rolled-back', digest: D1 });
  });

  it('the rollback writes back a target the failed operation wrote, once', () => {
    expect(plan(target(forward2, 2, content('2')), back2, 2, content('1'))).toEqual({ action: 'update', reason: 'new-content' });
    expect(plan(target(back2, 2, content('1')), back2, 2, content('1'))).toEqual({ action: 'none' });
  });

  it('the rollback leaves a target the failed operation never reached, and creates none', () => {
    expect(plan(target(operationKey(UID, 1), 1, content('1')), back2, 2, content('1'))).toEqual({ action: 'none' });
    expect(plan(undefined, back2, 2, content('1'))).toEqual({ action: 'untouched' });
  });

  it('a new generation rolls out over an older rollback; a rollback never writes over a newer generation', () => {
    expect(plan(target(back2, 2, content('1')), operationKey(UID, 3), 3, content('3'))).toEqual({ action: 'update', reason: 'new-content' });
    expect(plan(target(operationKey(UID, 3), 3, content('3')), back2, 2, content('1'))).toEqual({ action: 'stale', liveGeneration: 3 });
  });

  it("without an operation key the planner decides as the generation's own operation: it never writes over a rollback either", () => {
    const input: PlanInput = { kind: 'ConfigMap', live: target(back2, 2, content('1')), ownerUid: UID, generation: 2, content: content('2'), digest: D2, adopt: false, driftPolicy: 'Correct' };
    expect(planTarget(input)).toEqual({ action: 'rolled-back', digest: D1 });
  });
});

describe('the rollout steps of a rollback', () => {
  const A: ResolvedTarget = { kind: 'ConfigMap', name: 'cfg', namespace: 'a' };
  const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
  const strategy: ResolvedStrategy = { pauseMs: 30_000, failurePolicy: 'Rollback', progressDeadlineMs: 60_000 };
  const context = (fastTrack: boolean): RolloutContext => ({ totalWaves: 3, strategy, restarts: true, previous: undefined, now: NOW, ...(fastTrack ? { fastTrack } : {}) });
  const applied: TargetOutcome = { target: A, state: 'Applied', operationKey: '2-0123456789', lastWrittenAt: new Date(NOW - 1_000).toISOString() };
  const conflict: TargetOutcome = { target: A, state: 'Conflict', owner: 'x', message: 'ConfigMap a/cfg is owned by x' };
  const web = { kind: 'Deployment' as const, namespace: 'a', name: 'web' };

  it('failurePolicy Rollback stops at a failed wave, as Halt does', () => {
    expect(nextStep({ wave: 1, outcomes: [conflict] }, context(false))).toMatchObject({ kind: 'halt', reason: 'Conflict' });
    expect(nextStep({ wave: 1, outcomes: [applied], workloads: { error: new PermanentError('Forbidden', 'no') } }, context(false))).toMatchObject({ kind: 'halt', reason: 'Forbidden' });
  });

  it('the rollback itself never stops at a failure', () => {
    expect(nextStep({ wave: 1, outcomes: [conflict], workloads: { pending: [] } }, context(true))).toEqual({ kind: 'next-wave' });
    expect(nextStep({ wave: 1, outcomes: [applied], workloads: { error: new PermanentError('Forbidden', 'no') } }, context(true))).toEqual({ kind: 'next-wave' });
  });

  it('the rollback restarts and waits for each wave, then goes on past the deadline, without pauses', () => {
    expect(nextStep({ wave: 1, outcomes: [applied] }, context(true))).toEqual({ kind: 'roll-workloads' });
    expect(nextStep({ wave: 1, outcomes: [applied], workloads: { pending: [web] } }, context(true))).toMatchObject({ kind: 'wait' });
    const late: TargetOutcome = { ...applied, lastWrittenAt: new Date(NOW - 120_000).toISOString() };
    expect(nextStep({ wave: 1, outcomes: [late], workloads: { pending: [web] } }, context(true))).toEqual({ kind: 'next-wave' });
    expect(nextStep({ wave: 1, outcomes: [applied], workloads: { pending: [] } }, context(false))).toEqual({ kind: 'peek-next-wave' });
    expect(nextStep({ wave: 1, outcomes: [applied], workloads: { pending: [] } }, context(true))).toEqual({ kind: 'next-wave' });
  });
});

describe('the status of a rollback', () => {
  const NOW = '2024-05-01T12:00:00Z';
  const A: ResolvedTarget = { kind: 'ConfigMap', name: 'cfg', namespace: 'a' };
  const back = rollbackKey(UID, 2, D1);
  const rollback: RollbackStatus = {
    revision: 1,
    operationKey: back,
    failedOperationKey: operationKey(UID, 2),
    failedWave: 3,
    reason: 'ProgressDeadlineExceeded',
    message: 'Deployment c/web did not roll out within 4s',
  };
  const push = (history = [{ key: operationKey(UID, 1), generation: 1, digest: D1, appliedAt: '2024-05-01T11:00:00Z', revision: 1 }]): ConfigPush => ({
    apiVersion: API_VERSION,
    kind: 'ConfigPush',
    metadata: { name: 'web', namespace: 'home', uid: UID, generation: 2, resourceVersion: '9' },
    spec: { targets: [] },
    status: { history },
  });
  const rolloutOf = (phase: RolloutStatus['phase']): RolloutStatus => ({ currentWave: 5, totalWaves: 5, phase, progress: '5/5 targets, wave 5/5', rollback });
  const input = (phase: RolloutStatus['phase'], over: Partial<StatusInput> = {}): StatusInput => ({
    push: push(),
    operationKey: back,
    digest: D1,
    outcomes: [{ target: A, state: 'Applied', operationKey: back, lastWrittenAt: NOW }],
    suspended: false,
    rollout: rolloutOf(phase),
    revision: 1,
    now: NOW,
    ...over,
  });
  const summary = (i: StatusInput) => conditionsFor(i, 1, 1).map((c) => `${c.type}=${c.status} ${c.reason}`);

  it('a finished rollback: Stalled, reason RolledBack, saying what failed and to which revision', () => {
    const conditions = conditionsFor(input('RolledBack'), 1, 1);
    expect(summary(input('RolledBack'))).toEqual(['Ready=False RolledBack', 'Reconciling=False RolledBack', 'Stalled=True RolledBack', 'Drifted=False NoDrift']);
    expect(conditions[0]?.message).toBe(
      `wave 3/5 failed (ProgressDeadlineExceeded): Deployment c/web did not roll out within 4s; rolled back to revision 1 (operation ${back})`,
    );
  });

  it('a rollback under way: Reconciling, reason RollingBack', () => {
    expect(summary(input('RollingBack'))).toEqual(['Ready=False RollingBack', 'Reconciling=True RollingBack', 'Stalled=False RollingBack', 'Drifted=False NoDrift']);
  });

  it('names targets it could not roll back', () => {
    const failed: TargetOutcome = { target: A, state: 'Failed', message: 'ConfigMap a/cfg: forbidden', error: new PermanentError('Forbidden', 'forbidden') };
    expect(conditionsFor(input('RolledBack', { outcomes: [failed] }), 0, 1)[0]?.message).toMatch(/; not rolled back: ConfigMap a\/cfg: forbidden$/);
  });

  it("history: the rollback's entry names the revision it returned to and the operation it undid", () => {
    const status = buildStatus(input('RolledBack'));
    expect(status.history?.[0]).toEqual({ key: back, generation: 2, digest: D1, appliedAt: NOW, revision: 1, rolledBack: operationKey(UID, 2) });
    expect(status.history?.[1]).toMatchObject({ generation: 1, revision: 1 });
  });

  it('history: an operation gets its revision once it completed', () => {
    const key2 = operationKey(UID, 2);
    const written = [{ target: A, state: 'Applied' as const, operationKey: key2, lastWrittenAt: NOW }];
    const during = buildStatus({ push: push(), operationKey: key2, digest: D2, outcomes: written, suspended: false, now: NOW });
    expect(during.history?.[0]).toEqual({ key: key2, generation: 2, digest: D2, appliedAt: NOW });
    const completed = buildStatus({ push: { ...push(), status: during }, operationKey: key2, digest: D2, outcomes: written, suspended: false, revision: 2, now: NOW });
    expect(completed.history?.[0]).toEqual({ key: key2, generation: 2, digest: D2, appliedAt: NOW, revision: 2 });
  });
});

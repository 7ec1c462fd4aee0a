import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/constants.js';
import type { Condition, ConfigPush, ConfigPushStatus, HistoryEntry, RolloutStatus } from '../../src/api/types.js';
import {
  HISTORY_LIMIT,
  TARGET_STATUS_LIMIT,
  buildStatus,
  conditionsFor,
  stoppedStatus,
  type StatusInput,
  type StoppedReport,
} from '../../src/core/build-status.js';
import { MAX_CONDITION_MESSAGE, type ConditionInput } from '../../src/core/conditions.js';
import { PermanentError, TransientError, type OperatorError } from '../../src/core/errors.js';
import { operationKey } from '../../src/core/operation-key.js';
import type { ResolvedTarget } from '../../src/core/resolve-spec.js';
import type { TargetOutcome } from '../../src/core/target-outcome.js';

const UID = '7d3c1c9e-0000-4000-8000-000000000001';
const GENERATION = 3;
const KEY = operationKey(UID, GENERATION);
const key = (generation: number) => operationKey(UID, generation);
const DIGEST = 'sha256:0123abcd';
const EARLIER = '2024-05-01T11:00:00Z';
const NOW = '2024-05-01T12:00:00Z';
const LATER = '2024-05-01T12:05:00Z';

const pushOf = (status?: ConfigPushStatus, generation = GENERATION): ConfigPush =>
  ({
    apiVersion: API_VERSION,
    kind: 'ConfigPush',
    metadata: { name: 'fleet', namespace: 'home', uid: UID, generation, resourceVersion: '42' },
    spec: { targets: [] },
    ...(status ? { status } : {}),
  }) as unknown as ConfigPush;

const cm = (namespace: string, name = 'cfg'): ResolvedTarget => ({ kind: 'ConfigMap', name, namespace });
const A = cm('a');
const B = cm('b');
const C = cm('c');

const applied = (target: ResolvedTarget, extra: Partial<TargetOutcome> = {}): TargetOutcome => ({
  target,
  state: 'Applied',
  operationKey: KEY,
  resourceVersion: '100',
  lastWrittenAt: EARLIER,
  ...extra,
});
/** An Applied outcome without one of its optional fields. */
const appliedWithout = (target: ResolvedTarget, field: 'lastWrittenAt' | 'operationKey', extra: Partial<TargetOutcome> = {}): TargetOutcome => {
  const outcome = applied(target, extra);
  delete outcome[field];
  return outcome;
};
const conflict = (target: ResolvedTarget): TargetOutcome => ({
  target,
  state: 'Conflict',
  owner: 'other/push',
  message: `ConfigMap ${target.namespace}/${target.name} is owned by other/push`,
});
const failed = (target: ResolvedTarget, error?: OperatorError, message?: string): TargetOutcome => ({
  target,
  state: 'Failed',
  ...(error ? { error } : {}),
  ...(message !== undefined ? { message } : {}),
});
const drifted = (target: ResolvedTarget): TargetOutcome => ({
  target,
  state: 'Drifted',
  operationKey: KEY,
  message: `ConfigMap ${target.namespace}/${target.name} differs from the desired content`,
});
const pending = (target: ResolvedTarget, message = 'waiting for wave 2 of 2'): TargetOutcome => ({ target, state: 'Pending', message });
const contended = (target: ResolvedTarget): TargetOutcome => ({
  target,
  state: 'Contended',
  retryAfterMs: 4_000,
  message: `ConfigMap ${target.namespace}/${target.name} keeps being changed by other-controller; next correction in 4s`,
});

const forbidden = (target: ResolvedTarget) => failed(target, new PermanentError('Forbidden', 'forbidden'), `ConfigMap ${target.namespace}/cfg: forbidden`);
const invalid = (target: ResolvedTarget) => failed(target, new PermanentError('Invalid', 'invalid'), `ConfigMap ${target.namespace}/cfg: invalid`);
const timedOut = (target: ResolvedTarget) => failed(target, new TransientError('ServerTimeout', 'timed out'), `ConfigMap ${target.namespace}/cfg: timed out`);

const inputOf = (overrides: Partial<StatusInput> = {}): StatusInput => ({
  push: pushOf(),
  operationKey: KEY,
  digest: DIGEST,
  outcomes: [applied(A), applied(B)],
  suspended: false,
  now: NOW,
  ...overrides,
});

const rollout = (phase: RolloutStatus['phase'], currentWave: number, totalWaves: number, extra: Partial<RolloutStatus> = {}): RolloutStatus => ({
  currentWave,
  totalWaves,
  phase,
  progress: `0/0 targets, wave ${currentWave}/${totalWaves}`,
  ...extra,
});

const prunePermanent: StoppedReport = { reason: 'PruneFailed', message: 'could not apply deletionPolicy Delete to ConfigMap z/cfg: forbidden', retrying: false };
const pruneRetrying: StoppedReport = { reason: 'PruneFailed', message: 'could not apply deletionPolicy Delete to ConfigMap z/cfg: timed out', retrying: true };

const conditionsOf = (input: StatusInput): ConditionInput[] => {
  const applied = input.outcomes.filter((o) => o.state === 'Applied').length;
  return conditionsFor(input, applied, input.outcomes.length);
};

type Summary = `${'True' | 'False'} ${string}`;

interface ConditionsRow {
  name: string;
  input: Partial<StatusInput>;
  /** "<status> <reason>" of Ready, Reconciling, Stalled, Drifted. */
  ready: Summary;
  reconciling: Summary;
  stalled: Summary;
  drifted?: Summary;
  /** Ready's exact message, or fragments it must contain. */
  message?: string | { contains: string[] };
}

const conditionRows: ConditionsRow[] = [
  // 1. A halted rollout.
  {
    name: 'a halted multi-wave rollout: reason from haltReason, the message names the wave and what failed',
    input: {
      outcomes: [applied(A), conflict(B), pending(C)],
      rollout: rollout('Halted', 2, 3, { failed: 'ConfigMap b/cfg', message: 'ConfigMap b/cfg is owned by other/push' }),
      haltReason: 'Conflict',
    },
    ready: 'False Conflict',
    reconciling: 'False Conflict',
    stalled: 'True Conflict',
    message: 'wave 2/3 halted at ConfigMap b/cfg: ConfigMap b/cfg is owned by other/push',
  },
  {
    name: 'a halted single-wave rollout: no wave prefix, reason from the error',
    input: { outcomes: [applied(A), forbidden(B)], rollout: rollout('Halted', 1, 1, { failed: 'ConfigMap b/cfg' }), haltReason: 'Forbidden' },
    ready: 'False Forbidden',
    reconciling: 'False Forbidden',
    stalled: 'True Forbidden',
    message: 'ConfigMap b/cfg: forbidden',
  },
  {
    name: 'a rollout halted by its workloads: the rollout message is the detail',
    input: {
      outcomes: [applied(A), pending(B)],
      rollout: rollout('Halted', 1, 2, { failed: 'Deployment a/web', message: 'Deployment a/web did not roll out within 60s' }),
      haltReason: 'ProgressDeadlineExceeded',
    },
    ready: 'False ProgressDeadlineExceeded',
    reconciling: 'False ProgressDeadlineExceeded',
    stalled: 'True ProgressDeadlineExceeded',
    message: 'wave 1/2 halted at Deployment a/web: Deployment a/web did not roll out within 60s',
  },
  {
    name: 'a halted rollout without a reason, a failed name or a message falls back',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Halted', 1, 2) },
    ready: 'False RolloutHalted',
    reconciling: 'False RolloutHalted',
    stalled: 'True RolloutHalted',
    message: 'wave 1/2 halted at a target: the rollout halted',
  },
  {
    name: 'a halted rollout wins over suspension, a transient error and a failed prune',
    input: {
      outcomes: [applied(A), conflict(B)],
      rollout: rollout('Halted', 1, 1),
      haltReason: 'Conflict',
      suspended: true,
      transientError: 'the server timed out',
      pruneFailure: pruneRetrying,
    },
    ready: 'False Conflict',
    reconciling: 'False Conflict',
    stalled: 'True Conflict',
  },

  // 2. Waiting and Paused.
  {
    name: 'a rollout waiting for its workloads is progressing',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Waiting', 1, 2, { message: 'waiting for Deployment a/web to roll out' }) },
    ready: 'False Progressing',
    reconciling: 'True Progressing',
    stalled: 'False Progressing',
    message: 'wave 1/2: waiting for Deployment a/web to roll out',
  },
  {
    name: 'a waiting rollout without a message names its phase',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Waiting', 1, 2) },
    ready: 'False Progressing',
    reconciling: 'True Progressing',
    stalled: 'False Progressing',
    message: 'wave 1/2: Waiting',
  },
  {
    name: 'a paused rollout',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Paused', 2, 3, { message: 'pausing 30s before wave 2' }) },
    ready: 'False Paused',
    reconciling: 'True Paused',
    stalled: 'False Paused',
    message: 'wave 2/3: pausing 30s before wave 2',
  },
  {
    name: 'a waiting rollout wins over a conflict (under Continue) and drift',
    input: { outcomes: [conflict(A), drifted(B), pending(C)], rollout: rollout('Waiting', 2, 3, { message: 'waiting' }) },
    ready: 'False Progressing',
    reconciling: 'True Progressing',
    stalled: 'False Progressing',
    drifted: 'True DriftDetected',
  },
  {
    name: 'a transient error wins over a waiting rollout',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Waiting', 1, 2, { message: 'waiting' }), transientError: 'the server timed out' },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    message: 'the server timed out',
  },
  {
    name: 'suspension wins over a paused rollout',
    input: { outcomes: [applied(A), pending(B)], rollout: rollout('Paused', 2, 2, { message: 'pausing' }), suspended: true },
    ready: 'False Suspended',
    reconciling: 'False Suspended',
    stalled: 'False Suspended',
  },

  // 3. Suspended.
  {
    name: 'suspended with every target at the desired content: Ready',
    input: { suspended: true, outcomes: [applied(A), applied(B)], rollout: rollout('Suspended', 1, 1) },
    ready: 'True Suspended',
    reconciling: 'False Suspended',
    stalled: 'False Suspended',
    message: 'reconciliation is suspended; 2/2 targets at the desired content',
  },
  {
    name: 'suspended with targets behind: not Ready',
    input: { suspended: true, outcomes: [applied(A), { target: B, state: 'Suspended' }] },
    ready: 'False Suspended',
    reconciling: 'False Suspended',
    stalled: 'False Suspended',
    message: 'reconciliation is suspended; 1/2 targets at the desired content',
  },
  {
    name: 'suspension wins over conflicts, failures and drift',
    input: { suspended: true, outcomes: [conflict(A), forbidden(B), drifted(C)] },
    ready: 'False Suspended',
    reconciling: 'False Suspended',
    stalled: 'False Suspended',
    drifted: 'True DriftDetected',
    message: 'reconciliation is suspended; 0/3 targets at the desired content',
  },

  // 4. Conflicts.
  {
    name: 'conflicts stall, naming every conflicting target',
    input: { outcomes: [conflict(A), applied(B), conflict(C)] },
    ready: 'False Conflict',
    reconciling: 'False Conflict',
    stalled: 'True Conflict',
    message: 'ConfigMap a/cfg is owned by other/push; ConfigMap c/cfg is owned by other/push',
  },
  {
    name: 'a conflict wins over a permanent failure',
    input: { outcomes: [forbidden(A), conflict(B)] },
    ready: 'False Conflict',
    reconciling: 'False Conflict',
    stalled: 'True Conflict',
    message: 'ConfigMap b/cfg is owned by other/push',
  },
  {
    name: 'a conflict wins over a failed prune',
    input: { outcomes: [applied(A), conflict(B)], pruneFailure: pruneRetrying },
    ready: 'False Conflict',
    reconciling: 'False Conflict',
    stalled: 'True Conflict',
  },

  // 5. Permanent failures.
  {
    name: "a permanent failure stalls with the first error's reason, naming every permanent failure",
    input: { outcomes: [applied(A), forbidden(B), invalid(C)] },
    ready: 'False Forbidden',
    reconciling: 'False Forbidden',
    stalled: 'True Forbidden',
    message: 'ConfigMap b/cfg: forbidden; ConfigMap c/cfg: invalid',
  },
  {
    name: 'a permanent failure wins over a transient one',
    input: { outcomes: [timedOut(A), invalid(B)], transientError: 'the server timed out' },
    ready: 'False Invalid',
    reconciling: 'False Invalid',
    stalled: 'True Invalid',
    message: 'ConfigMap b/cfg: invalid',
  },

  // 6. Transient failures.
  {
    name: 'a transiently failed target retries, named in the message',
    input: { outcomes: [applied(A), timedOut(B)] },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    message: 'ConfigMap b/cfg: timed out',
  },
  {
    name: 'a failed target without an error or message retries, described by its state',
    input: { outcomes: [applied(A), failed(B)] },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    message: 'ConfigMap b/cfg: Failed',
  },
  {
    name: 'a transientError alone retries with it as the message',
    input: { outcomes: [applied(A), pending(B)], transientError: 'rolling workloads failed: the server timed out' },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    message: 'rolling workloads failed: the server timed out',
  },
  {
    name: 'failed targets are named rather than the transientError',
    input: { outcomes: [timedOut(A)], transientError: 'something else' },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    message: 'ConfigMap a/cfg: timed out',
  },
  {
    name: 'a transient failure wins over a failed prune',
    input: { outcomes: [timedOut(A)], pruneFailure: prunePermanent },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
  },
  {
    name: 'a transient failure wins over drift, which the Drifted condition still reports',
    input: { outcomes: [timedOut(A), drifted(B)] },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    drifted: 'True DriftDetected',
  },

  // 6b. A writer fighting the operator over a target.
  {
    name: 'a contended target: not Ready, still reconciling (the corrections back off), naming the other writer',
    input: { outcomes: [applied(A), contended(B)] },
    ready: 'False Contended',
    reconciling: 'True Contended',
    stalled: 'False Contended',
    drifted: 'True DriftDetected',
    message: { contains: ['ConfigMap b/cfg', 'other-controller'] },
  },
  {
    name: 'a transient failure wins over a contended target',
    input: { outcomes: [timedOut(A), contended(B)] },
    ready: 'False RetryingAfterError',
    reconciling: 'True RetryingAfterError',
    stalled: 'False RetryingAfterError',
    drifted: 'True DriftDetected',
  },
  {
    name: 'a contended target wins over a failed prune and drift',
    input: { outcomes: [contended(A), drifted(B)], pruneFailure: prunePermanent },
    ready: 'False Contended',
    reconciling: 'True Contended',
    stalled: 'False Contended',
    drifted: 'True DriftDetected',
  },

  // 7. A failed prune.
  {
    name: 'a failed prune that retries: Reconciling with its reason',
    input: { pruneFailure: pruneRetrying },
    ready: 'False PruneFailed',
    reconciling: 'True PruneFailed',
    stalled: 'False PruneFailed',
    message: pruneRetrying.message,
  },
  {
    name: 'a failed prune that does not retry: Stalled with its reason',
    input: { pruneFailure: prunePermanent },
    ready: 'False PruneFailed',
    reconciling: 'False PruneFailed',
    stalled: 'True PruneFailed',
    message: prunePermanent.message,
  },
  {
    name: 'a failed prune wins over drift',
    input: { outcomes: [applied(A), drifted(B)], pruneFailure: prunePermanent },
    ready: 'False PruneFailed',
    reconciling: 'False PruneFailed',
    stalled: 'True PruneFailed',
    drifted: 'True DriftDetected',
  },

  // 8. Drift.
  {
    name: 'drifted targets: not Ready, Drifted names them',
    input: { outcomes: [applied(A), drifted(B), drifted(C)] },
    ready: 'False Drifted',
    reconciling: 'False Drifted',
    stalled: 'False Drifted',
    drifted: 'True DriftDetected',
    message: 'ConfigMap b/cfg differs from the desired content; ConfigMap c/cfg differs from the desired content',
  },

  // 9. Ready.
  {
    name: 'every target applied: Ready, naming the operation and the count',
    input: { outcomes: [applied(A), applied(B)] },
    ready: 'True Applied',
    reconciling: 'False Applied',
    stalled: 'False Applied',
    message: `operation ${KEY} applied to 2 targets`,
  },
  {
    name: 'one target applied: singular',
    input: { outcomes: [applied(A)] },
    ready: 'True Applied',
    reconciling: 'False Applied',
    stalled: 'False Applied',
    message: `operation ${KEY} applied to 1 target`,
  },
  {
    name: 'a complete multi-wave rollout is Ready',
    input: { outcomes: [applied(A), applied(B)], rollout: rollout('Complete', 2, 2) },
    ready: 'True Applied',
    reconciling: 'False Applied',
    stalled: 'False Applied',
    message: { contains: [KEY, '2 targets'] },
  },
];

describe('conditionsFor', () => {
  it.each(conditionRows)('$name', ({ input, ready, reconciling, stalled, drifted, message }) => {
    const conditions = conditionsOf(inputOf(input));
    expect(conditions.map((c) => c.type)).toStrictEqual(['Ready', 'Reconciling', 'Stalled', 'Drifted']);
    const summary = conditions.map((c) => `${c.status} ${c.reason}`);
    expect(summary).toStrictEqual([ready, reconciling, stalled, drifted ?? 'False NoDrift']);
    const readyMessage = conditions[0]!.message;
    if (typeof message === 'string') expect(readyMessage).toBe(message);
    else for (const fragment of message?.contains ?? []) expect(readyMessage).toContain(fragment);
    // Every condition says something.
    for (const c of conditions) expect(c.message).not.toBe('');
  });

  it.each<[string, Summary]>([
    ['Ready', 'True Applied'],
    ['Reconciling', 'False Applied'],
    ['Stalled', 'False Applied'],
    ['Drifted', 'False NoDrift'],
  ])('all applied: %s is %s', (type, expected) => {
    const c = conditionsOf(inputOf()).find((x) => x.type === type)!;
    expect(`${c.status} ${c.reason}`).toBe(expected);
  });

  it('the Drifted condition names the drifted targets and says none when there are none', () => {
    const withDrift = conditionsOf(inputOf({ outcomes: [applied(A), drifted(B)] })).find((c) => c.type === 'Drifted')!;
    expect(withDrift.message).toBe('ConfigMap b/cfg differs from the desired content');
    const clean = conditionsOf(inputOf()).find((c) => c.type === 'Drifted')!;
    expect(clean.message).toBe('targets match the desired content');
  });

  it('retrying and waiting conditions say why on Reconciling and Stalled', () => {
    const retrying = conditionsOf(inputOf({ outcomes: [timedOut(A)] }));
    expect(retrying[1]!.message).toBe('retrying with backoff');
    expect(retrying[2]!.message).toBe('not stalled');
    const stalled = conditionsOf(inputOf({ outcomes: [conflict(A)] }));
    expect(stalled[1]!.message).toBe('waiting for a change to the spec or the targets');
    expect(stalled[2]!.message).toBe(stalled[0]!.message);
    const ready = conditionsOf(inputOf());
    expect(ready[1]!.message).toBe('no work in progress');
  });
});

describe('buildStatus', () => {
  it('reports the generation, operation, digest, summary, targets and rollout', () => {
    const r = rollout('Complete', 2, 2, { progress: '2/3 targets, wave 2/2' });
    const status = buildStatus(inputOf({ outcomes: [applied(A), conflict(B), applied(C, { message: 'unchanged' })], rollout: r }));
    expect(status.observedGeneration).toBe(GENERATION);
    expect(status.operationKey).toBe(KEY);
    expect(status.contentDigest).toBe(DIGEST);
    expect(status.targetSummary).toBe('2/3');
    expect(status.rollout).toStrictEqual(r);
    expect(status.targets).toStrictEqual([
      { kind: 'ConfigMap', name: 'cfg', namespace: 'a', state: 'Applied', resourceVersion: '100', operationKey: KEY },
      { kind: 'ConfigMap', name: 'cfg', namespace: 'b', state: 'Conflict', owner: 'other/push', message: 'ConfigMap b/cfg is owned by other/push' },
      // An Applied target's message is not reported.
      { kind: 'ConfigMap', name: 'cfg', namespace: 'c', state: 'Applied', resourceVersion: '100', operationKey: KEY },
    ]);
    expect(status.conditions?.every((c) => c.observedGeneration === GENERATION)).toBe(true);
  });

  it('omits rollout when there is none', () => {
    expect('rollout' in buildStatus(inputOf())).toBe(false);
  });

  it.each<[string, number | undefined, TargetOutcome[], number]>([
    ['no previous count, none corrected', undefined, [applied(A)], 0],
    ['no previous count, two corrected', undefined, [applied(A, { driftCorrected: true }), applied(B, { driftCorrected: true })], 2],
    ['a previous count, one corrected', 4, [applied(A, { driftCorrected: true }), applied(B)], 5],
    ['a previous count, none corrected', 4, [applied(A), drifted(B)], 4],
  ])('driftCorrections: %s', (_name, previousCount, outcomes, expected) => {
    const push = pushOf(previousCount === undefined ? undefined : { driftCorrections: previousCount });
    expect(buildStatus(inputOf({ push, outcomes })).driftCorrections).toBe(expected);
  });

  const entry = (generation: number, appliedAt = EARLIER, digest = 'sha256:old'): HistoryEntry => ({ key: key(generation), generation, digest, appliedAt });

  it.each<[string, HistoryEntry[] | undefined, TargetOutcome[], HistoryEntry[]]>([
    ['an Applied outcome becomes an entry at its write time', undefined, [applied(A, { lastWrittenAt: EARLIER })], [{ key: KEY, generation: 3, digest: DIGEST, appliedAt: EARLIER }]],
    ['without a write time the entry is stamped now', undefined, [appliedWithout(A, 'lastWrittenAt')], [{ key: KEY, generation: 3, digest: DIGEST, appliedAt: NOW }]],
    [
      'targets sharing a key make one entry, at the first write time found',
      undefined,
      [applied(A, { lastWrittenAt: EARLIER }), applied(B, { lastWrittenAt: LATER })],
      [{ key: KEY, generation: 3, digest: DIGEST, appliedAt: EARLIER }],
    ],
    ['a key already in the history is not added again', [entry(3, '2024-01-01T00:00:00Z')], [applied(A, { lastWrittenAt: LATER })], [entry(3, '2024-01-01T00:00:00Z')]],
    ['only Applied outcomes count', undefined, [drifted(A), { ...conflict(B), operationKey: KEY }, { ...failed(C), operationKey: KEY }], []],
    ['an Applied outcome without a key adds nothing', undefined, [appliedWithout(A, 'operationKey')], []],
    ['a key that is not one of ours is ignored', undefined, [applied(A, { operationKey: 'hand-written' })], []],
    [
      'keys of several generations, newest first',
      [entry(1)],
      [applied(A, { operationKey: key(2), lastWrittenAt: EARLIER }), applied(B, { operationKey: key(3), lastWrittenAt: NOW })],
      [
        { key: key(3), generation: 3, digest: DIGEST, appliedAt: NOW },
        { key: key(2), generation: 2, digest: DIGEST, appliedAt: EARLIER },
        entry(1),
      ],
    ],
    ['an older key goes below newer history', [entry(5)], [applied(A, { operationKey: key(4) })], [entry(5), { key: key(4), generation: 4, digest: DIGEST, appliedAt: EARLIER }]],
    ['the previous history is sorted newest first', [entry(2), entry(7), entry(4)], [], [entry(7), entry(4), entry(2)]],
  ])('history: %s', (_name, previous, outcomes, expected) => {
    const push = pushOf(previous ? { history: previous } : undefined);
    expect(buildStatus(inputOf({ push, outcomes })).history).toStrictEqual(expected);
  });

  it(`history keeps the newest ${HISTORY_LIMIT} entries`, () => {
    const previous = Array.from({ length: HISTORY_LIMIT }, (_, i) => entry(i + 1));
    const history = buildStatus(inputOf({ push: pushOf({ history: previous }, 11), outcomes: [applied(A, { operationKey: key(11) })] })).history!;
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.map((h) => h.generation)).toStrictEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
  });

  it(`targets are bounded to ${TARGET_STATUS_LIMIT}, problems first`, () => {
    const outcomes = [...Array.from({ length: TARGET_STATUS_LIMIT }, (_, i) => applied(cm(`ns-${i}`))), conflict(cm('zz'))];
    const status = buildStatus(inputOf({ outcomes }));
    expect(status.targets).toHaveLength(TARGET_STATUS_LIMIT);
    expect(status.targets![0]).toMatchObject({ namespace: 'zz', state: 'Conflict' });
    expect(status.targetSummary).toBe(`${TARGET_STATUS_LIMIT}/${TARGET_STATUS_LIMIT + 1}`);
  });

  it('clips a long condition message', () => {
    const outcomes = Array.from({ length: 2_000 }, (_, i) => conflict(cm(`namespace-${i}`)));
    const ready = buildStatus(inputOf({ outcomes })).conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(ready.message).toMatch(/characters in all\)$/);
  });

  const condition = (type: string, status: Condition['status'], at: string): Condition => ({ type, status, reason: 'Whatever', message: 'old', observedGeneration: 2, lastTransitionTime: at });

  // Reconciling, Stalled and Drifted are written only while True (core/conditions.ts ABNORMAL_TRUE).
  it.each<[string, Condition[], Partial<StatusInput>, Record<string, string>]>([
    ['nothing flips: Ready keeps its time, no False condition is written', [condition('Ready', 'True', EARLIER)], {}, { Ready: EARLIER }],
    ['Ready flips and Stalled appears on a conflict', [condition('Ready', 'True', EARLIER)], { outcomes: [conflict(A)] }, { Ready: NOW, Stalled: NOW }],
    ['Ready flips and Reconciling appears on a transient failure', [condition('Ready', 'True', EARLIER)], { outcomes: [timedOut(A)] }, { Ready: NOW, Reconciling: NOW }],
    ['Ready flips and Drifted appears on drift', [condition('Ready', 'True', EARLIER)], { outcomes: [drifted(A)] }, { Ready: NOW, Drifted: NOW }],
    ['a Stalled that stays True keeps its time', [condition('Ready', 'False', EARLIER), condition('Stalled', 'True', EARLIER)], { outcomes: [conflict(A)] }, { Ready: EARLIER, Stalled: EARLIER }],
    ['a Stalled that turns False is removed', [condition('Ready', 'False', EARLIER), condition('Stalled', 'True', EARLIER)], {}, { Ready: NOW }],
    [
      "an earlier version's False conditions are not carried on",
      [condition('Ready', 'True', EARLIER), condition('Reconciling', 'False', EARLIER), condition('Stalled', 'False', EARLIER), condition('Drifted', 'False', EARLIER)],
      {},
      { Ready: EARLIER },
    ],
    ['a condition False before and True now is new', [condition('Ready', 'True', EARLIER), condition('Drifted', 'False', EARLIER)], { outcomes: [drifted(A)] }, { Ready: NOW, Drifted: NOW }],
  ])('lastTransitionTime: %s', (_name, previous, overrides, expected) => {
    const push = pushOf({ conditions: previous });
    const conditions = buildStatus(inputOf({ push, ...overrides })).conditions!;
    expect(Object.fromEntries(conditions.map((c) => [c.type, c.lastTransitionTime]))).toStrictEqual(expected);
    // The reason, message and generation are always the new ones.
    expect(conditions.every((c) => c.observedGeneration === GENERATION && c.message !== 'old' && c.reason !== 'Whatever')).toBe(true);
    // Present means True, except Ready.
    expect(conditions.filter((c) => c.type !== 'Ready').every((c) => c.status === 'True')).toBe(true);
  });

  it('a condition with no previous counterpart starts now', () => {
    const conditions = buildStatus(inputOf({ outcomes: [conflict(A)] })).conditions!;
    expect(conditions.map((c) => [c.type, c.lastTransitionTime])).toStrictEqual([
      ['Ready', NOW],
      ['Stalled', NOW],
    ]);
  });

  it.each<[string, Partial<StatusInput>]>([
    ['all applied', {}],
    ['applied without write times', { outcomes: [appliedWithout(A, 'lastWrittenAt'), applied(B, { operationKey: key(2) })] }],
    ['a conflict and a permanent failure', { outcomes: [applied(A), conflict(B), forbidden(C)] }],
    ['drifted', { outcomes: [applied(A), drifted(B)] }],
    ['a paused rollout', { outcomes: [applied(A), pending(B)], rollout: rollout('Paused', 2, 2, { message: 'pausing 30s before wave 2', lastWaveCompletedAt: EARLIER }) }],
    ['a failed prune', { pruneFailure: pruneRetrying }],
    ['suspended', { suspended: true }],
  ])('building the status again from the same input changes nothing: %s', (_name, overrides) => {
    const first = buildStatus(inputOf({ ...overrides, push: pushOf({ driftCorrections: 2, history: [entry(1)] }) }));
    const again = buildStatus(inputOf({ ...overrides, push: pushOf(first), now: LATER }));
    expect(again).toStrictEqual(first);
  });
});

describe('stoppedStatus', () => {
  const previous: ConfigPushStatus = {
    observedGeneration: 2,
    operationKey: key(2),
    contentDigest: 'sha256:previous',
    targetSummary: '2/2',
    driftCorrections: 1,
    history: [{ key: key(2), generation: 2, digest: 'sha256:previous', appliedAt: EARLIER }],
    targets: [{ kind: 'ConfigMap', name: 'cfg', namespace: 'a', state: 'Applied', operationKey: key(2) }],
    rollout: rollout('Complete', 1, 1),
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Applied', message: 'ok', observedGeneration: 2, lastTransitionTime: EARLIER },
      { type: 'Reconciling', status: 'False', reason: 'Applied', message: 'no work in progress', observedGeneration: 2, lastTransitionTime: EARLIER },
      { type: 'Stalled', status: 'False', reason: 'Applied', message: 'not stalled', observedGeneration: 2, lastTransitionTime: EARLIER },
    ],
  };
  const invalidSpec: StoppedReport = { reason: 'InvalidSpec', message: 'spec.targets must list at least one target', retrying: false };
  const unreachable: StoppedReport = { reason: 'ServerTimeout', message: 'listing namespaces timed out', retrying: true };

  it.each<[string, StoppedReport, string | undefined, Record<string, string>]>([
    ['not retrying, no key', invalidSpec, undefined, { Ready: 'False InvalidSpec', Stalled: 'True InvalidSpec' }],
    ['not retrying, with a key', invalidSpec, KEY, { Ready: 'False InvalidSpec', Stalled: 'True InvalidSpec' }],
    ['retrying, no key', unreachable, undefined, { Ready: 'False ServerTimeout', Reconciling: 'True ServerTimeout' }],
    ['retrying, with a key', unreachable, KEY, { Ready: 'False ServerTimeout', Reconciling: 'True ServerTimeout' }],
  ])('%s', (_name, report, givenKey, expected) => {
    const status = stoppedStatus(pushOf(previous), report, NOW, givenKey);
    expect(status.observedGeneration).toBe(GENERATION);
    if (givenKey === undefined) expect('operationKey' in status).toBe(false);
    else expect(status.operationKey).toBe(givenKey);
    expect('contentDigest' in status).toBe(false);
    // What describes the targets stays as the last reconcile found it.
    expect(status.targets).toStrictEqual(previous.targets);
    expect(status.history).toStrictEqual(previous.history);
    expect(status.targetSummary).toBe(previous.targetSummary);
    expect(status.driftCorrections).toBe(previous.driftCorrections);
    expect(status.rollout).toStrictEqual(previous.rollout);

    const conditions = status.conditions!;
    expect(Object.fromEntries(conditions.map((c) => [c.type, `${c.status} ${c.reason}`]))).toStrictEqual(expected);
    const ready = conditions.find((c) => c.type === 'Ready')!;
    expect(ready.message).toBe(report.message);
    expect(ready.lastTransitionTime).toBe(NOW); // True -> False
    expect(conditions.every((c) => c.observedGeneration === GENERATION)).toBe(true);
    // The previous status's False Reconciling and Stalled are not carried on: absent reads as False.
    expect(conditions.some((c) => c.status === 'False' && c.type !== 'Ready')).toBe(false);
    const flipped = conditions.find((c) => c.status === 'True')!;
    expect(flipped.lastTransitionTime).toBe(NOW);
    if (report.retrying) expect(conditions.find((c) => c.type === 'Reconciling')!.message).toBe('retrying with backoff');
    else expect(conditions.find((c) => c.type === 'Stalled')!.message).toBe(report.message);
  });

  it('works on a push without a status', () => {
    const status = stoppedStatus(pushOf(undefined, 1), invalidSpec, NOW);
    expect(status).toStrictEqual({
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: invalidSpec.message, observedGeneration: 1, lastTransitionTime: NOW },
        { type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: invalidSpec.message, observedGeneration: 1, lastTransitionTime: NOW },
      ],
    });
  });

  it('stopping again for the same reason changes nothing', () => {
    const first = stoppedStatus(pushOf(previous), unreachable, NOW, KEY);
    expect(stoppedStatus(pushOf(first), unreachable, LATER, KEY)).toStrictEqual(first);
  });
});

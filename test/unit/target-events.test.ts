import { describe, expect, it } from 'vitest';
import type { ResolvedTarget } from '../../src/core/resolve-spec.js';
import type { TargetOutcome } from '../../src/core/target-outcome.js';
import { NAMED_TARGETS, WARNINGS_PER_REASON, namedTargets, targetEvents } from '../../src/core/target-events.js';

const KEY = '3-0123456789';
const cm = (namespace: string): ResolvedTarget => ({ kind: 'ConfigMap', name: 'cfg', namespace });
const namespaces = (n: number) => Array.from({ length: n }, (_, i) => `ns-${i}`);

const written = (namespace: string): TargetOutcome => ({ target: cm(namespace), state: 'Applied', wrote: 'created' });
const corrected = (namespace: string): TargetOutcome => ({ target: cm(namespace), state: 'Applied', wrote: 'updated', driftCorrected: true });
const refused = (namespace: string): TargetOutcome => ({
  target: cm(namespace),
  state: 'Failed',
  message: `ConfigMap ${namespace}/cfg: namespace ${namespace} does not accept ConfigPushes from home`,
});

describe('targetEvents', () => {
  it('names every target written under the key in one Applied Event, once, and makes none for an unchanged target', () => {
    const events = targetEvents(KEY, [written('a'), written('b'), { target: cm('c'), state: 'Applied' }]);
    expect(events).toEqual([{ type: 'Normal', reason: 'Applied', message: `operation ${KEY} applied to ConfigMap a/cfg, ConfigMap b/cfg`, once: true }]);
    expect(targetEvents(KEY, [{ target: cm('c'), state: 'Applied' }])).toEqual([]);
  });

  it('reports drift corrections apart from the operation, and they may repeat', () => {
    expect(targetEvents(KEY, [written('a'), corrected('b')])).toEqual([
      { type: 'Normal', reason: 'Applied', message: `operation ${KEY} applied to ConfigMap a/cfg`, once: true },
      { type: 'Normal', reason: 'DriftCorrected', message: 'restored desired content of ConfigMap b/cfg' },
    ]);
  });

  it('gives each of a few failing targets a Warning of its own, with its own message', () => {
    const outcomes = [
      refused('a'),
      { target: cm('b'), state: 'Conflict', message: 'ConfigMap b/cfg is owned by ConfigPush home/other' },
      { target: cm('c'), state: 'Contended', message: 'ConfigMap c/cfg is being written back by kubectl' },
      ...namespaces(WARNINGS_PER_REASON - 1).map((ns) => refused(`x-${ns}`)),
    ] satisfies TargetOutcome[];
    const events = targetEvents(KEY, outcomes);
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'Contended'],
      ['Warning', 'Conflict'],
      ...Array.from({ length: WARNINGS_PER_REASON }, () => ['Warning', 'Failed']),
    ]);
    expect(events.filter((e) => e.reason === 'Failed').map((e) => e.message)).toEqual(
      [refused('a'), ...namespaces(WARNINGS_PER_REASON - 1).map((ns) => refused(`x-${ns}`))].map((o) => o.message),
    );
  });

  it('sums up more failing targets than that in one Warning that counts them and quotes the first three', () => {
    const outcomes = namespaces(5000).map(refused);
    const events = targetEvents(KEY, outcomes);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({ type: 'Warning', reason: 'Failed' });
    expect(event?.message).toBe(
      `5000 targets failed: ${outcomes
        .slice(0, 3)
        .map((o) => o.message)
        .join('; ')}; and 4997 more (the ConfigPush's status lists them)`,
    );
    // The same failures give the same message on the next resync: the recorder folds it into one series.
    expect(targetEvents(KEY, namespaces(5000).map(refused))).toEqual(events);
  });

  it('sums up each reason on its own: the threshold is per reason', () => {
    const many = namespaces(WARNINGS_PER_REASON + 1);
    const outcomes: TargetOutcome[] = [
      ...many.map((ns) => ({ target: cm(ns), state: 'Conflict' as const, message: `ConfigMap ${ns}/cfg is owned by someone else` })),
      refused('only'),
    ];
    const events = targetEvents(KEY, outcomes);
    expect(events.map((e) => e.reason)).toEqual(['Conflict', 'Failed']);
    expect(events[0]?.message).toMatch(new RegExp(`^${many.length} targets are owned by someone else: `));
    expect(events[1]?.message).toBe(refused('only').message);
  });

  it('names at most NAMED_TARGETS targets in an Applied Event of a large fan-out, and counts the rest', () => {
    const [event] = targetEvents(KEY, namespaces(5000).map(written));
    const named = namespaces(NAMED_TARGETS).map((ns) => `ConfigMap ${ns}/cfg`);
    expect(event?.message).toBe(`operation ${KEY} applied to 5000 targets: ${named.join(', ')} and ${5000 - NAMED_TARGETS} more`);
    expect(Buffer.byteLength(event?.message ?? '')).toBeLessThan(1024);
  });
});

describe('namedTargets', () => {
  it('lists up to NAMED_TARGETS targets in full, in order', () => {
    const outcomes = namespaces(NAMED_TARGETS).map(written);
    expect(namedTargets(outcomes)).toBe(namespaces(NAMED_TARGETS).map((ns) => `ConfigMap ${ns}/cfg`).join(', '));
    expect(namedTargets(namespaces(NAMED_TARGETS + 1).map(written))).toMatch(new RegExp(`^${NAMED_TARGETS + 1} targets: .* and 1 more$`));
  });
});

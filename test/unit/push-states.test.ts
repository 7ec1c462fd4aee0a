import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROLLOUT_PHASES, type ConfigPushStatus } from '../../src/api/types.js';
import { CONDITION } from '../../src/core/conditions.js';
import { createMetrics } from '../../src/operator/metrics.js';
import { CONDITION_REASONS, NO_PHASE, OTHER, boundedReason, countPushStates } from '../../src/core/push-states.js';

const root = new URL('../..', import.meta.url).pathname;

const condition = (type: string, status: string, reason: string) => ({ type, status, reason, message: 'm', lastTransitionTime: '2024-05-01T12:00:00Z', observedGeneration: 1 });
const push = (status?: unknown) => ({ status: status as ConfigPushStatus });
const ready = push({ conditions: [condition('Ready', 'True', 'Applied'), condition('Stalled', 'False', 'Applied')], rollout: { phase: 'Complete' } });
const stalled = push({ conditions: [condition('Ready', 'False', 'Conflict'), condition('Stalled', 'True', 'Conflict')], rollout: { phase: 'Halted' } });

/** The counts as "type/status/reason=n" strings, sorted, for readable expectations. */
function conditionCounts(pushes: ReturnType<typeof push>[]): string[] {
  return countPushStates(pushes)
    .conditions.map((c) => `${c.type}/${c.status}/${c.reason}=${c.count}`)
    .sort();
}

describe('countPushStates', () => {
  it('counts pushes by condition type, status and reason, and by rollout phase', () => {
    const counts = countPushStates([ready, ready, stalled, push()]);
    expect(conditionCounts([ready, ready, stalled, push()])).toEqual([
      'Ready/False/Conflict=1',
      'Ready/True/Applied=2',
      'Stalled/False/Applied=2',
      'Stalled/True/Conflict=1',
    ]);
    expect(Object.fromEntries(counts.phases)).toEqual({ Complete: 2, Halted: 1, [NO_PHASE]: 1 });
  });

  it('bounds every label: unknown reasons are Other, unknown types are skipped, bad statuses are Unknown, bad phases are Other', () => {
    const hostile = push({
      conditions: [
        condition('Ready', 'False', 'secret-value-in-a-reason'),
        condition('MadeUp', 'True', 'Applied'),
        condition('Stalled', 'Maybe', 'Conflict'),
        condition('Ready', 'True', 'Applied'), // a second Ready: the first one counts
        null,
        'not an object',
      ],
      rollout: { phase: 'Exploded' },
    });
    expect(conditionCounts([hostile])).toEqual([`Ready/False/${OTHER}=1`, 'Stalled/Unknown/Conflict=1']);
    expect(Object.fromEntries(countPushStates([hostile]).phases)).toEqual({ [OTHER]: 1 });
    expect(conditionCounts([push({ conditions: 'nope' }), push('nope')])).toEqual([]);
    // Values of the wrong JSON type are bounded as unknown strings are.
    const mistyped = push({ conditions: [{ type: 'Ready', status: true, reason: 7 }, { type: 1, status: 'True', reason: 'Applied' }], rollout: { phase: 3 } });
    expect(conditionCounts([mistyped])).toEqual([`Ready/Unknown/${OTHER}=1`]);
    expect(Object.fromEntries(countPushStates([mistyped]).phases)).toEqual({ [OTHER]: 1 });
    // A status that names the gauge's own placeholders is not a phase either.
    expect(Object.fromEntries(countPushStates([push({ rollout: { phase: NO_PHASE } }), push({ rollout: { phase: OTHER } })]).phases)).toEqual({ [OTHER]: 2 });
  });

  it('counts what the plain reading of the rules counts, for any status at all (a property test)', () => {
    // The rules read plainly, with no care for speed: for each push, its
    // first condition of each known type, its status if one of the three,
    // its reason bounded; its rollout phase if a real one, None if absent.
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    const types: unknown[] = Object.values(CONDITION);
    const phases: unknown[] = [...ROLLOUT_PHASES];
    const plainly = (pushes: { status?: unknown }[]): string[] => {
      const counted: string[] = [];
      for (const { status } of pushes) {
        const conditions = isObject(status) && Array.isArray(status.conditions) ? (status.conditions as unknown[]) : [];
        const firstOfType = new Map<unknown, Record<string, unknown>>();
        for (const c of conditions) if (isObject(c) && types.includes(c.type) && !firstOfType.has(c.type)) firstOfType.set(c.type, c);
        for (const c of firstOfType.values()) counted.push(`${String(c.type)}/${['True', 'False', 'Unknown'].includes(c.status as string) ? String(c.status) : 'Unknown'}/${boundedReason(c.reason)}`);
        const phase = isObject(status) && isObject(status.rollout) ? status.rollout.phase : undefined;
        counted.push(`phase ${phase === undefined ? NO_PHASE : phases.includes(phase) ? String(phase) : OTHER}`);
      }
      const tally = new Map<string, number>();
      for (const key of counted) tally.set(key, (tally.get(key) ?? 0) + 1);
      return [...tally].map(([key, n]) => `${key}=${n}`).sort();
    };
    const counts = (pushes: { status?: unknown }[]): string[] => {
      const { conditions, phases: byPhase } = countPushStates(pushes as ReturnType<typeof push>[]);
      return [...conditions.map((c) => `${c.type}/${c.status}/${c.reason}=${c.count}`), ...[...byPhase].map(([phase, n]) => `phase ${phase}=${n}`)].sort();
    };
    const anyValue = fc.constantFrom<unknown>(undefined, null, 1, true, 'x', [], {});
    const condition = fc.oneof(
      fc.record(
        {
          type: fc.oneof(fc.constantFrom<unknown>(...types, 'MadeUp', 'ready'), anyValue),
          status: fc.oneof(fc.constantFrom<unknown>('True', 'False', 'Unknown', 'Maybe'), anyValue),
          reason: fc.oneof(fc.constantFrom<unknown>('Applied', 'Conflict', 'Forbidden', OTHER, NO_PHASE, 'secret-value'), anyValue),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    );
    const status = fc.oneof(
      fc.record(
        {
          conditions: fc.oneof(fc.array(condition, { maxLength: 6 }), anyValue),
          rollout: fc.oneof(fc.record({ phase: fc.oneof(fc.constantFrom<unknown>(...phases, NO_PHASE, OTHER, 'Exploded'), anyValue) }, { requiredKeys: [] }), anyValue),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    );
    fc.assert(
      fc.property(fc.array(fc.record({ status }, { requiredKeys: [] }), { maxLength: 20 }), (pushes) => {
        expect(counts(pushes)).toEqual(plainly(pushes));
      }),
      { numRuns: 500 },
    );
  });

  it('passes known reasons through and maps anything else to Other', () => {
    expect(boundedReason('ProgressDeadlineExceeded')).toBe('ProgressDeadlineExceeded');
    expect(boundedReason('Forbidden')).toBe('Forbidden');
    expect(boundedReason('forbidden')).toBe(OTHER);
    expect(boundedReason(undefined)).toBe(OTHER);
    expect(new Set(CONDITION_REASONS).size).toBe(CONDITION_REASONS.length);
  });

  it('knows every reason literal the operator sets (a scan of src/)', () => {
    // Reasons appear on lines that mention a reason (`reason: 'X'`,
    // `reason = a ? 'X' : 'Y'`), or as the first argument of an error or a
    // condition helper. Only CamelCase literals: column headers and the like are not.
    const camel = /'([A-Z][a-z][A-Za-z0-9]*)'/g;
    const firstArgument = /(?:TransientError|PermanentError|super|stalled|retrying|done)\(\s*'([A-Z][a-z][A-Za-z0-9]*)'/g;
    const notReasons = new Set(['True', 'False', 'Unknown', 'ConfigMap', 'Secret', 'Deployment', 'StatefulSet', 'DaemonSet', 'Halted', 'Waiting', 'Complete', 'Pending', 'Failed', 'Halt', 'Continue', 'Correct', 'Report', 'Retain', 'Delete', 'Normal', 'Warning', 'Opaque', 'Terminating', 'In', 'NotIn', 'Exists', 'DoesNotExist', 'ConfigPush', 'CustomResourceDefinition', 'Established', 'Ready', 'Reconciling', 'Stalled', 'TimeoutError', 'AbortError']);
    const found = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          const literals = [
            ...text.split('\n').filter((line) => /\breason\b/.test(line)).flatMap((line) => [...line.matchAll(camel)]),
            ...text.matchAll(firstArgument),
          ];
          for (const m of literals) if (!notReasons.has(m[1]!)) found.add(m[1]!);
        }
      }
    };
    walk(join(root, 'src'));
    // The scan itself must see the reasons it is meant to guard.
    for (const sample of ['Conflict', 'RetryingAfterError', 'TargetContended', 'ServiceAccountRequired', 'ProgressDeadlineExceeded', 'PruneFailed']) expect(found).toContain(sample);
    const known = new Set<string>(CONDITION_REASONS);
    // Names in the scan that are not reasons (event reasons, error class names) would show up here; each was checked by hand.
    const eventReasons = new Set(['DriftCorrected', 'Released', 'Deleted', 'Drifted', 'Suspended']);
    expect([...found].filter((r) => !known.has(r) && !eventReasons.has(r)).sort()).toEqual([]);
  });
});

describe('the push gauges', () => {
  it('report the cache when scraped, follow it as it changes, and report nothing until a cache is attached', async () => {
    const metrics = createMetrics();
    const series = async (name: string) =>
      (await metrics.registry.metrics())
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .sort();
    expect(await series('configpush_push_conditions')).toEqual([]);

    const cache = [ready, stalled];
    let synced = false;
    metrics.observePushes(() => (synced ? cache : undefined));
    expect(await series('configpush_push_conditions')).toEqual([]);

    synced = true;
    expect(await series('configpush_push_conditions')).toEqual([
      'configpush_push_conditions{type="Ready",status="False",reason="Conflict"} 1',
      'configpush_push_conditions{type="Ready",status="True",reason="Applied"} 1',
      'configpush_push_conditions{type="Stalled",status="False",reason="Applied"} 1',
      'configpush_push_conditions{type="Stalled",status="True",reason="Conflict"} 1',
    ]);
    expect(await series('configpush_push_rollout_phase')).toEqual(['configpush_push_rollout_phase{phase="Complete"} 1', 'configpush_push_rollout_phase{phase="Halted"} 1']);

    // The stalled push is fixed: its old series go away rather than linger.
    cache[1] = ready;
    expect(await series('configpush_push_conditions')).toEqual([
      'configpush_push_conditions{type="Ready",status="True",reason="Applied"} 2',
      'configpush_push_conditions{type="Stalled",status="False",reason="Applied"} 2',
    ]);
    expect(await series('configpush_push_rollout_phase')).toEqual(['configpush_push_rollout_phase{phase="Complete"} 2']);
  });

  it('read the cache once per scrape for both gauges, and afresh at the next scrape', async () => {
    const metrics = createMetrics();
    const cache = [ready, stalled];
    let passes = 0;
    // An iterable that counts the passes made over it.
    metrics.observePushes(() => ({
      [Symbol.iterator]: () => {
        passes++;
        return cache[Symbol.iterator]();
      },
    }));
    const text = await metrics.registry.metrics();
    expect(passes).toBe(1);
    expect(text).toContain('configpush_push_conditions{type="Stalled",status="True",reason="Conflict"} 1');
    expect(text).toContain('configpush_push_rollout_phase{phase="Halted"} 1');

    cache[1] = ready;
    const next = await metrics.registry.metrics();
    expect(passes).toBe(2);
    expect(next).not.toContain('status="True",reason="Conflict"');
    expect(next).toContain('configpush_push_rollout_phase{phase="Complete"} 2');
  });
});

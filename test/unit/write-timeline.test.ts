import { describe, expect, it } from 'vitest';
import { auditMicros, timelineTable, writeTimeline } from '../../bench/write-timeline.js';
import type { AuditEvent } from '../support/audit.js';

const base = Date.parse('2026-11-30T12:00:00Z');
/** An audit timestamp `ms` (fractional) after base, with microseconds as the apiserver writes them. */
const at = (ms: number) => `${new Date(base + Math.floor(ms)).toISOString().slice(0, 19)}.${String(Math.round((ms % 1000) * 1000)).padStart(6, '0')}Z`;

function write(resource: string, verb: string, name: string, received: number, answered: number, extra: Partial<AuditEvent> = {}, subresource?: string): AuditEvent {
  return {
    verb,
    stage: 'ResponseComplete',
    userAgent: 'configpush-operator/1',
    user: { username: 'op' },
    objectRef: { resource, namespace: 'load', name, ...(subresource ? { subresource } : {}) },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: at(received),
    stageTimestamp: at(answered),
    ...extra,
  };
}

/** One push's writes: the driver's create answered at t, then the controller's, `eventBeside` sending the Event before the status is answered. */
function push(name: string, t: number, eventBeside = false): AuditEvent[] {
  return [
    write('configpushes', 'create', name, t - 2, t, { userAgent: 'configpush-bench' }),
    write('configpushes', 'patch', name, t + 1, t + 4),
    write('configmaps', 'create', name, t + 5, t + 7),
    write('controllerrevisions', 'create', `${name}-0a1b2c3d4e`, t + 8, t + 10),
    write('configpushes', 'update', name, t + 11, t + 14, {}, 'status'),
    eventBeside ? write('events', 'create', `${name}.17f3a`, t + 12, t + 13) : write('events', 'create', `${name}.17f3a`, t + 15, t + 17),
  ];
}

describe('the writes on the way to Ready, on the apiserver clock', () => {
  it('reads audit timestamps to the microsecond, with or without a fraction and from nanoseconds', () => {
    expect(auditMicros('2026-11-30T12:00:00.000001Z') - auditMicros('2026-11-30T12:00:00Z')).toBe(1);
    expect(auditMicros('2026-11-30T12:00:01.123456789Z') - auditMicros('2026-11-30T12:00:00Z')).toBe(1_123_456);
    expect(() => auditMicros('yesterday')).toThrow(/not an audit timestamp/);
  });

  it('gives each step its wait since the latest answer and its time to answer, per push, and the create-to-status total', () => {
    const events = [
      ...push('load-1', 1000),
      ...push('load-10', 2000),
      // Another namespace, and a push with no status yet: neither counts.
      { ...write('configmaps', 'create', 'load-2', 3000, 3001), objectRef: { resource: 'configmaps', namespace: 'other', name: 'load-2' } },
      write('configpushes', 'create', 'load-3', 3000, 3001, { userAgent: 'configpush-bench' }),
    ];
    const timeline = writeTimeline(events, 'load', /^(load-\d+)(?:$|[-.])/, 'configpush-bench');
    expect(timeline.pushes).toBe(2);
    expect(timeline.toStatusP50Ms).toBe(14);
    expect(timeline.steps.map((s) => s.step)).toEqual(['configpushes patch', 'configmaps create', 'controllerrevisions create', 'configpushes/status update', 'events create']);
    const step = (name: string) => timeline.steps.find((s) => s.step === name);
    // load-10's revision and Event are not taken for load-1's (the name's digits end at "-" or ".").
    expect(step('controllerrevisions create')).toMatchObject({ count: 2, waitP50Ms: 1, serveP50Ms: 2 });
    expect(step('configpushes patch')).toMatchObject({ waitP50Ms: 1, serveP50Ms: 3 });
    expect(step('configpushes/status update')).toMatchObject({ waitP50Ms: 1, serveP50Ms: 3 });
    expect(step('events create')).toMatchObject({ waitP50Ms: 1, serveP50Ms: 2 });
  });

  it('shows an Event sent beside the status write as a negative wait', () => {
    const timeline = writeTimeline([...push('load-1', 1000, true), ...push('load-2', 2000, true)], 'load', /^(load-\d+)(?:$|[-.])/, 'configpush-bench');
    expect(timeline.steps.find((s) => s.step === 'events create')).toMatchObject({ waitP50Ms: -2, serveP50Ms: 1 });
  });

  it('tables each side with the median of its runs, and nothing without timelines', () => {
    const one = writeTimeline(push('load-1', 1000), 'load', /^(load-\d+)(?:$|[-.])/, 'configpush-bench');
    const slow = { ...one, toStatusP50Ms: 40, toStatusP99Ms: 80 };
    const table = timelineTable([
      { kind: 'operator', load: { timeline: one } },
      { kind: 'operator', load: { timeline: one } },
      { kind: 'operator', load: { timeline: slow } },
      { kind: 'baseline', load: {} },
    ]);
    expect(table.join('\n')).toContain('| operator | create answered to status answered | 1, 1, 1 | | | 14 / 14 |');
    expect(table.join('\n')).toContain('| operator | controllerrevisions create | 1, 1, 1 | 1 / 1 | 2 / 2 | |');
    expect(table.join('\n')).not.toContain('| baseline |');
    expect(timelineTable([{ kind: 'baseline', load: {} }])).toEqual([]);
  });
});

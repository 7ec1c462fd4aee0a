import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELD_MANAGER } from '../../src/api/constants.js';
import { lastWriteTime } from '../../src/core/desired-target.js';

const entry = (manager: string, time: string | Date | undefined): V1ManagedFieldsEntry =>
  ({ manager, operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {}, ...(time === undefined ? {} : { time }) }) as unknown as V1ManagedFieldsEntry;
const target = (...entries: V1ManagedFieldsEntry[]) => ({ metadata: { managedFields: entries } });

/** What the apiserver writes for a metav1.Time: RFC 3339, UTC, whole seconds. */
const apiserverForm = (date: Date) => `${date.toISOString().slice(0, -5)}Z`;

describe('lastWriteTime', () => {
  it.each<[string, ReturnType<typeof target> | undefined, string | undefined]>([
    ['no object', undefined, undefined],
    ['no managedFields', { metadata: { managedFields: [] } }, undefined],
    ['only other managers', target(entry('kubectl-edit', '2026-01-02T03:04:05Z')), undefined],
    ['the operator entry without a time', target(entry(FIELD_MANAGER, undefined)), undefined],
    ['the apiserver form, as it is', target(entry(FIELD_MANAGER, '2026-01-02T03:04:05Z')), '2026-01-02T03:04:05Z'],
    ['a Date (a typed client answer)', target(entry(FIELD_MANAGER, new Date('2026-01-02T03:04:05.678Z'))), '2026-01-02T03:04:05Z'],
    ['another RFC 3339 form, in UTC and whole seconds', target(entry(FIELD_MANAGER, '2026-01-02T05:04:05.9+02:00')), '2026-01-02T03:04:05Z'],
    [
      'the latest of the operator entries, not another manager later',
      target(entry(FIELD_MANAGER, '2026-01-02T03:04:05Z'), entry('kubectl-edit', '2027-01-01T00:00:00Z'), entry(FIELD_MANAGER, '2026-03-02T03:04:05Z')),
      '2026-03-02T03:04:05Z',
    ],
    ['an unparsable time alone', target(entry(FIELD_MANAGER, 'yesterday')), undefined],
    ['an unparsable time beside a good one is passed over', target(entry(FIELD_MANAGER, 'yesterday'), entry(FIELD_MANAGER, '2026-01-02T03:04:05Z')), '2026-01-02T03:04:05Z'],
  ])('%s', (_name, live, expected) => {
    expect(lastWriteTime(live)).toBe(expected);
  });

  it('gives the latest operator time, in the apiserver form, for any mix of strings and Dates', () => {
    const when = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
    const written = fc.record({ ours: fc.boolean(), date: when, asString: fc.boolean() });
    fc.assert(
      fc.property(fc.array(written, { maxLength: 5 }), (writes) => {
        const entries = writes.map((w) => entry(w.ours ? FIELD_MANAGER : 'other', w.asString ? apiserverForm(w.date) : w.date));
        const ours = writes.filter((w) => w.ours).map((w) => Math.floor(w.date.getTime() / 1000) * 1000);
        const expected = ours.length === 0 ? undefined : apiserverForm(new Date(Math.max(...ours)));
        expect(lastWriteTime(target(...entries))).toBe(expected);
      }),
    );
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import { NAMED_TARGETS, WARNINGS_PER_REASON } from '../../src/core/target-events.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, sleep } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';

/**
 * A push fanned out by a namespaceSelector: its Events stay few whatever the
 * number of targets. The targets written share one Applied Event that names
 * the first few and counts the rest; the targets refused share one Failed
 * Event that counts them, where each used to get its own.
 */
describe('Events of a push fanned out to many namespaces', () => {
  let operator: TestOperator;
  let home: string;
  const accepting: string[] = [];
  const refusing: string[] = [];
  const label = `fanout-events-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    home = await newNamespace('fanout-home');
    // More than NAMED_TARGETS that accept pushes from home, and more than WARNINGS_PER_REASON that do not.
    for (let i = 0; i < NAMED_TARGETS + 2; i++) accepting.push(await newNamespace('fanout-ok', { [ALLOWED_SOURCES_ANNOTATION]: home }, { [label]: 'true' }));
    for (let i = 0; i < WARNINGS_PER_REASON + 2; i++) refusing.push(await newNamespace('fanout-no', {}, { [label]: 'true' }));
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  const eventsOf = async (name: string) => (await core.listNamespacedEvent({ namespace: home, fieldSelector: `involvedObject.name=${name}` })).items;

  it('writes one Applied and one Failed Event for the whole push, and no more on resyncs', async () => {
    await createPush(home, 'wide', { targets: [{ kind: 'ConfigMap', name: 'cfg', namespaceSelector: { matchLabels: { [label]: 'true' } } }], data: { k: 'v' } });
    const push = await eventually(async () => {
      const current = await getPush(home, 'wide');
      return current.status?.observedGeneration === 1 && condition(current, 'Stalled')?.status === 'True' ? current : undefined;
    }, 'the push to stall on the refused namespaces');
    expect(condition(push, 'Ready')?.reason).toBe('CrossNamespaceNotAllowed');
    const events = await eventually(async () => {
      const list = await eventsOf('wide');
      return list.length >= 2 ? list : undefined;
    }, 'the Applied and Failed Events');
    await settled(operator);

    expect(events.map((e) => [e.type, e.reason]).sort()).toEqual([
      ['Normal', 'Applied'],
      ['Warning', 'Failed'],
    ]);
    const applied = events.find((e) => e.reason === 'Applied');
    expect(applied?.message).toMatch(new RegExp(`^operation 1-[0-9a-f]{10} applied to ${accepting.length} targets: .* and 2 more$`));
    const named = [...(applied?.message ?? '').matchAll(/ConfigMap ([a-z0-9-]+)\/cfg/g)].map((m) => m[1]);
    expect(named).toHaveLength(NAMED_TARGETS);
    for (const ns of named) expect(accepting).toContain(ns);
    const failed = events.find((e) => e.reason === 'Failed');
    expect(failed?.message).toMatch(new RegExp(`^${refusing.length} targets failed: .*; and ${refusing.length - 3} more \\(the ConfigPush's status lists them\\)$`));
    expect(failed?.message).toContain('does not accept ConfigPushes from');
    for (const ns of refusing) expect(await core.readNamespacedConfigMap({ name: 'cfg', namespace: ns }).catch(() => undefined)).toBeUndefined();

    // Resyncs of the same failure join the same Event's series: still two Events, one create each.
    operator.controller.enqueueAll();
    await sleep(500);
    await settled(operator);
    expect((await eventsOf('wide')).map((e) => e.reason).sort()).toEqual(['Applied', 'Failed']);
    expect(writes({ resource: 'events', namespace: home }).filter((w) => w.verb === 'create' && w.objectRef?.name?.startsWith('wide.'))).toHaveLength(2);
  });
});

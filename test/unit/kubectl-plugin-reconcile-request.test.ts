import { describe, expect, it } from 'vitest';
import { API_VERSION, RECONCILE_REQUESTED_ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush, ConfigPushStatus } from '../../src/api/types.js';
import { buildStatus, handledReconcileRequest, stoppedStatus } from '../../src/core/build-status.js';
import { operationKey } from '../../src/core/operation-key.js';

/**
 * The operator's half of `kubectl configpush reconcile`: every status a
 * reconcile writes echoes the reconcile-request annotation it handled in
 * status.lastHandledReconcileAt (Flux's convention).
 */
const UID = '7d3c1c9e-0000-4000-8000-000000000002';
const NOW = '2024-05-01T12:00:00Z';
const REQUESTED = '2024-05-01T11:59:58.123Z';

const pushOf = (annotations: Record<string, string> | undefined, status?: ConfigPushStatus): ConfigPush =>
  ({
    apiVersion: API_VERSION,
    kind: 'ConfigPush',
    metadata: { name: 'p', namespace: 'home', uid: UID, generation: 2, resourceVersion: '42', ...(annotations ? { annotations } : {}) },
    spec: { targets: [{ kind: 'ConfigMap', name: 'cfg' }] },
    ...(status ? { status } : {}),
  }) as ConfigPush;

const built = (push: ConfigPush) =>
  buildStatus({ push, operationKey: operationKey(UID, 2), digest: 'sha256:ab', outcomes: [], suspended: false, now: NOW });

describe('status.lastHandledReconcileAt', () => {
  it('echoes the annotation in a full status and in a stopped one', () => {
    const push = pushOf({ [RECONCILE_REQUESTED_ANNOTATION]: REQUESTED });
    expect(built(push).lastHandledReconcileAt).toBe(REQUESTED);
    expect(stoppedStatus(push, { reason: 'InvalidSpec', message: 'bad', retrying: false }, NOW).lastHandledReconcileAt).toBe(REQUESTED);
  });

  it('a new request replaces the handled one', () => {
    const push = pushOf({ [RECONCILE_REQUESTED_ANNOTATION]: 'second' }, { lastHandledReconcileAt: 'first' });
    expect(built(push).lastHandledReconcileAt).toBe('second');
  });

  it('keeps the last handled value when the annotation is removed or empty, and has none before any request', () => {
    expect(built(pushOf(undefined, { lastHandledReconcileAt: 'first' })).lastHandledReconcileAt).toBe('first');
    expect(built(pushOf({ [RECONCILE_REQUESTED_ANNOTATION]: '' }, { lastHandledReconcileAt: 'first' })).lastHandledReconcileAt).toBe('first');
    expect(stoppedStatus(pushOf(undefined, { lastHandledReconcileAt: 'first' }), { reason: 'X', message: 'y', retrying: true }, NOW).lastHandledReconcileAt).toBe('first');
    expect('lastHandledReconcileAt' in built(pushOf({ other: 'annotation' }))).toBe(false);
    expect(handledReconcileRequest(pushOf(undefined))).toEqual({});
  });

  it('a second reconcile of the same request builds the same status (so it writes nothing)', () => {
    const push = pushOf({ [RECONCILE_REQUESTED_ANNOTATION]: REQUESTED });
    const first = built(push);
    expect(built(pushOf(push.metadata.annotations, first))).toEqual(first);
  });
});

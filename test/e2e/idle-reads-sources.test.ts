import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigPush } from '../../src/api/types.js';
import { writes } from '../support/audit.js';
import { acceptingPushesFrom, condition, core, createPush, eventually, newNamespace, readConfigMap, readSecret, sleep, waitReady } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { requestLog } from '../support/request-log.js';
import { createConfigMap, createSecret, decoded, editSecret } from '../support/source-objects.js';

/**
 * Rule 5 for pushes that copy sources (spec.sources): an idle resync reads
 * nothing its caches can vouch for. The source watches show each source's
 * resourceVersion; while it is the one the last live read saw, that read's
 * operation key and digests still hold, so the reconcile reads no source
 * (configpush/source-read-memo.ts). The values are never cached: a reconcile
 * that must write (a source edit, a drifted or deleted target) reads the
 * sources live, and writes exactly once. Reads are counted by the operator's
 * own client middleware; writes by the audit log.
 */

const OPERATOR = 'configpush-operator';

describe('idle resyncs of pushes that copy sources', () => {
  const log = requestLog();
  const resyncPeriodMs = 2_000;
  const idleMs = 10_000;
  let operator: TestOperator;
  let ns: string;
  let away: string;

  const sourceReads = (calls: readonly string[]) =>
    calls.filter((c) => c === `GET /api/v1/namespaces/${ns}/secrets/db` || c === `GET /api/v1/namespaces/${ns}/configmaps/settings`);
  const targetReads = (calls: readonly string[]) =>
    calls.filter((c) => c.startsWith('GET ') && (c.endsWith('/secrets/db-copy') || c.endsWith('/configmaps/settings-copy')));
  const targetWrites = () =>
    writes({ resource: 'secrets', name: 'db-copy', subresource: '', userAgent: OPERATOR }).length +
    writes({ resource: 'configmaps', name: 'settings-copy', subresource: '', userAgent: OPERATOR }).length;
  const statusWrites = () => writes({ resource: 'configpushes', namespace: ns, subresource: 'status', userAgent: OPERATOR }).length;
  const reconciles = () => [...operator.reconciles].filter(([key]) => key.startsWith(`${ns}/`)).reduce((sum, [, n]) => sum + n, 0);

  /** Runs `during` (or nothing) and then waits until the operator is idle; what it read, wrote and reconciled meanwhile. */
  async function window(during: () => Promise<void>) {
    await settled(operator);
    const start = { calls: log.calls.length, reconciles: reconciles(), targets: targetWrites(), status: statusWrites() };
    await during();
    await settled(operator);
    const calls = log.calls.slice(start.calls);
    return {
      sourceReads: sourceReads(calls).length,
      targetReads: targetReads(calls).length,
      reconciles: reconciles() - start.reconciles,
      targetWrites: targetWrites() - start.targets,
      statusWrites: statusWrites() - start.status,
    };
  }

  const ready = (push: ConfigPush) => condition(push, 'Ready')?.status === 'True';

  beforeAll(async () => {
    ns = await newNamespace('idle-src');
    away = await newNamespace('idle-src-away', acceptingPushesFrom(ns));
    await createSecret(ns, 'db', { password: 'pw-1', user: 'app' });
    await createConfigMap(ns, 'settings', { LEVEL: 'info' });
    operator = await startTestOperator({ middleware: [log.middleware], controller: { resyncPeriodMs } });
    await createPush(ns, 'db', {
      targets: [
        { kind: 'Secret', name: 'db-copy' },
        { kind: 'Secret', name: 'db-copy', namespace: away },
      ],
      sources: [{ secretRef: { name: 'db' } }],
      data: { inline: 'yes' },
    });
    await createPush(ns, 'settings', { targets: [{ kind: 'ConfigMap', name: 'settings-copy' }], sources: [{ configMapRef: { name: 'settings' } }] });
    await waitReady(ns, 'db');
    await waitReady(ns, 'settings');
  });
  afterAll(async () => operator?.stop());

  it(`two applied pushes, ${idleMs / 1000} s of ${resyncPeriodMs / 1000} s resyncs: 0 source reads, 0 target reads, 0 writes`, async () => {
    const idle = await window(() => sleep(idleMs));
    // Resyncs did run (else the zeros would prove nothing): each push at least 3 times.
    expect(idle.reconciles).toBeGreaterThanOrEqual(6);
    expect(idle).toMatchObject({ sourceReads: 0, targetReads: 0, targetWrites: 0, statusWrites: 0 });
  });

  it('a source edit is read once and written once to each target; then idle again reads nothing', async () => {
    const edit = await window(async () => {
      await editSecret(ns, 'db', (secret) => {
        secret.data = { ...secret.data, password: Buffer.from('pw-2').toString('base64') };
      });
      await eventually(async () => decoded(await readSecret(away, 'db-copy')).password === 'pw-2', 'the edit to reach the other namespace');
      await eventually(async () => ready(await waitReady(ns, 'db')) && decoded(await readSecret(ns, 'db-copy')).password === 'pw-2', 'the push to settle');
    });
    expect(edit.targetWrites).toBe(2);
    expect(edit.sourceReads).toBeGreaterThanOrEqual(1);
    expect(decoded(await readSecret(ns, 'db-copy'))).toEqual({ password: 'pw-2', user: 'app', inline: 'yes' });

    const idle = await window(() => sleep(idleMs));
    expect(idle.reconciles).toBeGreaterThanOrEqual(6);
    expect(idle).toMatchObject({ sourceReads: 0, targetReads: 0, targetWrites: 0, statusWrites: 0 });
  });

  it('a drifted target (Correct) is put back from a live read of the source, once; the push stays Ready', async () => {
    const drift = await window(async () => {
      const target = await core.readNamespacedSecret({ namespace: away, name: 'db-copy' });
      target.data = { ...target.data, password: Buffer.from('tampered').toString('base64') };
      await core.replaceNamespacedSecret({ namespace: away, name: 'db-copy', body: target });
      await eventually(async () => decoded(await readSecret(away, 'db-copy')).password === 'pw-2', 'the drift to be corrected');
    });
    expect(drift.targetWrites).toBe(1);
    expect(drift.sourceReads).toBeGreaterThanOrEqual(1);
    // One status write (the correction counted): the reconcile that found it needed the values read them and went on, reporting no failure.
    expect(drift.statusWrites).toBe(1);
    expect(decoded(await readSecret(away, 'db-copy'))).toEqual({ password: 'pw-2', user: 'app', inline: 'yes' });
    const push = await waitReady(ns, 'db');
    expect(push.status?.driftCorrections).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(push.status)).not.toContain('SourcesNotRead');
  });

  it('a deleted ConfigMap target is recreated from a live read of its source, once', async () => {
    const recreated = await window(async () => {
      await core.deleteNamespacedConfigMap({ namespace: ns, name: 'settings-copy' });
      await eventually(async () => (await readConfigMap(ns, 'settings-copy'))?.data?.LEVEL === 'info', 'the target to be recreated');
    });
    expect(recreated.targetWrites).toBe(1);
    expect(recreated.sourceReads).toBeGreaterThanOrEqual(1);
    expect(recreated.statusWrites).toBeLessThanOrEqual(1);
    const push = await waitReady(ns, 'settings');
    expect(JSON.stringify(push.status)).not.toContain('SourcesNotRead');

    const idle = await window(() => sleep(idleMs / 2));
    expect(idle.reconciles).toBeGreaterThanOrEqual(2);
    expect(idle).toMatchObject({ sourceReads: 0, targetWrites: 0, statusWrites: 0 });
  });
});

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetKind } from '../../src/api/types.js';
import { apiserverRequests, sumRequests, type RequestSample } from '../support/apiserver-metrics.js';
import { writes } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, readConfigMap, readSecret, sleep, waitReady, waitReason } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { requestLog } from '../support/request-log.js';
import { clusterDir, operatorKubeconfigPath } from '../support/paths.js';
import { apiserverPort, WatchGate } from '../support/watch-gate.js';

/**
 * An idle resync (nothing changed since the last reconcile) costs the
 * apiserver nothing: a target the watch cache shows at the very
 * resourceVersion this process itself verified (its own write's response, or
 * a read that matched) is not read again (docs/performance-idle-reads.md).
 * Measured with the apiserver's own request counter and the audit log; and
 * the price of that trust is bounded: an edit the cache has not seen yet is
 * corrected (or reported) as soon as the watch or a relist delivers it.
 */

/** The operator's GETs of targets, among `calls`: of namespace `ns`, or (ns undefined) of any namespace. */
function targetReads(calls: string[], ns?: string): string[] {
  return calls.filter((c) => new RegExp(`^GET /api/v1/namespaces/${ns ?? '[^/]+'}/(configmaps|secrets)/`).test(c));
}

/** The operator's requests about objects in namespace `ns`. */
function requestsIn(calls: string[], ns: string): string[] {
  return calls.filter((c) => c.includes(`/namespaces/${ns}/`));
}

/** Single-object GETs of ConfigMaps and Secrets the apiserver served, by its own counter (every client, every namespace). */
function targetGets(samples: RequestSample[]): number {
  return sumRequests(samples, { verb: 'GET', resource: ['configmaps', 'secrets'], scope: 'resource' });
}

function reconcilesIn(operator: TestOperator, ns: string): number {
  let sum = 0;
  for (const [key, count] of operator.reconciles) if (key.startsWith(`${ns}/`)) sum += count;
  return sum;
}

/**
 * The apiserver's counter has no client or namespace label, and the cluster
 * may hold pushes of earlier test files whose targets are read on every
 * resync by design (drifted under Report, conflicting, deleted). So the GETs
 * attributable to this test's targets are the apiserver's count minus the
 * operator's own reads of other namespaces' targets (its client middleware
 * logs every request it makes); nothing else reads targets meanwhile.
 */
describe('idle resyncs', () => {
  const configMaps = 40;
  const secrets = 10;
  const pushes = configMaps + secrets;
  const resyncPeriodMs = 2_000;
  const idleMs = 10_000;
  const log = requestLog();
  let operator: TestOperator;
  let ns: string;
  const kindOf = (i: number): TargetKind => (i < configMaps ? 'ConfigMap' : 'Secret');
  const operatorWrites = () => [
    ...writes({ resource: 'configmaps', namespace: ns, userAgent: 'configpush-operator' }),
    ...writes({ resource: 'secrets', namespace: ns, userAgent: 'configpush-operator' }),
    ...writes({ resource: 'configpushes', namespace: ns, userAgent: 'configpush-operator' }),
  ];
  const statuses = async () => Promise.all(Array.from({ length: pushes }, async (_, i) => (await getPush(ns, `p${i}`)).metadata.resourceVersion));

  /**
   * The apiserver's counter and the operator's request log at one instant
   * between reconciles (so no target read is half counted): taken after the
   * operator settled, and again if a resync started meanwhile.
   */
  async function quietSnapshot(): Promise<{ samples: RequestSample[]; calls: number }> {
    for (;;) {
      await settled(operator);
      const calls = log.calls.length;
      const samples = await apiserverRequests();
      const { queue } = operator.controller;
      if (log.calls.length === calls && queue.length === 0 && queue.inFlight === 0) return { samples, calls };
    }
  }

  /** Runs the operator idle for idleMs and returns what it cost the apiserver. */
  async function idleWindow() {
    const statusBefore = await statuses();
    const start = await quietSnapshot();
    const before = { reconciles: reconcilesIn(operator, ns), writes: operatorWrites().length };
    await sleep(idleMs);
    const end = await quietSnapshot();
    const after = end.samples;
    const calls = log.calls.slice(start.calls, end.calls);
    const elsewhere = targetReads(calls).length - targetReads(calls, ns).length;
    const resyncs = (reconcilesIn(operator, ns) - before.reconciles) / pushes;
    const apiserverGets = targetGets(after) - targetGets(start.samples) - elsewhere;
    return {
      resyncs,
      /** GETs of this test's targets by the apiserver's counter. */
      apiserverGets,
      perTargetPerResync: apiserverGets / pushes / resyncs,
      /** Everything the operator asked the apiserver about this namespace. */
      operatorRequests: requestsIn(calls, ns),
      writes: operatorWrites().length - before.writes,
      statusChanged: (await statuses()).filter((rv, i) => rv !== statusBefore[i]).length,
    };
  }

  beforeAll(async () => {
    ns = await newNamespace('idle');
    operator = await startTestOperator({ middleware: [log.middleware], controller: { resyncPeriodMs } });
  });
  afterAll(async () => operator?.stop());

  it(`${pushes} applied single-target pushes, ${idleMs / 1000} s of ${resyncPeriodMs / 1000} s resyncs: 0 reads, 0 writes, status unchanged`, async () => {
    await Promise.all(
      Array.from({ length: pushes }, (_, i) => createPush(ns, `p${i}`, { targets: [{ kind: kindOf(i), name: `t${i}` }], data: { n: String(i) } })),
    );
    for (let i = 0; i < pushes; i++) await waitReady(ns, `p${i}`);
    await settled(operator);

    const idle = await idleWindow();
    console.info(
      `idle-reads: ${pushes} targets, ${idle.resyncs.toFixed(1)} resyncs each: apiserver GETs of these targets ${idle.apiserverGets} ` +
        `(${idle.perTargetPerResync.toFixed(2)} per target per resync), operator requests about them ${idle.operatorRequests.length}, writes ${idle.writes}`,
    );
    // The resyncs did run: a window without reconciles would prove nothing.
    expect(idle.resyncs).toBeGreaterThanOrEqual(3);
    expect(idle.apiserverGets).toBe(0);
    expect(idle.operatorRequests).toEqual([]);
    expect(idle.writes).toBe(0);
    // Status is rebuilt from the verified records exactly as from reads: no status write.
    expect(idle.statusChanged).toBe(0);
  });

  it('after a restart, no target is read (the cache verifies them by digest): 0 GETs, at most 1 LIST per watched kind, 0 writes; then idle resyncs read nothing', async () => {
    await operator.stop();
    const restartLog = requestLog();
    const samples = await apiserverRequests();
    const statusBefore = await statuses();
    const writesBefore = operatorWrites().length;
    operator = await startTestOperator({ middleware: [restartLog.middleware, log.middleware], controller: { resyncPeriodMs } });
    await eventually(async () => Array.from({ length: pushes }, (_, i) => operator.reconciles.get(`${ns}/p${i}`) ?? 0).every((n) => n > 0), 'a reconcile of every push');
    await settled(operator);
    const afterRestart = await apiserverRequests();

    // The target watches' first LIST brought each target's keyed content
    // digest (runtime/cache-transforms.ts, keepTargetFacts): equal to the
    // desired one, so no target is read (before: one GET per target).
    expect(targetReads(restartLog.calls, ns)).toEqual([]);
    // The apiserver's counter agrees with the operator's own log of its reads (every namespace).
    expect(targetGets(await apiserverRequests()) - targetGets(samples)).toBe(targetReads(restartLog.calls).length);
    // Reads of the watched kinds: at most one LIST each (the informers' start, where the apiserver serves no watch-lists), no more.
    const lists = restartLog.calls.filter((c) => /^GET \/(api\/v1\/(configmaps|secrets|namespaces)|apis\/configpush\.io\/v1alpha1\/configpushes)$/.test(c));
    for (const path of new Set(lists)) expect(lists.filter((c) => c === path), path).toHaveLength(1);
    expect(new Set(lists).size).toBeLessThanOrEqual(4);
    // This apiserver serves watch-lists (sendInitialEvents, kube/watch-list.ts): no LIST at all, by its own count;
    // the caches filled from watches, streamed line by line instead of one body per kind.
    const watched = { resource: ['configpushes', 'configmaps', 'secrets', 'namespaces', 'controllerrevisions'] };
    expect(sumRequests(afterRestart, { verb: 'LIST', ...watched }) - sumRequests(samples, { verb: 'LIST', ...watched })).toBe(0);
    expect(lists).toEqual([]);
    expect(sumRequests(afterRestart, { verb: 'WATCH', ...watched }) - sumRequests(samples, { verb: 'WATCH', ...watched })).toBeGreaterThanOrEqual(5);
    // Every push was verified as it stood: no write, no status change.
    expect(operatorWrites().length).toBe(writesBefore);
    expect((await statuses()).filter((rv, i) => rv !== statusBefore[i])).toEqual([]);
    console.info(`idle-reads restart: ${pushes} pushes verified with ${targetReads(restartLog.calls).length} target GETs and LISTs ${JSON.stringify(lists)}`);

    const idle = await idleWindow();
    console.info(`idle-reads after restart: ${idle.resyncs.toFixed(1)} resyncs each: apiserver GETs of these targets ${idle.apiserverGets}, writes ${idle.writes}`);
    expect(idle.resyncs).toBeGreaterThanOrEqual(3);
    expect(idle.apiserverGets).toBe(0);
    expect(idle.operatorRequests).toEqual([]);
    expect(idle.writes).toBe(0);
    expect(idle.statusChanged).toBe(0);
  });
});

/**
 * The edit lands while the operator's target watches are stalled by a proxy
 * (test/support/watch-gate.ts), so its cache still shows the verified
 * resourceVersion: the resyncs in between skip the read (asserted, or this
 * would not test the skip). Once the watch delivers the new resourceVersion
 * (late, or after a cut and a re-watch), the edit is corrected under
 * driftPolicy Correct and reported under Report.
 */
describe('an edit the watch cache has not seen yet', () => {
  const resyncPeriodMs = 1_500;
  const log = requestLog();
  let gate: WatchGate;
  let operator: TestOperator;
  let ns: string;
  const operatorWrites = (resource: 'configmaps' | 'secrets', name: string) => writes({ resource, namespace: ns, name, userAgent: 'configpush-operator' });

  beforeAll(async () => {
    ns = await newNamespace('idle-edit');
    gate = new WatchGate(apiserverPort());
    await gate.start();
    const kubeconfig = gate.kubeconfig(operatorKubeconfigPath, join(clusterDir, 'idle-reads-gate.kubeconfig'));
    operator = await startTestOperator({ kubeconfig, middleware: [log.middleware], controller: { resyncPeriodMs } });
  });
  afterAll(async () => {
    await operator?.stop();
    await gate?.stop();
  });

  /**
   * Three pushes of one target each (one correction per push: a push with two
   * drifted targets whose corrections land in two reconciles can lose a count
   * of driftCorrections to a status 409 in between, a reconciler matter this
   * test does not measure).
   */
  async function editUnseen(name: string, release: { drop: boolean }): Promise<void> {
    const [cm, secret, rep] = [`${name}-cm`, `${name}-secret`, `${name}-rep`];
    await createPush(ns, cm, { targets: [{ kind: 'ConfigMap', name: cm }], data: { a: '1' } });
    await createPush(ns, secret, { targets: [{ kind: 'Secret', name: secret }], data: { a: '1' } });
    await createPush(ns, rep, { targets: [{ kind: 'ConfigMap', name: rep }], data: { a: '1' }, driftPolicy: 'Report' });
    const ready = await Promise.all([cm, secret, rep].map((p) => waitReady(ns, p)));
    await settled(operator);

    gate.hold();
    for (const target of [cm, rep]) {
      const live = await core.readNamespacedConfigMap({ namespace: ns, name: target });
      await core.replaceNamespacedConfigMap({ namespace: ns, name: target, body: { ...live, data: { a: 'tampered' } } });
    }
    const liveSecret = await core.readNamespacedSecret({ namespace: ns, name: secret });
    await core.replaceNamespacedSecret({ namespace: ns, name: secret, body: { ...liveSecret, data: { a: Buffer.from('tampered').toString('base64') } } });

    // Resyncs run while the cache lags: each one trusts the verification it
    // cannot see invalidated, so it reads nothing and the edit stands.
    const reconcilesBefore = [cm, secret, rep].map((p) => operator.reconciles.get(`${ns}/${p}`) ?? 0);
    const callsBefore = log.calls.length;
    await sleep(resyncPeriodMs * 3);
    [cm, secret, rep].forEach((p, i) => expect(operator.reconciles.get(`${ns}/${p}`) ?? 0).toBeGreaterThanOrEqual((reconcilesBefore[i] ?? 0) + 2));
    expect(targetReads(log.calls.slice(callsBefore), ns).filter((c) => [cm, secret, rep].some((t) => c.endsWith(`/${t}`)))).toEqual([]);
    expect((await readConfigMap(ns, cm))?.data).toEqual({ a: 'tampered' });

    gate.release(release);
    await eventually(async () => (await readConfigMap(ns, cm))?.data?.a === '1', 'the ConfigMap edit to be corrected', 30_000);
    await eventually(async () => Buffer.from((await readSecret(ns, secret))?.data?.a ?? '', 'base64').toString() === '1', 'the Secret edit to be corrected', 30_000);
    for (const [i, p] of [cm, secret].entries()) {
      const fixed = await eventually(async () => {
        const push = await getPush(ns, p);
        return push.status?.driftCorrections === 1 ? push : undefined;
      }, `${p}: one drift correction counted`);
      expect(fixed.status?.operationKey).toBe(ready[i]?.status?.operationKey);
    }
    const drifted = await waitReason(ns, rep, 'Drifted', 30_000);
    expect(condition(drifted, 'Drifted')?.status).toBe('True');
    expect(drifted.status?.targets?.[0]?.state).toBe('Drifted');

    await settled(operator);
    expect(operatorWrites('configmaps', cm).map((w) => w.verb)).toEqual(['create', 'update']);
    expect(operatorWrites('secrets', secret).map((w) => w.verb)).toEqual(['create', 'update']);
    expect(operatorWrites('configmaps', rep).map((w) => w.verb)).toEqual(['create']);
    expect((await readConfigMap(ns, rep))?.data).toEqual({ a: 'tampered' });
  }

  it('a delayed watch: the edit is corrected (Correct) and reported (Report) once the watch delivers it', async () => {
    await editUnseen('delay', { drop: false });
  });

  it('a dropped watch: the same once the operator has re-watched', async () => {
    await editUnseen('drop', { drop: true });
    expect(gate.stats.droppedWatches).toBeGreaterThanOrEqual(2);
  });
});

/** A watch that stays silent (the stall is never released): the periodic relist delivers the edit. */
describe('an edit behind a silent watch', () => {
  let gate: WatchGate;
  let operator: TestOperator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('idle-relist');
    gate = new WatchGate(apiserverPort());
    await gate.start();
    const kubeconfig = gate.kubeconfig(operatorKubeconfigPath, join(clusterDir, 'idle-reads-relist.kubeconfig'));
    operator = await startTestOperator({ kubeconfig, controller: { resyncPeriodMs: 1_500, relistPeriodMs: 4_000 } });
  });
  afterAll(async () => {
    await operator?.stop();
    await gate?.stop();
  });

  it('is corrected and reported after the next relist, while the watch is still stalled', async () => {
    await createPush(ns, 'fix', { targets: [{ kind: 'ConfigMap', name: 'fix' }], data: { a: '1' } });
    await createPush(ns, 'rep', { targets: [{ kind: 'ConfigMap', name: 'rep' }], data: { a: '1' }, driftPolicy: 'Report' });
    await waitReady(ns, 'fix');
    await waitReady(ns, 'rep');
    await settled(operator);

    gate.hold();
    for (const name of ['fix', 'rep']) {
      const cm = await core.readNamespacedConfigMap({ namespace: ns, name });
      await core.replaceNamespacedConfigMap({ namespace: ns, name, body: { ...cm, data: { a: 'tampered' } } });
    }
    // A relist comes every 4-4.8 s; give it two.
    await eventually(async () => (await readConfigMap(ns, 'fix'))?.data?.a === '1', 'the relist to bring the edit and the operator to correct it', 15_000);
    await waitReason(ns, 'rep', 'Drifted', 15_000);
    expect((await readConfigMap(ns, 'rep'))?.data).toEqual({ a: 'tampered' });
    // The watches were stalled throughout (a relist's new watch too).
    expect(gate.stats.openedWhileHeld).toBeGreaterThanOrEqual(1);
  });
});

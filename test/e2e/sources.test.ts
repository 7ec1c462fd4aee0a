import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { operationKey } from '../../src/core/operation-key.js';
import { resolveSources, withSources, type SourceObject } from '../../src/core/sources.js';
import { readAudit, writes, type AuditEvent } from '../support/audit.js';
import { condition, core, createPush, eventually, getPush, newNamespace, readSecret, sleep, waitReady, waitReason } from '../support/kube.js';
import { reconcileCount, settled, startTestOperator, type TestOperator } from '../support/operator.js';

/*
 * Reflector-style: one Secret copied by a ConfigPush into every namespace
 * with a label, kept current, and never written twice for one change. Every
 * write is counted in the apiserver's audit log.
 */

const OPERATOR = { userAgent: 'configpush-operator' };
const TARGET = 'tls-copy';
const FANOUT = 50;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('a Secret source copied to 50 namespaces', () => {
  let operator: TestOperator;
  let second: TestOperator | undefined;
  let ns: string;
  const label = `sources-${randomBytes(3).toString('hex')}`;
  const targetNamespaces: string[] = [];
  let values: Record<string, string> = { 'ca.crt': 'CA-1', 'tls.crt': 'CERT-1', 'tls.key': 'KEY-1' };

  const secretBody = (data: Record<string, string>): V1Secret => ({
    metadata: { name: 'tls', namespace: ns },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  /** The operator's writes of the targets, in audit-log order. */
  const targetWrites = (events: AuditEvent[] = readAudit()) =>
    writes({ resource: 'secrets', name: TARGET, ...OPERATOR }, events).filter((w) => targetNamespaces.includes(w.objectRef?.namespace ?? ''));
  const statusWrites = () => writes({ resource: 'configpushes', namespace: ns, name: 'certs', subresource: 'status' });

  /** The key the operator must mint: operationKey(uid, generation, revision of what is copied), recomputed here from the live Secret. */
  async function expectedKey(push: ConfigPush): Promise<string> {
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'tls' });
    const object: SourceObject = { kind: 'Secret', namespace: ns, name: 'tls', uid: secret.metadata?.uid ?? '', annotations: {}, data: {}, binaryData: secret.data ?? {} };
    const sources = resolveSources(push.spec.sources, ns, push.spec.targets);
    const { revision } = withSources({ data: {}, binaryData: {}, labels: {}, annotations: {} }, sources, [object], ns);
    return operationKey(push.metadata.uid, push.metadata.generation, revision);
  }

  async function expectTargetsHold(expected: Record<string, string>): Promise<void> {
    for (const namespace of targetNamespaces) {
      const secret = await readSecret(namespace, TARGET);
      expect(secret?.data, `${namespace}/${TARGET}`).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, b64(v)])));
    }
  }

  beforeAll(async () => {
    ns = await newNamespace('src');
    for (let i = 0; i < FANOUT; i++) {
      const name = `${label}-${String(i).padStart(2, '0')}`;
      await core.createNamespace({ body: { metadata: { name, labels: { fanout: label }, annotations: { [ALLOWED_SOURCES_ANNOTATION]: ns } } } });
      targetNamespaces.push(name);
    }
    await core.createNamespacedSecret({ namespace: ns, body: secretBody(values) });
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await second?.stop();
    await operator?.stop();
  });

  it('reaches Ready with every target holding the source’s values, one create each', async () => {
    const created = await createPush(ns, 'certs', {
      targets: [{ kind: 'Secret', name: TARGET, namespaceSelector: { matchLabels: { fanout: label } } }],
      sources: [{ secretRef: { name: 'tls' } }],
    });
    const push = await waitReady(ns, 'certs', 90_000);
    expect(push.status?.targetSummary).toBe(`${FANOUT}/${FANOUT}`);
    expect(push.status?.operationKey).toBe(await expectedKey(created));
    expect(push.status?.operationKey).not.toBe(operationKey(created.metadata.uid, 1));
    // Keyed by the Secret's uid: no guessing oracle for readers of the push.
    expect(push.status?.contentDigest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(push.status?.sources).toEqual([{ kind: 'Secret', namespace: ns, name: 'tls', revision: expect.stringMatching(/^[0-9a-f]{12}$/) }]);
    await expectTargetsHold(values);
    const one = await readSecret(targetNamespaces[0]!, TARGET);
    expect(one?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(push.status?.operationKey);
    expect(one?.metadata?.annotations?.[ANNOTATION.contentDigest]).toBe(push.status?.contentDigest);
    expect(targetWrites().map((w) => w.verb)).toEqual(Array(FANOUT).fill('create'));
  });

  it('a change of one key in the source writes each target exactly once, as a new operation of the same generation', async () => {
    const before = await getPush(ns, 'certs');
    const writesBefore = targetWrites().length;
    values = { ...values, 'tls.crt': 'CERT-2' };
    const live = await core.readNamespacedSecret({ namespace: ns, name: 'tls' });
    await core.replaceNamespacedSecret({ namespace: ns, name: 'tls', body: { ...secretBody(values), metadata: { ...secretBody(values).metadata, resourceVersion: live.metadata?.resourceVersion ?? '' } } });

    const after = await eventually(async () => {
      const push = await getPush(ns, 'certs');
      const ready = condition(push, 'Ready');
      return push.status?.operationKey !== before.status?.operationKey && ready?.status === 'True' && push.status?.targetSummary === `${FANOUT}/${FANOUT}` ? push : undefined;
    }, 'the source change to roll out', 90_000);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.status?.operationKey).toBe(await expectedKey(after));
    expect(after.status?.operationKey?.startsWith(`${after.metadata.generation}-`)).toBe(true);
    expect(after.status?.contentDigest).not.toBe(before.status?.contentDigest);
    expect(after.status?.history?.map((h) => h.key)).toEqual([after.status?.operationKey, before.status?.operationKey]);
    await expectTargetsHold(values);

    await sleep(1_000);
    const changeWrites = targetWrites().slice(writesBefore);
    expect(changeWrites).toHaveLength(FANOUT);
    expect(new Set(changeWrites.map((w) => w.objectRef?.namespace)).size).toBe(FANOUT);
    expect(changeWrites.every((w) => w.verb === 'update')).toBe(true);
  });

  it('100 forced re-queues, a restart and a second replica write no target and no status', async () => {
    await settled(operator);
    const before = { targets: targetWrites().length, status: statusWrites().length };
    for (let i = 0; i < 100; i++) {
      const count = await reconcileCount(operator);
      operator.controller.enqueue(`${ns}/certs`);
      await eventually(async () => (await reconcileCount(operator)) > count, `re-queue ${i} to run`, 10_000);
    }

    await operator.stop();
    operator = await startTestOperator();
    const restarted = operator;
    await eventually(async () => (restarted.reconciles.get(`${ns}/certs`) ?? 0) >= 1, 'the restarted operator to reconcile the push');

    // A second replica without leader election, beside the first: both reconcile everything.
    second = await startTestOperator();
    const replica = second;
    await eventually(async () => (replica.reconciles.get(`${ns}/certs`) ?? 0) >= 1, 'the second replica to reconcile the push');
    replica.controller.enqueue(`${ns}/certs`);
    operator.controller.enqueue(`${ns}/certs`);
    await settled(operator);
    await settled(replica);
    await sleep(500);

    expect(targetWrites()).toHaveLength(before.targets);
    expect(statusWrites()).toHaveLength(before.status);
    await second.stop();
    second = undefined;
  });

  it('a deleted source stops the push (SourceNotFound) without touching a target; recreated with the same content, it is Ready again', async () => {
    const before = await getPush(ns, 'certs');
    const writesBefore = targetWrites().length;
    await core.deleteNamespacedSecret({ namespace: ns, name: 'tls' });

    const stopped = await waitReason(ns, 'certs', 'SourceNotFound', 30_000);
    expect(condition(stopped, 'Ready')?.status).toBe('False');
    expect(condition(stopped, 'Stalled')?.status).toBe('True');
    expect(condition(stopped, 'Ready')?.message).toContain(`Secret ${ns}/tls`);
    await sleep(1_000);
    expect(targetWrites()).toHaveLength(writesBefore);
    await expectTargetsHold(values);

    // The same bytes again. The Secret is a new object, with a new uid, and
    // the uid keys the HMAC of the digest and the sources revision
    // (docs/sources.md, secrecy): a new operation, so each target is
    // written once more, to the very same values (a ConfigMap source, not
    // keyed, writes nothing here: sources-options.test.ts).
    await core.createNamespacedSecret({ namespace: ns, body: secretBody(values) });
    const ready = await eventually(async () => {
      const push = await getPush(ns, 'certs');
      return condition(push, 'Ready')?.status === 'True' && push.status?.targetSummary === `${FANOUT}/${FANOUT}` ? push : undefined;
    }, 'Ready again', 90_000);
    expect(ready.status?.operationKey).toBe(await expectedKey(ready));
    expect(ready.status?.operationKey).not.toBe(before.status?.operationKey);
    await expectTargetsHold(values);
    await sleep(1_000);
    const recreateWrites = targetWrites().slice(writesBefore);
    expect(recreateWrites).toHaveLength(FANOUT);
    expect(new Set(recreateWrites.map((w) => w.objectRef?.namespace)).size).toBe(FANOUT);
  });
});

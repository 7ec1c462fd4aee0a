import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ANNOTATION, FIELD_MANAGER } from '../../src/api/constants.js';
import type { TargetKind } from '../../src/api/types.js';
import { applyTarget, StalePushError, type ApplyOptions, type TargetVerifier } from '../../src/configpush/target-applier.js';
import { createConfigPushMetrics } from '../../src/configpush/metrics.js';
import { VerifiedTargets } from '../../src/configpush/verified-targets.js';
import { contentDigest, type DesiredContent } from '../../src/core/content-digest.js';
import type { Ownership, TargetObject } from '../../src/core/desired-target.js';
import type { ResolvedSpec, ResolvedTarget } from '../../src/core/resolve-spec.js';
import { planVerified, type Verification, type VerifiedPlanInput } from '../../src/core/target-plan.js';
import type { TargetClient } from '../../src/kube/target-client.js';

const verification: Verification = {
  resourceVersion: '10',
  ownerUid: 'uid-1',
  digest: 'sha256:aaa',
  client: '',
  operationKey: '2-0123456789',
  lastWrittenAt: '2026-01-01T00:00:00Z',
};

const planInput = (over: Partial<VerifiedPlanInput> = {}): VerifiedPlanInput => ({
  verification,
  cached: { resourceVersion: '10', ownerUid: 'uid-1' },
  ownerUid: 'uid-1',
  generation: 2,
  digest: 'sha256:aaa',
  client: '',
  ...over,
});

describe('planVerified: when the cache may stand in for a read', () => {
  it('writes nothing when the cache shows the very version this process verified, for this push, content and client', () => {
    expect(planVerified(planInput())).toEqual({ action: 'none' });
    // A later generation with unchanged content: the target keeps its older key, still nothing to do.
    expect(planVerified(planInput({ generation: 5 }))).toEqual({ action: 'none' });
  });

  it('finds the push stale, as a read would, when the verified target carries a later generation', () => {
    expect(planVerified(planInput({ generation: 1 }))).toEqual({ action: 'stale', liveGeneration: 2 });
  });

  it.each<[string, Partial<VerifiedPlanInput>]>([
    ['nothing verified (a fresh process)', { verification: undefined }],
    ['the target not in the cache (deleted, or not managed)', { cached: undefined }],
    ['a cached object without a resourceVersion', { cached: { resourceVersion: undefined, ownerUid: 'uid-1' } }],
    ['the cache at another resourceVersion (anyone wrote it since)', { cached: { resourceVersion: '11', ownerUid: 'uid-1' } }],
    ['the cache showing another owner', { cached: { resourceVersion: '10', ownerUid: 'uid-2' } }],
    ['another push (same name, new uid)', { ownerUid: 'uid-2', cached: { resourceVersion: '10', ownerUid: 'uid-2' } }],
    ['new content (another digest)', { digest: 'sha256:bbb' }],
    ['another client identity (serviceAccountName changed)', { client: 'tenant' }],
  ])('reads live: %s', (_, over) => {
    expect(planVerified(planInput(over))).toBeUndefined();
  });
});

describe('VerifiedTargets', () => {
  it('keeps a verification while the target is seen at its version, drops it at any other or on delete', () => {
    const store = new VerifiedTargets();
    store.record('ConfigMap/ns/a', verification);
    store.saw('ConfigMap/ns/a', '10'); // the echo of our own write, or a relist of an unchanged object
    expect(store.get('ConfigMap/ns/a')).toBe(verification);
    store.saw('ConfigMap/ns/a', '11');
    expect(store.get('ConfigMap/ns/a')).toBeUndefined();

    store.record('ConfigMap/ns/a', verification);
    store.saw('ConfigMap/ns/a', undefined); // a read found it gone
    expect(store.get('ConfigMap/ns/a')).toBeUndefined();

    store.record('ConfigMap/ns/a', verification);
    store.forget('ConfigMap/ns/a'); // the watch reported a delete
    expect(store.size).toBe(0);
    store.saw('ConfigMap/ns/b', '1'); // nothing recorded: nothing to drop, no error
    expect(store.size).toBe(0);
  });

  it('is bounded: past the limit the oldest verification goes (it only costs a read)', () => {
    const store = new VerifiedTargets(2);
    store.record('a', verification);
    store.record('b', verification);
    store.record('a', { ...verification, resourceVersion: '12' }); // re-verified: now the newest
    store.record('c', verification);
    expect(store.size).toBe(2);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')?.resourceVersion).toBe('12');
    expect(store.get('c')).toBeDefined();
  });
});

/**
 * applyTarget with a verifier, on a fake apiserver of plain objects: the
 * store mimics resourceVersions and managedFields; the "cache" is a map the
 * test moves like a watch would.
 */
describe('applyTarget with verifications', () => {
  const content: DesiredContent = { data: { a: '1' }, binaryData: {}, labels: {}, annotations: {} };
  const digest = contentDigest(content);
  const target: ResolvedTarget = { kind: 'ConfigMap', name: 'cm', namespace: 'ns' };
  const id = 'ConfigMap/ns/cm';
  const spec = (over: Partial<ResolvedSpec> = {}): ResolvedSpec => ({
    targets: [target],
    content,
    digest,
    suspend: false,
    adopt: false,
    deletionPolicy: 'Retain',
    driftPolicy: 'Correct',
    strategy: { failurePolicy: 'Halt', pauseMs: 0, progressDeadlineMs: 600_000 },
    restart: [],
    ...over,
  } as ResolvedSpec);
  const ownership = (generation = 1): Ownership => ({ ownerUid: 'uid-1', owner: 'ns/push', operationKey: `${generation}-0123456789`, generation, contentDigest: digest });
  const log = pino({ level: 'silent' });

  function world() {
    const objects = new Map<string, TargetObject>();
    let revision = 100;
    const calls: string[] = [];
    const stamp = (body: TargetObject, time: string): TargetObject => {
      const copy = structuredClone(body);
      copy.metadata = { ...copy.metadata, resourceVersion: String(++revision), managedFields: [{ manager: FIELD_MANAGER, operation: 'Update', time: time as unknown as Date }] };
      return copy;
    };
    const store: TargetClient = {
      async read(_kind: TargetKind, namespace, name) {
        calls.push('read');
        const found = objects.get(`${namespace}/${name}`);
        return found && structuredClone(found);
      },
      async create(_kind, namespace, body) {
        calls.push('create');
        const key = `${namespace}/${body.metadata?.name}`;
        if (objects.has(key)) throw Object.assign(new Error('AlreadyExists'), { code: 409, body: { reason: 'AlreadyExists' } });
        objects.set(key, stamp(body, '2026-01-01T00:00:01Z'));
        return structuredClone(objects.get(key)!);
      },
      async replace(_kind, namespace, name, body) {
        calls.push('replace');
        const key = `${namespace}/${name}`;
        if (objects.get(key)?.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw Object.assign(new Error('Conflict'), { code: 409 });
        objects.set(key, stamp(body, '2026-01-01T00:00:02Z'));
        return structuredClone(objects.get(key)!);
      },
      async delete() {
        throw new Error('not used');
      },
    };
    /** Someone else edits the target (a new resourceVersion, no managedFields entry of ours changes). */
    const edit = (data: Record<string, string>) => {
      const live = objects.get('ns/cm')!;
      objects.set('ns/cm', { ...live, data, metadata: { ...live.metadata, resourceVersion: String(++revision) } });
    };
    /** What the watch cache shows; `sync()` delivers the current state, as a watch event would. */
    let cached: TargetObject | undefined;
    const verified = new VerifiedTargets();
    const sync = () => {
      cached = objects.get('ns/cm');
      if (cached) verified.saw(id, cached.metadata?.resourceVersion);
      else verified.forget(id);
    };
    const verifier: TargetVerifier = {
      lookup: () => ({
        verification: verified.get(id),
        cached: cached && { resourceVersion: cached.metadata?.resourceVersion, ownerUid: cached.metadata?.annotations?.[ANNOTATION.ownerUid] },
      }),
      record: (_t, v) => verified.record(id, v),
      saw: (_t, rv) => verified.saw(id, rv),
    };
    const metrics = createConfigPushMetrics(new Registry());
    const apply = (over: Partial<ApplyOptions> = {}, s = spec(), o = ownership()) =>
      applyTarget(store, target, s, o, log, metrics, { mode: 'apply', previouslyWritten: false, assumeAbsent: false, verifier, client: '', ...over });
    return { store, calls, edit, sync, verified, apply, objects, metrics };
  }

  it('after its own create, an unchanged target is not read again; the outcome is what a read would report', async () => {
    const w = world();
    const created = await w.apply();
    expect(created.wrote).toBe('created');
    w.sync();
    w.calls.length = 0;

    const idle = await w.apply();
    expect(w.calls).toEqual([]);
    const read = await applyTarget(w.store, target, spec(), ownership(), log, w.metrics, { mode: 'apply', previouslyWritten: false, assumeAbsent: false });
    expect(w.calls).toEqual(['read']);
    expect(idle).toEqual(read);
    expect(idle).toMatchObject({ state: 'Applied', resourceVersion: '101', operationKey: '1-0123456789', lastWrittenAt: '2026-01-01T00:00:01Z' });
  });

  it('a read that finds the content verifies it too (the first reconcile after a restart)', async () => {
    const w = world();
    await w.apply();
    w.sync();
    w.verified.forget(id); // a fresh process: nothing verified
    w.calls.length = 0;
    await w.apply();
    expect(w.calls).toEqual(['read']);
    await w.apply();
    expect(w.calls).toEqual(['read']);
  });

  it('reads and corrects once the cache shows an edit; the correction is verified in turn', async () => {
    const w = world();
    await w.apply();
    w.sync();
    w.edit({ a: 'tampered' });

    // The watch has not delivered the edit: the cache still shows the verified version (the accepted lag).
    w.calls.length = 0;
    expect((await w.apply()).wrote).toBeUndefined();
    expect(w.calls).toEqual([]);

    w.sync(); // the watch delivers the edit
    const corrected = await w.apply();
    expect(w.calls).toEqual(['read', 'replace']);
    expect(corrected).toMatchObject({ wrote: 'updated', driftCorrected: true });
    expect(w.objects.get('ns/cm')?.data).toEqual({ a: '1' });
    w.sync();
    w.calls.length = 0;
    await w.apply();
    expect(w.calls).toEqual([]);
  });

  it('under driftPolicy Report, a drifted target stays unverified and is read every time', async () => {
    const w = world();
    await w.apply({}, spec({ driftPolicy: 'Report' }));
    w.sync();
    w.edit({ a: 'tampered' });
    w.sync();
    w.calls.length = 0;
    expect((await w.apply({}, spec({ driftPolicy: 'Report' }))).state).toBe('Drifted');
    expect((await w.apply({}, spec({ driftPolicy: 'Report' }))).state).toBe('Drifted');
    expect(w.calls).toEqual(['read', 'read']);
    expect(w.verified.size).toBe(0);
  });

  it('a deleted target is read (and recreated), never trusted from a verification', async () => {
    const w = world();
    await w.apply();
    w.sync();
    w.objects.delete('ns/cm');
    w.sync();
    w.calls.length = 0;
    expect((await w.apply({ previouslyWritten: true })).wrote).toBe('created');
    expect(w.calls).toEqual(['read', 'create']);
  });

  it('new content, another client or another push reads live', async () => {
    const w = world();
    await w.apply();
    w.sync();
    w.calls.length = 0;
    const next = { ...content, data: { a: '2' } };
    await w.apply({ client: 'tenant' });
    expect(w.calls).toEqual(['read']);
    await w.apply({}, spec(), { ...ownership(), ownerUid: 'uid-2' });
    expect(w.calls).toEqual(['read', 'read']);
    await w.apply({}, spec({ content: next, digest: contentDigest(next) }), { ...ownership(2), contentDigest: contentDigest(next) });
    expect(w.calls).toEqual(['read', 'read', 'read', 'replace']);
  });

  it('a stale view of the push is refused without a read when the verified target carries a later generation', async () => {
    const w = world();
    await w.apply({}, spec(), ownership(3));
    w.sync();
    w.calls.length = 0;
    await expect(w.apply({}, spec(), ownership(2))).rejects.toBeInstanceOf(StalePushError);
    expect(w.calls).toEqual([]);
  });

  it('suspended (inspect) reports a verified target Applied without a read', async () => {
    const w = world();
    await w.apply();
    w.sync();
    w.calls.length = 0;
    expect((await w.apply({ mode: 'inspect' })).state).toBe('Applied');
    expect(w.calls).toEqual([]);
  });

  it('a write response that does not show the desired content verifies nothing', async () => {
    const w = world();
    // An apiserver (or webhook) that alters what we wrote: the response is not our content.
    const create = w.store.create.bind(w.store);
    w.store.create = async (kind, namespace, body) => {
      const created = await create(kind, namespace, body);
      const altered = { ...created, data: { a: '1', injected: 'x' } };
      w.objects.set('ns/cm', altered);
      return altered;
    };
    await w.apply();
    w.sync();
    expect(w.verified.size).toBe(0);
    w.calls.length = 0;
    await w.apply();
    expect(w.calls[0]).toBe('read');
  });
});

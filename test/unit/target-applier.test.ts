import { ApiException, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/api/constants.js';
import { createConfigPushMetrics } from '../../src/configpush/metrics.js';
import { applyTarget, SourcesChangedError, targetApplier } from '../../src/configpush/target-applier.js';
import { WARNINGS_PER_REASON } from '../../src/core/target-events.js';
import { contentDigest } from '../../src/core/content-digest.js';
import { operationKey } from '../../src/core/operation-key.js';
import { resolveSpec } from '../../src/core/resolve-spec.js';
import type { TargetClient } from '../../src/kube/target-client.js';
import type { ConfigPush } from '../../src/api/types.js';

const log = pino({ level: 'silent' });
const UID = 'uid-1';
const push = { apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', metadata: { name: 'p', namespace: 'a', uid: UID, generation: 3, resourceVersion: '1' }, spec: { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'ours' } } } as ConfigPush;
const spec = resolveSpec(push);
const target = spec.targets[0]!;

/** A target written by another run of the same generation (its sources gave other bytes, so another key and digest). */
function liveFromOtherRevision(): V1ConfigMap {
  const other = { data: { k: 'theirs' }, binaryData: {}, labels: {}, annotations: {} };
  return {
    metadata: {
      name: 'cfg',
      namespace: 'a',
      resourceVersion: '42',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: {
        [ANNOTATION.ownerUid]: UID,
        [ANNOTATION.owner]: 'a/p',
        [ANNOTATION.operationKey]: operationKey(UID, 3, 'aaaa1111aaaa1111'),
        [ANNOTATION.contentDigest]: contentDigest(other),
      },
    },
    data: other.data,
  };
}

function store(live: V1ConfigMap) {
  const replace = vi.fn(async (_k: string, _n: string, _name: string, body: V1ConfigMap) => ({ ...body, metadata: { ...body.metadata, resourceVersion: '43' } }));
  const client = { read: vi.fn(async () => live), create: vi.fn(), replace, delete: vi.fn() } as unknown as TargetClient;
  return { client, replace };
}

const ownership = { ownerUid: UID, owner: 'a/p', operationKey: operationKey(UID, 3, 'bbbb2222bbbb2222'), generation: 3, contentDigest: spec.digest };
const metrics = () => createConfigPushMetrics(new Registry());

describe('applyTarget with sources: a newer revision written by another run of the same generation', () => {
  it('does not write when the sources no longer give this reconcile\'s revision, and asks with the key it found', async () => {
    const { client, replace } = store(liveFromOtherRevision());
    const confirmSources = vi.fn(async () => false);
    await expect(
      applyTarget(client, target, spec, ownership, log, metrics(), { mode: 'apply', previouslyWritten: true, assumeAbsent: false, confirmSources }),
    ).rejects.toBeInstanceOf(SourcesChangedError);
    expect(replace).not.toHaveBeenCalled();
    expect(confirmSources).toHaveBeenCalledWith(operationKey(UID, 3, 'aaaa1111aaaa1111'));
  });

  it('writes once when the sources still give this revision (the other key is the older one)', async () => {
    const { client, replace } = store(liveFromOtherRevision());
    const outcome = await applyTarget(client, target, spec, ownership, log, metrics(), {
      mode: 'apply',
      previouslyWritten: true,
      assumeAbsent: false,
      confirmSources: async () => true,
    });
    expect(replace).toHaveBeenCalledTimes(1);
    expect(outcome).toMatchObject({ state: 'Applied', wrote: 'updated' });
  });

  it('does not ask when the target carries an earlier generation: a new generation is a new operation, whatever the sources', async () => {
    const live = liveFromOtherRevision();
    live.metadata!.annotations![ANNOTATION.operationKey] = operationKey(UID, 2);
    const { client, replace } = store(live);
    const confirmSources = vi.fn(async () => false);
    await applyTarget(client, target, spec, ownership, log, metrics(), { mode: 'apply', previouslyWritten: true, assumeAbsent: false, confirmSources });
    expect(confirmSources).not.toHaveBeenCalled();
    expect(replace).toHaveBeenCalledTimes(1);
  });
});

describe('targetApplier: failures of a wide push', () => {
  it('logs the first few failed targets at warn, says once that the rest go to debug, and still fails every one', async () => {
    const lines: { level: number; msg: string; target?: string; shown?: number }[] = [];
    const recorded = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const wide = {
      ...push,
      spec: { targets: Array.from({ length: WARNINGS_PER_REASON + 3 }, (_, i) => ({ kind: 'ConfigMap' as const, name: `cfg-${i}` })), data: { k: 'v' } },
    } as ConfigPush;
    const wideSpec = resolveSpec(wide);
    const forbidden = new ApiException(403, 'Forbidden', JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'configmaps is forbidden' }), {});
    const client = { read: vi.fn(), create: vi.fn(async () => Promise.reject(forbidden)), replace: vi.fn(), delete: vi.fn() } as unknown as TargetClient;
    const apply = targetApplier({
      targets: client,
      spec: wideSpec,
      ownership: { ...ownership, contentDigest: wideSpec.digest },
      pushNamespace: 'a',
      namespaceAnnotations: () => ({}),
      previouslyWritten: new Set(),
      isTargetCached: () => false,
      log: recorded,
      metrics: metrics(),
    });

    const outcomes = [];
    for (const t of wideSpec.targets) outcomes.push(await apply(t, 'apply'));

    expect(outcomes.map((o) => o.state)).toEqual(wideSpec.targets.map(() => 'Failed'));
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.filter((l) => l.msg === 'target not applied').map((l) => l.target)).toEqual(
      wideSpec.targets.slice(0, WARNINGS_PER_REASON).map((t) => `ConfigMap a/${t.name}`),
    );
    expect(warnings.filter((l) => l.msg !== 'target not applied')).toEqual([expect.objectContaining({ shown: WARNINGS_PER_REASON })]);
    expect(lines.filter((l) => l.level === 20 && l.msg === 'target not applied')).toHaveLength(3);
  });
});

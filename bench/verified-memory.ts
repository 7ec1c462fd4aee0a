import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { FIELD_MANAGER } from '../src/api/constants.js';
import type { ConfigPush } from '../src/api/types.js';
import { createConfigPushMetrics } from '../src/configpush/metrics.js';
import { applyTarget, type TargetVerifier } from '../src/configpush/target-applier.js';
import { VerifiedTargets } from '../src/configpush/verified-targets.js';
import type { TargetObject } from '../src/core/desired-target.js';
import { operationKey } from '../src/core/operation-key.js';
import { resolveSpec } from '../src/core/resolve-spec.js';
import type { TargetClient } from '../src/kube/target-client.js';
import { objectId } from '../src/runtime/own-writes.js';
import { heapAfterGc } from './heap-after-gc.js';

/**
 * What the verified-target records (docs/performance-idle-reads.md) cost in
 * memory: the live heap (after a full GC) before and after N single-target
 * pushes have each had their target created through the real applier, which
 * records one verification per target from the create's response. The pushes
 * are JSON-parsed objects held throughout, as the push cache holds them, so
 * strings a record shares with the cache (the push's uid, the target's name
 * and namespace) are not counted, and strings it holds alone (its key, the
 * digest, the resourceVersion, key and time from the response) are.
 * Single-target pushes are the worst case: no record shares a digest.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node --expose-gc .cache/bench-dist/bench/verified-memory.js [N...]
 */

/** An apiserver that answers creates with a fresh JSON-parsed object and keeps nothing. */
function answeringStore(): TargetClient {
  let revision = 1_000_000;
  return {
    read: async () => undefined,
    create: async (_kind, _namespace, body) => {
      const stored: TargetObject = { ...body, metadata: { ...body.metadata, resourceVersion: String(++revision), managedFields: [{ manager: FIELD_MANAGER, operation: 'Update', time: new Date() }] } };
      return JSON.parse(JSON.stringify(stored)) as TargetObject;
    },
    replace: async () => {
      throw new Error('not used');
    },
    delete: async () => undefined,
  };
}

function pushes(n: number): ConfigPush[] {
  return Array.from({ length: n }, (_, i) => {
    const push = {
      apiVersion: 'configpush.io/v1alpha1',
      kind: 'ConfigPush',
      metadata: { name: `app-${i}`, namespace: `team-${i % 50}`, uid: randomUUID(), generation: 1, resourceVersion: String(i) },
      spec: { targets: [{ kind: 'ConfigMap', name: `app-config-${i}` }], data: { 'app.properties': `color=blue\nreplica=${i}\n` } },
    };
    return JSON.parse(JSON.stringify(push)) as ConfigPush;
  });
}

async function measure(n: number): Promise<void> {
  const cached = pushes(n);
  const store = answeringStore();
  const verified = new VerifiedTargets();
  const verifier: TargetVerifier = {
    lookup: () => ({ verification: undefined, cached: undefined }),
    record: (t, v) => verified.record(objectId(t.kind, t.namespace, t.name), v),
    saw: (t, rv) => verified.saw(objectId(t.kind, t.namespace, t.name), rv),
  };
  const log = pino({ level: 'silent' });
  const metrics = createConfigPushMetrics(new Registry());
  const before = heapAfterGc();
  for (const push of cached) {
    const spec = resolveSpec(push);
    const { uid, generation, namespace, name } = push.metadata;
    const ownership = { ownerUid: uid, owner: `${namespace}/${name}`, operationKey: operationKey(uid, generation), generation, contentDigest: spec.digest };
    for (const target of spec.targets) {
      await applyTarget(store, target, spec, ownership, log, metrics, { mode: 'apply', previouslyWritten: false, assumeAbsent: true, verifier, client: '' });
    }
  }
  const after = heapAfterGc();
  if (verified.size !== n) throw new Error(`expected ${n} records, have ${verified.size}`);
  console.log(`${n} records: live heap +${((after - before) / 1024).toFixed(0)} KiB, ${((after - before) / n).toFixed(0)} B per record (${cached.length} pushes held)`);
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
for (const n of sizes.length > 0 ? sizes : [1_000, 10_000]) await measure(n);

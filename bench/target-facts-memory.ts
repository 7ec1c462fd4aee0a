import { randomUUID } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../src/api/constants.js';
import { contentDigest } from '../src/core/content-digest.js';
import { renderTarget } from '../src/core/desired-target.js';
import { operationKey } from '../src/core/operation-key.js';
import { keepTargetFacts, keepTargetMetadataOnly } from '../src/runtime/cache-transforms.js';
import { newDigestKey } from '../src/core/target-digest.js';
import { heapAfterGc } from './heap-after-gc.js';

/**
 * What keeping a target's digest in the watch cache costs
 * (docs/performance-idle-reads.md, "Restarts"): the live heap (after a full
 * GC) of N cached ConfigMap targets as the operator writes them, each parsed
 * from JSON as a watch delivers it and passed through the cache transform,
 * once with keepTargetMetadataOnly (before) and once with keepTargetFacts
 * (now: plus the packed digest, operation key and last write time).
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node --expose-gc .cache/bench-dist/bench/target-facts-memory.js [N...]
 */

function targetJson(i: number): string {
  const content = { data: { 'app.properties': `color=blue\nreplica=${i}\n`, mode: 'fast' }, binaryData: {}, labels: {}, annotations: {} };
  const uid = randomUUID();
  const body = renderTarget('ConfigMap', `app-config-${i}`, `team-${i % 50}`, content, { ownerUid: uid, owner: `team-${i % 50}/app-${i}`, operationKey: operationKey(uid, 1), generation: 1, contentDigest: contentDigest(content) }, undefined);
  body.metadata = { ...body.metadata, uid: randomUUID(), resourceVersion: String(1_000_000 + i), creationTimestamp: new Date(), managedFields: [{ manager: FIELD_MANAGER, operation: 'Update', time: new Date(), fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }] };
  return JSON.stringify(body);
}

function measure(n: number, transform: (obj: V1ConfigMap) => void): number {
  const texts = Array.from({ length: n }, (_, i) => targetJson(i));
  const before = heapAfterGc();
  const cache = texts.map((text) => {
    const obj = JSON.parse(text) as V1ConfigMap;
    transform(obj);
    return obj;
  });
  const after = heapAfterGc();
  if (cache.length !== n) throw new Error('lost objects');
  return (after - before) / n;
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const key = newDigestKey();
for (const n of sizes.length > 0 ? sizes : [10_000, 100_000]) {
  const metadataOnly = measure(n, keepTargetMetadataOnly);
  const facts = measure(n, keepTargetFacts('ConfigMap', key));
  console.log(`${n} cached targets: metadata only ${metadataOnly.toFixed(0)} B each, with the digest ${facts.toFixed(0)} B each (+${(facts - metadataOnly).toFixed(0)} B, +${(((facts - metadataOnly) * n) / 2 ** 20).toFixed(1)} MiB)`);
}

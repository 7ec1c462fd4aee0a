import { randomUUID } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Controller } from '../src/runtime/controller.js';
import { createControllerMetrics } from '../src/runtime/metrics.js';
import { OwnerIndex } from '../src/runtime/owner-index.js';
import { keepTargetFacts, trimPush } from '../src/runtime/cache-transforms.js';
import { ownerOf, shareOwnerStrings } from '../src/configpush/owner-strings.js';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { newDigestKey } from '../src/core/target-digest.js';
import { keepRevisionMetadata, RevisionStore } from '../src/configpush/revisions.js';
import type { RevisionClient } from '../src/kube/revision-client.js';
import { EventRecorder } from '../src/kube/event-recorder.js';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { V1ControllerRevision } from '@kubernetes/client-node';
import { heapAfterGc } from './heap-after-gc.js';
import { digestOf, iso, keyOf, pushJson, start, uidOf } from './push-fixture.js';

/**
 * What one more push costs in the operator's per-push structures that the
 * memory phase's heap snapshot names (docs/benchmarks.md, "Memory to 100,000
 * pushes"): the live heap (after a full GC) of N entries, each built from a
 * JSON-parsed object as a watch delivers it, in
 * - the push cache: a single-target push with the status the operator
 *   writes (4 conditions, one history entry, one target), through trimPush;
 * - OwnerIndex: the target's kind, namespace and name strings come from its
 *   parsed object, as the target watch hands them over;
 * - Controller.generations: the push's namespace and name, likewise;
 * - the revision cache: each push's ControllerRevision through
 *   keepRevisionMetadata into a RevisionStore, then the pushes cached after
 *   it (RevisionStore.shareStrings, trimPush): both caches together, per push;
 * - the target cache: each push's ConfigMap as the operator writes it,
 *   through keepTargetFacts, alone and then taking its push's strings
 *   (owner-strings.ts), with the pushes cached.
 * Pushes go to 10 namespaces and become Ready ~46 a second (the memory
 * phase's rate), so neighbours share their transition times.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node --expose-gc .cache/bench-dist/bench/cache-memory.js [N]
 */

function revisionJson(i: number): string {
  const namespace = `bench-${i % 10}`;
  const at = iso(start + (i / 46) * 1000);
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      annotations: { 'configpush.io/content-digest': digestOf(i), 'configpush.io/operation-key': keyOf(i), 'configpush.io/owner': `${namespace}/mem-${i}` },
      creationTimestamp: at,
      labels: { 'configpush.io/revision-of': uidOf(i) },
      managedFields: [{ apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {}, 'f:revision': {} }, manager: 'configpush-operator', operation: 'Update', time: at }],
      name: `mem-${i}-${digestOf(i).slice(7, 17)}`,
      namespace,
      ownerReferences: [{ apiVersion: 'configpush.io/v1alpha1', controller: true, kind: 'ConfigPush', name: `mem-${i}`, uid: uidOf(i) }],
      resourceVersion: String(1002 + 4 * i),
      uid: randomUUID(),
    },
    data: { 'revision.json': { spec: { data: { 'app.properties': `color=blue\nindex=${i}\nrevision=1\n`, mode: 'fast' } } } },
    revision: 1,
  });
}

function targetJson(i: number): string {
  return JSON.stringify({ kind: 'ConfigMap', metadata: { name: `mem-cfg-${i}`, namespace: `bench-${i % 10}`, annotations: { 'configpush.io/owner-uid': randomUUID() } } });
}

/** Bytes per entry of `n` entries built by `fill` from `n` JSON texts made by `json`; the parsed objects stay alive (they are the caches'). */
function measure(n: number, json: (i: number) => string, fill: (objects: unknown[]) => unknown): number {
  const texts = Array.from({ length: n }, (_, i) => json(i));
  const objects = texts.map((text) => JSON.parse(text) as unknown);
  const before = heapAfterGc();
  const held = fill(objects);
  const after = heapAfterGc();
  if (held === undefined || objects.length !== n) throw new Error('lost the structure');
  return (after - before) / n;
}

/** The push cache: the parsed push, trimmed. Measured against the parsed text alone (before: the untrimmed object is not kept). */
function pushCache(n: number): { parsed: number; trimmed: number } {
  const texts = Array.from({ length: n }, (_, i) => pushJson(i));
  const base = heapAfterGc();
  const parsed = texts.map((t) => JSON.parse(t) as KubernetesObject);
  const untrimmed = heapAfterGc() - base;
  const trimmed = texts.map((t) => {
    const obj = JSON.parse(t) as KubernetesObject;
    trimPush(obj);
    return obj;
  });
  const both = heapAfterGc() - base;
  if (parsed.length !== n || trimmed.length !== n) throw new Error('lost objects');
  return { parsed: untrimmed / n, trimmed: (both - untrimmed) / n };
}

function ownerIndex(objects: unknown[]): OwnerIndex {
  const index = new OwnerIndex();
  for (const obj of objects as { metadata: { name: string; namespace: string; annotations: Record<string, string> } }[]) {
    index.upsert('ConfigMap', obj.metadata.namespace, obj.metadata.name, obj.metadata.annotations['configpush.io/owner-uid']);
  }
  return index;
}

function generations(objects: unknown[]): Controller {
  const controller = new Controller({
    kind: 'configpush',
    reconciler: { reconcile: async () => ({}) },
    keys: () => [],
    metrics: createControllerMetrics(new Registry()),
    log: pino({ level: 'silent' }),
    options: { workers: 1, resyncPeriodMs: 3_600_000, backoffBaseMs: 50, backoffMaxMs: 5_000 },
  });
  for (const obj of objects as KubernetesObject[]) {
    const { namespace = '', name = '', generation = 1 } = obj.metadata ?? {};
    // The key as handlers.ts makes it, a fresh string per event.
    controller.observeGeneration(`${namespace}/${name}`, namespace, name, generation);
  }
  if (controller.rememberedGenerations !== objects.length) throw new Error('generations lost');
  return controller;
}

/** The revision cache and the push cache together: revisions first (they are written before the status naming them), then the pushes. */
function revisionsAndPushes(n: number): { revisions: number; pushes: number } {
  const revisionTexts = Array.from({ length: n }, (_, i) => revisionJson(i));
  const pushTexts = Array.from({ length: n }, (_, i) => pushJson(i));
  const base = heapAfterGc();
  const store = new RevisionStore({} as RevisionClient, pino({ level: 'silent' }));
  const revisions = revisionTexts.map((t) => {
    const obj = JSON.parse(t) as V1ControllerRevision;
    keepRevisionMetadata(obj);
    store.observe(obj, false);
    return obj;
  });
  const withRevisions = heapAfterGc() - base;
  const pushes = pushTexts.map((t) => {
    const obj = JSON.parse(t) as KubernetesObject;
    store.shareStrings(obj);
    trimPush(obj);
    return obj;
  });
  const withPushes = heapAfterGc() - base;
  if (revisions.length !== n || pushes.length !== n) throw new Error('lost objects');
  return { revisions: withRevisions / n, pushes: (withPushes - withRevisions) / n };
}

function configMapJson(i: number): string {
  const namespace = `bench-${i % 10}`;
  const at = iso(start + (i / 46) * 1000);
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    data: { 'app.properties': `color=blue\nindex=${i}\nrevision=1\n`, mode: 'fast' },
    metadata: {
      annotations: { 'configpush.io/owner': `${namespace}/mem-${i}`, 'configpush.io/owner-uid': uidOf(i), 'configpush.io/operation-key': keyOf(i), 'configpush.io/content-digest': digestOf(i), 'configpush.io/generation': '1' },
      creationTimestamp: at,
      labels: { 'app.kubernetes.io/managed-by': 'configpush-operator' },
      managedFields: [{ apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} }, manager: 'configpush-operator', operation: 'Update', time: at }],
      name: `mem-cfg-${i}`,
      namespace,
      resourceVersion: String(1001 + 4 * i),
      uid: randomUUID(),
    },
  });
}

/** The target cache with the pushes cached: keepTargetFacts alone, then also taking the push's strings. */
function targetCache(n: number): { alone: number; shared: number } {
  const pushes = new Map<string, KubernetesObject>();
  for (let i = 0; i < n; i++) {
    const obj = JSON.parse(pushJson(i)) as KubernetesObject;
    trimPush(obj);
    pushes.set(`${obj.metadata?.namespace}/${obj.metadata?.name}`, obj);
  }
  const keepFacts = keepTargetFacts('ConfigMap', newDigestKey());
  const run = (share: boolean) => {
    const texts = Array.from({ length: n }, (_, i) => configMapJson(i));
    const before = heapAfterGc();
    const cache = texts.map((t) => {
      const obj = JSON.parse(t) as V1ConfigMap;
      keepFacts(obj);
      const owner = share ? ownerOf(obj) : undefined;
      if (owner) shareOwnerStrings(obj, pushes.get(`${owner.namespace}/${owner.name}`));
      return obj;
    });
    const bytes = (heapAfterGc() - before) / n;
    if (cache.length !== n) throw new Error('lost objects');
    return bytes;
  };
  return { alone: run(false), shared: run(true) };
}

/** EventRecorder.series: one Applied Event per push, each its own series (held for the window, 10 minutes). */
async function eventSeries(n: number): Promise<number> {
  const core = { createNamespacedEvent: async () => ({}) } as unknown as CoreV1Api;
  const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'configpush-operator', windowMs: 3_600_000, minUpdateIntervalMs: 60_000 });
  const objects = Array.from({ length: n }, (_, i) => JSON.parse(pushJson(i)) as KubernetesObject);
  const before = heapAfterGc();
  for (const [i, obj] of objects.entries()) {
    const { name = '', namespace = '', uid = '' } = obj.metadata ?? {};
    await recorder.record({ apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', name, namespace, uid }, 'Normal', 'Applied', `operation ${keyOf(i)} applied to 1 target`);
  }
  const bytes = (heapAfterGc() - before) / n;
  if (recorder.size !== n || objects.length !== n) throw new Error('series lost'); // and keeps the pushes alive until measured
  return bytes;
}

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
for (const n of sizes.length > 0 ? sizes : [10_000]) {
  const push = pushCache(n);
  const owners = measure(n, targetJson, ownerIndex);
  const gens = measure(n, pushJson, generations);
  const both = revisionsAndPushes(n);
  const targets = targetCache(n);
  console.log(`${n} Event series: ${(await eventSeries(n)).toFixed(0)} B each`);
  console.log(`${n} cached targets: ${targets.alone.toFixed(0)} B each with their own strings, ${targets.shared.toFixed(0)} B taking their push's uid and name`);
  console.log(
    `${n} pushes with their revisions: revision cache and RevisionStore ${both.revisions.toFixed(0)} B, then the push cache ${both.pushes.toFixed(0)} B (${(both.revisions + both.pushes).toFixed(0)} B per push in all)`,
  );
  console.log(
    `${n} entries: cached push ${push.trimmed.toFixed(0)} B (parsed, untrimmed ${push.parsed.toFixed(0)} B); OwnerIndex ${owners.toFixed(0)} B per target; Controller.generations ${gens.toFixed(0)} B per push`,
  );
}

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { matchesSelector } from '../../src/core/label-selector.js';
import type { Operator } from '../../src/operator/operator.js';
import { condition, eventually, getPush, readConfigMap, readSecret } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { kubeconfigPath, repoRoot } from '../support/paths.js';

const samplesDir = join(repoRoot, 'samples');
// `kubectl apply -f samples/` reads the files in name order, and each file's documents in order.
const files = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

interface Namespace {
  kind: 'Namespace';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}
interface SampleObject {
  file: string;
  object: { kind: string };
}

/** Every object in samples/, in the order kubectl applies them. */
const objects: SampleObject[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(samplesDir, file), 'utf8'))
    .map((d) => d.toJS() as { kind: string } | null)
    .filter((o) => o !== null)
    .map((object) => ({ file, object })),
);
const isPush = (o: { kind: string }): o is ConfigPush => o.kind === 'ConfigPush';
const isNamespace = (o: { kind: string }): o is Namespace => o.kind === 'Namespace';
const pushes = objects.map((o) => o.object).filter(isPush);

/** Namespaces every cluster has: a sample may use them without creating them. */
const BUILT_IN_NAMESPACES = new Set(['default']);

/**
 * The shipped samples, applied as a user applies them (`kubectl apply -f
 * samples/`, the README's install section) on a control plane that has nothing
 * else: every namespace they need is in them, and every ConfigPush reaches
 * Ready. No kubelet runs here, so no sample may wait on pods
 * (spec.rollout.restart): those belong in the docs, not in samples/.
 */
describe('samples/', () => {
  let operator: Operator;
  beforeAll(async () => {
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('has samples, and none that waits for pods', () => {
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    for (const push of pushes) expect(push.spec.rollout?.restart ?? [], `${push.metadata.name}: rollout.restart`).toEqual([]);
  });

  it('creates, before each ConfigPush, every namespace it lives in or writes to, opted in to its pushes', () => {
    objects.forEach(({ file, object }, index) => {
      if (!isPush(object)) return;
      const earlier = new Map(
        objects
          .slice(0, index)
          .map((o) => o.object)
          .filter(isNamespace)
          .map((ns) => [ns.metadata.name, ns]),
      );
      const where = `${file}: ConfigPush ${object.metadata.name}`;
      const home = object.metadata.namespace;
      if (!BUILT_IN_NAMESPACES.has(home)) expect(earlier.has(home), `${where}: its namespace ${home}`).toBe(true);
      // Without a ServiceAccount, a target in another namespace needs that namespace's opt-in annotation.
      const acceptsHome = (ns: Namespace) => {
        const allowed = (ns.metadata.annotations?.[ALLOWED_SOURCES_ANNOTATION] ?? '').split(',').map((s) => s.trim());
        return object.spec.serviceAccountName !== undefined || allowed.includes(home) || allowed.includes('*');
      };
      for (const target of object.spec.targets) {
        if (target.namespaceSelector) {
          const matched = [...earlier.values()].filter((ns) => matchesSelector(target.namespaceSelector!, ns.metadata.labels));
          expect(matched.length, `${where}: namespaces matching the selector of ${target.kind} ${target.name}`).toBeGreaterThan(0);
          for (const ns of matched) expect(acceptsHome(ns), `${where}: ${ns.metadata.name} accepts pushes from ${home}`).toBe(true);
          continue;
        }
        const namespace = target.namespace ?? home;
        if (namespace === home || BUILT_IN_NAMESPACES.has(namespace)) continue;
        const ns = earlier.get(namespace);
        expect(ns, `${where}: target namespace ${namespace} is created earlier in samples/`).toBeDefined();
        expect(acceptsHome(ns!), `${where}: ${namespace} accepts pushes from ${home}`).toBe(true);
      }
    });
  });

  it('kubectl apply -f samples/ applies, and every ConfigPush reaches Ready=True with its content in every target', async () => {
    const apply = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, 'apply', '-f', 'samples/'], { cwd: repoRoot, encoding: 'utf8' });
    if (apply.error) throw new Error(`kubectl is needed for this test: ${apply.error.message}`);
    expect(apply.stderr).not.toMatch(/error/i);
    expect(apply.status).toBe(0);

    for (const sample of pushes) {
      const { namespace, name } = sample.metadata;
      let last = 'no status yet';
      const push = await eventually(
        async () => {
          const current = await getPush(namespace, name);
          const ready = condition(current, 'Ready');
          last = ready ? `Ready=${ready.status} ${ready.reason}: ${ready.message}` : last;
          const atGeneration = ready?.observedGeneration === current.metadata.generation && current.status?.observedGeneration === current.metadata.generation;
          return ready?.status === 'True' && atGeneration ? current : undefined;
        },
        `${namespace}/${name} Ready`,
        60_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)} (last: ${last})`);
      });

      const targets = push.status?.targets ?? [];
      expect(targets.length).toBeGreaterThanOrEqual(sample.spec.targets.length);
      expect(push.status?.targetSummary).toBe(`${targets.length}/${targets.length}`);
      // Ready is the operator's word; read each target to check it.
      for (const target of targets) {
        expect(target.state, `${target.kind} ${target.namespace}/${target.name}`).toBe('Applied');
        if (target.kind === 'ConfigMap') {
          const cm = await readConfigMap(target.namespace, target.name);
          expect(cm?.data ?? {}).toEqual(sample.spec.data ?? {});
          expect(cm?.binaryData ?? {}).toEqual(sample.spec.binaryData ?? {});
        } else {
          const secret = await readSecret(target.namespace, target.name);
          const expected = {
            ...Object.fromEntries(Object.entries(sample.spec.data ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
            ...(sample.spec.binaryData ?? {}),
          };
          expect(secret?.data ?? {}).toEqual(expected);
        }
      }
    }
  });
});

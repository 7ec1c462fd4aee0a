import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SOURCE_COPY_TO_ANNOTATION } from '../../src/api/constants.js';
import type { SourceKind } from '../../src/api/types.js';
import { sourceInformerFactory } from '../../src/configpush/source-informer.js';
import type { ResilientInformer } from '../../src/kube/resilient-informer.js';
import { core, eventually, newNamespace, testKubeConfig } from '../support/kube.js';

/**
 * The operator's source watches (the informers setup.ts builds) on the real
 * apiserver: what reaches the process is each source's metadata, never its
 * content. A transform that dropped the data after it arrived would pass the
 * cache checks but not these: `kind` is what the apiserver answered with, and
 * it is PartialObjectMetadata only when the apiserver left the content out.
 */
describe('source watches receive metadata only', () => {
  const big = 'v'.repeat(64 * 1024);

  async function createSource(kind: SourceKind, namespace: string, name: string, annotations: Record<string, string> = {}) {
    const body = { metadata: { name, annotations }, data: { payload: kind === 'Secret' ? Buffer.from(big).toString('base64') : big } };
    return kind === 'Secret' ? core.createNamespacedSecret({ namespace, body }) : core.createNamespacedConfigMap({ namespace, body });
  }

  /** Replaces the source's content and annotations at the resourceVersion read. */
  async function changeSource(kind: SourceKind, namespace: string, name: string, annotations: Record<string, string>) {
    const read = kind === 'Secret' ? await core.readNamespacedSecret({ namespace, name }) : await core.readNamespacedConfigMap({ namespace, name });
    const body = { ...read, metadata: { ...read.metadata, annotations }, data: { payload: kind === 'Secret' ? Buffer.from('w').toString('base64') : 'w' } };
    await (kind === 'Secret' ? core.replaceNamespacedSecret({ namespace, name, body }) : core.replaceNamespacedConfigMap({ namespace, name, body }));
  }

  function informerFor(kind: SourceKind, namespace: string, arrived: KubernetesObject[], watchList: boolean): ResilientInformer<KubernetesObject> {
    const make = sourceInformerFactory({ kubeConfig: testKubeConfig(), core, log: pino({ level: 'silent' }), relistIntervalMs: 600_000, watchList });
    return make(kind, namespace, { upsert: (obj) => arrived.push(obj), delete: () => undefined });
  }

  /** `kind` is the apiserver's answer (the transform keeps it as it came): PartialObjectMetadata only when the content was left out. */
  function expectMetadataOnly(obj: KubernetesObject | undefined, name: string) {
    expect(obj?.metadata?.name).toBe(name);
    expect(obj?.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(obj?.kind).toBe('PartialObjectMetadata');
    expect(obj?.apiVersion).toBe('meta.k8s.io/v1');
    expect((obj as { data?: unknown }).data).toBeUndefined();
  }

  for (const kind of ['Secret', 'ConfigMap'] as const) {
    for (const watchList of [true, false]) {
      const how = watchList ? 'a watch-list' : 'a LIST (where watch-lists are not served)';
      it(`${kind}s: filled by ${how}, then watched; the content never arrives, the copy-to annotation does`, async () => {
        const ns = await newNamespace('source-meta');
        await createSource(kind, ns, 'listed', { [SOURCE_COPY_TO_ANNOTATION]: 'team-a' });
        const arrived: KubernetesObject[] = [];
        const informer = informerFor(kind, ns, arrived, watchList);
        await informer.start();
        try {
          expectMetadataOnly(informer.get('listed', ns), 'listed');
          expect(informer.get('listed', ns)?.metadata?.annotations?.[SOURCE_COPY_TO_ANNOTATION]).toBe('team-a');

          // A change arrives on the watch, metadata only, at its new resourceVersion.
          const before = informer.get('listed', ns)?.metadata?.resourceVersion;
          await changeSource(kind, ns, 'listed', { [SOURCE_COPY_TO_ANNOTATION]: 'team-b' });
          const changed = await eventually(
            async () => arrived.find((obj) => obj.metadata?.name === 'listed' && obj.metadata.resourceVersion !== before),
            'the watch to deliver the change',
          );
          expectMetadataOnly(changed, 'listed');
          expect(changed.metadata?.annotations?.[SOURCE_COPY_TO_ANNOTATION]).toBe('team-b');

          await createSource(kind, ns, 'watched');
          expectMetadataOnly(await eventually(async () => informer.get('watched', ns), 'the watch to deliver the new source'), 'watched');
          for (const obj of arrived) expectMetadataOnly(obj, obj.metadata?.name ?? '');
        } finally {
          await informer.stop();
        }
      });
    }
  }
});

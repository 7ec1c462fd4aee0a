import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SOURCE_COPY_TO_ANNOTATION } from '../../src/api/constants.js';
import type { SourceKind } from '../../src/api/types.js';
import { referencedSources, SourceWatches } from '../../src/configpush/source-watches.js';
import type { InformerHandlers } from '../../src/kube/resilient-informer.js';
import { keepMetadataOnly } from '../../src/runtime/cache-transforms.js';
import { OnDemandWatches } from '../../src/runtime/on-demand-watches.js';
import { ReferenceIndex } from '../../src/runtime/reference-index.js';

const log = pino({ level: 'silent' });

/** A watch that records its lifecycle and lets the test deliver events. */
class FakeWatch {
  started = 0;
  stopped = 0;
  constructor(
    readonly kind: SourceKind,
    readonly namespace: string,
    readonly handlers: InformerHandlers<KubernetesObject>,
  ) {}
  async start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
  hasSynced() {
    return true;
  }
  emit(name: string, resourceVersion: string, deleted = false) {
    const obj = { metadata: { name, namespace: this.namespace, resourceVersion } };
    if (deleted) this.handlers.delete(obj);
    else this.handlers.upsert(obj);
  }
}

function push(namespace: string, name: string, sources: unknown[] | undefined): KubernetesObject {
  return { apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', metadata: { namespace, name }, spec: { targets: [], sources } } as KubernetesObject;
}

function setup() {
  const watches: FakeWatch[] = [];
  const queued: string[] = [];
  const sw = new SourceWatches({
    watch: (kind, namespace, handlers) => {
      const watch = new FakeWatch(kind, namespace, handlers);
      watches.push(watch);
      return watch;
    },
    enqueue: (key) => queued.push(key),
    log,
  });
  const live = (kind: SourceKind, namespace: string) => watches.filter((w) => w.kind === kind && w.namespace === namespace && w.stopped === 0);
  return { sw, watches, queued, live };
}

describe('ReferenceIndex', () => {
  it('reports ids gaining their first referrer and losing their last', () => {
    const index = new ReferenceIndex();
    expect(index.set('a', ['x', 'y'])).toEqual({ gained: ['x', 'y'], lost: [] });
    expect(index.set('b', ['x'])).toEqual({ gained: [], lost: [] });
    expect(index.set('a', ['y', 'z'])).toEqual({ gained: ['z'], lost: [] });
    expect(index.referrers('x')).toEqual(['b']);
    expect(index.delete('b')).toEqual({ gained: [], lost: ['x'] });
    expect(index.set('a', [])).toEqual({ gained: [], lost: ['y', 'z'] });
    expect(index.ids()).toEqual([]);
  });
});

describe('OnDemandWatches', () => {
  it('starts a group’s watch with its first referrer (once running) and stops it with its last', async () => {
    const made: FakeWatch[] = [];
    const stoppedGroups: string[] = [];
    const watches = new OnDemandWatches(
      (group) => {
        const w = new FakeWatch('Secret', group, { upsert() {}, delete() {} });
        made.push(w);
        return w;
      },
      log,
      (group) => stoppedGroups.push(group),
    );
    watches.refer('p1', ['g1']);
    expect(made[0]?.started).toBe(0); // not before the controller starts it
    await watches.start();
    expect(watches.hasSynced()).toBe(true);
    expect(made[0]?.started).toBe(1);
    watches.refer('p2', ['g1', 'g2']);
    expect(made).toHaveLength(2);
    expect(made[1]?.started).toBe(1);
    watches.forget('p1');
    expect(made[0]?.stopped).toBe(0); // p2 still needs g1
    watches.forget('p2');
    expect(made.map((w) => w.stopped)).toEqual([1, 1]);
    expect(stoppedGroups.sort()).toEqual(['g1', 'g2']);
    expect(watches.active()).toEqual([]);
  });
});

describe('SourceWatches', () => {
  it('watches each (kind, namespace) that pushes reference, ref-counted by those pushes', async () => {
    const { sw, live } = setup();
    await sw.source.start();
    sw.pushHandlers.upsert(push('apps', 'a', [{ secretRef: { name: 'tls', namespace: 'cert-manager' } }, { configMapRef: { name: 'shared' } }]));
    sw.pushHandlers.upsert(push('web', 'b', [{ secretRef: { name: 'tls', namespace: 'cert-manager' } }]));
    sw.pushHandlers.upsert(push('web', 'none', undefined));
    expect(sw.watchedGroups().sort()).toEqual(['ConfigMap/apps', 'Secret/cert-manager']);
    expect(live('Secret', 'cert-manager')).toHaveLength(1);
    expect(sw.referrers('Secret', 'cert-manager', 'tls').sort()).toEqual(['apps/a', 'web/b']);

    // a's spec drops its sources: the ConfigMap watch in apps goes, cert-manager stays for b.
    sw.pushHandlers.upsert(push('apps', 'a', []));
    expect(sw.watchedGroups()).toEqual(['Secret/cert-manager']);
    sw.pushHandlers.delete(push('web', 'b', [{ secretRef: { name: 'tls', namespace: 'cert-manager' } }]));
    expect(sw.watchedGroups()).toEqual([]);
    expect(live('Secret', 'cert-manager')).toHaveLength(0);
  });

  it('queues exactly the pushes referencing a changed source, and nothing for a re-delivered unchanged one', async () => {
    const { sw, watches, queued } = setup();
    await sw.source.start();
    sw.pushHandlers.upsert(push('apps', 'a', [{ secretRef: { name: 'tls' } }]));
    sw.pushHandlers.upsert(push('apps', 'b', [{ secretRef: { name: 'other' } }]));
    const watch = watches[0]!;
    watch.emit('tls', '10');
    watch.emit('unreferenced', '11');
    expect(queued).toEqual(['apps/a']);
    watch.emit('tls', '10'); // a relist re-delivers it unchanged
    expect(queued).toEqual(['apps/a']);
    watch.emit('tls', '12');
    watch.emit('other', '13');
    watch.emit('tls', '12', true);
    expect(queued).toEqual(['apps/a', 'apps/a', 'apps/b', 'apps/a']);
    watch.emit('tls', '14'); // recreated
    expect(queued).toHaveLength(5);
  });

  it('shows the resourceVersion the watch last delivered of a source, and none once it is deleted or its watch stops', async () => {
    const { sw, watches } = setup();
    await sw.source.start();
    sw.pushHandlers.upsert(push('apps', 'a', [{ secretRef: { name: 'tls' } }]));
    expect(sw.resourceVersionOf('Secret', 'apps', 'tls')).toBeUndefined(); // not listed yet
    const watch = watches[0]!;
    watch.emit('tls', '10');
    expect(sw.resourceVersionOf('Secret', 'apps', 'tls')).toBe('10');
    expect(sw.resourceVersionOf('ConfigMap', 'apps', 'tls')).toBeUndefined();
    watch.emit('tls', '12');
    expect(sw.resourceVersionOf('Secret', 'apps', 'tls')).toBe('12');
    watch.emit('tls', '12', true);
    expect(sw.resourceVersionOf('Secret', 'apps', 'tls')).toBeUndefined();
    watch.emit('tls', '14');
    sw.pushHandlers.delete(push('apps', 'a', [{ secretRef: { name: 'tls' } }]));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(watch.stopped).toBe(1);
    expect(sw.resourceVersionOf('Secret', 'apps', 'tls')).toBeUndefined();
  });

  it('skips malformed entries when indexing (the reconcile reports them)', () => {
    const refs = referencedSources(push('apps', 'a', [null, { secretRef: {} }, { configMapRef: { name: 'ok' } }, 'junk']) as never);
    expect(refs).toEqual([{ kind: 'ConfigMap', namespace: 'apps', name: 'ok' }]);
  });
});

describe('keepMetadataOnly', () => {
  it('keeps name, namespace, uid, resourceVersion and the named annotations; drops the values', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: 'tls',
        namespace: 'cert-manager',
        uid: 'u1',
        resourceVersion: '7',
        labels: { a: 'b' },
        annotations: { [SOURCE_COPY_TO_ANNOTATION]: '*', 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"tls.key":"S0VZ"}}' },
        managedFields: [{ manager: 'x' }],
      },
      data: { 'tls.key': 'S0VZ' },
    } as KubernetesObject;
    keepMetadataOnly([SOURCE_COPY_TO_ANNOTATION])(secret);
    expect(secret.metadata).toEqual({ name: 'tls', namespace: 'cert-manager', uid: 'u1', resourceVersion: '7', annotations: { [SOURCE_COPY_TO_ANNOTATION]: '*' } });
    expect(JSON.stringify(secret)).not.toContain('S0VZ');
  });
});

import { ApiException, type V1ControllerRevision, type V1Secret } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../src/api/constants.js';
import type { ConfigPush, ConfigPushSpec } from '../../src/api/types.js';
import { contentDigest, type DesiredContent } from '../../src/core/content-digest.js';
import { revisionName } from '../../src/core/revisions.js';
import { keepRevisionMetadata, recordOf, RevisionStore, revisionOwnerUid, shareRevisionStrings } from '../../src/configpush/revisions.js';
import { ApiError } from '../../src/kube/api-errors.js';
import type { RevisionClient } from '../../src/kube/revision-client.js';

/** An in-memory apiserver for revisions, with its preconditions, that counts every call. */
function fakeClient() {
  const revisions = new Map<string, V1ControllerRevision>();
  const secrets = new Map<string, V1Secret>();
  const calls: string[] = [];
  let rv = 100;
  let uid = 0;
  const stamp = <T extends { metadata?: V1ControllerRevision['metadata'] }>(obj: T): T => ({
    ...obj,
    metadata: { ...obj.metadata, uid: obj.metadata?.uid ?? `uid-${++uid}`, resourceVersion: String(++rv) },
  });
  const failure = (code: number, reason: string, message: string) =>
    new ApiError(new ApiException(code, message, JSON.stringify({ kind: 'Status', code, reason, message }), {}));
  const conflict = (what: string) => failure(409, 'Conflict', `${what} was modified`);
  const client: RevisionClient = {
    async read(namespace, name) {
      calls.push(`get ${name}`);
      return structuredClone(revisions.get(`${namespace}/${name}`));
    },
    async create(namespace, body) {
      calls.push(`create ${body.metadata?.name}`);
      const id = `${namespace}/${body.metadata?.name}`;
      if (revisions.has(id)) throw failure(409, 'AlreadyExists', `${id} exists`);
      const stored = stamp(body);
      revisions.set(id, stored);
      return structuredClone(stored);
    },
    async replace(namespace, name, body) {
      calls.push(`replace ${name}`);
      const id = `${namespace}/${name}`;
      if (revisions.get(id)?.metadata?.resourceVersion !== body.metadata?.resourceVersion) throw conflict(id);
      const stored = stamp(body);
      revisions.set(id, stored);
      return structuredClone(stored);
    },
    async delete(namespace, name, preconditions) {
      calls.push(`delete ${name}`);
      const id = `${namespace}/${name}`;
      const live = revisions.get(id);
      if (live && (live.metadata?.uid !== preconditions.uid || live.metadata?.resourceVersion !== preconditions.resourceVersion)) throw conflict(id);
      revisions.delete(id);
    },
    async readSecret(namespace, name) {
      calls.push(`get secret ${name}`);
      return structuredClone(secrets.get(`${namespace}/${name}`));
    },
    async createSecret(namespace, body) {
      calls.push(`create secret ${body.metadata?.name}`);
      const id = `${namespace}/${body.metadata?.name}`;
      if (secrets.has(id)) throw failure(409, 'AlreadyExists', `${id} exists`);
      const stored = stamp(body);
      secrets.set(id, stored);
      return structuredClone(stored);
    },
    async deleteSecret(namespace, name) {
      calls.push(`delete secret ${name}`);
      secrets.delete(`${namespace}/${name}`);
    },
  };
  return { client, revisions, secrets, calls };
}

const content = (v: string): DesiredContent => ({ data: { version: v }, binaryData: {}, labels: {}, annotations: {} });
const pushOf = (spec: ConfigPushSpec): ConfigPush => ({
  apiVersion: API_VERSION,
  kind: 'ConfigPush',
  metadata: { name: 'web', namespace: 'home', uid: 'push-uid', generation: 1, resourceVersion: '1' },
  spec,
});
const completed = (v: string, generation = Number(v)) => ({ content: content(v), digest: contentDigest(content(v)), operationKey: `${generation}-000000000${generation % 10}` });
const silent = pino({ level: 'silent' });

/** Delivers what the fake holds to the store, as the watch would (trimmed). */
function deliver(store: RevisionStore, fake: ReturnType<typeof fakeClient>): void {
  for (const obj of fake.revisions.values()) {
    const copy = structuredClone(obj);
    keepRevisionMetadata(copy);
    store.observe(copy, false);
  }
}

describe('RevisionStore', () => {
  const spec: ConfigPushSpec = { targets: [{ kind: 'ConfigMap', name: 'web' }], data: { version: '1' } };

  it('records completed content once: a repeat (before or after the watch delivers it) makes no request', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const push = pushOf(spec);
    const first = await store.recordCompleted(push, completed('1'), 10);
    expect(first).toMatchObject({ revision: 1, name: revisionName('web', completed('1').digest) });
    expect(fake.calls).toEqual([`create ${first.name}`]);
    await store.recordCompleted(push, completed('1'), 10); // the watch has not delivered it yet
    expect(store.undelivered).toBe(1);
    deliver(store, fake);
    expect(store.undelivered).toBe(0); // the watch caught up: the overlay holds nothing more
    await store.recordCompleted(push, completed('1'), 10);
    expect(fake.calls).toHaveLength(1);
    // The cache holds no content.
    expect(store.records(push)).toEqual([expect.objectContaining({ revision: 1, digest: completed('1').digest, contentSecret: false })]);
  });

  it('a watch event that arrives before the write\'s response leaves nothing behind', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const push = pushOf(spec);
    const create = fake.client.create.bind(fake.client);
    fake.client.create = async (namespace, body) => {
      const written = await create(namespace, body);
      deliver(store, fake); // the watch beats the response
      return written;
    };
    await store.recordCompleted(push, completed('1'), 10);
    expect(store.undelivered).toBe(0);
    expect(store.records(push)).toHaveLength(1);
  });

  it('a lost response: the create meets AlreadyExists and takes what is there', async () => {
    const fake = fakeClient();
    const push = pushOf(spec);
    await new RevisionStore(fake.client, silent).recordCompleted(push, completed('1'), 10);
    const fresh = new RevisionStore(fake.client, silent); // a restarted process whose cache is behind
    expect(await fresh.recordCompleted(push, completed('1'), 10)).toMatchObject({ revision: 1 });
    expect(fake.revisions.size).toBe(1);
  });

  it('numbers new content one above the highest; content that completes again is renumbered to the newest', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const push = pushOf(spec);
    for (const v of ['1', '2', '3']) {
      await store.recordCompleted(push, completed(v), 10);
      deliver(store, fake);
    }
    expect(store.records(push).map((r) => r.revision).sort()).toEqual([1, 2, 3]);
    const again = await store.recordCompleted(push, completed('1', 4), 10);
    expect(again).toMatchObject({ revision: 4, operationKey: completed('1', 4).operationKey });
    deliver(store, fake);
    expect(store.records(push).map((r) => [r.revision, r.digest]).sort()).toEqual(
      [
        [2, completed('2').digest],
        [3, completed('3').digest],
        [4, completed('1').digest],
      ].sort(),
    );
  });

  it('prunes beyond the limit, oldest first, with preconditions, keeping what is in use', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const push = pushOf(spec);
    for (const v of ['1', '2', '3', '4']) {
      await store.recordCompleted(push, completed(v), 2);
      deliver(store, fake);
    }
    expect(store.records(push).map((r) => r.revision).sort()).toEqual([3, 4]);
    expect(fake.revisions.size).toBe(2);
    expect(fake.calls.filter((c) => c.startsWith('delete'))).toHaveLength(2);
  });

  it('keeps Secret-derived payloads in a Secret, and reads them back (once)', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const push = pushOf({ targets: [{ kind: 'Secret', name: 'db' }], data: { password: 'hunter2' } });
    const record = await store.recordCompleted(push, completed('1'), 10);
    expect(fake.calls).toEqual([`create secret ${record.name}`, `create ${record.name}`]);
    const revision = fake.revisions.get(`home/${record.name}`)!;
    expect(JSON.stringify(revision)).not.toContain('hunter2');
    expect(revision.data).toEqual({ contentSecret: record.name });
    expect(record.contentSecret).toBe(true);
    expect(await store.payload(record)).toEqual({ spec: { data: { password: 'hunter2' } }, content: { data: { password: 'hunter2' }, binaryData: {}, labels: {}, annotations: {} } });
    await store.payload(record);
    expect(fake.calls.filter((c) => c.startsWith('get'))).toEqual([`get secret ${record.name}`]);
  });

  it('content too large for a revision is refused before any request (RevisionTooLarge, permanent)', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const big = { targets: [{ kind: 'ConfigMap' as const, name: 'web' }], data: { big: 'x'.repeat(1_300_000) } };
    await expect(store.recordCompleted(pushOf(big), completed('1'), 10)).rejects.toMatchObject({ reason: 'RevisionTooLarge', retry: 'permanent' });
    expect(fake.calls).toEqual([]);
    // Just under the limit fits: the content is not stored a second time beside the spec.
    const near = { targets: [{ kind: 'ConfigMap' as const, name: 'web' }], data: { big: 'x'.repeat(1_040_000) } };
    await expect(store.recordCompleted(pushOf(near), completed('2'), 10)).resolves.toMatchObject({ revision: 1 });
  });

  it('a payload that is gone is a permanent RevisionNotFound', async () => {
    const fake = fakeClient();
    const store = new RevisionStore(fake.client, silent);
    const record = await store.recordCompleted(pushOf(spec), completed('1'), 10);
    fake.revisions.clear();
    await expect(store.payload(record)).rejects.toMatchObject({ reason: 'RevisionNotFound', retry: 'permanent' });
  });
});

describe('the revision cache and the push cache share strings', () => {
  const digest = 'sha256:' + 'a'.repeat(64);
  /** A revision as the apiserver sends it (a watch event, a LIST item). */
  const asSent = (pushUid: string, d = digest, key = '1-aaaaaaaaaa', more: Record<string, string> = {}): V1ControllerRevision =>
    JSON.parse(
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: 'web-aaaaaaaaaa',
          namespace: 'home',
          uid: 'rev-uid',
          resourceVersion: '5',
          labels: { 'configpush.io/revision-of': pushUid, other: 'x' },
          annotations: { 'configpush.io/content-digest': d, 'configpush.io/operation-key': key, 'configpush.io/owner': 'home/web', ...more },
          ownerReferences: [{ apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', name: 'web', uid: pushUid, controller: true }],
        },
        data: { 'revision.json': { spec: {} } },
        revision: 1,
      }),
    ) as V1ControllerRevision;
  /** The same, as the revision cache keeps it. */
  const revision = (pushUid: string, d = digest, key = '1-aaaaaaaaaa'): V1ControllerRevision => {
    const obj = asSent(pushUid, d, key);
    keepRevisionMetadata(obj);
    return obj;
  };
  const push = () =>
    JSON.parse(
      JSON.stringify({
        metadata: { name: 'web', namespace: 'home', uid: 'push-uid' },
        status: {
          contentDigest: digest,
          operationKey: '1-aaaaaaaaaa',
          history: [
            { generation: 1, digest, key: '1-aaaaaaaaaa', revision: 1 },
            { generation: 0, digest: 'sha256:other', key: '0-bbbbbbbbbb', revision: 0 },
          ],
          targets: [{ kind: 'ConfigMap', name: 'web', namespace: 'home', operationKey: '1-aaaaaaaaaa', state: 'Applied' }],
        },
      }),
    ) as { metadata: { uid: string }; status: Record<string, unknown> };

  it('keeps of a revision what the informer compares, its uid, and the label and annotations the store reads as flat fields; no data', () => {
    const obj = revision('push-uid');
    expect(JSON.parse(JSON.stringify(obj))).toEqual({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: 'web-aaaaaaaaaa',
        namespace: 'home',
        uid: 'rev-uid',
        resourceVersion: '5',
        pushUid: 'push-uid',
        digest,
        operationKey: '1-aaaaaaaaaa',
        contentSecret: false,
      },
      revision: 1,
    });
    // Trimming twice (a watch-list's object reaching the informer's add) keeps it as it is.
    const again = structuredClone(obj);
    keepRevisionMetadata(again);
    expect(again).toEqual(obj);
  });

  it('reads the same record from a cached revision and from one as the apiserver sends it', () => {
    const sent = asSent('push-uid', digest, '1-aaaaaaaaaa', { 'configpush.io/content-secret': 'web-aaaaaaaaaa' });
    const cached = structuredClone(sent);
    keepRevisionMetadata(cached);
    const expected = { name: 'web-aaaaaaaaaa', namespace: 'home', uid: 'rev-uid', resourceVersion: '5', revision: 1, digest, operationKey: '1-aaaaaaaaaa', contentSecret: true };
    expect(recordOf(sent)).toEqual(expected);
    expect(recordOf(cached)).toEqual(expected);
    expect(revisionOwnerUid(sent)).toBe('push-uid');
    expect(revisionOwnerUid(cached)).toBe('push-uid');
  });

  it('forgets a cached revision on a DELETE event, which carries the object as the apiserver sends it (untrimmed)', () => {
    const store = new RevisionStore({} as RevisionClient, silent);
    const owner = { metadata: { uid: 'push-uid' } } as ConfigPush;
    store.observe(revision('push-uid'), false);
    expect(store.records(owner).map((r) => r.name)).toEqual(['web-aaaaaaaaaa']);
    const deleted = asSent('push-uid');
    deleted.metadata!.resourceVersion = '9';
    store.observe(deleted, true);
    expect(store.records(owner)).toEqual([]);
  });

  it('a push takes the cached revisions\' strings, from the store or from a revision that arrives later; values unchanged', () => {
    const store = new RevisionStore({} as RevisionClient, silent);
    store.observe(revision('push-uid'), false);
    const a = push();
    store.shareStrings(a);
    expect(a).toEqual(push());
    const b = push();
    shareRevisionStrings(b, [revision('push-uid')]);
    expect(b).toEqual(push());
  });

  it('a revision of another push, or of another digest, changes nothing it does not equal', () => {
    const other = push();
    shareRevisionStrings(other, [revision('someone-else', 'sha256:' + 'b'.repeat(64), '1-bbbbbbbbbb')]);
    expect(other).toEqual(push());
    const store = new RevisionStore({} as RevisionClient, silent);
    const none = push();
    store.shareStrings(none); // nothing cached for it
    expect(none).toEqual(push());
  });
});

import type { V1ControllerRevision, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/constants.js';
import type { ConfigPush } from '../api/types.js';
import type { DesiredContent } from '../core/content-digest.js';
import {
  holdsSecretContent,
  MAX_REVISION_PAYLOAD_BYTES,
  newestRevision,
  nextRevisionNumber,
  parsePayload,
  PAYLOAD_KEY,
  payloadOf,
  REVISION_ANNOTATION,
  REVISION_OF_LABEL,
  REVISION_SECRET_TYPE,
  revisionName,
  revisionsToPrune,
  type RevisionPayload,
  type RevisionRecord,
} from '../core/revisions.js';
import { PermanentError } from '../core/errors.js';
import { isAlreadyExists, isConflict } from '../kube/api-errors.js';
import type { RevisionClient } from '../kube/revision-client.js';

/** Own writes awaiting their watch event, at most (each ~0.5 KiB). */
const OWN_WRITES_LIMIT = 1_000;
/** Revision payloads kept in memory, so a rolled-back push's resyncs do not read its revision again. */
const PAYLOAD_CACHE_LIMIT = 256;

/**
 * A push's content revisions (core/revisions.ts): the index of the
 * ControllerRevisions the watch delivers (metadata only), the one write that
 * records a completed rollout's content, pruning beyond the history limit,
 * and reading a revision's payload back for a rollback.
 *
 * A revision is made when a rollout completes, before the status says Ready,
 * so "the newest revision other than the failing content" is the last content
 * that completed. The same content always has the same name: two replicas, or
 * a retry after a lost response, meet at AlreadyExists.
 */
export class RevisionStore {
  /**
   * By push uid, then revision name: the very objects the watch cache holds
   * (trimmed by keepRevisionMetadata), so the index adds no copy of them.
   * Most pushes have one revision: it is held as is, and a Map only once a
   * second arrives (a Map per push costs ~270 bytes; see runtime/owner-index.ts).
   */
  private readonly byPush = new Map<string, V1ControllerRevision | Map<string, V1ControllerRevision>>();
  /** Revisions this process made or changed that the watch has not delivered yet (by namespace/name). */
  private readonly ownWrites = new Map<string, { pushUid: string; record: RevisionRecord }>();
  /** Payloads read, by revision uid (a ControllerRevision's data is immutable). */
  private readonly payloads = new Map<string, RevisionPayload>();

  constructor(
    private readonly client: RevisionClient,
    private readonly log: Logger,
  ) {}

  /** How many of this process's own writes the watch has not delivered yet (bounded by the writes in flight). */
  get undelivered(): number {
    return this.ownWrites.size;
  }

  /** The watch delivered (or deleted) a ControllerRevision. */
  observe(obj: V1ControllerRevision, deleted: boolean): void {
    const record = recordOf(obj);
    const pushUid = revisionOwnerUid(obj);
    if (!record || !pushUid) return;
    const id = `${record.namespace}/${record.name}`;
    const own = this.ownWrites.get(id)?.record;
    // resourceVersions of one object from one etcd are integers that grow; anything else just drops the overlay.
    const caughtUp = !own || deleted || own.uid !== record.uid || !(Number(record.resourceVersion) < Number(own.resourceVersion));
    if (caughtUp) this.ownWrites.delete(id);
    if (deleted) {
      this.remove(pushUid, record.name);
      this.payloads.delete(record.uid);
      return;
    }
    const held = this.byPush.get(pushUid);
    if (held === undefined || (!(held instanceof Map) && held.metadata?.name === record.name)) this.byPush.set(pushUid, obj);
    else if (held instanceof Map) held.set(record.name, obj);
    else this.byPush.set(pushUid, new Map([[held.metadata?.name ?? '', held], [record.name, obj]]));
  }

  private remove(pushUid: string, name: string): void {
    const held = this.byPush.get(pushUid);
    if (held === undefined) return;
    if (!(held instanceof Map)) {
      if (held.metadata?.name === name) this.byPush.delete(pushUid);
      return;
    }
    held.delete(name);
    if (held.size === 0) this.byPush.delete(pushUid);
  }

  /**
   * Makes a push about to be cached hold the revision cache's copies of the
   * strings both keep: its uid (the revisions' label), and the digest and
   * operation key of each generation its status names (the revisions'
   * annotations). Each watch event parses its own copies: 176 bytes a push
   * held twice (uid 56, digest 88, key 32). The revisions are written before
   * the status that names them, so they are cached first; values are
   * unchanged, only which copy is held.
   */
  shareStrings(push: SharingPush): void {
    const uid = push.metadata?.uid;
    const held = uid === undefined ? undefined : this.byPush.get(uid);
    if (held !== undefined) shareRevisionStrings(push, held instanceof Map ? [...held.values()] : [held]);
  }

  /** The push's revisions: the cache's, overlaid with this process's own writes the watch has not delivered. */
  records(push: ConfigPush): RevisionRecord[] {
    const held = this.byPush.get(push.metadata.uid);
    const objects = held === undefined ? [] : held instanceof Map ? [...held.values()] : [held];
    const records = new Map<string, RevisionRecord>();
    for (const obj of objects) {
      const record = recordOf(obj);
      if (record) records.set(record.name, record);
    }
    for (const { pushUid, record } of this.ownWrites.values()) if (pushUid === push.metadata.uid) records.set(record.name, record);
    return [...records.values()];
  }

  /**
   * Records that the rollout of `content` (digest `digest`, by operation
   * `operationKey`) completed, and prunes beyond `limit` (never a name in
   * `keep`). No request at all when it is already the newest revision: an
   * idle resync of a completed push writes and reads nothing here.
   */
  async recordCompleted(
    push: ConfigPush,
    completed: { content: DesiredContent; digest: string; operationKey: string },
    limit: number,
    keep: ReadonlySet<string> = new Set(),
  ): Promise<RevisionRecord> {
    const records = this.records(push);
    const existing = records.find((r) => r.digest === completed.digest);
    const newest = newestRevision(records);
    let record: RevisionRecord;
    if (existing && newest && existing.name === newest.name) record = existing;
    else if (existing) record = await this.renumber(push, existing, completed, nextRevisionNumber(records));
    else record = await this.create(push, completed, nextRevisionNumber(records));
    await this.prune(push, limit, new Set([...keep, record.name]));
    return record;
  }

  /** The revision's payload: read once per revision, then from memory. */
  async payload(record: RevisionRecord): Promise<RevisionPayload> {
    const known = this.payloads.get(record.uid);
    if (known) return known;
    let raw: unknown;
    if (record.contentSecret) {
      const secret = await this.client.readSecret(record.namespace, record.name);
      const encoded = secret?.data?.[PAYLOAD_KEY];
      if (encoded === undefined) throw new RevisionContentMissingError(record);
      raw = Buffer.from(encoded, 'base64').toString('utf8');
    } else {
      const revision = await this.client.read(record.namespace, record.name);
      if (!revision || revision.metadata?.uid !== record.uid) throw new RevisionContentMissingError(record);
      raw = (revision.data as Record<string, unknown> | undefined)?.[PAYLOAD_KEY];
    }
    const payload = parsePayload(raw);
    this.payloads.set(record.uid, payload);
    if (this.payloads.size > PAYLOAD_CACHE_LIMIT) this.payloads.delete(this.payloads.keys().next().value!);
    return payload;
  }

  /** Deletes the revisions beyond `limit`, oldest first, with uid and resourceVersion preconditions. */
  async prune(push: ConfigPush, limit: number, keep: ReadonlySet<string>): Promise<number> {
    const doomed = revisionsToPrune(this.records(push), limit, keep);
    for (const record of doomed) {
      await this.client.delete(record.namespace, record.name, { uid: record.uid, resourceVersion: record.resourceVersion });
      if (record.contentSecret) {
        const secret = await this.client.readSecret(record.namespace, record.name);
        if (secret?.metadata?.uid && secret.metadata.labels?.[REVISION_OF_LABEL] === push.metadata.uid) {
          await this.client.deleteSecret(record.namespace, record.name, { uid: secret.metadata.uid });
        }
      }
      this.forget(push, record);
      this.log.info({ revision: record.revision, name: record.name }, 'revision pruned (beyond revisionHistoryLimit)');
    }
    return doomed.length;
  }

  /**
   * Overlays our own write until the watch delivers it. The watch may deliver
   * it before the write's response arrives (often, under load): then the
   * cache already shows it and there is nothing to overlay; remembering it
   * anyway would keep it for good, since no later event would clear it.
   */
  private rememberOwnWrite(pushUid: string, record: RevisionRecord): void {
    const held = this.byPush.get(pushUid);
    const cached = held === undefined ? undefined : held instanceof Map ? held.get(record.name) : held.metadata?.name === record.name ? held : undefined;
    const seen = cached?.metadata?.uid === record.uid && !(Number(cached.metadata?.resourceVersion) < Number(record.resourceVersion));
    if (seen) return;
    this.ownWrites.set(`${record.namespace}/${record.name}`, { pushUid, record });
    // A bound regardless (a watch that never delivers): the oldest goes first; losing one costs an AlreadyExists.
    if (this.ownWrites.size > OWN_WRITES_LIMIT) this.ownWrites.delete(this.ownWrites.keys().next().value!);
  }

  private forget(push: ConfigPush, record: RevisionRecord): void {
    this.ownWrites.delete(`${record.namespace}/${record.name}`);
    this.remove(push.metadata.uid, record.name);
    this.payloads.delete(record.uid);
  }

  private async create(
    push: ConfigPush,
    completed: { content: DesiredContent; digest: string; operationKey: string },
    revision: number,
  ): Promise<RevisionRecord> {
    const { namespace, name: pushName, uid } = push.metadata;
    const name = revisionName(pushName, completed.digest);
    const payload = JSON.stringify(payloadOf(push.spec, completed.content));
    const size = Buffer.byteLength(payload);
    if (size > MAX_REVISION_PAYLOAD_BYTES) {
      // Checked before any request: too large for etcd, so no write could succeed.
      throw new PermanentError('RevisionTooLarge', `the content (${size} bytes as a revision) is larger than a revision may be (${MAX_REVISION_PAYLOAD_BYTES} bytes)`);
    }
    const inSecret = holdsSecretContent(push.spec);
    const metadata = {
      name,
      namespace,
      labels: { [REVISION_OF_LABEL]: uid },
      annotations: {
        [REVISION_ANNOTATION.digest]: completed.digest,
        [REVISION_ANNOTATION.operationKey]: completed.operationKey,
        [REVISION_ANNOTATION.owner]: `${namespace}/${pushName}`,
        ...(inSecret ? { [REVISION_ANNOTATION.contentSecret]: name } : {}),
      },
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: pushName, uid, controller: true }],
    };
    if (inSecret) {
      // The payload first: a ControllerRevision never names a Secret that is not there.
      const secret: V1Secret = { apiVersion: 'v1', kind: 'Secret', type: REVISION_SECRET_TYPE, metadata, data: { [PAYLOAD_KEY]: Buffer.from(payload).toString('base64') } };
      try {
        await this.client.createSecret(namespace, secret);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Ours from an earlier attempt whose ControllerRevision was never made (same name: same content).
      }
    }
    const body: V1ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata,
      revision,
      data: inSecret ? { contentSecret: name } : { [PAYLOAD_KEY]: JSON.parse(payload) as unknown },
    };
    let written: V1ControllerRevision;
    try {
      written = await this.client.create(namespace, body);
      this.log.info({ revision, name, key: completed.operationKey }, 'revision recorded');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Another replica, or our own earlier write whose response was lost.
      const live = await this.client.read(namespace, name);
      if (!live) throw err;
      written = live;
    }
    const record = recordOf(written);
    if (!record) throw new Error(`ControllerRevision ${namespace}/${name} has no uid or resourceVersion`);
    this.rememberOwnWrite(uid, record);
    return record;
  }

  /** The same content completed again: it becomes the newest revision (as a StatefulSet renumbers a revision it returns to). */
  private async renumber(
    push: ConfigPush,
    record: RevisionRecord,
    completed: { content: DesiredContent; digest: string; operationKey: string },
    revision: number,
  ): Promise<RevisionRecord> {
    for (let round = 0; round < 3; round++) {
      const live = await this.client.read(record.namespace, record.name);
      if (!live) return this.create(push, completed, revision);
      if ((live.revision ?? 0) >= revision) return recordOf(live) ?? record;
      try {
        // The operation that completed it now is the one its annotation names.
        const annotations = { ...live.metadata?.annotations, [REVISION_ANNOTATION.operationKey]: completed.operationKey };
        const written = await this.client.replace(record.namespace, record.name, { ...live, metadata: { ...live.metadata, annotations }, revision });
        const updated = recordOf(written) ?? record;
        this.rememberOwnWrite(push.metadata.uid, updated);
        this.log.info({ revision, name: record.name }, 'revision renumbered: the same content completed again');
        return updated;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    return record;
  }
}

/** The revision's payload is gone (its ControllerRevision or Secret was deleted by someone). */
export class RevisionContentMissingError extends PermanentError {
  constructor(record: RevisionRecord) {
    super('RevisionNotFound', `revision ${record.revision} (${record.namespace}/${record.name}) cannot be read back: its ${record.contentSecret ? 'Secret' : 'ControllerRevision'} is gone`);
    this.name = 'RevisionContentMissingError';
  }
}

/** What shareRevisionStrings reads and rewrites of a push (raw, as its watch delivers it). */
export type SharingPush = { metadata?: { uid?: string }; status?: unknown };

/**
 * The push holds the revisions' copies of the strings both carry (its uid,
 * and each revision's digest and operation key where its status names them);
 * values unchanged. See RevisionStore.shareStrings; also called when a
 * revision arrives after its push (a restart lists both at once).
 */
export function shareRevisionStrings(push: SharingPush, revisions: readonly V1ControllerRevision[]): void {
  const uid = push.metadata?.uid;
  if (push.metadata === undefined || uid === undefined) return;
  const owner = revisions[0] === undefined ? undefined : factsOf(revisions[0])?.pushUid;
  if (owner !== undefined && owner === uid) push.metadata.uid = owner;
  const status = push.status as { contentDigest?: unknown; operationKey?: unknown; history?: unknown } | undefined;
  if (status === undefined || status === null || typeof status !== 'object') return;
  const records = (list: unknown) => (Array.isArray(list) ? (list as unknown[]).filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object') : []);
  const entries = records(status.history);
  const targets = records((status as { targets?: unknown }).targets);
  for (const revision of revisions) {
    const facts = factsOf(revision);
    if (facts?.pushUid !== uid) continue;
    const { digest, operationKey: key } = facts;
    if (digest !== undefined && status.contentDigest === digest) status.contentDigest = digest;
    if (key !== undefined && status.operationKey === key) status.operationKey = key;
    for (const entry of entries) {
      if (digest !== undefined && entry.digest === digest) entry.digest = digest;
      if (key !== undefined && entry.key === key) entry.key = key;
    }
    if (key !== undefined) for (const target of targets) if (target.operationKey === key) target.operationKey = key;
  }
}

/**
 * What the revision cache keeps of a ControllerRevision's metadata: what the
 * informer compares (name, namespace, resourceVersion), the uid (delete
 * preconditions), and the facts the store reads from its label and
 * annotations, as fields of their own. A revision as the apiserver sends it
 * carries them in a labels map and an annotations map: two objects more per
 * cached revision, 96 B of the 528 it took (bench/cache-memory.ts). Never a
 * real object's metadata: nothing writes a cached revision.
 */
export interface KeptRevisionMetadata {
  name: string | undefined;
  namespace: string | undefined;
  uid: string | undefined;
  resourceVersion: string | undefined;
  /** The push's uid (the configpush.io/revision-of label). */
  pushUid: string | undefined;
  digest: string | undefined;
  operationKey: string | undefined;
  /** The payload is in a Secret of the same name (the content-secret annotation). */
  contentSecret: boolean;
}

/** What the store reads of a revision: the push it belongs to, and what its annotations say. */
type RevisionFacts = Pick<KeptRevisionMetadata, 'pushUid' | 'digest' | 'operationKey' | 'contentSecret'>;

function isKept(metadata: object): metadata is KeptRevisionMetadata {
  return 'pushUid' in metadata;
}

/**
 * A revision's facts, from either shape: the cache's (keepRevisionMetadata),
 * or the apiserver's, which the store also meets (a create's answer, a
 * watch's DELETE event, which the informer does not trim, the plugin's LIST).
 */
function factsOf(obj: V1ControllerRevision): RevisionFacts | undefined {
  const metadata = obj.metadata;
  if (metadata === undefined) return undefined;
  if (isKept(metadata)) return metadata;
  const annotations = metadata.annotations;
  return {
    pushUid: metadata.labels?.[REVISION_OF_LABEL],
    digest: annotations?.[REVISION_ANNOTATION.digest],
    operationKey: annotations?.[REVISION_ANNOTATION.operationKey],
    contentSecret: annotations?.[REVISION_ANNOTATION.contentSecret] !== undefined,
  };
}

/** The uid of the push a revision (either shape) belongs to. */
export function revisionOwnerUid(obj: V1ControllerRevision): string | undefined {
  return factsOf(obj)?.pushUid;
}

/** What the cache keeps of a push's ControllerRevision: its metadata as KeptRevisionMetadata and its number, never its data (transform of the watch). */
export function keepRevisionMetadata(obj: V1ControllerRevision): void {
  if (obj.metadata !== undefined && isKept(obj.metadata)) return;
  const { name, namespace, uid, resourceVersion, labels, annotations } = obj.metadata ?? {};
  // One literal of fixed shape: its fields sit in the object itself (built
  // from spreads, they went to a separate properties array: 64 B more per
  // cached revision, heap snapshot at 10,000 pushes). Not the owner
  // annotation: the label names the push.
  const kept: KeptRevisionMetadata = {
    name,
    namespace,
    uid,
    resourceVersion,
    pushUid: labels?.[REVISION_OF_LABEL],
    digest: annotations?.[REVISION_ANNOTATION.digest],
    operationKey: annotations?.[REVISION_ANNOTATION.operationKey],
    contentSecret: annotations?.[REVISION_ANNOTATION.contentSecret] !== undefined,
  };
  obj.metadata = kept as NonNullable<V1ControllerRevision['metadata']>;
  // Every cached revision's own copy of "ControllerRevision" (40 B) made one.
  if (obj.kind === REVISION_KIND) obj.kind = REVISION_KIND;
  // Not `delete` (V8 dictionary mode; see runtime/cache-transforms.ts).
  (obj as { data?: unknown }).data = undefined;
}

const REVISION_KIND = 'ControllerRevision';

/** A revision (either shape) as the store keeps it; undefined without a name, namespace, uid, resourceVersion or digest. */
export function recordOf(obj: V1ControllerRevision): RevisionRecord | undefined {
  const { name, namespace, uid, resourceVersion } = obj.metadata ?? {};
  const facts = factsOf(obj);
  const digest = facts?.digest;
  if (!name || !namespace || !uid || !resourceVersion || !digest) return undefined;
  return {
    name,
    namespace,
    uid,
    resourceVersion,
    revision: obj.revision ?? 0,
    digest,
    operationKey: facts.operationKey,
    contentSecret: facts.contentSecret,
  };
}

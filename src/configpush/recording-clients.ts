import { KIND } from '../api/constants.js';
import type { ConfigPush } from '../api/types.js';
import type { ConfigPushClient } from '../kube/configpush-client.js';
import type { TargetClient } from '../kube/target-client.js';
import { objectId } from '../runtime/own-writes.js';

/** Remembers that one of our writes left object `id` at `resourceVersion` (runtime/own-writes.ts). */
export type WriteRecorder = (id: string, resourceVersion: string | undefined) => void;

/** `targets`, noting the resourceVersion each of its writes produced, so their watch echoes queue nothing. */
export function recordingTargetClient(targets: TargetClient, record: WriteRecorder): TargetClient {
  return {
    read: (kind, namespace, name) => targets.read(kind, namespace, name),
    async create(kind, namespace, body) {
      const created = await targets.create(kind, namespace, body);
      record(objectId(kind, namespace, created.metadata?.name), created.metadata?.resourceVersion);
      return created;
    },
    async replace(kind, namespace, name, body) {
      const replaced = await targets.replace(kind, namespace, name, body);
      record(objectId(kind, namespace, name), replaced.metadata?.resourceVersion);
      return replaced;
    },
    // A deleted object has no echo to suppress: its delete event always queues the owner.
    delete: (kind, namespace, name, preconditions) => targets.delete(kind, namespace, name, preconditions),
  };
}

/** `pushes`, noting the resourceVersion each status and finalizer write produced. */
export function recordingPushClient(pushes: ConfigPushClient, record: WriteRecorder): ConfigPushClient {
  const note = (push: ConfigPush): ConfigPush => {
    record(objectId(KIND, push.metadata.namespace, push.metadata.name), push.metadata.resourceVersion);
    return push;
  };
  return {
    writeStatus: async (push, status) => note(await pushes.writeStatus(push, status)),
    setFinalizers: async (push, finalizers) => note(await pushes.setFinalizers(push, finalizers)),
    list: (namespace) => pushes.list(namespace),
  };
}

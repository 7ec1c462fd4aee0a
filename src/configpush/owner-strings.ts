import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { shareTargetOwnership, targetOwnership } from '../runtime/cache-transforms.js';

/**
 * A cached target takes its push's copies of the strings both carry: the
 * owner uid (its owner-uid annotation, kept flat: cache-transforms.ts) and its name (the spec's, when the spec names it).
 * Every watch event parses its own copies, so a target held a 56-byte uid
 * and a name of its own; with a selector, thousands of targets carry the one
 * name. Values are unchanged, only which copy is held. The push is cached
 * before the targets it writes; after a restart, targets listed before
 * their push keep their own copies until their next event.
 */
export function shareOwnerStrings(target: V1ConfigMap | V1Secret, push: KubernetesObject | undefined): void {
  const metadata = target.metadata;
  if (push === undefined || metadata === undefined) return;
  const uid = push.metadata?.uid;
  if (uid !== undefined) shareTargetOwnership(target, { ownerUid: uid });
  const targets = (push as { spec?: { targets?: unknown } }).spec?.targets;
  if (!Array.isArray(targets)) return;
  for (const named of targets as unknown[]) {
    const name = (named as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && name === metadata.name) {
      metadata.name = name;
      return;
    }
  }
}

/** The namespace and name of the push an owner annotation ("namespace/name") names, if well-formed. */
export function ownerOf(target: V1ConfigMap | V1Secret): { namespace: string; name: string } | undefined {
  const owner = targetOwnership(target).owner;
  const slash = owner?.indexOf('/') ?? -1;
  if (owner === undefined || slash <= 0 || slash === owner.length - 1 || owner.indexOf('/', slash + 1) >= 0) return undefined;
  return { namespace: owner.slice(0, slash), name: owner.slice(slash + 1) };
}

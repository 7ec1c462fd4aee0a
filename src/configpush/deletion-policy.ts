import type { Logger } from 'pino';
import type { ConfigPush } from '../api/types.js';
import { releaseTarget, ownedBy } from '../core/desired-target.js';
import { TransientError } from '../core/errors.js';
import type { ResolvedTarget } from '../core/resolve-spec.js';
import { isConflict, isNotFound } from '../kube/api-errors.js';
import type { TargetClient } from '../kube/target-client.js';

const MAX_ROUNDS = 5;

/**
 * Applies the deletionPolicy to one target when its ConfigPush is deleted.
 * Only a target that still carries this push's uid is touched: one that was
 * taken over or released meanwhile is left alone. Both writes are conditional
 * (delete with uid+resourceVersion preconditions, replace at the read
 * resourceVersion) and re-read on 409.
 */
export async function applyDeletionPolicy(
  store: TargetClient,
  push: ConfigPush,
  target: ResolvedTarget,
  policy: 'Retain' | 'Delete',
  log: Logger,
): Promise<'deleted' | 'released' | 'untouched'> {
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const live = await store.read(target.kind, target.namespace, target.name);
    if (!live || ownedBy(live) !== push.metadata.uid) return 'untouched';
    const uid = live.metadata?.uid ?? '';
    const resourceVersion = live.metadata?.resourceVersion ?? '';
    try {
      if (policy === 'Delete') {
        await store.delete(target.kind, target.namespace, target.name, { uid, resourceVersion });
        log.info({ target: `${target.kind}/${target.namespace}/${target.name}` }, 'target deleted (deletionPolicy Delete)');
        return 'deleted';
      }
      await store.replace(target.kind, target.namespace, target.name, releaseTarget(live));
      log.info({ target: `${target.kind}/${target.namespace}/${target.name}` }, 'target released (deletionPolicy Retain)');
      return 'released';
    } catch (err) {
      if (isNotFound(err)) return 'untouched';
      if (isConflict(err)) continue;
      throw err;
    }
  }
  throw new TransientError('TargetContended', `${target.kind} ${target.namespace}/${target.name} kept changing while its deletionPolicy was applied`);
}

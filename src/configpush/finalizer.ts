import { FINALIZER } from '../api/constants.js';
import type { ConfigPush } from '../api/types.js';
import type { ConfigPushClient } from '../kube/configpush-client.js';

/**
 * The push's finalizer as one state machine (kube-rs's `finalizer()` helper):
 * the two facts "our finalizer is present" and "the push is being deleted"
 * make four states, and each has one action.
 *
 * | finalizer | deleting | action                                           |
 * |-----------|----------|--------------------------------------------------|
 * | absent    | no       | add it (conditional patch), then apply           |
 * | present   | no       | apply                                            |
 * | present   | yes      | clean up, then remove it (conditional patch)     |
 * | absent    | yes      | nothing: cleanup already ran, or never had to    |
 */
export type FinalizerState = 'absent' | 'present' | 'present-deleting' | 'absent-deleting';

export function finalizerState(push: ConfigPush): FinalizerState {
  const present = push.metadata.finalizers?.includes(FINALIZER) ?? false;
  const deleting = Boolean(push.metadata.deletionTimestamp);
  if (deleting) return present ? 'present-deleting' : 'absent-deleting';
  return present ? 'present' : 'absent';
}

export interface FinalizerHandlers<R> {
  /** The push is live and carries the finalizer: do the work. */
  apply(push: ConfigPush): Promise<R>;
  /** The push is being deleted: undo what must be undone. The finalizer is removed only after this succeeds. */
  cleanup(push: ConfigPush): Promise<void>;
}

/** Runs the action of the push's finalizer state; `idle` is the result when there is nothing to apply. */
export async function withFinalizer<R>(push: ConfigPush, pushes: ConfigPushClient, handlers: FinalizerHandlers<R>, idle: R): Promise<R> {
  const finalizers = push.metadata.finalizers ?? [];
  switch (finalizerState(push)) {
    case 'absent':
      return handlers.apply(await pushes.setFinalizers(push, [...finalizers, FINALIZER]));
    case 'present':
      return handlers.apply(push);
    case 'present-deleting':
      await handlers.cleanup(push);
      await pushes.setFinalizers(
        push,
        finalizers.filter((f) => f !== FINALIZER),
      );
      return idle;
    case 'absent-deleting':
      return idle;
  }
}

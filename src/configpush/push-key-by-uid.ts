import type { KubernetesObject } from '@kubernetes/client-node';
import { keyOf } from '../runtime/handlers.js';

/**
 * The namespace/name key of the cached push with a given uid, for the one
 * place that asks by uid: a target whose owner changed (taken over by
 * another push, or released when its push was deleted under Retain) queues
 * the push that owned it. The push cache has no uid index, and one would
 * cost every push ~100 bytes for a rare event, so this scans the cache, but
 * remembers each answer for a while: those events come in bursts with one
 * uid (a fan-out push deleted or re-created releases or loses all of its
 * targets at once), and one scan then serves them all instead of one scan
 * of every push per target.
 *
 * Remembering is safe: a uid names one push for good (the key of a uid never
 * changes), and a uid the cache did not hold stays absent unless its push
 * was still on its way through the watch, which the time bound covers. A key
 * of a push deleted since only queues a reconcile that finds nothing.
 */
export class PushKeyByUid {
  private readonly memo = new Map<string, string | null>();
  private forgetAt = 0;

  constructor(
    private readonly pushes: () => Iterable<KubernetesObject>,
    private readonly options: { rememberMs: number; limit: number; now: () => number } = { rememberMs: 30_000, limit: 1_024, now: Date.now },
  ) {}

  /** The key of the cached push with this uid, if the cache holds one. */
  keyOf(uid: string): string | undefined {
    const now = this.options.now();
    if (now >= this.forgetAt || this.memo.size >= this.options.limit) {
      this.memo.clear();
      this.forgetAt = now + this.options.rememberMs;
    }
    let key = this.memo.get(uid);
    if (key === undefined) {
      key = null;
      for (const push of this.pushes()) {
        if (push.metadata?.uid === uid) {
          key = keyOf(push);
          break;
        }
      }
      this.memo.set(uid, key);
    }
    return key ?? undefined;
  }
}

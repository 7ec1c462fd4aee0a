import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerHandlers } from '../kube/resilient-informer.js';
import type { Controller } from './controller.js';
import { objectId } from './own-writes.js';

/**
 * Event handlers that turn watch events into queued keys, as
 * controller-runtime's handler package does. They only enqueue: the
 * reconcile decides from what it reads, never from the event.
 */

/** The namespace/name key of an object. */
export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/**
 * For the controller's own kind: queue the object itself. A new generation
 * drops the key's backoff; the echo of our own write (status, finalizer)
 * queues nothing.
 */
export function enqueueForObject<T extends KubernetesObject>(controller: Controller, kind: string): InformerHandlers<T> {
  return {
    upsert(obj) {
      const key = keyOf(obj);
      const { namespace = '', name = '', generation, resourceVersion } = obj.metadata ?? {};
      if (generation !== undefined) controller.observeGeneration(key, namespace, name, generation);
      controller.enqueueUnlessEcho(key, objectId(kind, namespace, name), resourceVersion);
    },
    delete(obj) {
      const key = keyOf(obj);
      const { namespace = '', name = '' } = obj.metadata ?? {};
      controller.ownWrites.forget(objectId(kind, namespace, name));
      controller.forgetObject(namespace, name);
      controller.enqueue(key);
    },
  };
}

/** How an owned object names its owner. */
export interface OwnerRef<T> {
  /** The owner's namespace/name key, if the object names a well-formed one. */
  ownerKey(obj: T): string | undefined;
  /**
   * Told of every upsert and delete, to keep an owner index. Returns the keys
   * of owners that lost the object to this change (its owner annotation now
   * names another, or none): they are queued too, as controller-runtime's
   * owner handler queues the old object's owner on an update.
   */
  observe?(obj: T, deleted: boolean): readonly string[] | void;
}

/**
 * For objects the controller owns: queue the owner. The echo of our own
 * write to the object queues nothing; a deletion always queues (someone else
 * deleted what we wrote, or we did and the owner must see it gone).
 */
export function enqueueForOwner<T extends KubernetesObject>(controller: Controller, kind: string, owner: OwnerRef<T>): InformerHandlers<T> {
  return {
    upsert(obj) {
      for (const previous of owner.observe?.(obj, false) ?? []) controller.enqueue(previous);
      const key = owner.ownerKey(obj);
      const { namespace, name, resourceVersion } = obj.metadata ?? {};
      if (key) controller.enqueueUnlessEcho(key, objectId(kind, namespace, name), resourceVersion);
    },
    delete(obj) {
      owner.observe?.(obj, true);
      const { namespace, name } = obj.metadata ?? {};
      controller.ownWrites.forget(objectId(kind, namespace, name));
      const key = owner.ownerKey(obj);
      if (key) controller.enqueue(key);
    },
  };
}

/** For objects that affect others (a namespace and the pushes that select it): queue the keys `map` names. */
export function enqueueMapped<T extends KubernetesObject>(controller: Controller, map: (obj: T) => string[]): InformerHandlers<T> {
  const handler = (obj: T) => {
    for (const key of map(obj)) controller.enqueue(key);
  };
  return { upsert: handler, delete: handler };
}

/** Several handler sets on one informer: each is told of every event, in the order given. */
export function allOf<T>(...sets: InformerHandlers<T>[]): InformerHandlers<T> {
  return {
    upsert(obj) {
      for (const set of sets) set.upsert(obj);
    },
    delete(obj) {
      for (const set of sets) set.delete(obj);
    },
  };
}

// Names shared by the operator, the CRD and the targets it writes.

export const GROUP = 'configpush.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'configpushes';
export const KIND = 'ConfigPush';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Field manager recorded in managedFields for every write the operator makes. */
export const FIELD_MANAGER = 'configpush-operator';

/** Finalizer that lets the operator apply the deletionPolicy before the push disappears. */
export const FINALIZER = 'configpush.io/finalizer';

/**
 * Ownership and idempotency markers on each target. They are written in the
 * same conditional write as the content, so the target itself records which
 * operation produced it: that is what makes a retry after a lost response a no-op.
 */
export const ANNOTATION = {
  ownerUid: 'configpush.io/owner-uid',
  owner: 'configpush.io/owner',
  operationKey: 'configpush.io/operation-key',
  contentDigest: 'configpush.io/content-digest',
} as const;

/** Label on every managed target, so the operator can watch exactly those. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'configpush-operator';
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/**
 * On a Namespace: which namespaces' ConfigPushes may write into it without a
 * serviceAccountName ("team-a,team-b", or "*" for any). Without it, only a
 * ConfigPush in the namespace itself may.
 */
export const ALLOWED_SOURCES_ANNOTATION = 'configpush.io/allowed-source-namespaces';

/**
 * On a ConfigPush: a request to reconcile now (Flux's
 * reconcile.fluxcd.io/requestedAt convention, under this project's own
 * prefix). The value is opaque, usually the current time; the reconcile that
 * handles it echoes it in status.lastHandledReconcileAt. An annotation change
 * is a new resourceVersion, so the watch queues the push, and it writes only
 * that status field when nothing else changed.
 */
export const RECONCILE_REQUESTED_ANNOTATION = 'configpush.io/reconcile-requested-at';

/**
 * On a Secret or ConfigMap that ConfigPushes in other namespaces copy from
 * (spec.sources): which namespaces may ("team-a,team-b", or "*" for any), like
 * Reflector's reflection-allowed-namespaces. A push in the source's own
 * namespace needs no opt-in.
 */
export const SOURCE_COPY_TO_ANNOTATION = 'configpush.io/copy-to-namespaces';

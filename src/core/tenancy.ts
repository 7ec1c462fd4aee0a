import { ALLOWED_SOURCES_ANNOTATION } from '../api/constants.js';
import type { ResolvedSpec, ResolvedTarget } from './resolve-spec.js';

/**
 * Multi-tenancy rules, in the spirit of Flux's: a ConfigPush either names a
 * ServiceAccount (then that identity's RBAC decides everything), or it writes
 * as the operator, which is powerful; then it may write only into its own
 * namespace, or into a namespace that opted in by listing it.
 */
export interface TenancyPolicy {
  /** Refuse ConfigPushes without spec.serviceAccountName (operator flag). */
  requireServiceAccount: boolean;
}

export interface Refusal {
  reason: string;
  message: string;
}

/** Why the push as a whole may not run, if so. */
export function refusePush(spec: ResolvedSpec, policy: TenancyPolicy): Refusal | undefined {
  if (policy.requireServiceAccount && !spec.serviceAccountName) {
    return {
      reason: 'ServiceAccountRequired',
      message: 'this operator requires spec.serviceAccountName: every write impersonates that ServiceAccount',
    };
  }
  return undefined;
}

/**
 * Why the operator must not write `target` for a push in `pushNamespace`, if
 * so. `namespaceAnnotations` are the target namespace's annotations (undefined
 * when the namespace is not known).
 */
export function refuseTarget(
  pushNamespace: string,
  target: ResolvedTarget,
  spec: ResolvedSpec,
  namespaceAnnotations: Record<string, string> | undefined,
): Refusal | undefined {
  if (spec.serviceAccountName || target.namespace === pushNamespace) return undefined;
  if (namespaceAnnotations === undefined) {
    return { reason: 'NamespaceNotFound', message: `${target.kind} ${target.namespace}/${target.name}: namespace ${target.namespace} does not exist` };
  }
  const allowed = (namespaceAnnotations?.[ALLOWED_SOURCES_ANNOTATION] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (allowed.includes('*') || allowed.includes(pushNamespace)) return undefined;
  return {
    reason: 'CrossNamespaceNotAllowed',
    message:
      `${target.kind} ${target.namespace}/${target.name}: namespace ${target.namespace} does not accept ConfigPushes from ${pushNamespace}; ` +
      `annotate it with ${ALLOWED_SOURCES_ANNOTATION}=${pushNamespace}, or set spec.serviceAccountName`,
  };
}

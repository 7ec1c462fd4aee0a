// TypeScript shape of the ConfigPush custom resource (configpush.io/v1alpha1).
// crds/configpush.io_configpushes.yaml is the schema the apiserver enforces;
// these types mirror it for the operator's own code.

export const TARGET_KINDS = ['ConfigMap', 'Secret'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const DRIFT_POLICIES = ['Correct', 'Report'] as const;
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];

export interface TargetRef {
  kind: TargetKind;
  name: string;
  /** Defaults to the ConfigPush's own namespace. */
  namespace?: string;
}

export interface ConfigPushSpec {
  targets: TargetRef[];
  data?: Record<string, string>;
  /** base64-encoded values. */
  binaryData?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  suspend?: boolean;
  deletionPolicy?: DeletionPolicy;
  adopt?: boolean;
  driftPolicy?: DriftPolicy;
  /**
   * A ServiceAccount in the ConfigPush's namespace whose identity every
   * target read and write impersonates, so the tenant's RBAC decides.
   */
  serviceAccountName?: string;
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const TARGET_STATES = ['Applied', 'Pending', 'Conflict', 'Failed', 'Drifted', 'Suspended'] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export interface TargetStatus {
  kind: TargetKind;
  name: string;
  namespace: string;
  state: TargetState;
  resourceVersion?: string;
  operationKey?: string;
  owner?: string;
  message?: string;
}

export interface HistoryEntry {
  key: string;
  generation: number;
  digest: string;
  appliedAt: string;
}

export interface ConfigPushStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  operationKey?: string;
  contentDigest?: string;
  targetSummary?: string;
  driftCorrections?: number;
  history?: HistoryEntry[];
  targets?: TargetStatus[];
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ConfigPush {
  apiVersion: string;
  kind: 'ConfigPush';
  metadata: ObjectMeta;
  spec: ConfigPushSpec;
  status?: ConfigPushStatus;
}

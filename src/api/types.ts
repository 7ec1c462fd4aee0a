// TypeScript shape of the ConfigPush custom resource (configpush.io/v1alpha1).
// crds/configpush.io_configpushes.yaml is the schema the apiserver enforces;
// these types mirror it for the operator's own code.

/** metav1.LabelSelector. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** The workloads a push can restart. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const TARGET_KINDS = ['ConfigMap', 'Secret'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const DRIFT_POLICIES = ['Correct', 'Report'] as const;
export type DriftPolicy = (typeof DRIFT_POLICIES)[number];

export interface TargetRef {
  kind: TargetKind;
  name: string;
  /** Defaults to the ConfigPush's own namespace. Exclusive with namespaceSelector. */
  namespace?: string;
  /** Fan-out: this target in every Namespace whose labels match. */
  namespaceSelector?: LabelSelector;
}

/**
 * What a failed wave does: Halt stops there; Continue goes on past it;
 * Rollback stops and returns every target already changed to the last
 * revision that completed (docs/revisions.md).
 */
export const FAILURE_POLICIES = ['Halt', 'Continue', 'Rollback'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** A wave: the targets whose namespace matches (the first matching wave wins). */
export interface WaveSpec {
  name?: string;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
}

export interface StrategySpec {
  /** Explicit ordered waves; targets matching none go in a last wave. Exclusive with batchSize. */
  waves?: WaveSpec[];
  /** Waves of this many namespaces each, in namespace-name order. */
  batchSize?: number;
  /** Targets written concurrently within a wave. */
  maxParallel?: number;
  /** Wait this long after a wave completes before starting the next. */
  pauseSeconds?: number;
  failurePolicy?: FailurePolicy;
  /** A wave whose workloads have not rolled out this long after its writes has failed. */
  progressDeadlineSeconds?: number;
}

export interface RestartRef {
  kind: WorkloadKind;
  name?: string;
  selector?: LabelSelector;
}

export interface RolloutSpec {
  /** Workloads to roll, in each target namespace, after the content there changes. */
  restart?: RestartRef[];
  /**
   * Also roll, in each target namespace, every Deployment, StatefulSet and
   * DaemonSet whose pod template reads a target, and only when what it reads
   * changed (docs/restarts.md). The explicit list's workloads keep its value.
   */
  restartConsumers?: boolean;
}

/** A Secret or ConfigMap a push copies content from (spec.sources[].secretRef / configMapRef). */
export interface SourceObjectRef {
  name: string;
  /** Defaults to the ConfigPush's own namespace. Another namespace needs the source's own opt-in (SOURCE_COPY_TO_ANNOTATION). */
  namespace?: string;
}

/** One key to copy, and its name in the targets (a volume's items). */
export interface SourceItem {
  key: string;
  /** The key's name in the targets; defaults to `key`. */
  as?: string;
}

/**
 * Content taken from an existing Secret or ConfigMap, read live on every
 * reconcile. Exactly one of secretRef and configMapRef.
 */
export interface SourceSpec {
  secretRef?: SourceObjectRef;
  configMapRef?: SourceObjectRef;
  /** Only these keys (renamed by `as`); default every key. */
  items?: SourceItem[];
  /** Prepended to every copied key (envFrom's prefix). */
  prefix?: string;
  /** A missing source (or a missing item key) contributes nothing instead of stopping the push. */
  optional?: boolean;
}

export const SOURCE_KINDS = ['Secret', 'ConfigMap'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface ConfigPushSpec {
  targets: TargetRef[];
  /**
   * Merged in order (a later source overrides an earlier one's keys), then
   * data and binaryData override them all (as env overrides envFrom).
   */
  sources?: SourceSpec[];
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
  strategy?: StrategySpec;
  rollout?: RolloutSpec;
  /** Completed content revisions (ControllerRevisions) kept for rollback; default 10, as for Deployments. */
  revisionHistoryLimit?: number;
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

export const TARGET_STATES = ['Applied', 'Pending', 'Conflict', 'Failed', 'Drifted', 'Contended', 'Suspended'] as const;
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
  /** The content revision (ControllerRevision .revision) the operation applied: its own once it completed, or the one a rollback returned to. */
  revision?: number;
  /** Set on a rollback's entry: the operation it undid. */
  rolledBack?: string;
}

export const ROLLOUT_PHASES = ['Progressing', 'Waiting', 'Paused', 'Halted', 'Complete', 'Suspended', 'RollingBack', 'RolledBack'] as const;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];

export interface RolloutStatus {
  /** 1-based index of the wave being worked on (totalWaves when complete). */
  currentWave: number;
  totalWaves: number;
  phase: RolloutPhase;
  /** e.g. "120/500 targets, wave 2/5": the Progress printer column. */
  progress: string;
  /** When the last completed wave completed: the start of the pause. */
  lastWaveCompletedAt?: string;
  /** The target or workload that failed the current wave. */
  failed?: string;
  message?: string;
  /** failurePolicy Rollback: what failed, and the revision the changed targets returned to. */
  rollback?: RollbackStatus;
}

/** A rollback of this generation (failurePolicy Rollback). */
export interface RollbackStatus {
  /** The revision rolled back to (ControllerRevision .revision). */
  revision: number;
  /** The rollback's own operation key: a function of (uid, generation, the revision rolled back to). */
  operationKey: string;
  /** The operation that failed and was undone. */
  failedOperationKey: string;
  /** 1-based wave that failed. */
  failedWave: number;
  /** The failure's reason (ProgressDeadlineExceeded, Forbidden, Conflict, ...) and what failed. */
  reason: string;
  message: string;
}

/** What status reports of one source: which object, and a short revision of what was copied from it (never values). */
export interface SourceStatus {
  kind: SourceKind;
  name: string;
  namespace: string;
  /** A short prefix of this source's part of the sources revision; absent when the (optional) source does not exist. */
  revision?: string;
}

export interface ConfigPushStatus {
  observedGeneration?: number;
  /** The configpush.io/reconcile-requested-at value the last reconcile handled (Flux's lastHandledReconcileAt). */
  lastHandledReconcileAt?: string;
  conditions?: Condition[];
  operationKey?: string;
  contentDigest?: string;
  targetSummary?: string;
  driftCorrections?: number;
  history?: HistoryEntry[];
  targets?: TargetStatus[];
  rollout?: RolloutStatus;
  /** spec.sources as last read: kind, namespace, name and a short revision each. */
  sources?: SourceStatus[];
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

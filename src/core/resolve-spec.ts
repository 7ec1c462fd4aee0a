import {
  DELETION_POLICIES,
  DRIFT_POLICIES,
  FAILURE_POLICIES,
  TARGET_KINDS,
  type ConfigPush,
  type FailurePolicy,
  type RestartRef,
  type DeletionPolicy,
  type DriftPolicy,
  type LabelSelector,
  type TargetRef,
  type WaveSpec,
  WORKLOAD_KINDS,
} from '../api/types.js';
import { matchesSelector } from './label-selector.js';
import type { TargetKind } from '../api/types.js';
import { contentDigest, type DesiredContent } from './content-digest.js';
import { InvalidSpecError } from './errors.js';
import { MANAGED_BY_LABEL } from '../api/constants.js';
import { DATA_KEY_RULE, isDataKey } from './data-key.js';
import { resolveSources, withoutSourceTargets, type ResolvedSource } from './sources.js';

/** A target with its namespace defaulted. */
export interface ResolvedTarget {
  kind: TargetKind;
  name: string;
  namespace: string;
}

/** A namespace as the resolver needs it: its name and labels, from the operator's cache. */
export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

export interface ResolvedStrategy {
  waves?: WaveSpec[];
  batchSize?: number;
  /** Unset: the operator's --target-concurrency. */
  maxParallel?: number;
  pauseMs: number;
  failurePolicy: FailurePolicy;
  progressDeadlineMs: number;
}

/** A validated, defaulted spec: what one reconcile acts on. */
export interface ResolvedSpec {
  targets: ResolvedTarget[];
  /**
   * spec.sources, validated. When there are any, `content` and `digest` are
   * spec.data's alone until the reconcile has read the sources and merged
   * them in (core/sources.ts, withSources). Absent or empty: no sources.
   */
  sources?: ResolvedSource[];
  content: DesiredContent;
  digest: string;
  suspend: boolean;
  adopt: boolean;
  deletionPolicy: DeletionPolicy;
  driftPolicy: DriftPolicy;
  /** The ServiceAccount (in the push's namespace) to impersonate, if any. */
  serviceAccountName?: string;
  strategy: ResolvedStrategy;
  restart: RestartRef[];
  /** Completed content revisions kept (spec.revisionHistoryLimit, default 10). */
  revisionHistoryLimit: number;
  /** spec.rollout.restartConsumers: set (true) only when on. */
  restartConsumers?: true;
  /**
   * When the push copies Secrets: the key its digests are HMAC'd with
   * (content-digest.ts, DigestKey), set once the sources are read. Consumers
   * mode keys its restart digests with it too (core/consumers.ts).
   */
  sourcesDigestKey?: string;
  /**
   * Each target kind's desired target digest (target-digest.ts), when the
   * sources' values were not read in this reconcile (unread-source-values.ts):
   * computed from the values when they were, and held instead of them. Also
   * set beside the values on a live read (the memo computed them then), so
   * they are not digested twice.
   */
  targetDigests?: Partial<Record<TargetKind, string>>;
}

export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
export const MAX_REVISION_HISTORY_LIMIT = 100;

function resolveRevisionHistoryLimit(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_REVISION_HISTORY_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_REVISION_HISTORY_LIMIT) {
    throw new InvalidSpecError(`spec.revisionHistoryLimit must be an integer from 1 to ${MAX_REVISION_HISTORY_LIMIT}`);
  }
  return value;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function targetId(target: ResolvedTarget): string {
  return `${target.kind}/${target.namespace}/${target.name}`;
}

/**
 * Whether resolving this push (resolveSpec) and planning its waves
 * (planWaves) read the cluster's namespaces: only a namespaceSelector does,
 * a target's or a wave's. For any other push both give the same answer
 * with no namespaces at all, so the reconciler lists its namespace cache only
 * for these: a push of named targets then costs nothing per namespace in the
 * cluster (with 5,000 namespaces, listing them cost every reconcile of every
 * push ~1.2 ms of CPU under the image's node flag:
 * bench/results/namespace-view-cost-2026-12-01.md). Reads the raw spec
 * defensively: it may be malformed.
 */
export function readsNamespaces(push: ConfigPush): boolean {
  const spec = push.spec as { targets?: unknown; strategy?: { waves?: unknown } } | undefined;
  const hasSelector = (list: unknown) => Array.isArray(list) && list.some((item) => (item as { namespaceSelector?: unknown } | null)?.namespaceSelector !== undefined);
  return hasSelector(spec?.targets) || hasSelector(spec?.strategy?.waves);
}

/** The namespace each listed target names, or undefined where it names none (the push's own); malformed entries are skipped. */
function namedTargetNamespaces(push: ConfigPush): unknown[] {
  const targets = (push.spec as { targets?: unknown } | undefined)?.targets;
  return Array.isArray(targets) ? targets.map((target) => (target as { namespace?: unknown } | null)?.namespace) : [];
}

/**
 * Whether an event on namespace `name` (created, relabelled, annotated,
 * terminating, gone) can change what this push resolves to: it selects
 * namespaces by label, or one of its targets lies in `name` (a target
 * without a namespace lies in the push's own).
 */
export function concernsNamespace(push: ConfigPush, name: string): boolean {
  if (readsNamespaces(push)) return true;
  const own = push.metadata?.namespace;
  return namedTargetNamespaces(push).some((namespace) => (namespace ?? own) === name);
}

/**
 * Whether a namespace other than the push's own can concern it
 * (concernsNamespace): a selector, or a target named in another namespace.
 * Most pushes write only their own namespace, so a namespace event needs to
 * look only at the pushes in that namespace, plus these few.
 */
export function reachesOtherNamespaces(push: ConfigPush): boolean {
  if (readsNamespaces(push)) return true;
  const own = push.metadata?.namespace;
  return namedTargetNamespaces(push).some((namespace) => namespace !== undefined && namespace !== null && namespace !== own);
}

/**
 * Validates what the CRD schema and its CEL rules cannot see (the defaulted
 * namespace is only known here) and re-checks the rest, so a CRD installed
 * without its validation still cannot make the operator write garbage.
 * Throws InvalidSpecError with a message that names the offending field.
 */
export function resolveSpec(push: ConfigPush, namespaces: readonly NamespaceInfo[] = []): ResolvedSpec {
  const spec = push.spec ?? ({} as ConfigPush['spec']);
  // In this order, so a spec with several problems always names the same one first.
  const named = resolveTargets(spec.targets, push.metadata.namespace, namespaces);
  const content = resolveContent(spec);
  const sources = resolveSources(spec.sources, push.metadata.namespace, spec.targets);
  const targets = withoutSourceTargets(named, sources, spec.targets, push.metadata.namespace);
  const deletionPolicy = oneOf(spec.deletionPolicy ?? 'Retain', DELETION_POLICIES, 'spec.deletionPolicy must be Retain or Delete');
  const driftPolicy = oneOf(spec.driftPolicy ?? 'Correct', DRIFT_POLICIES, 'spec.driftPolicy must be Correct or Report');
  const serviceAccountName = resolveServiceAccount(spec.serviceAccountName);
  return {
    targets,
    sources,
    strategy: resolveStrategy(spec.strategy),
    restart: resolveRestart(spec.rollout?.restart),
    ...(resolveRestartConsumers(spec.rollout?.restartConsumers) ? { restartConsumers: true as const } : {}),
    content,
    digest: contentDigest(content),
    suspend: spec.suspend === true,
    adopt: spec.adopt === true,
    deletionPolicy,
    driftPolicy,
    ...(serviceAccountName ? { serviceAccountName } : {}),
    revisionHistoryLimit: resolveRevisionHistoryLimit(spec.revisionHistoryLimit),
  };
}

/**
 * The targets, each with its namespace: explicit ones in spec order, then
 * those a namespaceSelector fans out to, in namespace-name order. A namespace
 * a selector reaches that an explicit target (or another selector) already
 * covers is not a conflict: namespaces gain labels at any time, and the
 * explicit entry wins.
 */
function resolveTargets(refs: TargetRef[] | undefined, pushNamespace: string, namespaces: readonly NamespaceInfo[]): ResolvedTarget[] {
  if (!Array.isArray(refs) || refs.length === 0) {
    throw new InvalidSpecError('spec.targets must list at least one target');
  }
  const seen = new Set<string>();
  const targets: ResolvedTarget[] = [];
  const fannedOut: ResolvedTarget[] = [];
  refs.forEach((target, index) => {
    const where = `spec.targets[${index}]`;
    if (!TARGET_KINDS.includes(target?.kind)) {
      throw new InvalidSpecError(`${where}.kind must be one of ${TARGET_KINDS.join(', ')}, got ${JSON.stringify(target?.kind)}`);
    }
    if (typeof target.name !== 'string' || target.name.length > 253 || !DNS_SUBDOMAIN.test(target.name)) {
      throw new InvalidSpecError(`${where}.name ${JSON.stringify(target.name)} is not a valid DNS-1123 subdomain`);
    }
    if (target.namespaceSelector !== undefined) {
      if (target.namespace !== undefined) throw new InvalidSpecError(`${where}: set namespace or namespaceSelector, not both`);
      validateSelector(target.namespaceSelector, `${where}.namespaceSelector`);
      for (const ns of namespaces) {
        if (matchesSelector(target.namespaceSelector, ns.labels)) fannedOut.push({ kind: target.kind, name: target.name, namespace: ns.name });
      }
      return;
    }
    const namespace = target.namespace ?? pushNamespace;
    if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
      throw new InvalidSpecError(`${where}.namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
    }
    const resolved: ResolvedTarget = { kind: target.kind, name: target.name, namespace };
    const id = targetId(resolved);
    if (seen.has(id)) throw new InvalidSpecError(`${where} duplicates another target: ${id}`);
    seen.add(id);
    targets.push(resolved);
  });
  for (const target of fannedOut.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0))) {
    const id = targetId(target);
    if (seen.has(id)) continue;
    seen.add(id);
    targets.push(target);
  }
  return targets;
}

/** data, binaryData (canonically re-encoded), labels and annotations: what every target must hold. */
/** spec.data, binaryData, labels and annotations, validated and canonical: the content of a push without sources. */
export function resolveContent(spec: Pick<ConfigPush['spec'], 'data' | 'binaryData' | 'labels' | 'annotations'>): DesiredContent {
  const data = stringMap(spec.data, 'spec.data');
  const binaryData = stringMap(spec.binaryData, 'spec.binaryData');
  for (const [key, value] of Object.entries(binaryData)) {
    if (!BASE64.test(value)) throw new InvalidSpecError(`spec.binaryData.${key} is not valid base64`);
    // The apiserver stores bytes and re-encodes them canonically ("YR==" comes
    // back as "YQ=="). Comparing against the spec's own spelling would find a
    // difference forever and rewrite the target on every reconcile.
    binaryData[key] = Buffer.from(value, 'base64').toString('base64');
  }
  for (const key of [...Object.keys(data), ...Object.keys(binaryData)]) {
    if (!isDataKey(key)) {
      throw new InvalidSpecError(`data key ${JSON.stringify(key)} ${DATA_KEY_RULE}`);
    }
  }
  const overlap = Object.keys(data).filter((key) => key in binaryData);
  if (overlap.length > 0) throw new InvalidSpecError(`keys in both spec.data and spec.binaryData: ${overlap.join(', ')}`);

  const labels = stringMap(spec.labels, 'spec.labels');
  const annotations = stringMap(spec.annotations, 'spec.annotations');
  // The operator's own markers must not be set from the spec: a target could
  // then never match its desired state, and every reconcile would rewrite it.
  if (MANAGED_BY_LABEL in labels) throw new InvalidSpecError(`spec.labels may not set ${MANAGED_BY_LABEL} (the operator's own label)`);
  const reserved = Object.keys(annotations).find((k) => k.startsWith('configpush.io/') || k.startsWith('restart.configpush.io/'));
  if (reserved) throw new InvalidSpecError(`spec.annotations may not set ${reserved}: keys under configpush.io/ are the operator's own`);
  return { data, binaryData, labels, annotations };
}

function resolveServiceAccount(name: unknown): string | undefined {
  if (name !== undefined && (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name))) {
    throw new InvalidSpecError(`spec.serviceAccountName ${JSON.stringify(name)} is not a valid ServiceAccount name`);
  }
  return name;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], message: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidSpecError(message);
  return value as T;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidSpecError(`${field} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw new InvalidSpecError(`${field}.${key} must be a string`);
    out[key] = entry;
  }
  return out;
}

function resolveStrategy(strategy: ConfigPush['spec']['strategy']): ResolvedStrategy {
  const s = strategy ?? {};
  if (s.waves !== undefined && s.batchSize !== undefined) throw new InvalidSpecError('spec.strategy: set waves or batchSize, not both');
  const positive = (value: number | undefined, field: string, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min) throw new InvalidSpecError(`spec.strategy.${field} must be an integer >= ${min}`);
    return value;
  };
  const failurePolicy = s.failurePolicy ?? 'Halt';
  if (!FAILURE_POLICIES.includes(failurePolicy)) throw new InvalidSpecError('spec.strategy.failurePolicy must be Halt, Continue or Rollback');
  (s.waves ?? []).forEach((wave, i) => {
    if (wave.namespaceSelector) validateSelector(wave.namespaceSelector, `spec.strategy.waves[${i}].namespaceSelector`);
    if (!wave.namespaceSelector && !wave.namespaces?.length) {
      throw new InvalidSpecError(`spec.strategy.waves[${i}] must name namespaces or a namespaceSelector`);
    }
  });
  const resolved: ResolvedStrategy = {
    pauseMs: positive(s.pauseSeconds, 'pauseSeconds', 0, 0) * 1000,
    failurePolicy,
    progressDeadlineMs: positive(s.progressDeadlineSeconds, 'progressDeadlineSeconds', DEFAULT_PROGRESS_DEADLINE_SECONDS, 1) * 1000,
  };
  if (s.maxParallel !== undefined) resolved.maxParallel = positive(s.maxParallel, 'maxParallel', 1, 1);
  if (s.waves !== undefined) resolved.waves = s.waves;
  if (s.batchSize !== undefined) resolved.batchSize = positive(s.batchSize, 'batchSize', 1, 1);
  return resolved;
}

function resolveRestart(restart: RestartRef[] | undefined): RestartRef[] {
  return (restart ?? []).map((ref, i) => {
    const where = `spec.rollout.restart[${i}]`;
    if (!WORKLOAD_KINDS.includes(ref?.kind)) throw new InvalidSpecError(`${where}.kind must be one of ${WORKLOAD_KINDS.join(', ')}`);
    if ((ref.name === undefined) === (ref.selector === undefined)) throw new InvalidSpecError(`${where}: set exactly one of name and selector`);
    if (ref.name !== undefined && !DNS_SUBDOMAIN.test(ref.name)) throw new InvalidSpecError(`${where}.name is not a valid name`);
    if (ref.selector) validateSelector(ref.selector, `${where}.selector`);
    return ref;
  });
}

function resolveRestartConsumers(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidSpecError('spec.rollout.restartConsumers must be true or false');
  return value === true;
}

const SELECTOR_OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

function validateSelector(selector: LabelSelector, where: string): void {
  if (typeof selector !== 'object' || selector === null) throw new InvalidSpecError(`${where} must be a label selector`);
  for (const [i, r] of (selector.matchExpressions ?? []).entries()) {
    if (!SELECTOR_OPERATORS.has(r.operator)) throw new InvalidSpecError(`${where}.matchExpressions[${i}].operator must be In, NotIn, Exists or DoesNotExist`);
    const needsValues = r.operator === 'In' || r.operator === 'NotIn';
    if (needsValues !== Boolean(r.values?.length)) {
      throw new InvalidSpecError(`${where}.matchExpressions[${i}]: ${r.operator} ${needsValues ? 'needs' : 'takes no'} values`);
    }
  }
}

import { DELETION_POLICIES, DRIFT_POLICIES, TARGET_KINDS, type ConfigPush, type DeletionPolicy, type DriftPolicy, type TargetKind } from '../api/types.js';
import { contentDigest, type DesiredContent } from './content-digest.js';
import { InvalidSpecError } from './errors.js';

/** A target with its namespace defaulted. */
export interface ResolvedTarget {
  kind: TargetKind;
  name: string;
  namespace: string;
}

/** A validated, defaulted spec: what one reconcile acts on. */
export interface ResolvedSpec {
  targets: ResolvedTarget[];
  content: DesiredContent;
  digest: string;
  suspend: boolean;
  adopt: boolean;
  deletionPolicy: DeletionPolicy;
  driftPolicy: DriftPolicy;
  /** The ServiceAccount (in the push's namespace) to impersonate, if any. */
  serviceAccountName?: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function targetId(target: ResolvedTarget): string {
  return `${target.kind}/${target.namespace}/${target.name}`;
}

/**
 * Validates what the CRD schema and its CEL rules cannot see (the defaulted
 * namespace is only known here) and re-checks the rest, so a CRD installed
 * without its validation still cannot make the operator write garbage.
 * Throws InvalidSpecError with a message that names the offending field.
 */
export function resolveSpec(push: ConfigPush): ResolvedSpec {
  const spec = push.spec ?? ({} as ConfigPush['spec']);
  if (!Array.isArray(spec.targets) || spec.targets.length === 0) {
    throw new InvalidSpecError('spec.targets must list at least one target');
  }
  const seen = new Set<string>();
  const targets = spec.targets.map((target, index): ResolvedTarget => {
    const where = `spec.targets[${index}]`;
    if (!TARGET_KINDS.includes(target?.kind)) {
      throw new InvalidSpecError(`${where}.kind must be one of ${TARGET_KINDS.join(', ')}, got ${JSON.stringify(target?.kind)}`);
    }
    if (typeof target.name !== 'string' || target.name.length > 253 || !DNS_SUBDOMAIN.test(target.name)) {
      throw new InvalidSpecError(`${where}.name ${JSON.stringify(target.name)} is not a valid DNS-1123 subdomain`);
    }
    const namespace = target.namespace ?? push.metadata.namespace;
    if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
      throw new InvalidSpecError(`${where}.namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
    }
    const resolved: ResolvedTarget = { kind: target.kind, name: target.name, namespace };
    const id = targetId(resolved);
    if (seen.has(id)) throw new InvalidSpecError(`${where} duplicates another target: ${id}`);
    seen.add(id);
    return resolved;
  });

  const data = stringMap(spec.data, 'spec.data');
  const binaryData = stringMap(spec.binaryData, 'spec.binaryData');
  for (const [key, value] of Object.entries(binaryData)) {
    if (!BASE64.test(value)) throw new InvalidSpecError(`spec.binaryData.${key} is not valid base64`);
  }
  for (const key of [...Object.keys(data), ...Object.keys(binaryData)]) {
    if (key.length > 253 || !DATA_KEY.test(key)) {
      throw new InvalidSpecError(`data key ${JSON.stringify(key)} must match ${DATA_KEY.source} and be at most 253 characters`);
    }
  }
  const overlap = Object.keys(data).filter((key) => key in binaryData);
  if (overlap.length > 0) throw new InvalidSpecError(`keys in both spec.data and spec.binaryData: ${overlap.join(', ')}`);

  const content: DesiredContent = {
    data,
    binaryData,
    labels: stringMap(spec.labels, 'spec.labels'),
    annotations: stringMap(spec.annotations, 'spec.annotations'),
  };
  const deletionPolicy = spec.deletionPolicy ?? 'Retain';
  if (!DELETION_POLICIES.includes(deletionPolicy)) throw new InvalidSpecError(`spec.deletionPolicy must be Retain or Delete`);
  const driftPolicy = spec.driftPolicy ?? 'Correct';
  if (!DRIFT_POLICIES.includes(driftPolicy)) throw new InvalidSpecError(`spec.driftPolicy must be Correct or Report`);

  const serviceAccountName = spec.serviceAccountName;
  if (serviceAccountName !== undefined && (typeof serviceAccountName !== 'string' || !DNS_SUBDOMAIN.test(serviceAccountName))) {
    throw new InvalidSpecError(`spec.serviceAccountName ${JSON.stringify(serviceAccountName)} is not a valid ServiceAccount name`);
  }

  return {
    targets,
    content,
    digest: contentDigest(content),
    suspend: spec.suspend === true,
    adopt: spec.adopt === true,
    deletionPolicy,
    driftPolicy,
    ...(serviceAccountName ? { serviceAccountName } : {}),
  };
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

import type { ConfigPush, SourceStatus } from '../../../api/types.js';
import { PermanentError } from '../../../core/errors.js';
import { operationKey } from '../../../core/operation-key.js';
import type { ResolvedSpec } from '../../../core/resolve-spec.js';
import { digestKeyOf, withSources, type SourceObject } from '../../../core/sources.js';
import type { SourceClient } from '../../../kube/source-client.js';
import { CliError } from '../errors.js';

/** The spec diff plans against: its content with spec.sources merged in, and the key the operator would stamp. */
export interface SourcedSpec {
  spec: ResolvedSpec;
  operationKey: string;
  /** status.sources as the operator would report it: kind, namespace, name, a short revision; never a value. */
  sources?: SourceStatus[];
}

/**
 * The content the operator would act on, built as its reconcile builds it
 * (configpush/reconciler.ts admit): each source read live, merged with
 * withSources, the digest HMAC-keyed with the copied Secrets' uids, and the
 * sources revision in the operation key. The values live only in the
 * returned spec's content, which diff shows only as sizes when a Secret is
 * involved (target-diff.ts).
 *
 * A source the operator would refuse (SourceNotFound, SourceNotAllowed,
 * SourceKeyNotFound, SourceForbidden, or a copied key that breaks the key
 * rule: InvalidSpec) is a CliError naming that reason: there is no plan.
 */
export async function sourcedSpec(push: ConfigPush, spec: ResolvedSpec, client: SourceClient): Promise<SourcedSpec> {
  const { uid, generation, namespace, name } = push.metadata;
  if (!spec.sources?.length) return { spec, operationKey: operationKey(uid, generation) };
  const sources = spec.sources;
  let objects: (SourceObject | undefined)[];
  let sourced: ReturnType<typeof withSources>;
  try {
    objects = await Promise.all(sources.map((s) => client.read(s.kind, s.namespace, s.name)));
    sourced = withSources(spec.content, sources, objects, namespace);
  } catch (err) {
    if (!(err instanceof PermanentError)) throw err;
    const reader = spec.serviceAccountName ? `the push's ServiceAccount ${namespace}/${spec.serviceAccountName}` : 'the operator';
    const why =
      err.reason === 'SourceForbidden'
        ? `; diff reads spec.sources as you, the operator as ${reader}, so the operator may still be allowed to`
        : `; the operator refuses it with the same reason (see: kubectl configpush status ${name} -n ${namespace})`;
    throw new CliError(`configpush ${namespace}/${name} cannot be planned: ${err.reason}: ${err.message}${why}`);
  }
  const sourcesDigestKey = digestKeyOf(objects);
  return {
    spec: { ...spec, content: sourced.content, digest: sourced.digest, ...(sourcesDigestKey !== undefined ? { sourcesDigestKey } : {}) },
    operationKey: operationKey(uid, generation, sourced.revision),
    sources: sourced.statuses,
  };
}

import type { ConfigPush } from '../../../api/types.js';
import { parsePayload, PAYLOAD_KEY, REVISION_OF_LABEL, REVISION_SECRET_TYPE, type RevisionPayload } from '../../../core/revisions.js';
import { ApiError } from '../../../kube/api-errors.js';
import { block, type Command, type CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { explainApiError } from '../explain.js';
import { chooseRevision, contentSpecOf, fieldChanges, keptRevisions, rollbackPatch, type ContentSpec, type KeptRevision } from '../model/rollback.js';
import { renderRollback } from '../view/rollback-view.js';
import { condition, readyReport, waitForPush } from '../wait.js';

/**
 * `rollback NAME [--to-revision N] [--dry-run]`: sets the push's spec content
 * fields (data, binaryData, labels, annotations, sources) from a kept
 * revision, in one conditional write, as the user running the plugin (so
 * RBAC and the admission policy judge the user, as for any spec change).
 * The spec is then again the single source of truth: the rollback is a new
 * generation, rolled out like any other, and waited for like `suspend`.
 *
 * Reads: the push, its revisions (list controllerrevisions), and for a
 * Secret-derived revision the Secret that holds its payload. A revision the
 * user may not read is an error before anything is written.
 */
export const rollbackCommand: Command = async (context) => {
  const { invocation, api, session, io } = context;
  const name = invocation.name ?? '';
  const namespace = session.namespace;
  const push = await api.getPush(namespace, name);
  if (push.metadata.deletionTimestamp) {
    throw new CliError(`configpush ${namespace}/${name} is being deleted: the operator only applies its deletionPolicy now`);
  }
  const kept = keptRevisions(await api.listRevisions(namespace, push.metadata.uid), push.metadata.uid);
  const choice = chooseRevision(push, kept, invocation.toRevision);
  if ('refused' in choice) throw new CliError(choice.refused);
  const { revision, why } = choice;

  const target = contentSpecOfRevision(await payloadOf(context, push, revision), push, revision);
  const ops = rollbackPatch(push, target);
  if (ops.length === 1) {
    // Only the resourceVersion test: the spec's content fields already are the revision's.
    const sources = target.sources !== undefined ? ' (spec.sources copy what their sources hold now: a rollback of the spec does not change that)' : '';
    throw new CliError(`configpush ${namespace}/${name} is already at revision ${revision.revision}: its spec's content fields are that revision's${sources}; nothing to do`);
  }
  const changes = fieldChanges(push.spec as ContentSpec, target);
  const report = { namespace, name, revision, why, generationBefore: push.metadata.generation, changes };

  if (invocation.dryRun) {
    io.out(block(renderRollback({ ...report, generationAfter: undefined }, io.width)));
    return EXIT.ok;
  }
  const rerun = `kubectl configpush rollback ${name} -n ${namespace}${invocation.toRevision !== undefined ? ` --to-revision ${invocation.toRevision}` : ''}`;
  const written = await api.jsonPatch(namespace, name, ops, rerun);
  const generation = written.metadata.generation;
  io.out(block(renderRollback({ ...report, generationAfter: generation }, io.width)));
  if (!invocation.wait) return EXIT.ok;

  const observed = (p: ConfigPush) => (p.status?.observedGeneration ?? -1) >= generation && (condition(p, 'Ready')?.observedGeneration ?? -1) >= generation;
  const seen = await waitForPush(context, name, observed, `the operator to observe generation ${generation}`);
  const ready = readyReport(seen);
  io.out(`${ready.line}\n`);
  return ready.exitCode;
};

/**
 * The revision's payload: from the ControllerRevision (its data, already
 * listed), or, for Secret-derived content, from the Secret of the same name,
 * read as the user: a revision is never more readable than its source, so a
 * user who may not get that Secret may not roll back to it.
 */
async function payloadOf(context: CommandContext, push: ConfigPush, revision: KeptRevision): Promise<RevisionPayload> {
  const { api, session } = context;
  const namespace = push.metadata.namespace;
  const what = `revision ${revision.revision} of configpush ${namespace}/${push.metadata.name}`;
  const nothing = 'nothing was changed';
  let raw: unknown;
  if (!revision.inSecret) {
    if (revision.inlinePayload === undefined) throw new CliError(`${what} (ControllerRevision ${namespace}/${revision.name}) holds no ${PAYLOAD_KEY}; ${nothing}`);
    raw = revision.inlinePayload;
  } else {
    let secret;
    try {
      secret = await api.readRevisionSecret(namespace, revision.name);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        throw new CliError(
          `${what} holds Secret-derived content, kept in Secret ${namespace}/${revision.name}; reading it needs get on secrets in namespace ${namespace}, ` +
            `which the kubeconfig's user (context "${session.context}") lacks (${err.message}); ${nothing}. Ask for that RBAC, or use a context that has it`,
        );
      }
      throw explainApiError(err, session, `reading Secret ${namespace}/${revision.name} (${what})`);
    }
    if (!secret) throw new CliError(`${what} cannot be read back: its Secret ${namespace}/${revision.name} is gone; ${nothing}`);
    if (secret.type !== REVISION_SECRET_TYPE || secret.metadata?.labels?.[REVISION_OF_LABEL] !== push.metadata.uid) {
      throw new CliError(`Secret ${namespace}/${revision.name} is not the payload of ${what} (type ${secret.type ?? '(none)'}, not ${REVISION_SECRET_TYPE} labelled with the push's uid); ${nothing}`);
    }
    const encoded = secret.data?.[PAYLOAD_KEY];
    if (encoded === undefined) throw new CliError(`Secret ${namespace}/${revision.name} (${what}) holds no ${PAYLOAD_KEY}; ${nothing}`);
    raw = Buffer.from(encoded, 'base64').toString('utf8');
  }
  try {
    return parsePayload(raw);
  } catch (err) {
    // JSON.parse quotes the text it failed on, which may be secret: say only that it is not JSON. parsePayload's own messages name fields, never values.
    const why = err instanceof SyntaxError ? 'its payload is not valid JSON' : (err as Error).message;
    throw new CliError(`${what} cannot be read back: ${why}; ${nothing}`);
  }
}

function contentSpecOfRevision(payload: RevisionPayload, push: ConfigPush, revision: KeptRevision): ContentSpec {
  try {
    return contentSpecOf(payload);
  } catch (err) {
    throw new CliError(`revision ${revision.revision} of configpush ${push.metadata.namespace}/${push.metadata.name} cannot be read back: ${(err as Error).message}; nothing was changed`);
  }
}

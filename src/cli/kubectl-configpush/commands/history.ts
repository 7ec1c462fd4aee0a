import { DEFAULT_REVISION_HISTORY_LIMIT } from '../../../core/resolve-spec.js';
import { block, type Command } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { keptRevisions, type KeptRevision } from '../model/rollback.js';
import { historyOutput, renderHistory, renderRevisions } from '../view/history-view.js';
import { formatOutput } from '../view/output.js';
import { oneLine } from '../view/text.js';

/**
 * `history NAME`: status.history, newest first, then the kept content
 * revisions (what `rollback --to-revision` takes). The revisions need `list`
 * on controllerrevisions; without it the history is still shown, and why the
 * revisions are not.
 */
export const historyCommand: Command = async ({ invocation, api, session, io }) => {
  const push = await api.getPush(session.namespace, invocation.name ?? '');
  const history = [...(push.status?.history ?? [])].sort((a, b) => b.generation - a.generation);
  let revisions: KeptRevision[] | undefined;
  let revisionsNote: string | undefined;
  try {
    revisions = keptRevisions(await api.listRevisions(push.metadata.namespace, push.metadata.uid), push.metadata.uid);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    revisionsNote = `revisions not shown: ${err.message}`;
  }
  const id = `configpush ${push.metadata.namespace}/${push.metadata.name}`;
  const format = invocation.options.output;
  if (format) {
    io.out(formatOutput(historyOutput(history, revisions), format));
    if (revisionsNote) io.err(`${oneLine(revisionsNote)}\n`);
    return EXIT.ok;
  }
  if (history.length === 0) io.err(`${id} has not written any content yet.\n`);
  else io.out(block(renderHistory(history, io.width, io.now())));
  if (revisionsNote) io.err(`${oneLine(revisionsNote)}\n`);
  else if (revisions && revisions.length > 0) {
    const limit = push.spec?.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
    io.out(`\nRevisions (${revisions.length} kept, spec.revisionHistoryLimit ${limit}):\n`);
    io.out(block(renderRevisions(revisions, push.status?.contentDigest, io.width, io.now())));
  } else if (history.length > 0) io.out(`\nRevisions: none kept (a revision is kept when a rollout completes).\n`);
  return EXIT.ok;
};

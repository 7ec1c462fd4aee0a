import { block, type Command } from '../context.js';
import { EXIT } from '../errors.js';
import { renderHistory } from '../view/history-view.js';
import { formatOutput } from '../view/output.js';

/** `history NAME`: status.history, newest first. */
export const historyCommand: Command = async ({ invocation, api, session, io }) => {
  const push = await api.getPush(session.namespace, invocation.name ?? '');
  const history = [...(push.status?.history ?? [])].sort((a, b) => b.generation - a.generation);
  const format = invocation.options.output;
  if (format) io.out(formatOutput(history, format));
  else if (history.length === 0) io.err(`configpush ${push.metadata.namespace}/${push.metadata.name} has not written any content yet.\n`);
  else io.out(block(renderHistory(history, io.width, io.now())));
  return EXIT.ok;
};

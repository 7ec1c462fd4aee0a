import { ApiError } from '../../kube/api-errors.js';
import { PluginApi } from './api.js';
import type { CommandInvocation, CommandName } from './args.js';
import { diffCommand } from './commands/diff.js';
import { getCommand } from './commands/get.js';
import { historyCommand } from './commands/history.js';
import { reconcileCommand } from './commands/reconcile.js';
import { rollbackCommand } from './commands/rollback.js';
import { suspendCommand } from './commands/suspend.js';
import type { Command, Io } from './context.js';
import { CliError, EXIT } from './errors.js';
import { explainApiError } from './explain.js';
import { openSession } from './session.js';

const COMMANDS: Record<CommandName, Command> = {
  get: getCommand,
  status: getCommand,
  diff: diffCommand,
  history: historyCommand,
  reconcile: reconcileCommand,
  suspend: suspendCommand(true),
  resume: suspendCommand(false),
  rollback: rollbackCommand,
};

/** One command against the cluster: a session for it, the command, its failure as a message that says what to do. */
export async function runCommand(invocation: CommandInvocation, io: Io): Promise<number> {
  let session;
  try {
    session = openSession(invocation.options);
  } catch (err) {
    return failed(err, io);
  }
  try {
    return await COMMANDS[invocation.command]({ invocation, session, api: new PluginApi(session), io });
  } catch (err) {
    // Any apiserver failure not explained where it happened still gets a message that says what to do.
    return failed(err instanceof ApiError ? explainApiError(err, session, invocation.command) : err, io);
  } finally {
    await session.close();
  }
}

function failed(err: unknown, io: Io): number {
  if (err instanceof CliError) {
    io.err(`error: ${err.message}\n`);
    return err.exitCode;
  }
  // A bug here, not a problem with the cluster: the stack is what a report needs.
  io.err(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failed;
}

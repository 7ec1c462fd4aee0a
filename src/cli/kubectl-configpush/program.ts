import { ApiError } from '../../kube/api-errors.js';
import { PluginApi } from './api.js';
import { parseInvocation, type CommandName, type CommandInvocation } from './args.js';
import { diffCommand } from './commands/diff.js';
import { getCommand } from './commands/get.js';
import { historyCommand } from './commands/history.js';
import { reconcileCommand } from './commands/reconcile.js';
import { suspendCommand } from './commands/suspend.js';
import type { Command, Io } from './context.js';
import { CliError, EXIT, UsageError, explainApiError } from './errors.js';
import { usage } from './help.js';
import { openSession } from './session.js';

const COMMANDS: Record<CommandName, Command> = {
  get: getCommand,
  status: getCommand,
  diff: diffCommand,
  history: historyCommand,
  reconcile: reconcileCommand,
  suspend: suspendCommand(true),
  resume: suspendCommand(false),
};

/** Runs one command line; returns the exit code (errors.ts EXIT). Never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\nSee 'kubectl configpush ${err.command ? `${err.command} ` : ''}--help' for usage and examples.\n`);
    return err.exitCode;
  }
  if (invocation.kind === 'help') {
    io.out(`${usage(invocation.command)}\n`);
    return EXIT.ok;
  }
  return runCommand(invocation, io);
}

async function runCommand(invocation: CommandInvocation, io: Io): Promise<number> {
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

/** The real process's output and clock. */
export function processIo(): Io {
  const columns = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS);
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    width: Number.isInteger(columns) && columns > 0 ? columns : 80,
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

import { parseInvocation } from './args.js';
import type { Io } from './context.js';
import { EXIT, UsageError } from './errors.js';
import { usage } from './help.js';

/**
 * Runs one command line; returns the exit code (errors.ts EXIT). Never
 * throws. The command modules (and with them the kube clients, ~0.6 s to
 * load) are imported only for a command: --help and usage errors are instant.
 */
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
  const { runCommand } = await import('./run-command.js');
  return runCommand(invocation, io);
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

// No import of the kube clients here: --help and usage errors must not load them.

/**
 * Exit codes. diff follows `kubectl diff`: 1 means "there are changes", so
 * every failure of any command is 2 or more.
 */
export const EXIT = {
  ok: 0,
  /** diff: the next apply would write; reconcile, suspend, resume: handled, but the push is Stalled. */
  attention: 1,
  /** A bad command line: the usage is printed. */
  usage: 2,
  /** The command failed: not found, apiserver unreachable, forbidden, timed out. */
  failed: 3,
} as const;

/** A failure the user can act on: its message says what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose usage to print, if known. */
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

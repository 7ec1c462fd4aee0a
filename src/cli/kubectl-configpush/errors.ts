import { ApiError } from '../../kube/api-errors.js';

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

/** Where the command talks to, for error messages. */
export interface Endpoint {
  server: string;
  context: string;
}

/**
 * An apiserver failure as a message that says what to do. Errors that are
 * not the client's (a bug here) are passed through unchanged, to be reported
 * as internal errors with their stack.
 */
export function explainApiError(err: unknown, endpoint: Endpoint, what: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const check = `check --kubeconfig/--context (context "${endpoint.context}")`;
  if (err.status === undefined) return new CliError(`cannot reach the apiserver at ${endpoint.server} (${err.message}); ${check}`);
  if (err.status === 401) {
    return new CliError(`the apiserver at ${endpoint.server} did not accept the credentials of context "${endpoint.context}" (401 Unauthorized); ${check}`);
  }
  if (err.status === 403) return new CliError(`${what}: ${err.message}; ask for RBAC on it, or use a context that has it`);
  if (err.status === 404 && /could not find the requested resource/.test(err.message)) {
    return new CliError(
      `the ConfigPush API (configpushes.configpush.io/v1alpha1) is not installed on ${endpoint.server}; install it with: kubectl apply -k manifests/ (or kubectl apply -f crds/)`,
    );
  }
  return new CliError(`${what}: ${err.message}`);
}

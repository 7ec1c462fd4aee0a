import { ApiError } from '../../kube/api-errors.js';
import { CliError } from './errors.js';

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

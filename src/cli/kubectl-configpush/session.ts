import { ConnectionReusingAuth } from '../../kube/connection-reuse.js';
import { loadKubeConfig, makeClients, type ApiClients } from '../../kube/clients.js';
import type { GlobalOptions } from './args.js';
import { CliError } from './errors.js';
import type { Endpoint } from './explain.js';

/** The User-Agent of every request: the audit log tells the plugin's writes from the operator's. */
export const USER_AGENT = 'kubectl-configpush';

/** One command's connection to the cluster, chosen by --kubeconfig and --context. */
export interface Session extends Endpoint {
  clients: ApiClients;
  /** -n, else the context's namespace, else "default". */
  namespace: string;
  close(): Promise<void>;
}

/** Loads the kubeconfig the way kubectl does and builds the same clients the operator uses (one connection pool). */
export function openSession(options: GlobalOptions): Session {
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(options.kubeconfig);
  } catch (err) {
    const where = options.kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config';
    throw new CliError(`cannot load the kubeconfig ${where}: ${(err as Error).message}; check --kubeconfig`);
  }
  if (options.context !== undefined) {
    if (!kubeConfig.getContexts().some((c) => c.name === options.context)) {
      throw new CliError(`context ${JSON.stringify(options.context)} is not in the kubeconfig; list them with: kubectl config get-contexts`);
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const context = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new CliError(`the kubeconfig's context ${JSON.stringify(context)} names no cluster; check --kubeconfig/--context`);
  const auth = new ConnectionReusingAuth(kubeConfig);
  const clients = makeClients(kubeConfig, { requestTimeoutMs: options.requestTimeoutMs, userAgent: USER_AGENT }, auth);
  return {
    clients,
    server: cluster.server,
    context,
    namespace: options.namespace ?? kubeConfig.getContextObject(context)?.namespace ?? 'default',
    close: () => auth.close(),
  };
}

import type { Middleware, RequestContext, ResponseContext } from '@kubernetes/client-node';

/**
 * The operator's API requests as "METHOD /path", from a client middleware
 * the test passes to startTestOperator. It sees every request the operator's
 * clients make (watches excluded: they do not pass through client
 * middleware), which counts reads: the audit log records writes only.
 */
export function requestLog(): { middleware: Middleware; calls: string[] } {
  const calls: string[] = [];
  const middleware: Middleware = {
    pre: async (context: RequestContext) => {
      calls.push(`${context.getHttpMethod()} ${new URL(context.getUrl()).pathname}`);
      return context;
    },
    post: async (context: ResponseContext) => context,
  };
  return { middleware, calls };
}

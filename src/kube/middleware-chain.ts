import type { Middleware, RequestContext, ResponseContext } from '@kubernetes/client-node';

/**
 * Runs `chain` as one middleware, in a fixed order: every `pre` first to
 * last, every `post` last to first (each sees what the ones before it did).
 *
 * Why: client-node 2.0.1 reverses its configuration's middleware array in
 * place on every response (`ObservableAPI`: `_config.middleware.reverse()`),
 * so with several middlewares the order alternates from one request to the
 * next (docs/throttling.md). A later middleware must see what an earlier one
 * set: the fault suite's middlewares read the impersonation header, and the
 * pool's health check once needed the timeout middleware's signal (on every
 * other request it ran first, found none, and could never condemn a dead
 * pool). A one-element array reversed is the same array, so the order holds.
 */
export function inOrder(chain: readonly Middleware[]): Middleware {
  const middlewares = [...chain];
  return {
    pre: async (context: RequestContext) => {
      let current = context;
      for (const middleware of middlewares) current = await middleware.pre(current);
      return current;
    },
    post: async (context: ResponseContext) => {
      let current = context;
      for (let i = middlewares.length - 1; i >= 0; i--) current = await middlewares[i]!.post(current);
      return current;
    },
  };
}

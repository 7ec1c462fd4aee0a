import {
  createConfiguration,
  ResponseContext,
  SelfDecodingBody,
  ServerConfiguration,
  VersionApi,
  wrapHttpLibrary,
  type Middleware,
  type RequestContext,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { inOrder } from '../../src/kube/middleware-chain.js';

/** A middleware that records when its pre and post run. */
function recording(name: string, log: string[]): Middleware {
  return {
    pre: async (context) => {
      log.push(`pre ${name}`);
      return context;
    },
    post: async (context) => {
      log.push(`post ${name}`);
      return context;
    },
  };
}

/** client-node's VersionApi over an HTTP library that answers every request 200 without a network. */
function versionApi(promiseMiddleware: Middleware[]): VersionApi {
  const body = JSON.stringify({ major: '1', minor: '34', gitVersion: 'v1.34.0' });
  const httpApi = wrapHttpLibrary({
    send: async (_request: RequestContext) =>
      new ResponseContext(200, { 'content-type': 'application/json' }, new SelfDecodingBody(Promise.resolve(Buffer.from(body)))),
  });
  return new VersionApi(createConfiguration({ baseServer: new ServerConfiguration('http://127.0.0.1:1', {}), httpApi, promiseMiddleware }));
}

async function orderOfCalls(promiseMiddleware: (log: string[]) => Middleware[], calls: number): Promise<string[][]> {
  const log: string[] = [];
  const api = versionApi(promiseMiddleware(log));
  const orders: string[][] = [];
  for (let i = 0; i < calls; i++) {
    log.length = 0;
    await api.getCode();
    orders.push([...log]);
  }
  return orders;
}

describe('inOrder', () => {
  it('keeps one order on every request: pre first to last, post last to first', async () => {
    const orders = await orderOfCalls((log) => [inOrder([recording('timeout', log), recording('health', log)])], 4);
    for (const order of orders) expect(order).toEqual(['pre timeout', 'pre health', 'post health', 'post timeout']);
  });

  it('passes on what each pre returns to the next', async () => {
    const seen: (string | undefined)[] = [];
    const setHeader: Middleware = {
      pre: async (context) => {
        context.setHeaderParam('X-Test', 'set by the first');
        return context;
      },
      post: async (context) => context,
    };
    const readHeader: Middleware = {
      pre: async (context) => {
        seen.push(context.getHeaders()['X-Test']);
        return context;
      },
      post: async (context) => context,
    };
    const api = versionApi([inOrder([setHeader, readHeader])]);
    await api.getCode();
    await api.getCode();
    expect(seen).toEqual(['set by the first', 'set by the first']);
  });

  // What it guards against: client-node 2.0.1 reverses the middleware array in place after every response.
  // If a client-node upgrade stops doing so, this fails and inOrder is no longer needed (it stays harmless).
  it('client-node alone alternates the order of several middlewares from one request to the next', async () => {
    const orders = await orderOfCalls((log) => [recording('timeout', log), recording('health', log)], 2);
    expect(orders[0]!.slice(0, 2)).toEqual(['pre timeout', 'pre health']);
    expect(orders[1]!.slice(0, 2)).toEqual(['pre health', 'pre timeout']);
  });
});

/**
 * What one write costs the operator's own process, by the way it is made.
 * The throughput runs put ~0.7 ms of the operator's CPU on each request it
 * makes (docs/benchmarks.md, "The operator's own CPU is the memory trade"),
 * and a CPU profile spreads it thin over client-node's generated code,
 * undici and the collector. This splits it directly: the same ConfigMap
 * create, 4 at a time on one control plane, made
 *   - through the operator's clients (src/kube/clients.ts: client-node's
 *     generated CoreV1Api, its serializer and middleware, the api-errors
 *     wrapper, undici-http-library.ts), as the target applier makes it;
 *   - as one undici request on the same connection pool with the same
 *     headers: the body JSON.stringify'd, the answer JSON.parse'd, nothing
 *     else (the least any client can do).
 * Modes alternate within each round; the process's own CPU
 * (process.cpuUsage, user + system, so the collector's work is in it) is
 * read around each mode's creates.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node [--optimize-for-size] .cache/bench-dist/bench/request-client-cost.js [--objects 1000] [--rounds 7] [--cluster-dir DIR]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../src/api/constants.js';
import { HttpMethod, KubeConfig, RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { inOrder } from '../src/kube/middleware-chain.js';
import { UndiciRequestLibrary } from '../src/kube/undici-http-library.js';
import { makeClients } from '../src/kube/clients.js';
import { ConnectionReusingAuth } from '../src/kube/connection-reuse.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, forEachLimit, makeApi } from './kube.js';
import { median, round } from './stats.js';

const root = process.cwd();
const NAMESPACE = 'request-cost';

/** A target as the operator writes it (src/core/desired-target.ts), with values of real length. */
function targetBody(name: string, i: number): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/managed-by': 'configpush-operator' },
      annotations: {
        'configpush.io/owner-uid': '0b8f9a52-6c1e-4d2a-9e57-3f1c2b7d8e90',
        'configpush.io/owner': 'bench/push-1',
        'configpush.io/operation-key': '1-0b8f9a526c',
        'configpush.io/content-digest': `sha256:${'5f2c'.repeat(16)}`,
        'configpush.io/managed-keys': '{"labels":[],"annotations":[]}',
      },
    },
    data: { 'app.properties': `color=blue\nindex=${i}\nrevision=1\n`, mode: 'fast' },
  };
}

type Create = (name: string, i: number) => Promise<unknown>;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { objects: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '7' }, 'cluster-dir': { type: 'string' }, only: { type: 'string' } } });
  const count = Number(values.objects);
  const rounds = Number(values.rounds);
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-request-cost'));
  await cluster.fresh();
  try {
    await createNamespaces(makeApi(cluster.kubeconfig, BENCH_USER_AGENT), [NAMESPACE]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    const auth = new ConnectionReusingAuth(kubeConfig);
    const clients = makeClients(kubeConfig, { requestTimeoutMs: 30_000, userAgent: BENCH_USER_AGENT }, auth);
    const viaClients: Create = (name, i) => clients.core.createNamespacedConfigMap({ namespace: NAMESPACE, body: targetBody(name, i), fieldManager: FIELD_MANAGER });

    // The raw request takes the same pool and headers the clients' requests carry: ask the authentication for them once.
    const server = kubeConfig.getCurrentCluster()?.server;
    if (!server) throw new Error('no current cluster');
    const probe = new RequestContext(`${server}/api/v1/namespaces/${NAMESPACE}/configmaps`, HttpMethod.POST);
    await auth.applySecurityAuthentication(probe);
    const dispatcher = probe.getDispatcher();
    if (dispatcher === undefined) throw new Error('no pooled dispatcher (a plain-http kubeconfig?)');
    const origin = new URL(server).origin;
    const headers = { ...probe.getHeaders(), 'content-type': 'application/json', accept: 'application/json', 'user-agent': BENCH_USER_AGENT };
    const raw: Create = async (name, i) => {
      const response = await dispatcher.request({
        origin,
        path: `/api/v1/namespaces/${NAMESPACE}/configmaps?fieldManager=${FIELD_MANAGER}`,
        method: 'POST',
        headers,
        body: JSON.stringify(targetBody(name, i)),
      });
      const answer = JSON.parse(await response.body.text()) as V1ConfigMap;
      if (response.statusCode !== 201) throw new Error(`raw create answered ${response.statusCode}`);
      return answer;
    };

    // The operator's request path without client-node's generated API: its RequestContext, the kubeconfig's
    // authentication with the kept pool, the middleware, undici-http-library.ts, then JSON.parse.
    const library = new UndiciRequestLibrary({ timeoutMs: 30_000, health: auth });
    const agentHeader = { pre: async (c: RequestContext) => (c.setHeaderParam('User-Agent', BENCH_USER_AGENT), c), post: async (c: ResponseContext) => c };
    const middleware = inOrder([agentHeader]);
    const thinWith =
      (authenticate: (context: RequestContext) => Promise<void>): Create =>
      async (name, i) => {
        const context = new RequestContext(`${server}/api/v1/namespaces/${NAMESPACE}/configmaps`, HttpMethod.POST);
        context.setQueryParam('fieldManager', FIELD_MANAGER);
        context.setHeaderParam('Content-Type', 'application/json');
        context.setHeaderParam('Accept', 'application/json');
        context.setBody(JSON.stringify(targetBody(name, i)));
        await authenticate(context);
        const response = await middleware.post(await library.send(await middleware.pre(context)));
        const text = await response.body.text();
        if (response.httpStatusCode !== 201) throw new Error(`thin create answered ${response.httpStatusCode}`);
        return JSON.parse(text) as V1ConfigMap;
      };
    const thin = thinWith((context) => auth.applySecurityAuthentication(context));
    const thinCachedAuth = thinWith(async (context) => {
      for (const [key, value] of Object.entries(probe.getHeaders())) context.setHeaderParam(key, value);
      context.setDispatcher(dispatcher);
    });

    const modes: { name: string; create: Create }[] = [
      { name: 'the operator\'s clients (client-node + undici-http-library)', create: viaClients },
      { name: 'one undici request, JSON in and out', create: raw },
      { name: 'the same path without client-node\'s generated API (RequestContext, authentication, middleware, undici-http-library)', create: thin },
      { name: 'that, with the authentication\'s headers and pool taken once', create: thinCachedAuth },
    ];
    let serial = 0;
    const runMode = async (create: Create): Promise<number> => {
      const label = serial++;
      const before = process.cpuUsage();
      await forEachLimit(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
        await create(`cm-${label}-${i}`, i);
      });
      const spent = process.cpuUsage(before);
      return (spent.user + spent.system) / count;
    };
    // Warm both paths (JIT, connections), not counted.
    for (const mode of modes) await runMode(mode.create);
    const perRequest: number[][] = modes.map(() => []);
    // --only N runs one mode alone (for a CPU profile of it).
    const only = values.only === undefined ? undefined : Number(values.only);
    for (let r = 0; r < rounds; r++) {
      // The order turns each round, so no mode always runs first.
      const order = modes.map((_, i) => (i + r) % modes.length).filter((m) => only === undefined || m === only);
      for (const m of order) perRequest[m]!.push(await runMode(modes[m]!.create));
      process.stderr.write(`round ${r + 1}/${rounds}: ${modes.map((_, m) => `${round(perRequest[m]!.at(-1) ?? NaN, 0)} µs`).join(' / ')}\n`);
    }
    const medians = perRequest.map((values) => median(values));
    console.log(`# The operator's own CPU per ConfigMap create, by client (node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'})\n`);
    console.log(`${count} creates per mode and round, 4 at a time, ${rounds} rounds, modes alternating; CPU of this process (user + system) per create.\n`);
    console.log('| client | µs per create, each round | median | against the raw request |');
    console.log('|---|---|---|---|');
    for (const [m, mode] of modes.entries()) {
      console.log(`| ${mode.name} | ${perRequest[m]!.map((v) => round(v, 0)).join(', ')} | ${round(medians[m]!, 0)} | ${round(medians[m]! / medians[1]!, 2)} |`);
    }
    await auth.close();
  } finally {
    cluster.down();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

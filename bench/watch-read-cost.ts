/**
 * What reading one watch event costs the operator's process, through
 * client-node's Watch (what every informer of the operator uses: undici's
 * fetch, its web stream turned into a Node stream, readline, JSON.parse per
 * line, an inactivity timer re-armed per chunk) against the leanest reader
 * that could replace it: undici's `request` on an HTTP/1.1 Agent built from
 * the same kubeconfig, lines split on the Buffers, JSON.parse per line.
 *
 * In the operator's CPU profiles the watch path shows as webstreams and
 * readline frames (~16% of busy time, inclusive, in a 1,000-push profile),
 * and earlier notes left "client-node's Watch path" open as a cost that may
 * be ours to remove. This measures it alone: each round starts one process
 * per reader, both watching the same namespace from the same
 * resourceVersion, then creates N ConfigMaps (the operator's target
 * metadata, 4 at a time); each process reports its own CPU
 * (`process.cpuUsage`) from its first event to its Nth, per event. The
 * readers see the same events at the same time on the same machine, so the
 * rounds compare them directly; the order they are started in turns.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/watch-read-cost.js [--objects 3000] [--rounds 5] [--node-flags "--optimize-for-size"] [--cluster-dir DIR]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { KubeConfig, Watch } from '../src/kube/client-node.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, createTargetShapedConfigMaps, makeApi, sleep } from './kube.js';
import { median, round } from './stats.js';

const READERS = ['client-node Watch', 'undici request, Buffer lines'] as const;
type Reader = (typeof READERS)[number];

interface WatcherArgs {
  reader: Reader;
  kubeconfig: string;
  namespace: string;
  objects: number;
  resourceVersion: string;
}

/** The child: watch, count ADDED events, print the CPU per event from the first to the last, exit. */
async function watcher(args: WatcherArgs): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(args.kubeconfig);
  const path = `/api/v1/namespaces/${args.namespace}/configmaps`;
  let seen = 0;
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  const onEvent = (type: string, object: unknown) => {
    if (type !== 'ADDED' || object === undefined) return;
    if (seen++ === 0) cpuAtFirst = process.cpuUsage();
    if (seen < args.objects) return;
    const spent = process.cpuUsage(cpuAtFirst);
    process.stdout.write(`${JSON.stringify({ cpuMsPerEvent: (spent.user + spent.system) / 1000 / (args.objects - 1) })}\n`);
    process.exit(0);
  };
  if (args.reader === 'client-node Watch') {
    await new Watch(kubeConfig).watch(path, { resourceVersion: args.resourceVersion }, onEvent, (err) => {
      if (err) throw err;
    });
    return;
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const tls = {};
  await kubeConfig.applyToHTTPSOptions(tls);
  const plan = kubeConfig.createDispatcherOptions(cluster, tls);
  if (plan.type !== 'agent') throw new Error('the bench kubeconfig goes through a proxy');
  const agent = new Agent({ connect: plan.connect as NonNullable<Agent.Options['connect']>, allowH2: false });
  const options: { headers: Record<string, string> } = { headers: { 'User-Agent': BENCH_USER_AGENT } };
  await kubeConfig.applyToHTTPSOptions(options as never);
  const response = await request(`${cluster.server}${path}?watch=true&resourceVersion=${args.resourceVersion}`, { dispatcher: agent, headers: options.headers });
  if (response.statusCode !== 200) throw new Error(`watch answered ${response.statusCode}`);
  let rest: Buffer | undefined;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    const buffer = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let newline = buffer.indexOf(10, start); newline !== -1; newline = buffer.indexOf(10, start)) {
      const event = JSON.parse(buffer.toString('utf8', start, newline)) as { type: string; object: unknown };
      start = newline + 1;
      onEvent(event.type, event.object);
    }
    rest = start < buffer.length ? buffer.subarray(start) : undefined;
  }
}

/** Starts a watcher child; resolves with its CPU per event. */
function startWatcher(args: WatcherArgs, nodeFlags: string[]): Promise<number> {
  const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--watcher', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args.reader} watcher exited ${code}`));
      resolve((JSON.parse(out.trim()) as { cpuMsPerEvent: number }).cpuMsPerEvent);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      objects: { type: 'string', default: '3000' },
      rounds: { type: 'string', default: '5' },
      'node-flags': { type: 'string', default: '--optimize-for-size' },
      'cluster-dir': { type: 'string' },
      watcher: { type: 'string' },
    },
  });
  if (values.watcher) return watcher(JSON.parse(values.watcher) as WatcherArgs);
  const objects = Number(values.objects);
  const rounds = Number(values.rounds);
  const nodeFlags = values['node-flags'].split(/\s+/).filter(Boolean);
  const root = process.cwd();
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-watch-cost'));
  await cluster.fresh();
  try {
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    const perEvent = new Map<Reader, number[]>(READERS.map((r) => [r, []]));
    for (let r = 0; r < rounds; r++) {
      const namespace = `watch-cost-${r}`;
      await createNamespaces(api, [namespace]);
      const resourceVersion = (await api.core.listNamespacedConfigMap({ namespace })).metadata?.resourceVersion ?? '';
      const order = r % 2 === 0 ? READERS : [...READERS].reverse();
      const results = order.map((reader) => startWatcher({ reader, kubeconfig: cluster.kubeconfig, namespace, objects, resourceVersion }, nodeFlags));
      await sleep(1_500); // both watches established
      await createTargetShapedConfigMaps(api, namespace, objects);
      const spent = await Promise.all(results);
      order.forEach((reader, i) => perEvent.get(reader)!.push(round(spent[i]!, 4)));
      process.stdout.write(`round ${r + 1}/${rounds}: ${order.map((reader, i) => `${reader} ${round(spent[i]!, 4)} ms`).join(', ')} of CPU per event\n`);
      await api.core.deleteNamespace({ name: namespace });
    }
    const [clientNode, lean] = READERS.map((reader) => perEvent.get(reader)!);
    const ratios = clientNode!.map((v, i) => v / lean![i]!);
    process.stdout.write(`\n${objects} events a round, watcher node flags: ${nodeFlags.join(' ') || '(none)'}\n\n| reader | CPU per event, ms (rounds; median) |\n|---|---|\n`);
    for (const reader of READERS) process.stdout.write(`| ${reader} | ${perEvent.get(reader)!.join(', ')} (${round(median(perEvent.get(reader)!), 4)}) |\n`);
    process.stdout.write(`\nclient-node against the lean reader, median of the rounds' ratios: ${round(median(ratios), 2)} (${ratios.map((v) => round(v, 2)).join(', ')})\n`);
  } finally {
    cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`watch-read-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

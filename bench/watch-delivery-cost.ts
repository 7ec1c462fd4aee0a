/**
 * What the apiserver spends to deliver a write to one watcher, against what
 * it spends on the write itself.
 *
 * The operator watches its targets (to vouch for them without reading them,
 * the idle-reads row of the performance issue) and its revisions; the bench's
 * baseline watches neither. A fan-out target therefore costs the apiserver a
 * create plus one watch event for the operator, the baseline's a create
 * alone: the "~1.2 times the apiserver CPU per fan-out target" that earlier
 * notes left unsplit. This measures the event's share directly, and what
 * the protobuf encoding (what client-go's controllers ask for; client-node
 * speaks JSON only) would save of it.
 *
 * Each round creates `--objects` ConfigMaps of the operator's target shape
 * (4 at a time) into a fresh namespace three ways, the order turning from
 * round to round: with no watcher, with one JSON watcher of the namespace,
 * and with one protobuf watcher. The watchers are raw HTTP/1.1 streams in
 * this process that only count the events (whole lines, or length-prefixed
 * frames) and their bytes, so nothing of a client library is measured. The
 * apiserver's CPU (`process_cpu_seconds_total`) is read before the creates
 * and after the watcher has seen the last event, less its idle rate measured
 * just before.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/watch-delivery-cost.js [--objects 2000] [--rounds 5] [--cluster-dir DIR]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { readApiserver, readIdleApiserver } from './apiserver-metrics.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, createTargetShapedConfigMaps, makeApi, sleep, type Api } from './kube.js';
import { median, round } from './stats.js';

const MODES = ['no watcher', 'one JSON watcher', 'one protobuf watcher'] as const;
type Mode = (typeof MODES)[number];

const ACCEPT: Record<Exclude<Mode, 'no watcher'>, string> = {
  'one JSON watcher': 'application/json',
  'one protobuf watcher': 'application/vnd.kubernetes.protobuf;stream=watch',
};

interface Watcher {
  /** Resolves when `events` events have arrived, with the bytes they took. */
  received(events: number): Promise<number>;
  close(): void;
}

/** A raw watch of the namespace's ConfigMaps from `resourceVersion`, counting events and bytes. */
async function openWatcher(api: Api, agent: Agent, mode: Exclude<Mode, 'no watcher'>, namespace: string, resourceVersion: string): Promise<Watcher> {
  const server = api.kubeConfig.getCurrentCluster()?.server ?? '';
  const headers: Record<string, string> = { 'User-Agent': BENCH_USER_AGENT, Accept: ACCEPT[mode] };
  await api.kubeConfig.applyToHTTPSOptions({ headers } as never);
  const controller = new AbortController();
  const response = await request(`${server}/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=${resourceVersion}`, {
    dispatcher: agent,
    headers,
    signal: controller.signal,
  });
  if (response.statusCode !== 200) throw new Error(`${mode}: the watch answered ${response.statusCode}`);
  let events = 0;
  let bytes = 0;
  let waiting: { events: number; resolve: (bytes: number) => void } | undefined;
  let pending: Buffer = Buffer.alloc(0);
  const countEvents = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (mode === 'one JSON watcher') {
      // One event per line.
      let start = 0;
      for (let newline = pending.indexOf(10, start); newline !== -1; newline = pending.indexOf(10, start)) {
        events++;
        start = newline + 1;
      }
      pending = pending.subarray(start);
      return;
    }
    // A protobuf watch stream: each event a 4-byte big-endian length, then that many bytes.
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      pending = pending.subarray(4 + pending.readUInt32BE(0));
      events++;
    }
  };
  void (async () => {
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        countEvents(chunk);
        if (waiting && events >= waiting.events) waiting.resolve(bytes);
      }
    } catch {
      // closed
    }
  })();
  return {
    received: (wanted) => new Promise((resolve) => (events >= wanted ? resolve(bytes) : (waiting = { events: wanted, resolve }))),
    close: () => controller.abort(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      objects: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '5' },
      'cluster-dir': { type: 'string' },
    },
  });
  const objects = Number(values.objects);
  const rounds = Number(values.rounds);
  const root = process.cwd();
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-watch-delivery'));
  await cluster.fresh();
  try {
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    const tls = {};
    await api.kubeConfig.applyToHTTPSOptions(tls);
    const plan = api.kubeConfig.createDispatcherOptions(api.kubeConfig.getCurrentCluster()!, tls);
    if (plan.type !== 'agent') throw new Error('the bench kubeconfig goes through a proxy');
    const agent = new Agent({ connect: plan.connect as NonNullable<Agent.Options['connect']>, allowH2: false });
    const cpuMsPerCreate = new Map<Mode, number[]>(MODES.map((mode) => [mode, []]));
    const bytesPerEvent = new Map<Mode, number[]>(MODES.map((mode) => [mode, []]));
    for (let r = 0; r < rounds; r++) {
      const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
      for (const mode of order) {
        const namespace = `delivery-${r}-${MODES.indexOf(mode)}`;
        await createNamespaces(api, [namespace]);
        const resourceVersion = (await api.core.listNamespacedConfigMap({ namespace })).metadata?.resourceVersion ?? '';
        const watcher = mode === 'no watcher' ? undefined : await openWatcher(api, agent, mode, namespace, resourceVersion);
        await sleep(500);
        const { idleCpuPerSecond, reading: before } = await readIdleApiserver(cluster.dir, 3_000);
        await createTargetShapedConfigMaps(api, namespace, objects);
        const bytes = watcher ? await watcher.received(objects) : 0;
        const after = await readApiserver(cluster.dir);
        watcher?.close();
        const seconds = ((after.at ?? 0) - (before.at ?? 0)) / 1000;
        const netMs = (after.cpuSeconds - before.cpuSeconds - idleCpuPerSecond * seconds) * 1000;
        cpuMsPerCreate.get(mode)!.push(round(netMs / objects, 3));
        bytesPerEvent.get(mode)!.push(round(bytes / objects, 0));
        await api.core.deleteNamespace({ name: namespace });
      }
      process.stdout.write(`round ${r + 1}/${rounds}: ${MODES.map((mode) => `${mode} ${cpuMsPerCreate.get(mode)!.at(-1)} ms`).join(', ')} of apiserver CPU per create\n`);
    }
    const none = cpuMsPerCreate.get('no watcher')!;
    process.stdout.write(
      `\n${objects} ConfigMaps a round (the operator's target shape), ${rounds} rounds; apiserver CPU per create, net of idle\n\n` +
        `| watchers | apiserver CPU per create, ms (rounds; median) | against no watcher, median of rounds | bytes per event |\n|---|---|---|---|\n`,
    );
    for (const mode of MODES) {
      const list = cpuMsPerCreate.get(mode)!;
      const ratios = list.map((v, i) => v / none[i]!);
      process.stdout.write(`| ${mode} | ${list.join(', ')} (${round(median(list), 3)}) | ${round(median(ratios), 3)} | ${mode === 'no watcher' ? '' : median(bytesPerEvent.get(mode)!)} |\n`);
    }
    await agent.close();
  } finally {
    cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`watch-delivery-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

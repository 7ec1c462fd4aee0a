/**
 * What one target costs the apiserver, split: its metadata and the watch
 * that sees it. In a fan-out both sides write the same number of ConfigMaps
 * with the same requests, yet the operator side costs the apiserver more
 * (bench/results, "Fan-out ... apiserver CPU"). Two things differ: the
 * operator's targets carry five annotations where the baseline's carry three
 * (the operation key and the managed-keys record besides owner, owner uid
 * and digest: src/core/desired-target.ts), and the operator watches its
 * targets (JSON, as every client-node watch is) where the baseline does not.
 *
 * Each round creates N ConfigMaps, 4 at a time, in four modes, the order
 * turning each round: the baseline's metadata, no watch open; the
 * operator's metadata, no watch; the operator's metadata with one JSON
 * watch of them; and with one protobuf watch
 * (`application/vnd.kubernetes.protobuf;stream=watch`, as client-go may ask
 * for built-in kinds), each watch read to the end and counted, not decoded.
 * kube-apiserver's own process_cpu_seconds_total is read around the creates
 * (and until the watch has delivered them all). Each mode's cost is given
 * against the first mode's of the same round.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/target-write-cost.js [--objects 2000] [--rounds 5] [--cluster-dir DIR]
 */
import { request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { readApiserver } from './apiserver-metrics.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, forEachLimit, makeApi, sleep } from './kube.js';
import { median, round } from './stats.js';

const root = process.cwd();
const NAMESPACE = 'target-cost';
const LABEL = 'bench.configpush.io/target-cost';

const ACCEPT = {
  json: 'application/json',
  protobuf: 'application/vnd.kubernetes.protobuf;stream=watch',
} as const;
type Encoding = keyof typeof ACCEPT;
type Shape = 'baseline' | 'operator';

const MODES = [
  { name: "baseline's metadata, no watch", shape: 'baseline' },
  { name: "operator's metadata, no watch", shape: 'operator' },
  { name: "operator's metadata, one JSON watch", shape: 'operator', watch: 'json' },
  { name: "operator's metadata, one protobuf watch", shape: 'operator', watch: 'protobuf' },
] as const satisfies readonly { name: string; shape: Shape; watch?: Encoding }[];

/** A target's metadata as each side writes it (bench/baseline.ts; src/core/desired-target.ts renderTarget), with values of real length. */
function metadataOf(shape: Shape, name: string, label: number): { name: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const uid = '0b8f9a52-6c1e-4d2a-9e57-3f1c2b7d8e90';
  const digest = `sha256:${'5f2c'.repeat(16)}`;
  const annotations: Record<string, string> =
    shape === 'baseline'
      ? { 'configpush.io/owner-uid': uid, 'configpush.io/owner': 'fanout/fanout-5000', 'configpush.io/content-digest': digest }
      : {
          'configpush.io/owner-uid': uid,
          'configpush.io/owner': 'fanout/fanout-5000',
          'configpush.io/operation-key': '1-0b8f9a526c',
          'configpush.io/content-digest': digest,
          'configpush.io/managed-keys': '{"labels":[],"annotations":[]}',
        };
  return { name, labels: { [LABEL]: String(label), 'app.kubernetes.io/managed-by': shape === 'baseline' ? 'configpush-baseline' : 'configpush-operator' }, annotations };
}

/** An open watch of the round's ConfigMaps; `objects()` counts what it delivered (JSON: lines; protobuf: length-prefixed frames). */
interface OpenWatch {
  objects(): number;
  bytes(): number;
  close(): void;
}

async function openWatch(kubeConfig: KubeConfig, encoding: Encoding, round: number): Promise<OpenWatch> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the bench kubeconfig has no current cluster');
  const url = new URL(`/api/v1/namespaces/${NAMESPACE}/configmaps`, server);
  url.searchParams.set('watch', 'true');
  url.searchParams.set('labelSelector', `${LABEL}=${round}`);
  const options: RequestOptions & { headers: Record<string, string> } = { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { Accept: ACCEPT[encoding], 'User-Agent': BENCH_USER_AGENT } };
  await kubeConfig.applyToHTTPSOptions(options);
  let objects = 0;
  let bytes = 0;
  let pending = Buffer.alloc(0);
  const req = request(options);
  await new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch answered ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (encoding === 'json') {
          for (const byte of chunk) if (byte === 0x0a) objects++;
          return;
        }
        // Protobuf watch frames: a 4-byte big-endian length, then that many bytes.
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
          pending = pending.subarray(4 + pending.readUInt32BE(0));
          objects++;
        }
      });
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
  return { objects: () => objects, bytes: () => bytes, close: () => req.destroy() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { objects: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' }, 'cluster-dir': { type: 'string' } } });
  const count = Number(values.objects);
  const rounds = Number(values.rounds);
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-target-cost'));
  await cluster.fresh();
  try {
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfig);
    await createNamespaces(api, [NAMESPACE]);
    const perObject: number[][] = MODES.map(() => []);
    const bytesPerObject: (number | undefined)[] = [];
    let serial = 0;
    // One round's creates first, not counted: a control plane started seconds ago answers its first thousands slower.
    const create = (label: number, shape: Shape) =>
      forEachLimit(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
        await api.core.createNamespacedConfigMap({
          namespace: NAMESPACE,
          body: { metadata: metadataOf(shape, `cm-${label}-${i}`, label), data: { 'app.properties': `color=blue\nindex=${i}\n` } },
          ...(shape === 'operator' ? { fieldManager: 'configpush-operator' } : {}),
        });
      });
    await create(serial++, 'operator');
    for (let r = 0; r < rounds; r++) {
      // The order turns each round, so no mode always runs first on a warmer apiserver.
      const order = MODES.map((_, i) => (i + r) % MODES.length);
      for (const m of order) {
        const mode: { name: string; shape: Shape; watch?: Encoding } = MODES[m]!;
        const label = serial++;
        const watch = mode.watch ? await openWatch(kubeConfig, mode.watch, label) : undefined;
        await sleep(1_000); // the watch established, the apiserver quiet
        const before = await readApiserver(cluster.dir);
        await create(label, mode.shape);
        const deadline = Date.now() + 60_000;
        while (watch && watch.objects() < count && Date.now() < deadline) await sleep(50);
        const after = await readApiserver(cluster.dir);
        if (watch && watch.objects() < count) throw new Error(`the ${mode.name} watch delivered ${watch.objects()} of ${count}`);
        if (watch) bytesPerObject[m] = Math.round(watch.bytes() / count);
        watch?.close();
        perObject[m]!.push(round(((after.cpuSeconds - before.cpuSeconds) * 1000) / count, 3));
        process.stdout.write(`round ${r + 1}/${rounds} ${mode.name}: ${perObject[m]!.at(-1)} ms of apiserver CPU per ConfigMap created\n`);
      }
    }
    // Each mode against the baseline's metadata (what the operator's targets add in all) and, for the watches, against the
    // operator's metadata without one (what the watch alone adds): the median of the rounds' differences, ms an object.
    const against = (m: number, other: number) => String(round(median(perObject[m]!.map((v, i) => v - (perObject[other]![i] ?? Number.NaN))), 3));
    process.stdout.write(`\n| mode | watch bytes an object | apiserver CPU per create, ms (rounds; median) | against the baseline's metadata | against the operator's metadata without a watch |\n|---|---|---|---|---|\n`);
    MODES.forEach((mode, m) => {
      const spent = perObject[m]!;
      process.stdout.write(`| ${mode.name} | ${bytesPerObject[m] ?? ''} | ${spent.join(', ')} (${median(spent)}) | ${m === 0 ? '' : against(m, 0)} | ${m < 2 ? '' : against(m, 1)} |\n`);
    });
  } finally {
    cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`target-write-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

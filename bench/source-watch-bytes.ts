/**
 * What one fill of a source watch costs (the operator watches every Secret of
 * a namespace that a push copies a Secret from: src/configpush/source-informer.ts),
 * with the apiserver asked for metadata only (what the operator does) against
 * whole objects trimmed after they arrived (what it did before,
 * src/kube/metadata-only.ts).
 *
 * A fill is what every start, restart and relist of the watch does: a
 * watch-list of the namespace until its initial-events-end bookmark. The
 * namespace holds `--secrets` Secrets of `--size` bytes each (Helm keeps a
 * release's history in Secrets of tens of KiB; certificates and bundles are
 * similar). Each round fills `--fills` times each way, the order turning
 * from round to round, and reads around each batch:
 *  - the bytes the apiserver encoded for the watch's events
 *    (`apiserver_watch_events_sizes_sum` for secrets),
 *  - the apiserver's CPU (`process_cpu_seconds_total`),
 *  - this process's CPU (`process.cpuUsage`), where the informer runs.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/source-watch-bytes.js [--secrets 200] [--size 16384] [--rounds 5] [--fills 10] [--cluster-dir DIR]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { SOURCE_COPY_TO_ANNOTATION } from '../src/api/constants.js';
import { sourceInformerFactory } from '../src/configpush/source-informer.js';
import { ResilientInformer } from '../src/kube/resilient-informer.js';
import { keepMetadataOnly } from '../src/runtime/cache-transforms.js';
import { apiserverMetricsText } from '../test/support/apf.js';
import { BenchCluster } from './cluster.js';
import { BENCH_USER_AGENT, createNamespaces, forEachLimit, makeApi, type Api } from './kube.js';
import { median, round } from './stats.js';

const MODES = ['metadata only (the operator)', 'whole objects, trimmed after (before)'] as const;
type Mode = (typeof MODES)[number];

interface Spend {
  bytes: number;
  apiserverCpuMs: number;
  clientCpuMs: number;
}

/** One fill: the watch-list until its bookmark, as a (re)start of the informer does; then stopped. */
async function fill(mode: Mode, api: Api, namespace: string, relistIntervalMs: number): Promise<number> {
  const log = pino({ level: 'silent' });
  const handlers = { upsert: () => undefined, delete: () => undefined };
  const informer =
    mode === 'metadata only (the operator)'
      ? sourceInformerFactory({ kubeConfig: api.kubeConfig, core: api.core, log, relistIntervalMs })('Secret', namespace, handlers)
      : new ResilientInformer<KubernetesObject>({
          kubeConfig: api.kubeConfig,
          path: `/api/v1/namespaces/${namespace}/secrets`,
          list: () => api.core.listNamespacedSecret({ namespace }),
          handlers,
          transform: keepMetadataOnly([SOURCE_COPY_TO_ANNOTATION]),
          log,
          relistIntervalMs,
        });
  await informer.start();
  const filled = informer.list().length;
  await informer.stop();
  return filled;
}

async function reading(server: string, pki: string): Promise<{ bytes: number; cpuSeconds: number }> {
  const text = await apiserverMetricsText(server, pki);
  let bytes = 0;
  let cpuSeconds = Number.NaN;
  for (const line of text.split('\n')) {
    if (line.startsWith('process_cpu_seconds_total ')) cpuSeconds = Number(line.slice('process_cpu_seconds_total '.length));
    const match = /^apiserver_watch_events_sizes_sum\{([^}]*)\} (\S+)$/.exec(line);
    if (match && /resource="secrets"/.test(match[1] ?? '')) bytes += Number(match[2]);
  }
  return { bytes, cpuSeconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      secrets: { type: 'string', default: '200' },
      size: { type: 'string', default: '16384' },
      rounds: { type: 'string', default: '5' },
      fills: { type: 'string', default: '10' },
      'cluster-dir': { type: 'string' },
    },
  });
  const secrets = Number(values.secrets);
  const size = Number(values.size);
  const rounds = Number(values.rounds);
  const fills = Number(values.fills);
  const root = process.cwd();
  const cluster = new BenchCluster(root, values['cluster-dir'] ?? join(root, '.cache/cluster-source-watch'));
  await cluster.fresh();
  try {
    const api = makeApi(cluster.kubeconfig, BENCH_USER_AGENT);
    const server = api.kubeConfig.getCurrentCluster()?.server ?? '';
    const pki = join(cluster.dir, 'pki');
    const namespace = 'sources';
    await createNamespaces(api, [namespace]);
    // Random bytes: what a certificate or an encrypted blob holds; nothing on the way compresses them.
    const payload = () => Buffer.from(Array.from({ length: size }, () => Math.floor(Math.random() * 256))).toString('base64');
    await forEachLimit(Array.from({ length: secrets }, (_, i) => i), 8, async (i) => {
      await api.core.createNamespacedSecret({ namespace, body: { metadata: { name: `release-v${i}`, labels: { owner: 'helm' } }, data: { release: payload() } } });
    });
    const spent = new Map<Mode, Spend[]>(MODES.map((mode) => [mode, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [...MODES] : [...MODES].reverse();
      for (const mode of order) {
        const before = await reading(server, pki);
        const cpuBefore = process.cpuUsage();
        for (let f = 0; f < fills; f++) {
          const filled = await fill(mode, api, namespace, 600_000);
          if (filled !== secrets) throw new Error(`${mode}: the fill held ${filled} Secrets, not ${secrets}`);
        }
        const cpu = process.cpuUsage(cpuBefore);
        const after = await reading(server, pki);
        spent.get(mode)!.push({
          bytes: (after.bytes - before.bytes) / fills,
          apiserverCpuMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / fills,
          clientCpuMs: (cpu.user + cpu.system) / 1000 / fills,
        });
      }
      process.stdout.write(`round ${r + 1}/${rounds} done\n`);
    }
    const [metadata, whole] = MODES.map((mode) => spent.get(mode)!);
    const column = (list: Spend[], field: keyof Spend, digits: number) => `${list.map((s) => round(s[field], digits)).join(', ')} (${round(median(list.map((s) => s[field])), digits)})`;
    const ratio = (field: keyof Spend) => round(median(metadata!.map((s, i) => s[field] / whole![i]![field])), 3);
    process.stdout.write(
      `\n${secrets} Secrets of ${size} bytes in one namespace; ${fills} fills a round, ${rounds} rounds; per fill (rounds; median)\n\n` +
        `| per fill | ${MODES.join(' | ')} | ratio, median of rounds |\n|---|---|---|---|\n` +
        `| watch event bytes the apiserver encoded | ${column(metadata!, 'bytes', 0)} | ${column(whole!, 'bytes', 0)} | ${ratio('bytes')} |\n` +
        `| apiserver CPU, ms | ${column(metadata!, 'apiserverCpuMs', 1)} | ${column(whole!, 'apiserverCpuMs', 1)} | ${ratio('apiserverCpuMs')} |\n` +
        `| the informer's process CPU, ms | ${column(metadata!, 'clientCpuMs', 1)} | ${column(whole!, 'clientCpuMs', 1)} | ${ratio('clientCpuMs')} |\n`,
    );
  } finally {
    cluster.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`source-watch-bytes: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

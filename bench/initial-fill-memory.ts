import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import { kubeConfigPushClient } from '../src/kube/configpush-client.js';
import { ResilientInformer } from '../src/kube/resilient-informer.js';
import { trimPush } from '../src/runtime/cache-transforms.js';
import { imageNodeFlags } from '../test/support/image.js';
import { heapAfterGc } from './heap-after-gc.js';
import { deploymentEnv } from './options.js';
import { BENCH_USER_AGENT, forEachLimit, makeApi } from './kube.js';
import { pushJson } from './push-fixture.js';

/**
 * What filling the push cache costs at a start or a relist, by the way the
 * state is read: one LIST (client-node reads the whole body into one string,
 * then parses it) against a watch-list (kube/watch-list.ts: one JSON line
 * per object, each trimmed as it arrives). Each run is a fresh process that
 * starts the operator's push informer (the same transform, trimPush) on a
 * cluster holding N applied pushes (bench/push-fixture.ts: the status the
 * operator writes), and reports its peak RSS (the kernel's VmHWM, which sees
 * the peak inside a synchronous JSON.parse that no sampling timer could),
 * the time until the cache is filled, and the live heap after a full GC
 * (the cache itself: the same either way). Alternating runs, medians, and
 * the watch-list's ratios against the LIST measured in the same run.
 *
 *   KUBECONFIG=<cluster>/kubeconfig node .cache/bench-dist/bench/initial-fill-memory.js --pushes 20000 --runs 3
 *
 * From the repository's root: the runs take the image's node flags (the
 * Dockerfile's ENTRYPOINT) and the Deployment's environment from there.
 *
 * Creates the missing pushes first (namespaces bench-0..9; with status,
 * written through the status subresource), and leaves them.
 */

interface Fill {
  mode: 'list' | 'watch-list' | 'relist';
  peakRssMiB: number;
  seconds: number;
  heapMiB: number;
  cached: number;
  /** relist: RSS when the relist began (the filled cache at rest). */
  restMiB?: number;
}

const MiB = 2 ** 20;

const vm = (field: 'VmHWM' | 'VmRSS') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;

async function child(mode: Fill['mode']): Promise<void> {
  let upserts = 0;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const pushes = kubeConfigPushClient(makeApi(process.env.KUBECONFIG ?? '', BENCH_USER_AGENT).custom);
  const started = performance.now();
  const informer = new ResilientInformer<KubernetesObject>({
    kubeConfig,
    path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    list: () => pushes.list() as never,
    handlers: { upsert: () => upserts++, delete: () => undefined },
    transform: (obj) => trimPush(obj),
    log: pino({ level: 'silent' }),
    relistIntervalMs: 3_600_000,
    watchList: mode !== 'list',
  });
  await informer.start();
  const seconds = (performance.now() - started) / 1000;
  const cached = informer.list().length;
  if (mode === 'relist') {
    // The peak of a relist alone: reset the kernel's high-water mark (clear_refs 5), then relist and wait until it told of every object.
    heapAfterGc();
    writeFileSync('/proc/self/clear_refs', '5');
    const restMiB = vm('VmRSS');
    const told = upserts;
    const relistStarted = performance.now();
    informer.retryNow(0);
    while (upserts < told + cached) await new Promise((resolve) => setTimeout(resolve, 20));
    const relist: Fill = { mode, peakRssMiB: vm('VmHWM'), seconds: (performance.now() - relistStarted) / 1000, heapMiB: heapAfterGc() / MiB, cached, restMiB };
    await informer.stop();
    process.send?.(relist);
    return;
  }
  const heapMiB = heapAfterGc() / MiB;
  await informer.stop();
  const fill: Fill = { mode, peakRssMiB: vm('VmHWM'), seconds, heapMiB, cached };
  process.send?.(fill);
}

async function ensurePushes(n: number): Promise<void> {
  const api = makeApi(process.env.KUBECONFIG ?? '', BENCH_USER_AGENT);
  for (let ns = 0; ns < 10; ns++) {
    await api.core.createNamespace({ body: { metadata: { name: `bench-${ns}` } } }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  }
  // A CRD just installed answers 429 ("storage is (re)initializing") for a moment.
  const listPushes = async (): Promise<{ items: KubernetesObject[] }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await api.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: KubernetesObject[] };
      } catch (err) {
        if ((err as { code?: number }).code !== 429 || attempt >= 30) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  };
  const existing = new Set(
    (await listPushes()).items.map(
      (p) => `${p.metadata?.namespace}/${p.metadata?.name}`,
    ),
  );
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !existing.has(`bench-${i % 10}/mem-${i}`));
  process.stderr.write(`initial-fill: ${existing.size} pushes there, creating ${missing.length}\n`);
  await forEachLimit(missing, 16, async (i) => {
    const fixture = JSON.parse(pushJson(i)) as { metadata: { name: string; namespace: string }; spec: unknown; status: unknown };
    const { name, namespace } = fixture.metadata;
    const created = (await api.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace, finalizers: ['configpush.io/finalizer'] }, spec: fixture.spec },
    })) as KubernetesObject;
    await api.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      name,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ConfigPush', metadata: { name, namespace, resourceVersion: created.metadata?.resourceVersion }, status: fixture.status },
    });
  });
}

/** `script`: this file, or its compiled copy in another build (--relist-against). */
function run(mode: Fill['mode'], script = fileURLToPath(import.meta.url)): Promise<Fill> {
  return new Promise((resolve, reject) => {
    // As the image runs the operator (its node flags, the Deployment's environment): what ships is what is measured.
    const root = process.cwd();
    const proc = fork(script, ['--child', mode], {
      execArgv: [...imageNodeFlags(root), '--expose-gc'],
      env: { ...process.env, ...deploymentEnv(root) },
    });
    proc.on('message', (fill: Fill) => resolve(fill));
    proc.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`${mode} run exited ${code}`))));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { child: { type: 'string' }, pushes: { type: 'string', default: '20000' }, runs: { type: 'string', default: '3' }, 'relist-against': { type: 'string' } },
  });
  if (values.child === 'list' || values.child === 'watch-list' || values.child === 'relist') return child(values.child);
  const n = Number(values.pushes);
  await ensurePushes(n);
  const against = values['relist-against'];
  if (against !== undefined) return relists(n, Number(values.runs), `${against}/bench/initial-fill-memory.js`);
  const fills: Fill[] = [];
  for (let r = 0; r < Number(values.runs); r++) {
    for (const mode of r % 2 ? (['watch-list', 'list'] as const) : (['list', 'watch-list'] as const)) {
      const fill = await run(mode);
      if (fill.cached < n) throw new Error(`${mode} cached ${fill.cached} of ${n} pushes`);
      fills.push(fill);
      process.stderr.write(`initial-fill: ${JSON.stringify(fill)}\n`);
    }
  }
  const of = (mode: Fill['mode'], key: 'peakRssMiB' | 'seconds' | 'heapMiB') => median(fills.filter((f) => f.mode === mode).map((f) => f[key]));
  console.log(`| ${n} pushes cached, median of ${values.runs} alternating runs | LIST | watch-list | ratio |`);
  console.log('|---|---|---|---|');
  for (const [label, key, digits] of [
    ['peak RSS while filling (MiB, VmHWM)', 'peakRssMiB', 0],
    ['time to filled (s)', 'seconds', 2],
    ['live heap after a full GC (MiB)', 'heapMiB', 0],
  ] as const) {
    const list = of('list', key);
    const watch = of('watch-list', key);
    console.log(`| ${label} | ${list.toFixed(digits)} | ${watch.toFixed(digits)} | ${(watch / list).toFixed(2)} |`);
  }
  console.log(`\nruns: ${fills.map((f) => `${f.mode} ${f.peakRssMiB.toFixed(0)} MiB ${f.seconds.toFixed(2)} s`).join('; ')}`);
}

/**
 * --relist-against DIR: the peak of one relist of a filled cache, this
 * build against DIR (another tree compiled with this same script: the code
 * before a change), alternating.
 */
async function relists(n: number, runs: number, before: string): Promise<void> {
  const sides: { side: string; fill: Fill }[] = [];
  for (let r = 0; r < runs; r++) {
    for (const side of r % 2 ? ['this', 'before'] : ['before', 'this']) {
      const fill = await run('relist', side === 'this' ? undefined : before);
      if (fill.cached < n) throw new Error(`${side} cached ${fill.cached} of ${n} pushes`);
      sides.push({ side, fill });
      process.stderr.write(`initial-fill: relist ${side} ${JSON.stringify(fill)}\n`);
    }
  }
  const of = (side: string, key: 'peakRssMiB' | 'restMiB' | 'seconds') => median(sides.filter((s) => s.side === side).map((s) => s.fill[key] ?? Number.NaN));
  console.log(`| one relist of ${n} cached pushes, median of ${runs} alternating runs | before | this build | ratio |`);
  console.log('|---|---|---|---|');
  for (const [label, key, digits] of [
    ['RSS at rest, before the relist (MiB)', 'restMiB', 0],
    ['peak RSS during the relist (MiB, VmHWM reset at its start)', 'peakRssMiB', 0],
    ['relist time (s)', 'seconds', 2],
  ] as const) {
    console.log(`| ${label} | ${of('before', key).toFixed(digits)} | ${of('this', key).toFixed(digits)} | ${(of('this', key) / of('before', key)).toFixed(2)} |`);
  }
}

await main();

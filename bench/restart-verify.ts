/**
 * The baseline's restart (bench/phases/restart.ts): what a controller that
 * keeps nothing but a watch cache of its pushes does to know, after a start,
 * that every push it applied still holds: one LIST of the pushes, then a GET
 * of every target the status lists, checking the owner and the content digest
 * the baseline wrote (`--workers` GETs at once, as the baseline's workers).
 * No write. The baseline controller itself (bench/baseline.ts) trusts a
 * Ready status after a restart and reads nothing, so it verifies nothing:
 * this is the cheapest restart that does.
 *
 *   node <build>/bench/restart-verify.js --kubeconfig FILE [--workers N]
 * prints one JSON line: { pushes, targets, verified, notVerified, seconds }.
 */
import { parseArgs } from 'node:util';
import { GROUP, PLURAL, VERSION } from '../src/api/constants.js';
import type { ConfigPush } from '../src/api/types.js';
import { BASELINE_USER_AGENT, forEachLimit, makeApi } from './kube.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' }, workers: { type: 'string', default: '4' } } });
  if (!values.kubeconfig) throw new Error('--kubeconfig is required');
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
  const t0 = performance.now();
  const api = makeApi(values.kubeconfig, BASELINE_USER_AGENT);
  const list = (await api.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: ConfigPush[] };
  const checks = list.items.flatMap((push) => (push.status?.targets ?? []).map((target) => ({ push, target })));
  let verified = 0;
  let notVerified = 0;
  await forEachLimit(checks, workers, async ({ push, target }) => {
    try {
      const live = await api.core.readNamespacedConfigMap({ namespace: target.namespace ?? push.metadata.namespace, name: target.name });
      const annotations = live.metadata?.annotations ?? {};
      if (annotations['configpush.io/owner-uid'] === push.metadata.uid && annotations['configpush.io/content-digest'] === push.status?.contentDigest) verified++;
      else notVerified++;
    } catch {
      notVerified++;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ pushes: list.items.length, targets: checks.length, verified, notVerified, seconds })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`restart-verify: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

import type { ConfigPush } from '../../../api/types.js';
import type { NamespaceInfo } from '../../../core/resolve-spec.js';
import { restartAnnotationKey } from '../../../configpush/workload-restarter.js';
import { mapLimit } from '../../../util/map-limit.js';
import { block, type Command, type CommandContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { namespaceInfos, wavesOf, type WaveView } from '../model/waves.js';
import { missingWorkload, workloadView, type WorkloadView } from '../model/workloads.js';
import { byNamespaceAndName, renderPushTable } from '../view/list-view.js';
import { formatOutput, withoutManagedFields } from '../view/output.js';
import { renderStatus } from '../view/status-view.js';

/** Beyond this many namespaces with workloads to restart, only the current wave's workloads are read. */
const MAX_WORKLOAD_NAMESPACES = 50;
const READ_CONCURRENCY = 8;

/** `get` / `status`: the pushes as a table, or one push as a tree. */
export const getCommand: Command = async (context) => {
  const { invocation, api, session, io } = context;
  const format = invocation.options.output;
  if (invocation.name === undefined) {
    const namespace = invocation.options.allNamespaces ? undefined : session.namespace;
    const pushes = (await api.listPushes(namespace)).sort(byNamespaceAndName);
    if (format) {
      io.out(formatOutput({ apiVersion: 'v1', kind: 'List', items: pushes.map(withoutManagedFields), metadata: { resourceVersion: '' } }, format));
    } else if (pushes.length === 0) {
      io.err(namespace ? `No ConfigPushes found in namespace ${namespace}.\n` : 'No ConfigPushes found.\n');
    } else {
      io.out(block(renderPushTable(pushes, namespace === undefined, io.width, io.now())));
    }
    return EXIT.ok;
  }

  const push = await api.getPush(session.namespace, invocation.name);
  if (format) {
    io.out(formatOutput(withoutManagedFields(push), format));
    return EXIT.ok;
  }
  const input = await treeInput(context, push);
  io.out(block(renderStatus({ push, now: io.now(), ...input }, io.width)));
  return EXIT.ok;
};

/** The waves (from the spec and the namespaces, as the operator computes them) and the live workloads they restart. */
async function treeInput(context: CommandContext, push: ConfigPush): Promise<{ waves?: WaveView[]; wavesNote?: string; workloads?: Map<number, WorkloadView[]>; workloadsNote?: string }> {
  let namespaces: NamespaceInfo[];
  try {
    namespaces = namespaceInfos(await context.api.namespaces());
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    return { wavesNote: `the waves need the namespaces: ${err.message}` };
  }
  const planned = wavesOf(push, namespaces);
  if ('error' in planned) return { wavesNote: `the spec does not resolve: ${planned.error}` };
  const { spec, waves } = planned;
  if (spec.restart.length === 0) return { waves };

  const current = push.status?.rollout?.currentWave;
  const wavesNamespaces = waves.map((w) => ({ wave: w.index, namespaces: [...new Set(w.targets.map((t) => t.namespace))] }));
  const total = wavesNamespaces.reduce((n, w) => n + w.namespaces.length, 0);
  const read = total <= MAX_WORKLOAD_NAMESPACES ? wavesNamespaces : wavesNamespaces.filter((w) => w.wave === current);
  const workloadsNote = read.length < wavesNamespaces.length ? `workloads shown for the current wave only: ${total} namespaces in all` : undefined;

  const key = restartAnnotationKey(push.metadata.uid);
  const jobs = read.flatMap(({ wave, namespaces: names }) => names.flatMap((namespace) => spec.restart.map((ref) => ({ wave, namespace, ref }))));
  try {
    const found = await mapLimit(jobs, READ_CONCURRENCY, async ({ wave, namespace, ref }) => {
      const items = await context.api.workloads.find(namespace, ref);
      return { wave, views: items.length > 0 ? items.map((w) => workloadView(ref, namespace, w, key)) : [missingWorkload(ref, namespace)] };
    });
    const workloads = new Map<number, WorkloadView[]>();
    for (const { wave, views } of found) workloads.set(wave, [...(workloads.get(wave) ?? []), ...views]);
    return { waves, workloads, ...(workloadsNote ? { workloadsNote } : {}) };
  } catch (err) {
    // Workloads are extra detail: the tree is still worth printing without them.
    return { waves, workloadsNote: `workloads not shown: ${(err as Error).message}` };
  }
}

import { targetId } from '../../../core/resolve-spec.js';
import { operationKey } from '../../../core/operation-key.js';
import { mapLimit } from '../../../util/map-limit.js';
import { block, type Command } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { sourcedSpec } from '../model/sourced-spec.js';
import { planDiff, type LiveRead, type PushDiff } from '../model/target-diff.js';
import { namespaceInfos, wavesOf } from '../model/waves.js';
import { renderDiff } from '../view/diff-view.js';
import { formatOutput } from '../view/output.js';
import { wrapLimited } from '../view/text.js';

const READ_CONCURRENCY = 8;

/**
 * `diff NAME`: reads spec.sources and every target live and plans each
 * target with the operator's own planner. Exit 0: nothing would be written;
 * 1: something would; 3: a target could not be read, a source is one the
 * operator would refuse, or a request failed (as kubectl diff, >1 is an error).
 */
export const diffCommand: Command = async ({ invocation, api, session, io }) => {
  const name = invocation.name ?? '';
  const push = await api.getPush(session.namespace, name);
  const namespaces = await api.namespaces();
  const planned = wavesOf(push, namespaceInfos(namespaces));
  const format = invocation.options.output;

  if ('error' in planned) {
    const refused: PushDiff = {
      configPush: { namespace: push.metadata.namespace, name, generation: push.metadata.generation },
      operationKey: operationKey(push.metadata.uid, push.metadata.generation),
      contentDigest: '',
      suspended: push.spec?.suspend === true,
      refused: { reason: 'InvalidSpec', message: planned.error },
      targets: [],
      summary: {},
      changes: 0,
    };
    if (format) io.out(formatOutput(refused, format));
    else io.out(block(wrapLimited(`ConfigPush ${push.metadata.namespace}/${name}: refused (InvalidSpec): ${planned.error}. The operator writes nothing until the spec changes.`, io.width, 8)));
    return EXIT.ok;
  }

  // spec.sources read as the user and merged as the operator merges them; a source it would refuse is exit 3.
  const sourced = await sourcedSpec(push, planned.spec, api.sources);
  const targets = planned.waves.flatMap((w) => w.targets);
  const reads = new Map<string, LiveRead>();
  await mapLimit(targets, READ_CONCURRENCY, async (target) => {
    try {
      reads.set(targetId(target), { object: await api.readTarget(target.kind, target.namespace, target.name) });
    } catch (err) {
      // One unreadable target (RBAC, say) should not hide the plan of the others.
      if (!(err instanceof CliError)) throw err;
      reads.set(targetId(target), { error: err.message });
    }
  });
  const annotations = new Map(namespaces.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.annotations ?? {}]));
  const diff = planDiff({
    push,
    spec: sourced.spec,
    operationKey: sourced.operationKey,
    ...(sourced.sources ? { sources: sourced.sources } : {}),
    waves: planned.waves,
    live: (target) => reads.get(targetId(target)) ?? { error: 'not read' },
    namespaceAnnotations: (ns) => annotations.get(ns),
  });
  io.out(format ? formatOutput(diff, format) : block(renderDiff(diff, io.width)));
  if (diff.summary.error) return EXIT.failed;
  return diff.changes > 0 ? EXIT.attention : EXIT.ok;
};

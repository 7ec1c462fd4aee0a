import type { ConfigPush } from '../../../api/types.js';
import type { Command } from '../context.js';
import { EXIT } from '../errors.js';
import { condition, readyReport, waitForPush } from '../wait.js';

/**
 * `suspend NAME` / `resume NAME`: a merge patch of spec.suspend (a new
 * generation when it flips), then, unless --no-wait, a wait until the
 * operator's status describes that generation.
 */
export function suspendCommand(suspend: boolean): Command {
  return async (context) => {
    const { invocation, api, session, io } = context;
    const name = invocation.name ?? '';
    const before = await api.getPush(session.namespace, name);
    const already = (before.spec?.suspend === true) === suspend;
    const patched = await api.mergePatch(session.namespace, name, { spec: { suspend } });
    const verb = suspend ? 'suspended' : 'resumed';
    io.err(already ? `configpush ${session.namespace}/${name} was already ${verb}\n` : `configpush ${session.namespace}/${name} ${verb}\n`);
    if (!invocation.wait) return EXIT.ok;

    const generation = patched.metadata.generation;
    const observed = (push: ConfigPush) => (push.status?.observedGeneration ?? -1) >= generation && (condition(push, 'Ready')?.observedGeneration ?? -1) >= generation;
    const seen = await waitForPush(context, name, observed, `the operator to observe generation ${generation}`);
    const report = readyReport(seen);
    io.out(`${report.line}\n`);
    return report.exitCode;
  };
}

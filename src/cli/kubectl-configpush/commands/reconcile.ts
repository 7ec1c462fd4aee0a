import { RECONCILE_REQUESTED_ANNOTATION } from '../../../api/constants.js';
import type { Command } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { readyReport, waitForPush } from '../wait.js';

/**
 * `reconcile NAME`: Flux's reconcile-request protocol. An annotation with a
 * fresh value (the time, to the millisecond) is a new resourceVersion, so
 * the operator's watch queues the push; the reconcile echoes the value in
 * status.lastHandledReconcileAt, which is how we know this request (not an
 * earlier one) was handled.
 */
export const reconcileCommand: Command = async (context) => {
  const { invocation, api, session, io } = context;
  const name = invocation.name ?? '';
  const push = await api.getPush(session.namespace, name);
  if (push.metadata.deletionTimestamp) {
    throw new CliError(`configpush ${session.namespace}/${name} is being deleted: the operator only applies its deletionPolicy now`);
  }
  const requestedAt = io.now().toISOString();
  await api.mergePatch(session.namespace, name, { metadata: { annotations: { [RECONCILE_REQUESTED_ANNOTATION]: requestedAt } } });
  io.err(`reconcile of configpush ${session.namespace}/${name} requested (${RECONCILE_REQUESTED_ANNOTATION}=${requestedAt})\n`);
  if (!invocation.wait) return EXIT.ok;

  const handled = await waitForPush(context, name, (p) => p.status?.lastHandledReconcileAt === requestedAt, 'the operator to handle the reconcile request');
  const report = readyReport(handled);
  io.out(`${report.line}\n`);
  if (report.exitCode !== EXIT.ok) io.err(`configpush ${session.namespace}/${name} is Stalled: it needs a change to its spec or its targets (kubectl configpush status ${name} -n ${session.namespace})\n`);
  return report.exitCode;
};

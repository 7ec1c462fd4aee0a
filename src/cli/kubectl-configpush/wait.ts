import type { Condition, ConfigPush } from '../../api/types.js';
import { humanDuration } from './view/age.js';
import { CliError, EXIT } from './errors.js';
import { oneLine } from './view/text.js';
import type { CommandContext } from './context.js';

const POLL_MS = 500;

/**
 * Polls the push (a GET every half second: reads only) until `done` holds,
 * or fails after the command's --timeout with a message that says where to
 * look: a request the operator never handles usually means it is not running.
 */
export async function waitForPush(context: CommandContext, name: string, done: (push: ConfigPush) => boolean, what: string): Promise<ConfigPush> {
  const { api, session, io, invocation } = context;
  const deadline = io.now().getTime() + invocation.timeoutMs;
  for (;;) {
    const push = await api.getPush(session.namespace, name);
    if (done(push)) return push;
    const left = deadline - io.now().getTime();
    if (left <= 0) {
      throw new CliError(
        `timed out after ${humanDuration(invocation.timeoutMs)} waiting for ${what}; is the operator running? ` +
          `(kubectl -n configpush-system get deployment configpush-operator; a longer --timeout waits longer)`,
      );
    }
    await io.sleep(Math.min(POLL_MS, left));
  }
}

export function condition(push: ConfigPush, type: string): Condition | undefined {
  return push.status?.conditions?.find((c) => c.type === type);
}

/**
 * The Ready condition as one line, and the exit code it means: 1 when the
 * push is Stalled (it needs a change from someone), 0 otherwise (Ready, or
 * still progressing).
 */
export function readyReport(push: ConfigPush): { line: string; exitCode: number } {
  const ready = condition(push, 'Ready');
  const line = ready ? oneLine(`Ready=${ready.status} (${ready.reason}): ${ready.message}`) : 'Ready: not reported yet';
  return { line, exitCode: condition(push, 'Stalled')?.status === 'True' ? EXIT.attention : EXIT.ok };
}

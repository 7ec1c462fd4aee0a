import { targetLabel, type TargetOutcome } from './target-outcome.js';

/**
 * The Events one reconcile's target outcomes call for, as drafts the
 * reconciler hands to the recorder: an `Applied` for the targets written
 * under the operation's key, a `DriftCorrected` for those restored, and a
 * Warning for each target that is contended, in conflict or failed.
 *
 * A push fanned out by a namespaceSelector can have thousands of targets, so
 * both kinds are bounded. A list of names stops after NAMED_TARGETS and says
 * how many more (the recorder cuts a message at 1,024 bytes anyway, and the
 * whole list was built first). Past WARNINGS_PER_REASON targets with one
 * reason, their Warnings become one that counts them and quotes the first
 * few: 5,000 targets refused by tenancy made 5,000 Events to write, of which
 * the recorder's queue dropped all but ~1,000, where one says the same.
 * Flux and Argo CD likewise emit one Event per failed reconcile, not one
 * per object. The summary's message is the same on every resync while the
 * same targets fail, so the recorder folds its repeats into one series.
 */

/** Targets named one by one in a message; past it, a count. */
export const NAMED_TARGETS = 10;
/** Targets with one Warning reason that get an Event each in a reconcile; more share one. */
export const WARNINGS_PER_REASON = 5;
/** The messages a shared Warning quotes. */
const QUOTED_WARNINGS = 3;

export type TargetEventReason = 'Applied' | 'DriftCorrected' | 'Contended' | 'Conflict' | 'Failed';

export interface TargetEvent {
  type: 'Normal' | 'Warning';
  reason: TargetEventReason;
  message: string;
  /** Set when the message cannot repeat (it names the operation's key): the recorder keeps no series for it. */
  once?: true;
}

const WARNING_STATES = ['Contended', 'Conflict', 'Failed'] as const;

/** How a shared Warning says what happened to its targets. */
const SHARED_WARNING_VERB: Record<(typeof WARNING_STATES)[number], string> = {
  Contended: 'are contended by another writer',
  Conflict: 'are owned by someone else',
  Failed: 'failed',
};

export function targetEvents(operationKey: string, outcomes: readonly TargetOutcome[]): TargetEvent[] {
  const events: TargetEvent[] = [];
  const written = outcomes.filter((o) => o.wrote && !o.driftCorrected);
  if (written.length > 0) {
    // Once: the key makes each target's write under it happen once, so this message cannot repeat.
    events.push({ type: 'Normal', reason: 'Applied', message: `operation ${operationKey} applied to ${namedTargets(written)}`, once: true });
  }
  const corrected = outcomes.filter((o) => o.driftCorrected);
  if (corrected.length > 0) events.push({ type: 'Normal', reason: 'DriftCorrected', message: `restored desired content of ${namedTargets(corrected)}` });
  for (const state of WARNING_STATES) {
    const messages = outcomes.filter((o) => o.state === state).map((o) => o.message ?? `${targetLabel(o.target)}: ${state.toLowerCase()}`);
    if (messages.length <= WARNINGS_PER_REASON) {
      // One series per target (the message is stable while the cause lasts).
      for (const message of messages) events.push({ type: 'Warning', reason: state, message });
    } else {
      const quoted = messages.slice(0, QUOTED_WARNINGS).join('; ');
      const message = `${messages.length} targets ${SHARED_WARNING_VERB[state]}: ${quoted}; and ${messages.length - QUOTED_WARNINGS} more (the ConfigPush's status lists them)`;
      events.push({ type: 'Warning', reason: state, message });
    }
  }
  return events;
}

/** "ConfigMap a/x, Secret a/y", or past NAMED_TARGETS: "5000 targets: ConfigMap a/x, ... and 4990 more". */
export function namedTargets(outcomes: readonly TargetOutcome[]): string {
  if (outcomes.length <= NAMED_TARGETS) return outcomes.map((o) => targetLabel(o.target)).join(', ');
  const named = outcomes.slice(0, NAMED_TARGETS).map((o) => targetLabel(o.target));
  return `${outcomes.length} targets: ${named.join(', ')} and ${outcomes.length - NAMED_TARGETS} more`;
}

import type { CommandName } from './args.js';

/** Usage texts, each line within 80 columns (a unit test checks). */

const CONNECTION_FLAGS = `Connection flags (every command):
  --kubeconfig PATH       kubeconfig file (default: $KUBECONFIG, ~/.kube/config)
  --context NAME          kubeconfig context (default: its current context)
  -n, --namespace NS      namespace (default: the context's, else "default")
  --request-timeout DUR   per request to the apiserver (default 30s)
  -h, --help              this help`;

const WAIT_FLAGS = `  --no-wait               do not wait for the operator
  --timeout DUR           how long to wait (default 60s; e.g. 90s, 5m)`;

export const MAIN_USAGE = `kubectl configpush: inspect and drive ConfigPushes (configpush.io/v1alpha1)

Usage:
  kubectl configpush COMMAND [NAME] [flags]

Commands:
  get [NAME]      list the pushes; with NAME, one push as a tree
  status [NAME]   the same as get
  diff NAME       what the next apply would change on each target
  history NAME    the operations that wrote content, and the kept revisions
  reconcile NAME  ask the operator to reconcile now, and wait until it did
  suspend NAME    stop writing targets (spec.suspend: true)
  resume NAME     write again (spec.suspend: false)
  rollback NAME   set the spec's content from a kept revision

${CONNECTION_FLAGS}

Examples:
  kubectl configpush get -A
  kubectl configpush status app-config -n team-a
  kubectl configpush diff app-config -n team-a
  kubectl configpush reconcile app-config -n team-a
  kubectl configpush rollback app-config -n team-a --to-revision 2

Exit codes: 0 success (diff: no changes); 1 diff: changes, or reconcile,
suspend, resume, rollback: the push is Stalled; 2 bad command line;
3 failure.
Run 'kubectl configpush COMMAND --help' for a command's flags and examples.`;

const STATUS_USAGE = (command: string) => `kubectl configpush ${command}: the pushes, or one push as a tree

Usage:
  kubectl configpush ${command} [NAME] [-n NS | -A] [-o json|yaml]

Without NAME: the pushes of the namespace (-A: of every namespace) as a
table: NAME, READY, REASON, KEY, TARGETS, PROGRESS (wave and rollout phase),
AGE. With NAME: its conditions, the rollout's phase and wave, each wave's
targets with their state and message, and the workloads it restarts.

Flags:
  -A, --all-namespaces    list the pushes of every namespace
  -o, --output FORMAT     json or yaml: the object (a List without NAME)
${CONNECTION_FLAGS}

Examples:
  kubectl configpush ${command}
  kubectl configpush ${command} -A
  kubectl configpush ${command} app-config -n team-a
  kubectl configpush ${command} app-config -o yaml`;

const ROLLBACK_USAGE = `kubectl configpush rollback: set a push's content from a kept revision

Usage:
  kubectl configpush rollback NAME [-n NS] [--to-revision N] [--dry-run]
      [--no-wait] [--timeout DUR]

Sets spec.data, spec.binaryData, spec.labels, spec.annotations and
spec.sources to those of a revision (removing those it has none of), in one
conditional write as you: a new generation, rolled out like any other, so
the spec stays the single source of truth. Default revision: while the
operator has rolled the push back (failurePolicy Rollback), the one it
returned to; else the newest whose content is not the current one. A push
that writes or copies Secrets keeps its revisions in Secrets: rolling back
to one needs get on secrets in the push's namespace. Prints the generation
before and after, the revision and its digest, and the keys that change
(never values); then waits for the operator to observe the new generation
and prints the Ready condition.

Flags:
  --to-revision N         the revision (see: kubectl configpush history NAME)
  --dry-run               print what would change; write nothing
${WAIT_FLAGS}
${CONNECTION_FLAGS}

Exit codes: 0 rolled back, 1 rolled back but the push is Stalled, 3 failure
(no such revision, already at it, forbidden, the push changed: re-run).

Examples:
  kubectl configpush rollback app-config -n team-a
  kubectl configpush rollback app-config --to-revision 2 --dry-run
  kubectl configpush rollback app-config --to-revision 2 --timeout 5m`;

const USAGES: Record<CommandName, string> = {
  get: STATUS_USAGE('get'),
  status: STATUS_USAGE('status'),
  diff: `kubectl configpush diff: what the next apply would change on each target

Usage:
  kubectl configpush diff NAME [-n NS] [-o json|yaml]

Reads every target the push resolves to and plans it as the operator does:
create, update (new content, drift or adopt), unchanged, conflict (owned by
someone else), or refused (the namespace does not accept the push). Shows
the keys added, removed and changed. ConfigMap values are shown; Secret
values never are, only their sizes (and no value is shown at all when the
push writes any Secret). Nothing is written.

Flags:
  -o, --output FORMAT     json or yaml: the plan, per target
${CONNECTION_FLAGS}

Exit codes: 0 no changes, 1 changes, 3 failure (as kubectl diff: >1 errors).

Examples:
  kubectl configpush diff app-config -n team-a
  kubectl configpush diff app-config -o json | jq '.targets[].action'`,
  history: `kubectl configpush history: the operations that wrote content

Usage:
  kubectl configpush history NAME [-n NS] [-o json|yaml]

status.history as a table, newest first: the generation, its operation key,
the content revision it applied (for a rollback: the revision it returned
to, and the operation it undid), the content digest and when it was
applied. A generation that changed nothing (same content) wrote nothing, so
it has no entry. Then the kept revisions (ControllerRevisions), newest
first: number, digest, the operation that completed it, when it was made,
and where its content is (a Secret, for Secret-derived content). Values are
never shown.

Flags:
  -o, --output FORMAT     json or yaml: {history, revisions}
${CONNECTION_FLAGS}

Examples:
  kubectl configpush history app-config -n team-a
  kubectl configpush history app-config -o json | jq '.revisions[].revision'`,
  reconcile: `kubectl configpush reconcile: reconcile a push now

Usage:
  kubectl configpush reconcile NAME [-n NS] [--no-wait] [--timeout DUR]

Sets the annotation configpush.io/reconcile-requested-at to the current time
(a merge patch; Flux's reconcile.fluxcd.io/requestedAt convention), then
waits until the operator echoes it in status.lastHandledReconcileAt and
prints the Ready condition. A reconcile that finds nothing to do writes
nothing but that status field.

Flags:
${WAIT_FLAGS}
${CONNECTION_FLAGS}

Exit codes: 0 handled, 1 handled but the push is Stalled, 3 failure or
timeout.

Examples:
  kubectl configpush reconcile app-config -n team-a
  kubectl configpush reconcile app-config --timeout 2m
  kubectl configpush reconcile app-config --no-wait`,
  suspend: `kubectl configpush suspend: stop writing a push's targets

Usage:
  kubectl configpush suspend NAME [-n NS] [--no-wait] [--timeout DUR]

Sets spec.suspend to true (a merge patch). The operator then writes nothing
for the push, wherever its rollout stands, and reports Ready reason
Suspended; resume continues from there. Waits until the operator has seen
the change and prints the Ready condition.

Flags:
${WAIT_FLAGS}
${CONNECTION_FLAGS}

Examples:
  kubectl configpush suspend app-config -n team-a
  kubectl configpush suspend app-config --no-wait`,
  resume: `kubectl configpush resume: write a suspended push's targets again

Usage:
  kubectl configpush resume NAME [-n NS] [--no-wait] [--timeout DUR]

Sets spec.suspend to false (a merge patch). Waits until the operator has
seen the change and prints the Ready condition.

Flags:
${WAIT_FLAGS}
${CONNECTION_FLAGS}

Examples:
  kubectl configpush resume app-config -n team-a
  kubectl configpush resume app-config --timeout 5m`,
  rollback: ROLLBACK_USAGE,
};

export function usage(command?: CommandName): string {
  return command === undefined ? MAIN_USAGE : USAGES[command];
}

import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import type { OutputFormat } from './view/output.js';

export const COMMANDS = ['get', 'status', 'diff', 'history', 'reconcile', 'suspend', 'resume', 'rollback'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Flags every command takes. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  /** -n; unset: the context's namespace, else "default". */
  namespace?: string;
  allNamespaces: boolean;
  output?: OutputFormat;
  requestTimeoutMs: number;
}

export interface CommandInvocation {
  kind: 'command';
  command: CommandName;
  name?: string;
  options: GlobalOptions;
  /** reconcile, suspend, resume: wait for the operator to handle the change (--no-wait: don't). */
  wait: boolean;
  timeoutMs: number;
  /** rollback --to-revision N: the revision to go back to (default: the previous content). */
  toRevision?: number;
  /** rollback --dry-run: say what would change, write nothing. */
  dryRun?: boolean;
}

/** --help, `help [COMMAND]`, or no command at all: print the usage and exit 0. */
export interface HelpInvocation {
  kind: 'help';
  command?: CommandName;
}

export type Invocation = CommandInvocation | HelpInvocation;

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  output: { type: 'string', short: 'o' },
  'request-timeout': { type: 'string' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  'to-revision': { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = keyof typeof OPTIONS;

const COMMON: Flag[] = ['kubeconfig', 'context', 'namespace', 'request-timeout', 'help'];

/** Per command: whether it takes a NAME, and the flags beyond the common ones. */
const SPECS: Record<CommandName, { name: 'optional' | 'required'; flags: Flag[] }> = {
  get: { name: 'optional', flags: ['all-namespaces', 'output'] },
  status: { name: 'optional', flags: ['all-namespaces', 'output'] },
  diff: { name: 'required', flags: ['output'] },
  history: { name: 'required', flags: ['output'] },
  reconcile: { name: 'required', flags: ['no-wait', 'timeout'] },
  suspend: { name: 'required', flags: ['no-wait', 'timeout'] },
  resume: { name: 'required', flags: ['no-wait', 'timeout'] },
  rollback: { name: 'required', flags: ['to-revision', 'dry-run', 'no-wait', 'timeout'] },
};

function isCommand(word: string | undefined): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word ?? '');
}

/** The command line (without the program name) as an invocation, or a UsageError that says what is wrong. */
export function parseInvocation(argv: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // node's message names the flag ("Unknown option '--x'"); the command, if any, picks the usage.
    throw new UsageError((err as Error).message, argv.find(isCommand));
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;

  if (first === 'help') {
    if (rest.length > 1 || (rest[0] !== undefined && !isCommand(rest[0]))) throw new UsageError(`unknown command ${JSON.stringify(rest.join(' '))}; ${commandList()}`);
    return rest[0] !== undefined ? { kind: 'help', command: rest[0] as CommandName } : { kind: 'help' };
  }
  if (first === undefined) {
    if (Object.keys(values).some((flag) => flag !== 'help')) throw new UsageError(`no command given; ${commandList()}`);
    return { kind: 'help' };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command ${JSON.stringify(first)}; ${commandList()}`);
  if (values.help) return { kind: 'help', command: first };

  const spec = SPECS[first];
  const allowed = new Set<string>([...COMMON, ...spec.flags]);
  const stray = Object.keys(values).find((flag) => !allowed.has(flag));
  if (stray !== undefined) throw new UsageError(`${first} does not take --${stray}`, first);
  if (rest.length > 1) throw new UsageError(`${first} takes at most one NAME, got ${rest.map((r) => JSON.stringify(r)).join(' ')}`, first);
  const name = rest[0];
  if (name === undefined && spec.name === 'required') throw new UsageError(`${first} needs the NAME of a ConfigPush`, first);
  if (name !== undefined && name.trim() === '') throw new UsageError(`NAME must not be empty`, first);
  if (values['all-namespaces'] && name !== undefined) throw new UsageError(`-A/--all-namespaces lists pushes: it takes no NAME (use -n NAMESPACE NAME)`, first);
  if (values['all-namespaces'] && values.namespace !== undefined) throw new UsageError(`use -n/--namespace or -A/--all-namespaces, not both`, first);

  const output = values.output;
  if (output !== undefined && output !== 'json' && output !== 'yaml') throw new UsageError(`--output must be json or yaml, got ${JSON.stringify(output)}`, first);

  const toRevision = values['to-revision'];
  if (toRevision !== undefined && !/^[1-9]\d{0,15}$/.test(toRevision)) {
    throw new UsageError(`--to-revision must be a revision number (1, 2, 3, ...: see kubectl configpush history), got ${JSON.stringify(toRevision)}`, first);
  }

  const options: GlobalOptions = {
    allNamespaces: values['all-namespaces'] === true,
    requestTimeoutMs: values['request-timeout'] !== undefined ? parseDuration(values['request-timeout'], '--request-timeout', first) : DEFAULT_REQUEST_TIMEOUT_MS,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(output !== undefined ? { output } : {}),
  };
  return {
    kind: 'command',
    command: first,
    ...(name !== undefined ? { name } : {}),
    options,
    wait: values['no-wait'] !== true,
    timeoutMs: values.timeout !== undefined ? parseDuration(values.timeout, '--timeout', first) : DEFAULT_TIMEOUT_MS,
    ...(toRevision !== undefined ? { toRevision: Number(toRevision) } : {}),
    ...(values['dry-run'] === true ? { dryRun: true } : {}),
  };
}

function commandList(): string {
  return `commands: ${COMMANDS.join(', ')} (kubectl configpush --help)`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as kubectl and Go spell them ("30s", "2m", "1m30s", "500ms",
 * "1h"), or a bare number of seconds. Must be more than zero.
 */
export function parseDuration(text: string, flag: string, command?: string): number {
  const fail = () => new UsageError(`${flag} must be a duration like 30s, 2m or 1h, got ${JSON.stringify(text)}`, command);
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Number(text) * 1000;
    if (ms <= 0) throw fail();
    return ms;
  }
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw fail();
  const ms = parts.reduce((sum, [, value, unit]) => sum + Number(value) * (UNITS[unit ?? 's'] ?? 1000), 0);
  if (ms <= 0) throw fail();
  return ms;
}

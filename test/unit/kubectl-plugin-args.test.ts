import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { COMMANDS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, parseDuration, parseInvocation } from '../../src/cli/kubectl-configpush/args.js';
import { EXIT, UsageError } from '../../src/cli/kubectl-configpush/errors.js';
import { explainApiError } from '../../src/cli/kubectl-configpush/explain.js';
import { usage } from '../../src/cli/kubectl-configpush/help.js';
import { isSupportedNode } from '../../src/cli/kubectl-configpush/node-runtime.js';
import { ApiError } from '../../src/kube/api-errors.js';

const usageError = (argv: string[]): UsageError => {
  try {
    parseInvocation(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
};

describe('kubectl configpush: the command line', () => {
  it('a command, a NAME and the connection flags, in any order (as kubectl takes them)', () => {
    expect(parseInvocation(['-n', 'team-a', 'status', 'app', '--context', 'prod', '--kubeconfig', '/k', '-o', 'yaml'])).toEqual({
      kind: 'command',
      command: 'status',
      name: 'app',
      options: { allNamespaces: false, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, kubeconfig: '/k', context: 'prod', namespace: 'team-a', output: 'yaml' },
      wait: true,
      timeoutMs: DEFAULT_TIMEOUT_MS,
    });
    expect(parseInvocation(['get', '-A', '--output=json'])).toMatchObject({ command: 'get', options: { allNamespaces: true, output: 'json' } });
    expect(parseInvocation(['get'])).not.toHaveProperty('name');
    expect(parseInvocation(['get', '--namespace=x'])).toMatchObject({ options: { namespace: 'x' } });
  });

  it('reconcile, suspend and resume wait unless --no-wait, for --timeout', () => {
    expect(parseInvocation(['reconcile', 'app'])).toMatchObject({ wait: true, timeoutMs: 60_000 });
    expect(parseInvocation(['reconcile', 'app', '--no-wait'])).toMatchObject({ wait: false });
    expect(parseInvocation(['suspend', 'app', '--timeout', '1m30s'])).toMatchObject({ wait: true, timeoutMs: 90_000 });
    expect(parseInvocation(['resume', 'app', '--timeout=45', '--request-timeout', '500ms'])).toMatchObject({ timeoutMs: 45_000, options: { requestTimeoutMs: 500 } });
  });

  it('--help, -h, `help [COMMAND]` and no command at all ask for the usage', () => {
    expect(parseInvocation([])).toEqual({ kind: 'help' });
    expect(parseInvocation(['--help'])).toEqual({ kind: 'help' });
    expect(parseInvocation(['help'])).toEqual({ kind: 'help' });
    expect(parseInvocation(['help', 'diff'])).toEqual({ kind: 'help', command: 'diff' });
    expect(parseInvocation(['diff', '-h'])).toEqual({ kind: 'help', command: 'diff' });
    expect(parseInvocation(['reconcile', 'app', '--help'])).toEqual({ kind: 'help', command: 'reconcile' });
  });

  it('bad command lines: a UsageError (exit 2) that says what is wrong and names the command', () => {
    const cases: [string[], RegExp, string | undefined][] = [
      [['undo', 'app'], /unknown command "undo"; commands: get, status, diff, history, reconcile, suspend, resume, rollback/, undefined],
      [['help', 'nope'], /unknown command "nope"/, undefined],
      [['-n', 'x'], /no command given/, undefined],
      [['diff'], /diff needs the NAME of a ConfigPush/, 'diff'],
      [['history', 'a', 'b'], /history takes at most one NAME, got "a" "b"/, 'history'],
      [['get', 'app', '-A'], /-A\/--all-namespaces lists pushes: it takes no NAME/, 'get'],
      [['get', '-A', '-n', 'x'], /use -n\/--namespace or -A\/--all-namespaces, not both/, 'get'],
      [['get', '-o', 'wide'], /--output must be json or yaml, got "wide"/, 'get'],
      [['diff', 'app', '--no-wait'], /diff does not take --no-wait/, 'diff'],
      [['reconcile', 'app', '-o', 'json'], /reconcile does not take --output/, 'reconcile'],
      [['diff', 'app', '-A'], /diff does not take --all-namespaces/, 'diff'],
      [['reconcile', 'app', '--timeout', 'soon'], /--timeout must be a duration like 30s, 2m or 1h, got "soon"/, 'reconcile'],
      [['get', '--frobnicate'], /Unknown option '--frobnicate'/, 'get'],
      [['status', ''], /NAME must not be empty/, 'status'],
    ];
    for (const [argv, message, command] of cases) {
      const err = usageError(argv);
      expect(err.message, argv.join(' ')).toMatch(message);
      expect(err.command, argv.join(' ')).toBe(command);
      expect(err.exitCode).toBe(EXIT.usage);
    }
  });

  it('durations: Go/kubectl spellings or bare seconds, more than zero', () => {
    expect(parseDuration('30s', '--timeout')).toBe(30_000);
    expect(parseDuration('2m', '--timeout')).toBe(120_000);
    expect(parseDuration('1h', '--timeout')).toBe(3_600_000);
    expect(parseDuration('1m30s', '--timeout')).toBe(90_000);
    expect(parseDuration('250ms', '--timeout')).toBe(250);
    expect(parseDuration('1.5', '--timeout')).toBe(1_500);
    for (const bad of ['0', '0s', '-1s', '5x', 's', '1m 30s', '']) expect(() => parseDuration(bad, '--timeout'), bad).toThrow(UsageError);
  });
});

describe('kubectl configpush: usage texts', () => {
  it('every command has one, with examples of itself, every line within 80 columns', () => {
    for (const command of [undefined, ...COMMANDS]) {
      const text = usage(command);
      expect(text).toContain('Examples:');
      expect(text).toMatch(new RegExp(`\\n  kubectl configpush ${command ?? 'get'} `));
      for (const line of text.split('\n')) expect([...line].length, `${command}: ${line}`).toBeLessThanOrEqual(80);
    }
  });
});

describe('kubectl configpush: the Node it runs on', () => {
  it('needs Node >= 22.19 (client-node 2.x); older ones relaunch on the bundled Node 24', () => {
    expect(isSupportedNode('v24.21.0')).toBe(true);
    expect(isSupportedNode('22.19.0')).toBe(true);
    expect(isSupportedNode('v23.0.0')).toBe(true);
    expect(isSupportedNode('v22.18.9')).toBe(false);
    expect(isSupportedNode('v20.20.2')).toBe(false);
  });
});

describe('kubectl configpush: apiserver failures as messages that say what to do', () => {
  const endpoint = { server: 'https://10.0.0.1:6443', context: 'prod' };
  const apiError = (code: number, body: object) => new ApiError(new ApiException(code, 'x', JSON.stringify(body), {}));
  const message = (err: unknown) => (explainApiError(err, endpoint, 'listing configpushes') as Error).message;

  it('names the server and the flags to check when it cannot reach it or is not let in', () => {
    const refused = new ApiError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }));
    expect(message(refused)).toBe('cannot reach the apiserver at https://10.0.0.1:6443 (connect ECONNREFUSED 10.0.0.1:6443); check --kubeconfig/--context (context "prod")');
    expect(message(apiError(401, { reason: 'Unauthorized', message: 'Unauthorized' }))).toBe(
      'the apiserver at https://10.0.0.1:6443 did not accept the credentials of context "prod" (401 Unauthorized); check --kubeconfig/--context (context "prod")',
    );
  });

  it('RBAC denials keep the apiserver\'s message; a missing CRD says how to install it; the rest say what failed', () => {
    const forbidden = 'configpushes.configpush.io is forbidden: User "alice" cannot list resource "configpushes" in API group "configpush.io" in the namespace "team-a"';
    expect(message(apiError(403, { reason: 'Forbidden', message: forbidden }))).toBe(`listing configpushes: 403: ${forbidden}; ask for RBAC on it, or use a context that has it`);
    expect(message(apiError(404, { reason: 'NotFound', message: 'the server could not find the requested resource' }))).toMatch(
      /^the ConfigPush API \(configpushes\.configpush\.io\/v1alpha1\) is not installed on https:\/\/10\.0\.0\.1:6443; install it with: kubectl apply -k manifests\//,
    );
    expect(message(apiError(500, { message: 'etcdserver: request timed out' }))).toBe('listing configpushes: 500: etcdserver: request timed out');
    const bug = new TypeError('x is undefined');
    expect(explainApiError(bug, endpoint, 'anything')).toBe(bug);
  });
});

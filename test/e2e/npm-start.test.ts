import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { ListenError } from '../../src/operator/http-server.js';
import type { Operator } from '../../src/operator/operator.js';
import { imageNodeFlags } from '../support/image.js';
import { admissionSetsFinalizer } from '../support/finalizer-policy.js';
import { eventually } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { clusterDir, operatorKubeconfigPath, repoRoot } from '../support/paths.js';

/** A process whose output is collected and whose exit can be awaited. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  // Its own process group: hack/start.sh runs npm and node below it, and a failed test must stop them all.
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  return { child, out, exited, hasExited: () => exitCode !== undefined };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function hold(port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/**
 * The embedded control plane of the `npm start` under test: one of its own.
 * It installs the admission policies of manifests/, which would change what
 * the suite's other files see on theirs.
 */
const npmStartClusterDir = join(repoRoot, '.cache/cluster-e2e-npm-start');

/** Without KUBECONFIG, so that `npm start` takes its embedded-control-plane path (on `cluster`). */
function envWithout(names: string[], cluster = clusterDir): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CLUSTER_DIR: cluster, LOG_LEVEL: 'warn' };
  for (const name of names) delete env[name];
  return env;
}

describe('npm start twice on one machine', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('the second serves its endpoints on the next free ports, says which, installs the admission policies on its control plane, and stops cleanly', async () => {
    // The first instance: the operator on its default endpoints, :8080 and :8081.
    // (Where another process already holds them, they are just as taken.)
    let first: Operator | undefined;
    try {
      first = await startTestOperator({ http: { metricsAddress: ':8080', healthAddress: ':8081' } });
      cleanups.push(() => first?.stop());
      expect((await get(8081, '/healthz')).status).toBe(200);
    } catch (err) {
      if (!(err instanceof ListenError && err.code === 'EADDRINUSE')) throw err;
    }

    const second = run('bash', [join(repoRoot, 'hack/start.sh'), '--workers', '1'], envWithout(['KUBECONFIG', 'CONFIGPUSH_METRICS_ADDRESS', 'CONFIGPUSH_HEALTH_ADDRESS'], npmStartClusterDir));
    cleanups.push(() => void spawnSync('bash', [join(repoRoot, 'hack/cluster.sh'), 'down'], { env: { ...process.env, CLUSTER_DIR: npmStartClusterDir }, stdio: 'ignore' }));
    cleanups.push(() => killGroup(second.child, 'SIGKILL'));
    const picked = await eventually(
      async () => {
        const metrics = /using --metrics-address=:(\d+)/.exec(second.out.stderr)?.[1];
        const health = /using --health-address=:(\d+)/.exec(second.out.stderr)?.[1];
        if (metrics && health) return { metrics: Number(metrics), health: Number(health) };
        return second.hasExited() ? { exited: true as const } : undefined;
      },
      'npm start to say which ports it picked',
      90_000, // it builds the tree first
    );
    if ('exited' in picked) throw new Error(`npm start exited (${await second.exited}) before picking its ports:\n${second.out.stderr}`);
    expect(second.out.stderr).toMatch(/:8080 is in use \(another npm start\?\); using --metrics-address=:\d+/);
    expect(second.out.stderr).toMatch(/:8081 is in use \(another npm start\?\); using --health-address=:\d+/);
    expect([picked.metrics, picked.health]).not.toContain(8080);
    expect([picked.metrics, picked.health]).not.toContain(8081);
    expect(picked.metrics).not.toBe(picked.health);

    // It serves: healthy, then ready once its caches synced, and its metrics.
    await eventually(async () => (await get(picked.health, '/healthz')).status === 200, 'the second /healthz', 30_000);
    await eventually(async () => (await get(picked.health, '/readyz')).status === 200, 'the second /readyz', 30_000);
    const metrics = await get(picked.metrics, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^# TYPE configpush_reconcile_total counter$/m);
    expect(second.hasExited()).toBe(false);

    // The first instance still serves on its own ports.
    if (first) expect((await get(8080, '/metrics')).body).toMatch(/^# TYPE configpush_reconcile_total counter$/m);

    // Its control plane got what `kubectl apply -k manifests/` installs besides the operator: the CRD (it reconciles)
    // and the two admission policies, in force.
    const embedded = new KubeConfig();
    embedded.loadFromFile(join(npmStartClusterDir, 'kubeconfig'));
    const admission = embedded.makeApiClient(AdmissionregistrationV1Api);
    const authorRights = await admission.readValidatingAdmissionPolicy({ name: 'configpush-author-rights' });
    expect(authorRights.spec?.failurePolicy).toBe('Fail');
    await admission.readValidatingAdmissionPolicyBinding({ name: 'configpush-author-rights' });
    await eventually(async () => admissionSetsFinalizer(embedded), 'the finalizer policy in force on npm start\'s control plane', 30_000);
    // Installing again changes nothing: each object is replaced at the version read, with what it already holds.
    const before = authorRights.metadata?.resourceVersion;
    const again = spawnSync(process.execPath, [join(repoRoot, 'dist/src/cli/install-objects.js'), 'manifests/admission-policy.yaml', 'manifests/finalizer-policy.yaml'], {
      cwd: repoRoot,
      env: { ...process.env, KUBECONFIG: join(npmStartClusterDir, 'kubeconfig') },
      encoding: 'utf8',
    });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^installed ValidatingAdmissionPolicy\/configpush-author-rights, ValidatingAdmissionPolicyBinding\/configpush-author-rights, MutatingAdmissionPolicy\/\S+, MutatingAdmissionPolicyBinding\/\S+\n$/);
    expect((await admission.readValidatingAdmissionPolicy({ name: 'configpush-author-rights' })).metadata?.resourceVersion).toBe(before);

    killGroup(second.child, 'SIGTERM');
    expect(await second.exited).toBe(0);
  }, 150_000);

  it.each([
    ['--metrics-address', 'CONFIGPUSH_METRICS_ADDRESS', '--health-address'],
    ['--health-address', 'CONFIGPUSH_HEALTH_ADDRESS', '--metrics-address'],
  ])('the operator given a %s that is in use exits 1 with an error that names the flag', async (flag, env, other) => {
    // The image and the manifests serve fixed ports: there, the operator takes no other port, it says what to change.
    const held = await hold(0, '127.0.0.1');
    cleanups.push(() => new Promise((resolve) => held.close(resolve)));
    const address = `127.0.0.1:${(held.address() as { port: number }).port}`;
    const operator = run(
      process.execPath,
      [...imageNodeFlags(repoRoot), join(repoRoot, 'dist/src/main.js'), '--kubeconfig', operatorKubeconfigPath, flag, address, other, ''],
      envWithout([]),
    );
    cleanups.push(() => killGroup(operator.child, 'SIGKILL'));
    expect(await operator.exited).toBe(1);
    expect(operator.out.stderr).toBe(
      `configpush-operator: ${flag}: address ${address} is already in use (another process holds it: another operator or \`npm start\`?); ` +
        `pass ${flag} HOST:PORT (or set ${env}) to serve on another address, or ${flag} '' to turn it off\n`,
    );
  });
});

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { PluginApi } from '../../src/cli/kubectl-configpush/api.js';
import { CliError } from '../../src/cli/kubectl-configpush/errors.js';
import { openSession } from '../../src/cli/kubectl-configpush/session.js';
import { REVISION_OF_LABEL } from '../../src/core/revisions.js';
import { readAudit, writes, type AuditEvent } from '../support/audit.js';
import { condition, createPush, eventually, getPush, newNamespace, readConfigMap, readSecret, testKubeConfig, updateSpec, waitReady, waitReason } from '../support/kube.js';
import { startTestOperator, type TestOperator } from '../support/operator.js';
import { kubeconfigPath, repoRoot } from '../support/paths.js';
import { createDeployment, playDeploymentController } from '../support/workload-controller.js';

/**
 * `kubectl configpush rollback` (the built executable, as kubectl runs it)
 * against the real apiserver with the operator in-process: the rollback is
 * one conditional write of the spec by the user, then a new generation the
 * operator rolls out like any other; counted from the audit log. Users other
 * than admin are the admin kubeconfig with `as:` (kubectl --as), so RBAC
 * judges them.
 */
const BIN = join(repoRoot, 'dist/src/cli/kubectl-configpush/main.js');
const PLUGIN_AGENT = 'kubectl-configpush';
const OPERATOR_AGENT = 'configpush-operator';
const admin = testKubeConfig();
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const apps = admin.makeApiClient(AppsV1Api);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawned asynchronously: the operator shares this event loop and must reconcile while the plugin waits. */
function plugin(kubeconfig: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const asAdmin = (...args: string[]) => plugin(kubeconfigPath, ...args);
const lines = (text: string) => text.split('\n').filter((line) => line !== '');
const pluginWrites = (events: AuditEvent[]) => events.filter((e) => (e.userAgent ?? '').startsWith(PLUGIN_AGENT));
const writesBy = (user: string, events: AuditEvent[]) => events.filter((e) => e.impersonatedUser?.username === user);

/** A Role in `namespace` bound to the user `user`. */
async function grant(namespace: string, user: string, rules: V1PolicyRule[]): Promise<void> {
  const name = `rollback-${user}`;
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'User', name: user }] },
  });
}

describe('kubectl configpush rollback (the real executable)', () => {
  let operator: TestOperator;
  let ns: string;
  let dir: string;
  const suffix = randomBytes(6).toString('hex');
  const OLD_SECRET = `0ld-S3cr3t-${suffix}`;
  const NEW_SECRET = `N3w-S3cr3t-${suffix}`;
  const secretForms = (value: string) => [value, Buffer.from(value).toString('base64')];

  /** The admin kubeconfig acting as `user` (its `as:`, what kubectl --as sets). */
  function kubeconfigAs(user: string): string {
    const cluster = admin.getCurrentCluster();
    const adminUser = admin.getCurrentUser();
    if (!cluster || !adminUser) throw new Error('the test kubeconfig has no cluster or user');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [cluster],
      users: [{ ...adminUser, name: user, impersonateUser: user }],
      contexts: [{ name: user, cluster: cluster.name, user, namespace: ns }],
      currentContext: user,
    });
    const path = join(dir, `${user}.kubeconfig`);
    writeFileSync(path, kubeConfig.exportConfig(), { mode: 0o600 });
    return path;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plugin-rollback-'));
    ns = await newNamespace('plugin-rb');
    operator = await startTestOperator();
  });
  afterAll(async () => {
    await operator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a ConfigMap push: generation 1 v1, generation 2 v2', () => {
    let uid: string;
    let v1Digest: string;

    beforeAll(async () => {
      const created = await createPush(ns, 'web', { targets: [{ kind: 'ConfigMap', name: 'web' }], data: { version: 'v1' }, labels: { tier: 'web' } });
      uid = created.metadata.uid;
      v1Digest = (await waitReady(ns, 'web')).status?.contentDigest ?? '';
      await updateSpec(ns, 'web', (spec) => {
        const { labels: _dropped, ...rest } = spec;
        return { ...rest, data: { version: 'v2', extra: 'x' } };
      });
      const second = await waitReady(ns, 'web');
      expect(second.metadata.generation).toBe(2);
      expect((await readConfigMap(ns, 'web'))?.data).toEqual({ version: 'v2', extra: 'x' });
    });

    it('history lists the operations with their revision, then the kept revisions, the current one marked', async () => {
      const push = await getPush(ns, 'web');
      const result = await asAdmin('history', 'web', '-n', ns);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const out = lines(result.stdout);
      expect(out[0]).toMatch(/^GENERATION\s+KEY\s+REVISION\s+DIGEST\s+AGE$/);
      expect(out[1]).toMatch(new RegExp(`^2\\s+${push.status?.history?.[0]?.key}\\s+2\\s+sha256:[0-9a-f]{12}\\s+\\d+s$`));
      expect(out[2]).toMatch(/^1\s+1-[0-9a-f]{10}\s+1\s+sha256:[0-9a-f]{12}\s+\d+s$/);
      expect(out[3]).toBe('Revisions (2 kept, spec.revisionHistoryLimit 10):');
      expect(out[4]).toMatch(/^REVISION\s+DIGEST\s+OPERATION\s+AGE\s+CONTENT IN$/);
      expect(out[5]).toMatch(new RegExp(`^2 \\(current\\)\\s+${push.status?.contentDigest?.slice(0, 19)}\\s+2-[0-9a-f]{10}\\s+\\d+s\\s+ControllerRevision$`));
      expect(out[6]).toMatch(new RegExp(`^1\\s+${v1Digest.slice(0, 19)}\\s+1-[0-9a-f]{10}\\s+\\d+s\\s+ControllerRevision$`));

      const json = JSON.parse((await asAdmin('history', 'web', '-n', ns, '-o', 'json')).stdout) as { history: unknown; revisions: { revision: number; digest: string; contentIn: string }[] };
      expect(json.history).toEqual(push.status?.history);
      expect(json.revisions.map((r) => [r.revision, r.digest, r.contentIn])).toEqual([
        [2, push.status?.contentDigest, 'ControllerRevision'],
        [1, v1Digest, 'ControllerRevision'],
      ]);
    });

    it('--dry-run says what would change and writes nothing', async () => {
      const before = readAudit().length;
      const result = await asAdmin('rollback', 'web', '-n', ns, '--to-revision', '1', '--dry-run');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // (The first line is wrapped at 80 columns: stdout is not a terminal.)
      expect(lines(result.stdout)).toEqual([
        `configpush ${ns}/web would be rolled back to revision 1 (dry run:`,
        'nothing written)',
        'Generation: 2 -> 3 when written',
        expect.stringMatching(/^Revision: {3}1, completed by operation 1-[0-9a-f]{10} at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        `Digest:     ${v1Digest.slice(0, 19)}`,
        'Spec:',
        '  spec.data: changed: - extra, ~ version',
        '  spec.labels: set: + tier',
      ]);
      expect(pluginWrites(readAudit().slice(before))).toEqual([]);
      expect((await getPush(ns, 'web')).metadata.generation).toBe(2);
    });

    it('rollback --to-revision 1: generation 3 with spec.data v1, in one write by the user; the operator rolls it out once, under generation 3\'s key', async () => {
      const before = readAudit().length;
      const result = await asAdmin('rollback', 'web', '-n', ns, '--to-revision', '1');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const out = lines(result.stdout);
      expect(out.slice(0, 2)).toEqual([`configpush ${ns}/web rolled back to revision 1`, 'Generation: 2 -> 3']);
      expect(out).toContain('  spec.data: changed: - extra, ~ version');
      // Then it waited for the operator to observe generation 3, and says where it stands.
      expect(out.at(-1)).toMatch(/^Ready=(True \(Applied\)|False \(Progressing\)): /);

      const push = await waitReady(ns, 'web');
      expect(push.metadata.generation).toBe(3);
      expect(push.spec.data).toEqual({ version: 'v1' });
      expect(push.spec.labels).toEqual({ tier: 'web' });
      expect(push.status?.contentDigest).toBe(v1Digest);
      const cm = await readConfigMap(ns, 'web');
      expect(cm?.data).toEqual({ version: 'v1' });
      expect(cm?.metadata?.labels?.tier).toBe('web');
      expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(push.status?.operationKey);
      expect(push.status?.operationKey).toMatch(/^3-[0-9a-f]{10}$/);

      const after = readAudit().slice(before);
      // The user's one write: a patch of the push (the JSON patch with its resourceVersion test).
      expect(pluginWrites(after).map((e) => [e.verb, e.objectRef?.resource, e.objectRef?.name, e.objectRef?.subresource ?? ''])).toEqual([['patch', 'configpushes', 'web', '']]);
      // The operator's: the target once.
      expect(writes({ resource: 'configmaps', namespace: ns, name: 'web', userAgent: OPERATOR_AGENT }, after)).toHaveLength(1);
      // The same content completed again: its revision is renumbered the newest (as a StatefulSet does), not copied.
      const revisions = (await apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: `${REVISION_OF_LABEL}=${uid}` })).items;
      expect(revisions.map((r) => [r.revision, r.metadata?.annotations?.['configpush.io/content-digest']]).sort()).toEqual([
        [2, expect.any(String)],
        [3, v1Digest],
      ]);
    });

    it('refuses, writing nothing: a revision not kept, the revision it is already at; the default is the previous content', async () => {
      const before = readAudit().length;
      const gone = await asAdmin('rollback', 'web', '-n', ns, '--to-revision', '1');
      expect(gone.code).toBe(3);
      expect(gone.stderr).toBe(`error: configpush ${ns}/web has no revision 1; kept: 3, 2 (see: kubectl configpush history web -n ${ns})\n`);
      const already = await asAdmin('rollback', 'web', '-n', ns, '--to-revision', '3');
      expect(already.code).toBe(3);
      expect(already.stderr).toBe(`error: configpush ${ns}/web is already at revision 3: its spec gives that content (${v1Digest}); nothing to do\n`);
      const previous = await asAdmin('rollback', 'web', '-n', ns, '--dry-run');
      expect(previous.code).toBe(0);
      expect(lines(previous.stdout).slice(0, 2).join(' ')).toBe(`configpush ${ns}/web would be rolled back to revision 2 (the previous content) (dry run: nothing written)`);
      expect(pluginWrites(readAudit().slice(before))).toEqual([]);
      expect((await getPush(ns, 'web')).metadata.generation).toBe(3);
    });

    it('a push that changed since it was read: the apiserver refuses the patch\'s test, and the plugin says to re-run', async () => {
      const push = await getPush(ns, 'web');
      const session = openSession({ kubeconfig: kubeconfigPath, allNamespaces: false, requestTimeoutMs: 10_000 });
      try {
        const api = new PluginApi(session);
        const stale = [
          { op: 'test', path: '/metadata/resourceVersion', value: String(Number(push.metadata.resourceVersion) - 1) },
          { op: 'add', path: '/spec/data', value: { version: 'stale' } },
        ];
        const err = await api.jsonPatch(ns, 'web', stale, 'kubectl configpush rollback web').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CliError);
        expect((err as Error).message).toBe(`configpush ${ns}/web changed since it was read: nothing was written; look at it again and re-run: kubectl configpush rollback web`);
      } finally {
        await session.close();
      }
      expect((await getPush(ns, 'web')).metadata.resourceVersion).toBe(push.metadata.resourceVersion);
    });
  });

  it('a push without revisions (it never completed a rollout): refused, nothing written', async () => {
    await createPush(ns, 'held', { targets: [{ kind: 'ConfigMap', name: 'held' }], data: { k: 'v' }, suspend: true });
    const before = readAudit().length;
    const result = await asAdmin('rollback', 'held', '-n', ns);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`^error: configpush ${ns}/held has no revisions to roll back to: a revision is kept each time a rollout completes`));
    expect(pluginWrites(readAudit().slice(before))).toEqual([]);
  });

  it('after an automatic rollback (failurePolicy Rollback), the default is the revision the targets were returned to: the spec says it again, and the push leaves RolledBack', async () => {
    const home = await newNamespace('plugin-rb-auto');
    await createDeployment(home, 'web', 1);
    const deployments = playDeploymentController(() => [home]);
    try {
      const spec = (version: string) => ({
        targets: [{ kind: 'ConfigMap' as const, name: 'app' }],
        data: { version },
        strategy: { failurePolicy: 'Rollback' as const, progressDeadlineSeconds: 3 },
        rollout: { restart: [{ kind: 'Deployment' as const, name: 'web' }] },
      });
      await createPush(home, 'guarded', spec('v1'));
      await waitReady(home, 'guarded', 30_000);
      deployments.stuck.add(home); // generation 2's restart never rolls out: its wave fails, the operator rolls back
      await updateSpec(home, 'guarded', () => spec('v2'));
      const rolledBack = await waitReason(home, 'guarded', 'RolledBack', 60_000);
      expect(rolledBack.status?.rollout?.rollback?.revision).toBe(1);
      expect((await readConfigMap(home, 'app'))?.data).toEqual({ version: 'v1' });
      expect(rolledBack.spec.data).toEqual({ version: 'v2' });

      deployments.stuck.delete(home);
      const before = readAudit().length;
      const result = await asAdmin('rollback', 'guarded', '-n', home, '--timeout', '60s');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const out = lines(result.stdout);
      expect(out.slice(0, 2).join(' ')).toBe(`configpush ${home}/guarded rolled back to revision 1 (the revision the operator rolled the targets back to)`);
      expect(out).toContain('Generation: 2 -> 3');
      expect(out).toContain('  spec.data: changed: ~ version');

      const push = await eventually(async () => {
        const p = await getPush(home, 'guarded');
        return condition(p, 'Ready')?.status === 'True' && condition(p, 'Ready')?.observedGeneration === 3 ? p : undefined;
      }, 'generation 3 Ready', 60_000);
      expect(push.spec.data).toEqual({ version: 'v1' });
      expect(push.status?.rollout?.rollback).toBeUndefined();
      // Stalled is written only while True (kstatus reads its absence as False).
      expect(condition(push, 'Stalled')).toBeUndefined();
      // The targets already hold revision 1 (the operator's rollback wrote them back): generation 3 finds them
      // at its content and writes nothing, restarts nothing; they keep the rollback's key.
      const cm = await readConfigMap(home, 'app');
      expect(cm?.data).toEqual({ version: 'v1' });
      expect(cm?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(rolledBack.status?.rollout?.rollback?.operationKey);
      expect(cm?.metadata?.annotations?.[ANNOTATION.contentDigest]).toBe(push.status?.contentDigest);
      expect(push.status?.operationKey).toMatch(/^3-[0-9a-f]{10}$/);
      const after = readAudit().slice(before);
      expect(pluginWrites(after).map((e) => [e.verb, e.objectRef?.resource, e.objectRef?.name])).toEqual([['patch', 'configpushes', 'guarded']]);
      expect(writes({ resource: 'configmaps', namespace: home, userAgent: OPERATOR_AGENT }, after)).toEqual([]);
      expect(writes({ resource: 'deployments', namespace: home, subresource: '', userAgent: OPERATOR_AGENT }, after)).toEqual([]);
    } finally {
      await deployments.stop();
    }
  });

  describe('a Secret push: its revisions are in Secrets', () => {
    const rules = (withSecrets: boolean): V1PolicyRule[] => [
      { apiGroups: ['configpush.io'], resources: ['configpushes'], verbs: ['get', 'list', 'patch'] },
      { apiGroups: ['apps'], resources: ['controllerrevisions'], verbs: ['get', 'list'] },
      // What the admission policy (when installed) asks of whoever changes a push with Secret targets.
      ...(withSecrets ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }] : []),
    ];

    beforeAll(async () => {
      await grant(ns, 'rita', rules(false));
      await grant(ns, 'sam', rules(true));
      await createPush(ns, 'creds', { targets: [{ kind: 'Secret', name: 'creds' }], data: { password: OLD_SECRET } });
      await waitReady(ns, 'creds');
      await updateSpec(ns, 'creds', (spec) => ({ ...spec, data: { password: NEW_SECRET } }));
      await waitReady(ns, 'creds');
    });

    it('a user who may not get secrets there sees the revisions, but cannot roll back: told what is missing, nothing changes', async () => {
      const rita = kubeconfigAs('rita');
      const history = await plugin(rita, 'history', 'creds');
      expect(history.code).toBe(0);
      expect(lines(history.stdout).slice(-2)).toEqual([expect.stringMatching(/^2 \(current\)\s+.*\s+Secret$/), expect.stringMatching(/^1\s+.*\s+Secret$/)]);

      const before = readAudit().length;
      const generation = (await getPush(ns, 'creds')).metadata.generation;
      const result = await plugin(rita, 'rollback', 'creds', '--to-revision', '1');
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^error: revision 1 of configpush ${ns}/creds holds Secret-derived content, kept in Secret ${ns}/creds-[0-9a-f]{10}; ` +
            `reading it needs get on secrets in namespace ${ns}, which the kubeconfig's user \\(context "rita"\\) lacks \\(403: .*forbidden.*\\); nothing was changed`,
        ),
      );
      for (const value of [...secretForms(OLD_SECRET), ...secretForms(NEW_SECRET)]) expect(result.stdout + result.stderr + history.stdout).not.toContain(value);
      const after = readAudit().slice(before);
      expect(writesBy('rita', after)).toEqual([]);
      expect(writes({ resource: 'configpushes', namespace: ns, name: 'creds', subresource: '', includeFailed: true }, after)).toEqual([]);
      const push = await getPush(ns, 'creds');
      expect(push.metadata.generation).toBe(generation);
      expect(push.spec.data).toEqual({ password: NEW_SECRET });
    });

    it('a user who may: rolled back in one write, the Secret target at the old value, no value in any output', async () => {
      const before = readAudit().length;
      const result = await plugin(kubeconfigAs('sam'), 'rollback', 'creds', '--to-revision', '1');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(lines(result.stdout)).toContain('  spec.data: changed: ~ password');
      for (const value of [...secretForms(OLD_SECRET), ...secretForms(NEW_SECRET)]) expect(result.stdout + result.stderr).not.toContain(value);

      const push = await waitReady(ns, 'creds');
      expect(push.metadata.generation).toBe(3);
      expect(push.spec.data).toEqual({ password: OLD_SECRET });
      const secret = await readSecret(ns, 'creds');
      expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString()).toBe(OLD_SECRET);
      expect(secret?.metadata?.annotations?.[ANNOTATION.operationKey]).toBe(push.status?.operationKey);
      const after = readAudit().slice(before);
      expect(writesBy('sam', after).map((e) => [e.verb, e.objectRef?.resource, e.objectRef?.name])).toEqual([['patch', 'configpushes', 'creds']]);
      expect(writes({ resource: 'secrets', namespace: ns, name: 'creds', userAgent: OPERATOR_AGENT }, after)).toHaveLength(1);
    });
  });
});


import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { writes } from '../support/audit.js';
import { admissionSetsFinalizer, removeFinalizerPolicy } from '../support/finalizer-policy.js';
import { createPush, newNamespace, testKubeConfig, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { OPERATOR_USERNAME } from '../support/operator-identity.js';
import { kubeconfigPath, repoRoot, runStartedPath } from '../support/paths.js';

function kubectl(...args: string[]) {
  const result = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { cwd: repoRoot, encoding: 'utf8' });
  if (result.error) throw new Error(`kubectl is needed for this test: ${result.error.message}`);
  return result;
}

describe('manifests/', () => {
  // The other e2e files run without the finalizer policy (finalizer-policy.test.ts covers it), so their write counts include the operator's finalizer patch.
  afterAll(async () => removeFinalizerPolicy(testKubeConfig(), repoRoot));

  it('installs with kubectl apply -k: a server-side dry run, then for real', () => {
    // (kubectl warns about objects the e2e setup created without last-applied annotations; warnings are fine.)
    const dryRun = kubectl('apply', '-k', 'manifests/', '--dry-run=server');
    expect(dryRun.stderr).not.toMatch(/error/i);
    expect(dryRun.status).toBe(0);
    expect(dryRun.stdout).toMatch(/deployment\.apps\/configpush-operator (created|configured|unchanged) \(server dry run\)/);

    const real = kubectl('apply', '-k', 'manifests/');
    expect(real.stderr).not.toMatch(/error/i);
    expect(real.status).toBe(0);
    expect(real.stdout).toMatch(/deployment\.apps\/configpush-operator (created|configured|unchanged)/);
  });

  it('sets the operator\'s finalizer at admission (manifests/finalizer-policy.yaml)', async () => {
    expect(kubectl('get', 'mutatingadmissionpolicy,mutatingadmissionpolicybinding', '-o', 'name').stdout.split('\n').filter(Boolean).sort()).toEqual([
      'mutatingadmissionpolicy.admissionregistration.k8s.io/configpush-finalizer',
      'mutatingadmissionpolicybinding.admissionregistration.k8s.io/configpush-finalizer',
    ]);
    await expect.poll(() => admissionSetsFinalizer(testKubeConfig()), { timeout: 20_000 }).toBe(true);
  });

  it('leaves the finalizer policy out with components/without-finalizer-policy (clusters before 1.36), and nothing else', () => {
    const ids = (dir: string) => {
      const result = kubectl('kustomize', dir);
      expect(result.stderr).toBe('');
      return parseAllDocuments(result.stdout)
        .map((d) => d.toJS() as { kind: string; metadata: { name: string } })
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort();
    };
    const installed = ids(join(repoRoot, 'manifests'));
    expect(installed).toContain('MutatingAdmissionPolicy/configpush-finalizer');
    expect(installed).toContain('MutatingAdmissionPolicyBinding/configpush-finalizer');
    const overlay = mkdtempSync(join(tmpdir(), 'without-finalizer-policy-'));
    try {
      const manifests = relative(overlay, join(repoRoot, 'manifests'));
      writeFileSync(join(overlay, 'kustomization.yaml'), `resources:\n  - ${manifests}\ncomponents:\n  - ${manifests}/components/without-finalizer-policy\n`);
      expect(ids(overlay)).toEqual(installed.filter((id) => !id.startsWith('MutatingAdmissionPolicy')));
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });

  it('runs a hardened Deployment: 2 replicas, leader election, probes, limits, restricted security', async () => {
    const apps = testKubeConfig().makeApiClient(AppsV1Api);
    const deployment = await apps.readNamespacedDeployment({ namespace: 'configpush-system', name: 'configpush-operator' });
    const pod = deployment.spec?.template.spec;
    const container = pod?.containers[0];
    expect(deployment.spec?.replicas).toBe(2);
    expect(container?.args).toContain('--leader-elect');
    expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container?.resources?.requests).toBeDefined();
    expect(container?.resources?.limits).toBeDefined();
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod?.serviceAccountName).toBe('configpush-operator');
  });

  it('grants no wildcard verbs, resources or API groups', () => {
    const docs = parseAllDocuments(readFileSync(join(repoRoot, 'manifests/rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: Record<string, string[]>[] });
    const rules = docs.flatMap((d) => d.rules ?? []);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      for (const field of ['verbs', 'resources', 'apiGroups']) expect(rule[field] ?? []).not.toContain('*');
    }
  });

  it('is enough for the operator: the e2e operators authenticate as its ServiceAccount', async () => {
    // Every e2e operator runs with a TokenRequest token of the manifests'
    // ServiceAccount (test/support/operator-identity.ts); the audit log shows who wrote.
    const operator = await startTestOperator();
    try {
      const ns = await newNamespace('identity');
      await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
      await waitReady(ns, 'push');
      expect(writes({ resource: 'configmaps', namespace: ns, name: 'cfg' }).map((w) => w.user.username)).toEqual([OPERATOR_USERNAME]);
      expect(writes({ resource: 'configpushes', namespace: ns, name: 'push', subresource: 'status' })[0]?.user.username).toBe(OPERATOR_USERNAME);
    } finally {
      await operator.stop();
    }
    const since = readFileSync(runStartedPath, 'utf8').trim();
    const operatorWrites = writes({ resource: 'configmaps', userAgent: 'configpush-operator' }).filter((w) => w.requestReceivedTimestamp >= since);
    expect(operatorWrites.length).toBeGreaterThan(0);
    expect(new Set(operatorWrites.map((w) => w.user.username))).toEqual(new Set([OPERATOR_USERNAME]));
  });
});

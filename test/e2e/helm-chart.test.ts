import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, ApiextensionsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { writes, type AuditEvent } from '../support/audit.js';
import { CHART_DIR, helmBinary, kubectl, runHelm, serviceAccountKubeconfig } from '../support/helm.js';
import { imageProgram } from '../support/image.js';
import { createPush, newNamespace, testKubeConfig, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, OPERATOR_USERNAME, writeOperatorKubeconfig } from '../support/operator-identity.js';
import { clusterDir, operatorKubeconfigPath, repoRoot } from '../support/paths.js';

const RELEASE = 'configpush-operator';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  rules?: { verbs?: string[]; resources?: string[]; apiGroups?: string[] }[];
  [field: string]: unknown;
}

function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`unparseable YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

const idOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Objects by id; a duplicate id fails, since a map would hide it. */
function byId(objects: K8sObject[]): Map<string, K8sObject> {
  const map = new Map<string, K8sObject>();
  for (const o of objects) {
    expect(map.has(idOf(o)), `${idOf(o)} rendered twice`).toBe(false);
    map.set(idOf(o), o);
  }
  return map;
}

describe('charts/configpush-operator', () => {
  let helm: string;

  beforeAll(() => {
    helm = helmBinary();
  }, 900_000);

  /**
   * What a Kubernetes 1.36 cluster serves that helm's built-in list (used
   * without a cluster) lacks: the chart renders manifests/finalizer-policy.yaml
   * only where the cluster serves its API (manifests-verbatim.yaml).
   */
  const SERVED_BY_1_36 = ['--api-versions', 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy'];
  const FINALIZER_POLICY_IDS = ['admissionregistration.k8s.io/v1/MutatingAdmissionPolicy//configpush-finalizer', 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicyBinding//configpush-finalizer'];

  /** `helm template` of the chart for a 1.36 cluster, as objects; fails the test with helm's stderr if it fails. */
  function template(...args: string[]): K8sObject[] {
    return templateFor(SERVED_BY_1_36, ...args);
  }

  function templateFor(apiVersions: string[], ...args: string[]): K8sObject[] {
    const result = runHelm(helm, ['template', RELEASE, CHART_DIR, '--namespace', OPERATOR_NAMESPACE, '--include-crds', ...apiVersions, ...args]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return parseObjects(result.stdout);
  }

  it('carries byte-identical copies of crds/, manifests/ and monitoring/ (hack/helm/sync-chart.sh --check), and the check fails on a difference', () => {
    const crd = 'crds/configpush.io_configpushes.yaml';
    expect(readFileSync(join(CHART_DIR, crd))).toEqual(readFileSync(join(repoRoot, crd)));
    const check = (chartDir?: string) =>
      spawnSync('bash', [join(repoRoot, 'hack/helm/sync-chart.sh'), '--check'], {
        encoding: 'utf8',
        env: { ...process.env, ...(chartDir ? { CHART_DIR: chartDir } : {}) },
      });
    const clean = check();
    expect(clean.stderr).toBe('');
    expect(clean.status).toBe(0);

    const scratch = mkdtempSync(join(tmpdir(), 'chart-'));
    try {
      cpSync(CHART_DIR, scratch, { recursive: true });
      appendFileSync(join(scratch, crd), '\n');
      writeFileSync(join(scratch, 'files/manifests/gone.yaml'), 'kind: ConfigMap\n');
      const stale = check(scratch);
      expect(stale.status).toBe(1);
      expect(stale.stderr).toContain(`out of date: ${crd} differs from ${crd}`);
      expect(stale.stderr).toContain('stale: files/manifests/gone.yaml is not in manifests/kustomization.yaml');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('passes helm lint, also with --strict', () => {
    for (const args of [[], ['--strict']]) {
      const lint = runHelm(helm, ['lint', CHART_DIR, ...args]);
      expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(lint.status).toBe(0);
    }
  });

  /**
   * The objects `kubectl kustomize <dir>` renders, by id. One normalization,
   * on kustomize's side only: kustomize (v5.5, in kubectl 1.32) does not know
   * that kinds such as ValidatingAdmissionPolicy are cluster-scoped and
   * stamps its namespace on them, which the apiserver then drops; the chart
   * renders them without one. Which kinds are cluster-scoped comes from the
   * control plane's discovery.
   */
  function kustomizeObjects(dir: string): Map<string, K8sObject> {
    const kustomize = kubectl(['kustomize', dir]);
    expect(kustomize.stderr).toBe('');
    expect(kustomize.status).toBe(0);
    const objects = parseObjects(kustomize.stdout);
    for (const o of objects) if (clusterScopedKinds().has(o.kind)) delete o.metadata.namespace;
    return byId(objects);
  }

  let clusterScoped: Set<string> | undefined;
  function clusterScopedKinds(): Set<string> {
    if (clusterScoped) return clusterScoped;
    const resources = kubectl(['api-resources', '--namespaced=false', '--no-headers']);
    expect(resources.status).toBe(0);
    clusterScoped = new Set(resources.stdout.split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/).at(-1)!));
    expect(clusterScoped).toContain('ValidatingAdmissionPolicy');
    return clusterScoped;
  }

  /** Every object of `expected` rendered identically (parsed, deep-equal), and nothing else, except the ids in `absent`. */
  function expectSameObjects(rendered: K8sObject[], expected: Map<string, K8sObject>, absent: string[] = []): void {
    const actual = byId(rendered);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].filter((id) => !absent.includes(id)).sort());
    for (const [id, object] of actual) expect(object, id).toEqual(expected.get(id));
  }

  it('renders the objects of kubectl kustomize manifests/ (with namespace.create=true; by default all but the Namespace)', () => {
    const expected = kustomizeObjects('manifests/');
    expect(expected.size).toBeGreaterThanOrEqual(11);
    // Compared as parsed objects. The chart adds no label manifests/ lacks (no
    // helm.sh/chart, no managed-by). The one difference is the one
    // namespace.create documents: Helm stores the release in the namespace
    // before it creates anything, so by default the chart does not render it.
    const namespaceId = `v1/Namespace//${OPERATOR_NAMESPACE}`;
    expect(expected.has(namespaceId)).toBe(true);
    expectSameObjects(template('--set', 'namespace.create=true'), expected);
    expectSameObjects(template(), expected, [namespaceId]);
  });

  it('leaves the finalizer policy out where the cluster does not serve MutatingAdmissionPolicy v1 (before 1.36), and nothing else', () => {
    const expected = kustomizeObjects('manifests/');
    for (const id of FINALIZER_POLICY_IDS) expect(expected.has(id), id).toBe(true);
    expectSameObjects(templateFor([], '--set', 'namespace.create=true'), expected, FINALIZER_POLICY_IDS);
  });

  it('renders a manifests/ file that has no template of its own from its verbatim copy, as kustomize does', () => {
    // Scratch copies of manifests/, crds/ and the chart, with one more file in
    // the kustomization: what happens when manifests/ grows (an admission
    // policy, say) and hack/helm/sync-chart.sh is run.
    const scratch = mkdtempSync(join(tmpdir(), 'chart-extra-'));
    try {
      cpSync(join(repoRoot, 'manifests'), join(scratch, 'manifests'), { recursive: true });
      cpSync(join(repoRoot, 'crds'), join(scratch, 'crds'), { recursive: true });
      cpSync(CHART_DIR, join(scratch, 'chart'), { recursive: true });
      const extra = [
        '# a namespaced object without a namespace, and a cluster-scoped one',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: extra-settings',
        '  labels: {app.kubernetes.io/name: configpush-operator}',
        'data:',
        '  rule: |-',
        '    multi-line',
        "    'quoted' {{ not a template }}",
        '---',
        'apiVersion: admissionregistration.k8s.io/v1',
        'kind: ValidatingAdmissionPolicyBinding',
        'metadata:',
        '  name: extra-binding',
        'spec:',
        '  policyName: extra-policy',
        '  validationActions: ["Deny"]',
        '',
      ].join('\n');
      const kustomization = readFileSync(join(scratch, 'manifests/kustomization.yaml'), 'utf8').replace('  - deployment.yaml\n', '  - deployment.yaml\n  - extra.yaml\n');
      for (const dir of ['manifests', 'chart/files/manifests']) {
        writeFileSync(join(scratch, dir, 'extra.yaml'), extra);
        writeFileSync(join(scratch, dir, 'kustomization.yaml'), kustomization);
      }
      const expected = kustomizeObjects(join(scratch, 'manifests'));
      expect(expected.get(`v1/ConfigMap/${OPERATOR_NAMESPACE}/extra-settings`)).toBeDefined();
      expect(expected.get('admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding//extra-binding')).toBeDefined();
      const rendered = runHelm(helm, ['template', RELEASE, join(scratch, 'chart'), '--namespace', OPERATOR_NAMESPACE, '--include-crds', ...SERVED_BY_1_36, '--set', 'namespace.create=true']);
      expect(rendered.stderr).toBe('');
      expectSameObjects(parseObjects(rendered.stdout), expected);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('renders each value where it belongs', () => {
    const objects = template(
      '--set', 'image.repository=registry.example/cp,image.tag=9.9.9,image.pullPolicy=Always,replicas=3',
      '--set', 'leaderElection.namespace=elections,leaderElection.id=cp-lease,requireServiceAccount=true',
      '--set', 'extraArgs[0]=--workers=8,metrics.port=9090,health.port=9091,resources.limits.memory=2Gi',
      '--set', 'kubeApi.qps=50,kubeApi.burst=100',
      '--set', 'metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=prom',
      '--set', 'prometheusRule.enabled=true,prometheusRule.labels.release=prom',
      '--set', 'grafanaDashboard.enabled=true,grafanaDashboard.namespace=grafana',
      '--set-json', 'nodeFlags=["--max-semi-space-size=1"]',
    );
    const find = (kind: string, name?: string) => {
      const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
      expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
      return found[0]!;
    };
    const deployment = find('Deployment') as K8sObject & { spec: { replicas: number; template: { spec: { containers: Record<string, unknown>[] } } } };
    const container = deployment.spec.template.spec.containers[0]!;
    expect(deployment.spec.replicas).toBe(3);
    expect(container.image).toBe('registry.example/cp:9.9.9');
    expect(container.imagePullPolicy).toBe('Always');
    expect(container.args).toEqual([
      '--leader-elect',
      '--leader-election-namespace=elections',
      '--leader-election-id=cp-lease',
      '--metrics-address=:9090',
      '--health-address=:9091',
      '--require-service-account',
      '--kube-api-qps=50',
      '--kube-api-burst=100',
      '--workers=8',
    ]);
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '256Mi' }, limits: { cpu: '500m', memory: '2Gi' } });
    // nodeFlags replaces the image's node flags (its ENTRYPOINT: node, flags, program); by default the image's stand.
    const program = imageProgram(repoRoot);
    expect(container.command).toEqual(['node', '--max-semi-space-size=1', program]);
    const containerOf = (objects: K8sObject[]) => (objects.find((o) => o.kind === 'Deployment') as typeof deployment).spec.template.spec.containers[0]!;
    expect(containerOf(template('--set-json', 'nodeFlags=[]')).command).toEqual(['node', program]);
    expect(containerOf(template())).not.toHaveProperty('command');
    expect(find('Role').metadata.namespace).toBe('elections');
    expect(find('RoleBinding').metadata.namespace).toBe('elections');
    expect((find('Service') as K8sObject & { spec: { ports: { port: number }[] } }).spec.ports[0]!.port).toBe(9090);
    expect(find('ServiceMonitor').metadata.labels).toMatchObject({ release: 'prom' });

    // The PrometheusRule carries monitoring/prometheus-rule.yaml's groups untouched (its {{ $labels }} are Prometheus's, not Helm's).
    const source = parseObjects(readFileSync(join(repoRoot, 'monitoring/prometheus-rule.yaml'), 'utf8'))[0]!;
    const rule = find('PrometheusRule');
    expect(rule.spec).toEqual(source.spec);
    expect(rule.metadata.labels).toMatchObject({ release: 'prom' });
    expect(JSON.stringify(rule.spec)).toContain('{{ $labels.reason }}');

    const dashboard = find('ConfigMap', 'configpush-operator-dashboard') as K8sObject & { data: Record<string, string> };
    expect(dashboard.metadata.namespace).toBe('grafana');
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard.data['configpush-operator.json']!)).toEqual(JSON.parse(readFileSync(join(repoRoot, 'monitoring/grafana-dashboard.json'), 'utf8')));

    const noElection = template('--set', 'leaderElection.enabled=false');
    expect(noElection.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')).toEqual([]);
    expect(JSON.stringify(noElection)).not.toContain('--leader-elect');
    expect(template().filter((o) => ['ServiceMonitor', 'PrometheusRule', 'ConfigMap'].includes(o.kind))).toEqual([]);
  });

  it('refuses values that values.schema.json rejects, with helm\'s error', () => {
    const bad: [string[], string][] = [
      [['--set', 'replicas=two'], "- at '/replicas': got string, want integer"],
      [['--set', 'image.pullPolicy=Sometimes'], "- at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"],
      [['--set', 'leaderElection.enabled=yes'], "- at '/leaderElection/enabled': got string, want boolean"],
      [['--set', 'replica=2'], "- at '': additional properties 'replica' not allowed"],
      [['--set', 'extraArgs[0]=workers=8'], "- at '/extraArgs/0': 'workers=8' does not match pattern '^--[a-z]'"],
      [['--set', 'nodeFlags[0]=optimize-for-size'], "- at '/nodeFlags/0': 'optimize-for-size' does not match pattern '^--[a-z]'"],
      [['--set', 'metrics.port=0'], "- at '/metrics/port': minimum: got 0, want 1"],
      [['--set', 'resources.requests.memory=lots'], "- at '/resources/requests/memory'"],
    ];
    for (const [args, message] of bad) {
      const result = runHelm(helm, ['template', RELEASE, CHART_DIR, ...args]);
      expect(result.status, args.join(' ')).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema(s)");
      expect(result.stderr).toContain(message);
    }
  });

  it('documents every value: docs/install-helm.md\'s table matches values.schema.json and values.yaml', () => {
    interface Schema {
      type?: string;
      oneOf?: Schema[];
      properties?: Record<string, Schema>;
    }
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Schema;
    const values = parseAllDocuments(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'))[0]!.toJS() as Record<string, unknown>;
    // One row per leaf of the schema ("global" is Helm's, for parent charts): key, type, default.
    const expected: string[] = [];
    const walk = (node: Schema, path: string, value: unknown) => {
      if (node.properties) {
        for (const [key, child] of Object.entries(node.properties)) {
          if (path === '' && key === 'global') continue;
          walk(child, path ? `${path}.${key}` : key, (value as Record<string, unknown> | undefined)?.[key]);
        }
        return;
      }
      const type = node.type ?? (node.oneOf ?? []).map((o) => o.type).join(' or ');
      expected.push(`${path} | ${type} | ${value === undefined ? '—' : `\`${JSON.stringify(value)}\``}`);
    };
    walk(schema, '', values);
    const doc = readFileSync(join(repoRoot, 'docs/install-helm.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([^`]+)` \| ([^|]+) \| (.+?) \| (.*) \|$/gm)];
    expect(rows.map((r) => `${r[1]} | ${r[2]!.trim()} | ${r[3]!.trim()}`)).toEqual(expected);
    for (const row of rows) expect(row[4]!.trim().length, `description of ${row[1]}`).toBeGreaterThan(5);
    expect(expected.length).toBeGreaterThan(30);
  });

  describe('helm install on the control plane', () => {
    const admin = testKubeConfig();
    const apps = admin.makeApiClient(AppsV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    let rendered: K8sObject[];

    beforeAll(() => {
      // The e2e setup installed manifests/' ServiceAccount and RBAC (and an
      // earlier test may have applied all of manifests/): Helm rightly refuses
      // to take over objects it did not create. Remove them, so this is a
      // clean install; afterAll puts the setup's identity back. The CRD and
      // the namespace stay (a namespace never finishes deleting without a
      // controller-manager, and Helm leaves an existing CRD alone).
      runHelm(helm, ['uninstall', RELEASE, '--namespace', OPERATOR_NAMESPACE, '--ignore-not-found']);
      const text = runHelm(helm, ['template', RELEASE, CHART_DIR, '--namespace', OPERATOR_NAMESPACE, ...SERVED_BY_1_36]).stdout;
      rendered = parseObjects(text);
      const removed = kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], text);
      expect(removed.stderr).toBe('');
    }, 120_000);

    afterAll(async () => {
      runHelm(helm, ['uninstall', RELEASE, '--namespace', OPERATOR_NAMESPACE, '--ignore-not-found']);
      // Later test files run their operators with the manifests' ServiceAccount: recreate it and its token.
      await writeOperatorKubeconfig(admin, repoRoot, operatorKubeconfigPath);
    }, 120_000);

    it('installs: a server-side dry run of the rendered objects, helm install --dry-run=server, then for real', () => {
      const serverDryRun = kubectl(['apply', '--dry-run=server', '-f', '-'], runHelm(helm, ['template', RELEASE, CHART_DIR, '--namespace', OPERATOR_NAMESPACE, '--include-crds', ...SERVED_BY_1_36]).stdout);
      expect(serverDryRun.stderr).not.toMatch(/error/i);
      expect(serverDryRun.status).toBe(0);
      expect(serverDryRun.stdout).toMatch(/deployment\.apps\/configpush-operator created \(server dry run\)/);

      const dryRun = runHelm(helm, ['install', RELEASE, CHART_DIR, '--namespace', OPERATOR_NAMESPACE, '--dry-run=server']);
      expect(dryRun.stderr).toBe('');
      expect(dryRun.status).toBe(0);

      const install = runHelm(helm, ['install', RELEASE, CHART_DIR, '--namespace', OPERATOR_NAMESPACE]);
      expect(install.stderr).toBe('');
      expect(install.status).toBe(0);
      expect(install.stdout).toMatch(/STATUS: deployed/);
      // NOTES: the namespace was not created by the chart, so they say how to label it like manifests/namespace.yaml.
      expect(install.stdout).toContain(`kubectl label namespace ${OPERATOR_NAMESPACE} pod-security.kubernetes.io/enforce=restricted`);
      const status = runHelm(helm, ['status', RELEASE, '--namespace', OPERATOR_NAMESPACE, '-o', 'json']);
      expect((JSON.parse(status.stdout) as { info: { status: string } }).info.status).toBe('deployed');
    });

    it('runs a hardened Deployment: 2 replicas, leader election, probes, limits, restricted security', async () => {
      const deployment = await apps.readNamespacedDeployment({ namespace: OPERATOR_NAMESPACE, name: 'configpush-operator' });
      expect(deployment.metadata?.annotations).toMatchObject({ 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': OPERATOR_NAMESPACE });
      const pod = deployment.spec?.template.spec;
      const container = pod?.containers[0];
      expect(deployment.spec?.replicas).toBe(2);
      expect(container?.args).toContain('--leader-elect');
      expect(container?.image).toBe('ghcr.io/configpush/configpush-operator:0.1.0');
      expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(container?.resources?.requests).toBeDefined();
      expect(container?.resources?.limits).toBeDefined();
      expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(pod?.serviceAccountName).toBe(OPERATOR_SERVICE_ACCOUNT);
      await core.readNamespacedService({ namespace: OPERATOR_NAMESPACE, name: 'configpush-operator-metrics' });
    });

    it('grants no wildcard verbs, resources or API groups', () => {
      const rules = rendered.flatMap((o) => o.rules ?? []);
      expect(rules.length).toBeGreaterThan(0);
      for (const rule of rules) {
        for (const field of ['verbs', 'resources', 'apiGroups'] as const) expect(rule[field] ?? []).not.toContain('*');
      }
    });

    it('is enough for the operator: one push to Ready by an operator with a token of the chart\'s ServiceAccount', async () => {
      const account = await core.readNamespacedServiceAccount({ namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT });
      expect(account.metadata?.annotations?.['meta.helm.sh/release-name']).toBe(RELEASE);
      const kubeconfig = join(clusterDir, 'helm-operator.kubeconfig');
      await serviceAccountKubeconfig(admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, kubeconfig);
      const operator = await startTestOperator({ kubeconfig });
      try {
        const ns = await newNamespace('helm');
        await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
        await waitReady(ns, 'push');
        // The audit log names the user and its uid: the ServiceAccount the chart created, not the setup's.
        const byChartAccount = (w: AuditEvent) => w.user.username === OPERATOR_USERNAME && (w.user as { uid?: string }).uid === account.metadata?.uid;
        const targetWrites = writes({ resource: 'configmaps', namespace: ns, name: 'cfg' });
        expect(targetWrites).toHaveLength(1);
        expect(targetWrites.every(byChartAccount)).toBe(true);
        const statusWrites = writes({ resource: 'configpushes', namespace: ns, name: 'push', subresource: 'status' });
        expect(statusWrites.length).toBeGreaterThan(0);
        expect(statusWrites.every(byChartAccount)).toBe(true);
      } finally {
        await operator.stop();
      }
    });

    it('uninstalls: every object it created goes, the CRD stays (Helm never deletes crds/)', async () => {
      const uninstall = runHelm(helm, ['uninstall', RELEASE, '--namespace', OPERATOR_NAMESPACE, '--wait']);
      expect(uninstall.stderr).toBe('');
      expect(uninstall.status).toBe(0);
      const gone = async (read: () => Promise<unknown>) => {
        try {
          await read();
          return false;
        } catch (err) {
          return (err as { code?: number }).code === 404;
        }
      };
      expect(await gone(() => apps.readNamespacedDeployment({ namespace: OPERATOR_NAMESPACE, name: 'configpush-operator' }))).toBe(true);
      expect(await gone(() => core.readNamespacedServiceAccount({ namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT }))).toBe(true);
      expect(await gone(() => rbac.readClusterRole({ name: 'configpush-operator' }))).toBe(true);
      await admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'configpushes.configpush.io' });
    });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  CHECK_SLOTS,
  CONSUMER_RESOURCES,
  EXEMPT_DELETERS,
  MAX_RESTARTS,
  MAX_SOURCES,
  MAX_TARGETS,
  NAMED_REQUIREMENTS,
  OPERATOR_FINALIZER,
  POLICY_NAME,
  renderAdmissionPolicy,
} from '../../hack/admission-policy.js';
import { FINALIZER } from '../../src/api/constants.js';
import { WORKLOAD_KINDS } from '../../src/api/types.js';
import { repoRoot } from '../support/paths.js';

// The policy's behaviour is proven on a real apiserver (test/e2e/authorization.test.ts);
// these checks keep the committed manifest and its generator from drifting apart.

const manifestPath = join(repoRoot, 'manifests/admission-policy.yaml');

interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    failurePolicy?: string;
    policyName?: string;
    validationActions?: string[];
    matchConstraints?: { resourceRules: { apiGroups: string[]; operations: string[]; resources: string[] }[] };
    matchConditions?: { name: string; expression: string }[];
    variables?: { name: string; expression: string }[];
    validations?: { expression: string; messageExpression?: string; reason?: string }[];
  };
}

function documents(text: string): Policy[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Policy);
}

describe('manifests/admission-policy.yaml', () => {
  it('is exactly what hack/admission-policy.ts renders (regenerate: node hack/admission-policy.ts > manifests/admission-policy.yaml)', () => {
    expect(readFileSync(manifestPath, 'utf8')).toBe(renderAdmissionPolicy());
  });

  it('holds a policy that fails closed and a binding that denies', () => {
    const [policy, binding, ...rest] = documents(readFileSync(manifestPath, 'utf8'));
    expect(rest).toEqual([]);
    expect(policy?.kind).toBe('ValidatingAdmissionPolicy');
    expect(policy?.spec.failurePolicy).toBe('Fail');
    expect(binding?.kind).toBe('ValidatingAdmissionPolicyBinding');
    expect(binding?.spec.policyName).toBe(POLICY_NAME);
    expect(binding?.spec.validationActions).toEqual(['Deny']);
  });

  it('matches CREATE, UPDATE and DELETE of configpushes, not their status, and skips updates that leave the spec alone', () => {
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    expect(policy?.spec.matchConstraints?.resourceRules).toEqual([
      { apiGroups: ['configpush.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['configpushes'] },
    ]);
    // The CREATE/UPDATE part is the condition as it was before DELETE was matched.
    expect(policy?.spec.matchConditions?.map((c) => c.expression)).toEqual([
      `request.operation == 'DELETE'
  ? has(oldObject.spec.deletionPolicy) && oldObject.spec.deletionPolicy == 'Delete'
    && has(oldObject.metadata.finalizers) && 'configpush.io/finalizer' in oldObject.metadata.finalizers
  : request.operation == 'CREATE' || object.spec != oldObject.spec`,
      "request.operation != 'DELETE' || !(request.userInfo.username in ['system:serviceaccount:kube-system:namespace-controller', 'system:serviceaccount:kube-system:generic-garbage-collector', 'system:kube-controller-manager'])",
    ]);
  });

  it('on DELETE of a deletionPolicy Delete push requires delete on each target (by name; cluster-wide for a selector) and nothing else', () => {
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    const variable = (name: string) => policy?.spec.variables?.find((v) => v.name === name)?.expression ?? '';
    // The finalizer the condition looks for is the operator's.
    expect(OPERATOR_FINALIZER).toBe(FINALIZER);
    // The cluster's own deleters: the namespace controller and the garbage collector (as service accounts or as the controller-manager).
    expect([...EXEMPT_DELETERS]).toEqual([
      'system:serviceaccount:kube-system:namespace-controller',
      'system:serviceaccount:kube-system:generic-garbage-collector',
      'system:kube-controller-manager',
    ]);
    // On DELETE object is null: the push is oldObject, and no variable reads object directly.
    expect(variable('deleting')).toBe("request.operation == 'DELETE'");
    expect(variable('push')).toBe('variables.deleting ? oldObject : object');
    for (const v of policy?.spec.variables ?? []) if (v.name !== 'push') expect(v.expression, v.name).not.toMatch(/(^|[^.\w])object\b/);
    // Only the target deletions: no update, create, get, restart, impersonation or source requirement.
    expect(variable('requirements').startsWith('variables.deleting ? variables.targetRequirements :\n')).toBe(true);
    const onDelete = variable('targetRequirements').split('\n')[0] ?? '';
    expect(onDelete).toBe(
      "variables.deleting ? variables.targets.map(t, {'k': '' + '/' + t.r + '/' + 'delete' + '/' + t.ns + '/' + t.name, 'g': '', 'r': t.r, 'v': 'delete', 'ns': t.ns, 'n': t.name, 'why': (t.sel != '' ? 'deleted-everywhere' : 'deleted'), 'at': ''}) :",
    );
    // The targets as the CREATE checks see them: ns '' (every namespace) for a selector target.
    expect(variable('targets')).toContain("'ns': has(t.namespaceSelector) ? '' : (has(t.namespace) ? string(t.namespace) : variables.ns)");
    // The deny message names the deletion policy.
    const messages = variable('messages');
    expect(messages).toContain("'whoever deletes a ConfigPush must be able to delete what it deletes (deletionPolicy Delete)'");
    expect(messages).toContain(
      "'whoever deletes a ConfigPush must be able to delete what it deletes (deletionPolicy Delete) (a target with a namespaceSelector: admission cannot know its namespaces, so it needs the right in every namespace)'",
    );
  });

  it('makes one authorizer check per slot (the apiserver allows two per expression) and names each requirement with a 403', () => {
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    const variables = policy?.spec.variables ?? [];
    const checking = variables.filter((v) => v.expression.includes('authorizer'));
    expect(checking.map((v) => v.name)).toEqual(Array.from({ length: CHECK_SLOTS }, (_, i) => `c${i + 1}`));
    for (const v of checking) expect(v.expression.match(/\.check\(/g)).toHaveLength(1);
    // 28 checks of 350,000 would already exceed the 10,000,000 budget; the rest of the evaluation needs room too.
    expect(CHECK_SLOTS * 350_000).toBeLessThanOrEqual(8_500_000);
    // The messages are built where there is no authorizer, from the requirement list alone.
    const messages = variables.find((v) => v.name === 'messages')?.expression ?? '';
    expect(messages).toContain('variables.requirements');
    expect(messages).not.toMatch(/authorizer|variables\.(w|c)\d|variables\.failed/);
    const validations = policy?.spec.validations ?? [];
    expect(validations).toHaveLength(NAMED_REQUIREMENTS + 2);
    for (const v of validations) {
      expect(v.reason).toBe('Forbidden');
      // A messageExpression is evaluated without an authorizer.
      expect(v.messageExpression).not.toContain('authorizer');
    }
    expect(validations.slice(0, NAMED_REQUIREMENTS).map((v) => v.expression)).toEqual(
      Array.from({ length: NAMED_REQUIREMENTS }, (_, i) => `size(variables.requirements) <= ${i} || variables.failed != variables.requirements[${i}].k`),
    );
  });

  it('uses no CEL that an apiserver older than 1.35 refuses in a new policy (two-variable comprehensions, the lists extension, ...)', () => {
    // An apiserver accepts a library in a new expression one release after it added it:
    // TwoVarComprehensions (1.32), ext.Lists (1.34: distinct, flatten, sort, range, ...), bindings are not in the
    // Kubernetes environment at all. The policy is meant to install on 1.30, where ValidatingAdmissionPolicy is v1.
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    const expressions = [
      ...(policy?.spec.variables ?? []).map((v) => v.expression),
      ...(policy?.spec.validations ?? []).flatMap((v) => [v.expression, v.messageExpression ?? '']),
      ...(policy?.spec.matchConditions ?? []).map((c) => c.expression),
    ];
    const newer = /\b(transformList|transformMap|transformMapEntry|existsOne|distinct|flatten|sortBy|sort|reverse|slice|lists\.range|cel\.bind|format|semver|isSemver|ip|cidr)\s*\(/;
    for (const expression of expressions) expect(expression).not.toMatch(newer);
    expect(expressions.join('\n')).toContain('.indexOf(');
  });

  it('indexes targets, restarts and sources up to the CRD\'s own maxItems', () => {
    const crd = parseAllDocuments(readFileSync(join(repoRoot, 'crds/configpush.io_configpushes.yaml'), 'utf8'))[0]?.toJS() as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, { maxItems?: number; properties?: Record<string, { maxItems?: number }> }> } } } } }[] };
    };
    const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties;
    expect(spec?.targets?.maxItems).toBe(MAX_TARGETS);
    expect(spec?.rollout?.properties?.restart?.maxItems).toBe(MAX_RESTARTS);
    expect(spec?.sources?.maxItems).toBe(MAX_SOURCES);
  });

  it('requires patch on every workload kind, namespace-wide in each restart namespace, for spec.rollout.restartConsumers', () => {
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    const variable = (name: string) => policy?.spec.variables?.find((v) => v.name === name)?.expression;
    // The field as the CRD spells it, guarded by has() (the object, variables.push, is untyped here), true only when set to true.
    expect(variable('restartConsumers')).toBe(
      'has(variables.push.spec.rollout) && has(variables.push.spec.rollout.restartConsumers) && variables.push.spec.rollout.restartConsumers == true',
    );
    const crd = parseAllDocuments(readFileSync(join(repoRoot, 'crds/configpush.io_configpushes.yaml'), 'utf8'))[0]?.toJS() as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: { rollout: { properties: Record<string, { type?: string }> } } } } } } }[] };
    };
    expect(crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties.rollout.properties.restartConsumers?.type).toBe('boolean');

    // The kinds the operator restarts in consumers mode (src/configpush/workload-restarter.ts lists WORKLOAD_KINDS), as resources.
    expect([...CONSUMER_RESOURCES]).toEqual(WORKLOAD_KINDS.map((k) => `${k.toLowerCase()}s`));
    const consumers = variable('consumerRequirements') ?? '';
    expect(consumers.startsWith('!variables.restartConsumers ? [] : ')).toBe(true);
    const lists = consumers.split('\n');
    expect(lists).toHaveLength(CONSUMER_RESOURCES.length);
    CONSUMER_RESOURCES.forEach((r, i) => {
      const list = lists[i] ?? '';
      // Every restart namespace ('' when a namespaceSelector fans out), any name, and the field in the deny message.
      expect(list).toContain('variables.restartNamespaces.map(rns, {');
      expect(list).toContain(`'k': 'apps' + '/' + '${r}' + '/' + 'patch' + '/' + rns + '/' + ''`);
      expect(list).toContain(`'g': 'apps', 'r': '${r}', 'v': 'patch', 'ns': rns, 'n': ''`);
      expect(list).toContain(`'why': (rns == '' ? 'restart-everywhere' : 'restart'), 'at': 'spec.rollout.restartConsumers'`);
    });
    // Among the requirements, after the targets and before the explicit restart list (widest first, and early enough to be named).
    // (On CREATE and UPDATE: the line after the DELETE branch.)
    expect(variable('requirements')).toMatch(/^variables\.targetRequirements \+ variables\.consumerRequirements \+ variables\.restartRequirements \+ /m);
    // restartNamespaces is where the explicit list patches too: the target namespaces, and '' for a selector.
    expect(variable('restartNamespaces')).toBe("variables.targetNamespaces + (variables.targets.exists(t, t.sel != '') ? [''] : [])");
  });

  it('is installed by manifests/kustomization.yaml', () => {
    const kustomization = parseAllDocuments(readFileSync(join(repoRoot, 'manifests/kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    expect(kustomization.resources).toContain('admission-policy.yaml');
  });
});

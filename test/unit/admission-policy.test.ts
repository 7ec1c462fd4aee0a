import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  CHECK_SLOTS,
  CONSUMER_RESOURCES,
  MAX_RESTARTS,
  MAX_SOURCES,
  MAX_TARGETS,
  NAMED_REQUIREMENTS,
  POLICY_NAME,
  renderAdmissionPolicy,
} from '../../hack/admission-policy.js';
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

  it('matches CREATE and UPDATE of configpushes, not their status, and skips updates that leave the spec alone', () => {
    const [policy] = documents(readFileSync(manifestPath, 'utf8'));
    expect(policy?.spec.matchConstraints?.resourceRules).toEqual([
      { apiGroups: ['configpush.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['configpushes'] },
    ]);
    expect(policy?.spec.matchConditions?.map((c) => c.expression)).toEqual(["request.operation == 'CREATE' || object.spec != oldObject.spec"]);
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
    // The field as the CRD spells it, guarded by has() (the object is untyped here), true only when set to true.
    expect(variable('restartConsumers')).toBe(
      'has(object.spec.rollout) && has(object.spec.rollout.restartConsumers) && object.spec.rollout.restartConsumers == true',
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
    expect(variable('requirements')).toMatch(/^variables\.targetRequirements \+ variables\.consumerRequirements \+ variables\.restartRequirements \+ /);
    // restartNamespaces is where the explicit list patches too: the target namespaces, and '' for a selector.
    expect(variable('restartNamespaces')).toBe("variables.targetNamespaces + (variables.targets.exists(t, t.sel != '') ? [''] : [])");
  });

  it('is installed by manifests/kustomization.yaml', () => {
    const kustomization = parseAllDocuments(readFileSync(join(repoRoot, 'manifests/kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    expect(kustomization.resources).toContain('admission-policy.yaml');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHECK_SLOTS, NAMED_REQUIREMENTS, POLICY_NAME, renderAdmissionPolicy } from '../../hack/admission-policy.js';
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
    const validations = policy?.spec.validations ?? [];
    expect(validations).toHaveLength(NAMED_REQUIREMENTS + 2);
    for (const v of validations) {
      expect(v.reason).toBe('Forbidden');
      // A messageExpression is evaluated without an authorizer.
      expect(v.messageExpression).not.toContain('authorizer');
    }
    expect(validations.slice(0, NAMED_REQUIREMENTS).map((v) => v.expression)).toEqual(
      Array.from({ length: NAMED_REQUIREMENTS }, (_, i) => `variables.failed != ${i}`),
    );
  });

  it('is installed by manifests/kustomization.yaml', () => {
    const kustomization = parseAllDocuments(readFileSync(join(repoRoot, 'manifests/kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    expect(kustomization.resources).toContain('admission-policy.yaml');
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FINALIZER, GROUP, PLURAL } from '../../src/api/constants.js';

// What the e2e test (test/e2e/finalizer-policy.test.ts) cannot see by behaviour alone:
// the policy names the operator's own finalizer and leaves the status subresource alone.
const root = join(import.meta.dirname, '../..');
const docs = parseAllDocuments(readFileSync(join(root, 'manifests/finalizer-policy.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
const policy = docs.find((d) => d.kind === 'MutatingAdmissionPolicy');
const binding = docs.find((d) => d.kind === 'MutatingAdmissionPolicyBinding');

describe('manifests/finalizer-policy.yaml', () => {
  it('is a policy and its binding, nothing else', () => {
    expect(docs.map((d) => d.kind)).toEqual(['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding']);
    expect(binding?.spec.policyName).toBe(policy?.metadata.name);
    // No matchResources: every namespace's pushes, as the operator watches every namespace.
    expect(binding?.spec.matchResources).toBeUndefined();
  });

  it('adds the operator\'s finalizer (src/api/constants.ts), and only where it is missing', () => {
    const conditions: string = policy?.spec.matchConditions.map((c: { expression: string }) => c.expression).join('\n');
    expect(conditions).toContain(`'${FINALIZER}' in object.metadata.finalizers`);
    expect(conditions).toContain('!has(object.metadata.deletionTimestamp)');
    expect(policy?.spec.mutations).toHaveLength(1);
    expect(policy?.spec.mutations[0].patchType).toBe('ApplyConfiguration');
    expect(policy?.spec.mutations[0].applyConfiguration.expression).toContain(`finalizers: ["${FINALIZER}"]`);
  });

  it('matches writes of pushes, not of their status, and never blocks one', () => {
    expect(policy?.spec.failurePolicy).toBe('Ignore');
    expect(policy?.spec.matchConstraints.resourceRules).toEqual([{ apiGroups: [GROUP], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: [PLURAL] }]);
  });
});

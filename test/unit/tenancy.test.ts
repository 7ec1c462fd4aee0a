import { describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION } from '../../src/api/constants.js';
import type { ResolvedSpec, ResolvedTarget } from '../../src/core/resolve-spec.js';
import { refusePush, refuseTarget } from '../../src/core/tenancy.js';

const PUSH_NS = 'team-a';

function spec(overrides: Partial<ResolvedSpec> = {}): ResolvedSpec {
  return {
    targets: [],
    content: { data: { key: 'value' }, binaryData: {}, labels: {}, annotations: {} },
    digest: 'sha256:test',
    suspend: false,
    adopt: false,
    deletionPolicy: 'Retain',
    driftPolicy: 'Correct',
    strategy: { pauseMs: 0, failurePolicy: 'Halt', progressDeadlineMs: 600_000 },
    restart: [],
    revisionHistoryLimit: 10,
    ...overrides,
  };
}

const target = (namespace: string, kind: ResolvedTarget['kind'] = 'ConfigMap', name = 'app-config'): ResolvedTarget => ({ kind, name, namespace });

const allowing = (value: string): Record<string, string> => ({ [ALLOWED_SOURCES_ANNOTATION]: value });

describe('refusePush', () => {
  it.each([
    { requireServiceAccount: false, serviceAccountName: undefined, refused: false },
    { requireServiceAccount: false, serviceAccountName: 'pusher', refused: false },
    { requireServiceAccount: true, serviceAccountName: 'pusher', refused: false },
    { requireServiceAccount: true, serviceAccountName: undefined, refused: true },
  ])(
    'requireServiceAccount=$requireServiceAccount, serviceAccountName=$serviceAccountName: refused=$refused',
    ({ requireServiceAccount, serviceAccountName, refused }) => {
      const resolved = spec(serviceAccountName ? { serviceAccountName } : {});
      const refusal = refusePush(resolved, { requireServiceAccount });
      if (refused) {
        expect(refusal).toEqual({ reason: 'ServiceAccountRequired', message: expect.stringContaining('spec.serviceAccountName') });
      } else {
        expect(refusal).toBeUndefined();
      }
    },
  );

  it('treats an empty serviceAccountName as missing when one is required', () => {
    expect(refusePush(spec({ serviceAccountName: '' }), { requireServiceAccount: true })?.reason).toBe('ServiceAccountRequired');
  });
});

describe('refuseTarget', () => {
  it('allows a target in the push’s own namespace, whatever that namespace’s annotations say', () => {
    expect(refuseTarget(PUSH_NS, target(PUSH_NS), spec(), {})).toBeUndefined();
    expect(refuseTarget(PUSH_NS, target(PUSH_NS), spec(), allowing('someone-else'))).toBeUndefined();
    // Its own namespace needs no look-up: an unknown namespace is no reason to refuse.
    expect(refuseTarget(PUSH_NS, target(PUSH_NS, 'Secret'), spec(), undefined)).toBeUndefined();
  });

  it.each([
    { case: 'a namespace without the annotation', annotations: {} as Record<string, string> | undefined },
    { case: 'a namespace allowing someone else', annotations: allowing('team-b') },
    { case: 'a namespace that does not exist', annotations: undefined },
  ])('lets a push with a serviceAccountName write into $case (RBAC decides)', ({ annotations }) => {
    expect(refuseTarget(PUSH_NS, target('elsewhere'), spec({ serviceAccountName: 'pusher' }), annotations)).toBeUndefined();
  });

  it('refuses a target in a namespace that does not exist (NamespaceNotFound), naming the target', () => {
    const refusal = refuseTarget(PUSH_NS, target('ghost', 'Secret', 'creds'), spec(), undefined);
    expect(refusal?.reason).toBe('NamespaceNotFound');
    expect(refusal?.message).toContain('Secret ghost/creds');
    expect(refusal?.message).toContain('namespace ghost does not exist');
  });

  it.each([
    { case: 'exactly the source namespace', value: PUSH_NS },
    { case: 'the source namespace padded with spaces', value: `  ${PUSH_NS}  ` },
    { case: 'several entries, the source among them', value: `team-x,${PUSH_NS},team-y` },
    { case: 'several entries with spaces after the commas', value: `team-x, ${PUSH_NS} , team-y` },
    { case: 'a trailing comma', value: `${PUSH_NS},` },
    { case: 'the wildcard', value: '*' },
    { case: 'the wildcard among other entries', value: 'team-x, *' },
  ])('allows a cross-namespace target when the annotation lists $case', ({ value }) => {
    expect(refuseTarget(PUSH_NS, target('shared'), spec(), allowing(value))).toBeUndefined();
  });

  it.each([
    { case: 'no annotation at all', annotations: {} as Record<string, string> },
    { case: 'unrelated annotations only', annotations: { 'example.com/owner': PUSH_NS } },
    { case: 'an empty annotation', annotations: allowing('') },
    { case: 'only commas and spaces', annotations: allowing(' , ,') },
    { case: 'a different namespace', annotations: allowing('team-b') },
    { case: 'several other namespaces', annotations: allowing('team-b, team-c') },
    { case: 'a namespace that merely contains the source name', annotations: allowing(`${PUSH_NS}-staging,x-${PUSH_NS}`) },
    { case: 'the source name in another case', annotations: allowing(PUSH_NS.toUpperCase()) },
    { case: 'a glob that is not the bare wildcard', annotations: allowing('team-*') },
  ])('refuses a cross-namespace target when the namespace has $case (CrossNamespaceNotAllowed)', ({ annotations }) => {
    const refusal = refuseTarget(PUSH_NS, target('shared', 'ConfigMap', 'app-config'), spec(), annotations);
    expect(refusal?.reason).toBe('CrossNamespaceNotAllowed');
    expect(refusal?.message).toContain('ConfigMap shared/app-config');
    expect(refusal?.message).toContain(`does not accept ConfigPushes from ${PUSH_NS}`);
    // The message says exactly what to set to allow it, or the alternative.
    expect(refusal?.message).toContain(`${ALLOWED_SOURCES_ANNOTATION}=${PUSH_NS}`);
    expect(refusal?.message).toContain('spec.serviceAccountName');
  });

  it('decides per target: one push may have allowed and refused targets', () => {
    const resolved = spec();
    const decisions = [
      refuseTarget(PUSH_NS, target(PUSH_NS), resolved, {}),
      refuseTarget(PUSH_NS, target('open'), resolved, allowing('*')),
      refuseTarget(PUSH_NS, target('closed'), resolved, {}),
      refuseTarget(PUSH_NS, target('missing'), resolved, undefined),
    ].map((refusal) => refusal?.reason);
    expect(decisions).toEqual([undefined, undefined, 'CrossNamespaceNotAllowed', 'NamespaceNotFound']);
  });
});

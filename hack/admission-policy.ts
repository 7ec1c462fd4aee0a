// Renders manifests/admission-policy.yaml, the ValidatingAdmissionPolicy that
// keeps the operator from being a confused deputy (docs/authorization.md):
//
//   node hack/admission-policy.ts > manifests/admission-policy.yaml
//
// test/unit/admission-policy.test.ts fails when the committed file differs
// from this output, so edit this file, never the YAML.
//
// Why a generator: the apiserver charges every authorizer check 350,000 of
// CEL cost, and allows 1,000,000 per expression and 10,000,000 per policy
// evaluation. So one expression can make at most two checks and a whole
// admission at most 28: a loop over the targets that checks each one fails at
// runtime after the second. The policy therefore unrolls: a chain of check
// slots (one check each) works through a list of requirements, and one
// validation per requirement position lets the deny message name the missing
// right (a messageExpression gets no authorizer: it can only rebuild the
// requirement list and describe the entry whose validation failed). Both are
// long runs of near-identical YAML, which is what this file writes.
//
// The CEL uses only what Kubernetes 1.30 (ValidatingAdmissionPolicy v1)
// offers: no two-variable comprehensions (1.32) and no lists extension
// (distinct, flatten: 1.34), which an apiserver accepts in a new policy only
// a release after it added them. Lists are indexed by literal ranges instead.

/** Authorizer checks one admission may make (each costs 350,000 of the 10,000,000 budget). */
export const CHECK_SLOTS = 24;
/** Requirements whose denial the message names exactly; a later one gets a generic message. */
export const NAMED_REQUIREMENTS = 128;
/** The CRD's maxItems for spec.targets and spec.rollout.restart: the literal index ranges cover them. */
export const MAX_TARGETS = 128;
export const MAX_RESTARTS = 16;
/** The CRD's maxItems for spec.sources. */
export const MAX_SOURCES = 20;

export const POLICY_NAME = 'configpush-author-rights';

/**
 * Who deletes ConfigPushes on behalf of the cluster, not of a user: the
 * namespace controller empties a deleted namespace (a DELETE per object, as
 * itself) and the garbage collector deletes the dependents of a deleted
 * owner. They are never refused here: refusing them would leave a namespace
 * Terminating for good, which is worse than the effect the check prevents,
 * and deleting the namespace (or the owner) was authorized for whoever asked.
 * system:kube-controller-manager is the identity both have when the
 * controller-manager runs without --use-service-account-credentials.
 */
export const EXEMPT_DELETERS = [
  'system:serviceaccount:kube-system:namespace-controller',
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:kube-controller-manager',
] as const;

/** The operator's finalizer (src/api/constants.ts FINALIZER): without it a deletion applies no deletionPolicy. */
export const OPERATOR_FINALIZER = 'configpush.io/finalizer';

/**
 * The match conditions (all must hold). A CREATE, an UPDATE that changes the
 * spec, and a DELETE that makes the operator delete targets: of a push with
 * deletionPolicy Delete that still carries the operator's finalizer (without
 * it the push just goes), by anyone but the cluster's own deleters. A
 * Retain push's DELETE is not matched: its finalizer only strips the
 * operator's own markers from targets (docs/authorization.md). Each
 * condition reads object only where it is not null (it is on DELETE).
 */
export const MATCH_CONDITIONS: [name: string, expression: string][] = [
  [
    'spec-written-or-delete-policy-applied',
    `request.operation == 'DELETE'
  ? has(oldObject.spec.deletionPolicy) && oldObject.spec.deletionPolicy == 'Delete'
    && has(oldObject.metadata.finalizers) && '${OPERATOR_FINALIZER}' in oldObject.metadata.finalizers
  : request.operation == 'CREATE' || object.spec != oldObject.spec`,
  ],
  [
    'not-a-cluster-deleter',
    `request.operation != 'DELETE' || !(request.userInfo.username in [${EXEMPT_DELETERS.map((u) => `'${u}'`).join(', ')}])`,
  ],
];

/** [0, 1, ..., n-1] as a CEL list literal. */
function range(n: number): string {
  return `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;
}

/**
 * A requirement: the author must be allowed verb v on resource r of API
 * group g, in namespace ns ('' = every namespace) and on name n ('' = any
 * name); k is all five as one key. why is a short code for the reason (see
 * REASONS) and at the spec field that needs it, when the code needs one:
 * a push can have thousands of requirements, and only a failing one is ever
 * put into words.
 */
function requirement(fields: { g: string; r: string; v: string; ns: string; n: string; why: string; at?: string }): string {
  const { g, r, v, ns, n, why, at = `''` } = fields;
  return `{'k': ${g} + '/' + ${r} + '/' + ${v} + '/' + ${ns} + '/' + ${n}, 'g': ${g}, 'r': ${r}, 'v': ${v}, 'ns': ${ns}, 'n': ${n}, 'why': ${why}, 'at': ${at}}`;
}

const WRITE = 'a ConfigPush may only write what its author could write';
const DELETE = 'a ConfigPush may only delete what its author could delete';
const DELETED = 'whoever deletes a ConfigPush must be able to delete what it deletes (deletionPolicy Delete)';
const SELECTOR_NOTE = ' (a target with a namespaceSelector: admission cannot know its namespaces, so it needs the right in every namespace)';

/** Each reason code, and its words around the requirement's spec field (at). */
const REASONS: Record<string, [before: string, after?: string]> = {
  write: [WRITE],
  'write-everywhere': [WRITE + SELECTOR_NOTE],
  delete: [`${DELETE} (deletionPolicy Delete)`],
  'delete-everywhere': [`${DELETE} (deletionPolicy Delete)${SELECTOR_NOTE}`],
  restart: ['a ConfigPush may only restart what its author could restart (', ')'],
  'restart-everywhere': ['a ConfigPush may only restart what its author could restart (', ', in every namespace because a target has a namespaceSelector)'],
  impersonate: ['a ConfigPush may only act as a ServiceAccount its author may impersonate (spec.serviceAccountName)'],
  read: ['a ConfigPush may only read what its author could read (', ')'],
  release: [`${WRITE} (spec.targets no longer names it, and deletionPolicy Retain releases it)`],
  'delete-removed': [`${DELETE} (spec.targets no longer names it, and deletionPolicy Delete deletes it)`],
  deleted: [DELETED],
  'deleted-everywhere': [DELETED + SELECTOR_NOTE],
};

/** The words for requirement q's reason code, as CEL. */
function reasonText(q: string): string {
  const quote = (text: string) => `'${text.replace(/'/g, "\\'")}'`;
  return Object.entries(REASONS).reduceRight(
    (otherwise, [code, [before, after]]) =>
      `(${q}.why == '${code}' ? ${after === undefined ? quote(before) : `${quote(before)} + ${q}.at + ${quote(after)}`} : ${otherwise})`,
    `${q}.why`,
  );
}

/** The requirements of each target for one named verb. */
function targetRequirements(verb: 'update' | 'get' | 'delete', deleted?: 'deleted'): string {
  const code = deleted ? 'deleted' : verb === 'delete' ? 'delete' : 'write';
  return `variables.targets.map(t, ${requirement({ g: `''`, r: 't.r', v: `'${verb}'`, ns: 't.ns', n: 't.name', why: `(t.sel != '' ? '${code}-everywhere' : '${code}')` })})`;
}

/** Restart entry j in every restart namespace (unrolled: without the lists extension there is no flatten). */
function restartRequirements(j: number): string {
  const e = `variables.restarts[${j}]`;
  return `(size(variables.restarts) <= ${j} ? [] : variables.restartNamespaces.map(rns, ${requirement({
    g: `'apps'`,
    r: `${e}.r`,
    v: `'patch'`,
    ns: `rns`,
    n: `${e}.name`,
    why: `(rns == '' ? 'restart-everywhere' : 'restart')`,
    at: `'spec.rollout.restart[${j}]'`,
  })}))`;
}

/** The workload kinds spec.rollout.restartConsumers may restart (src/core/consumers.ts lists these three). */
export const CONSUMER_RESOURCES = ['deployments', 'statefulsets', 'daemonsets'] as const;

/**
 * spec.rollout.restartConsumers: patch on each workload kind in every restart
 * namespace, namespace-wide (n ''), since which workloads read a target is
 * decided by the operator later, from pod templates admission never sees.
 * One list per kind (no flatten in 1.30 CEL). A name-less requirement that a
 * namespace-wide check denies fails at once: no by-name check is wasted.
 */
function consumerRequirements(): string {
  return `!variables.restartConsumers ? [] : ${CONSUMER_RESOURCES.map(
    (r) =>
      `variables.restartNamespaces.map(rns, ${requirement({
        g: `'apps'`,
        r: `'${r}'`,
        v: `'patch'`,
        ns: `rns`,
        n: `''`,
        why: `(rns == '' ? 'restart-everywhere' : 'restart')`,
        at: `'spec.rollout.restartConsumers'`,
      })})`,
  ).join('\n  + ')}`;
}

/** The requirement list: each entry one right the author must hold, and why. */
const REQUIREMENT_VARIABLES: [name: string, expression: string][] = [
  ['user', `string(request.userInfo.username)`],
  // The ConfigPush the request is about: on DELETE object is null and
  // oldObject is the push being deleted. Every variable reads the push
  // through this one, so each copes with all three operations.
  ['deleting', `request.operation == 'DELETE'`],
  ['push', `variables.deleting ? oldObject : object`],
  ['ns', `string(variables.push.metadata.namespace)`],
  ['deletes', `has(variables.push.spec.deletionPolicy) && variables.push.spec.deletionPolicy == 'Delete'`],
  // The targets as plain CEL values, read from the object once: every field
  // access on the object itself converts it again, which made a push with
  // many targets take a second to admit. ns is '' for a selector (sel 'yes').
  [
    'targets',
    `variables.push.spec.targets.map(t, {
  'kind': string(t.kind),
  'r': t.kind == 'Secret' ? 'secrets' : 'configmaps',
  'ns': has(t.namespaceSelector) ? '' : (has(t.namespace) ? string(t.namespace) : variables.ns),
  'name': string(t.name),
  'sel': has(t.namespaceSelector) ? 'yes' : ''})`,
  ],
  [
    'restarts',
    `!has(variables.push.spec.rollout) || !has(variables.push.spec.rollout.restart) ? [] : variables.push.spec.rollout.restart.map(e, {
  'r': e.kind == 'Deployment' ? 'deployments' : (e.kind == 'StatefulSet' ? 'statefulsets' : 'daemonsets'),
  'name': has(e.name) ? string(e.name) : ''})`,
  ],
  // spec.rollout.restartConsumers: true (a newer field; guarded like sources,
  // so the policy also installs against a CRD without it).
  [
    'restartConsumers',
    `has(variables.push.spec.rollout) && has(variables.push.spec.rollout.restartConsumers) && variables.push.spec.rollout.restartConsumers == true`,
  ],
  // The namespace of each explicit target, duplicates included.
  ['namespaceOfEachTarget', `variables.targets.filter(t, t.sel == '').map(t, t.ns)`],
  // The same without duplicates (the first of each).
  [
    'targetNamespaces',
    `${range(MAX_TARGETS)}.filter(i, i < size(variables.namespaceOfEachTarget)
  && variables.namespaceOfEachTarget.indexOf(variables.namespaceOfEachTarget[i]) == i).map(i, variables.namespaceOfEachTarget[i])`,
  ],
  // Where spec.rollout.restart and restartConsumers patch workloads: every target namespace,
  // and every namespace at all ('') when a selector fans out.
  ['restartNamespaces', `variables.targetNamespaces + (variables.targets.exists(t, t.sel != '') ? [''] : [])`],
  // create is checked namespace-wide (a create has no name RBAC could scope),
  // so once per resource and namespace: the first target of each.
  ['createKeys', `variables.targets.map(t, t.r + '/' + t.ns)`],
  [
    'createRequirements',
    `${range(MAX_TARGETS)}.filter(i, i < size(variables.createKeys) && variables.createKeys.indexOf(variables.createKeys[i]) == i)
  .map(i, ${requirement({
    g: `''`,
    r: 'variables.targets[i].r',
    v: `'create'`,
    ns: 'variables.targets[i].ns',
    n: `''`,
    why: `(variables.targets[i].sel != '' ? 'write-everywhere' : 'write')`,
  })})`,
  ],
  // Per target: update (the write, and adoption), create, get, and delete
  // under deletionPolicy Delete. A namespaceSelector target needs them in
  // every namespace. Updates first: that is the write a refused author most
  // often lacks, and the first failure is the one named.
  // On DELETE (matched only for a deletionPolicy Delete push, see
  // DELETE_MATCH) the operator's finalizer deletes each target it still owns:
  // whoever deletes the push needs delete on each, and nothing else.
  [
    'targetRequirements',
    `variables.deleting ? ${targetRequirements('delete', 'deleted')} :
${targetRequirements('update')}
+ variables.createRequirements
+ ${targetRequirements('get')}
+ (variables.deletes ? ${targetRequirements('delete')} : [])`,
  ],
  // Before the explicit list: its namespace-wide checks are the widest of the
  // restart requirements, a grant covers every named entry of the same kind
  // there, and a denial fails at once; and with 3 per namespace against up to
  // 16, they stay among the requirements the deny message names.
  ['consumerRequirements', consumerRequirements()],
  [
    'restartRequirements',
    `${Array.from({ length: MAX_RESTARTS }, (_, j) => restartRequirements(j)).join('\n+ ')}`,
  ],
  [
    'serviceAccountRequirements',
    `!has(variables.push.spec.serviceAccountName) ? [] : [${requirement({
      g: `''`,
      r: `'serviceaccounts'`,
      v: `'impersonate'`,
      ns: `variables.ns`,
      n: `string(variables.push.spec.serviceAccountName)`,
      why: `'impersonate'`,
    })}]`,
  ],
  // spec.sources: content read from existing Secrets and ConfigMaps. object
  // is untyped in an admission policy, so this compiles against a CRD that
  // lacks the field, and is empty there.
  [
    'sourceRequirements',
    `!has(variables.push.spec.sources) ? [] : ${range(MAX_SOURCES)}.filter(k, k < size(variables.push.spec.sources)).map(k, ${requirement({
      g: `''`,
      r: `(has(variables.push.spec.sources[k].secretRef) ? 'secrets' : 'configmaps')`,
      v: `'get'`,
      ns: `(has(variables.push.spec.sources[k].secretRef)
    ? (has(variables.push.spec.sources[k].secretRef.namespace) ? string(variables.push.spec.sources[k].secretRef.namespace) : variables.ns)
    : (has(variables.push.spec.sources[k].configMapRef.namespace) ? string(variables.push.spec.sources[k].configMapRef.namespace) : variables.ns))`,
      n: `(has(variables.push.spec.sources[k].secretRef) ? string(variables.push.spec.sources[k].secretRef.name) : string(variables.push.spec.sources[k].configMapRef.name))`,
      why: `'read'`,
      at: `'spec.sources[' + string(k) + ']'`,
    })})`,
  ],
  // kind/namespace/name of each target ('*' for a selector's namespaces).
  ['targetKeys', `variables.targets.map(t, t.kind + '/' + (t.sel != '' ? '*' : t.ns) + '/' + t.name)`],
  // An update that drops a target makes the operator apply the (new)
  // deletionPolicy to it: release it (an update) or delete it.
  [
    'removedRequirements',
    `request.operation != 'UPDATE' ? [] :
oldObject.spec.targets.filter(o, !((o.kind + '/' + (has(o.namespaceSelector) ? '*' : (has(o.namespace) ? string(o.namespace) : variables.ns)) + '/' + string(o.name))
    in variables.targetKeys))
  .map(o, ${requirement({
    g: `''`,
    r: `(o.kind == 'Secret' ? 'secrets' : 'configmaps')`,
    v: `(variables.deletes ? 'delete' : 'update')`,
    ns: `(has(o.namespaceSelector) ? '' : (has(o.namespace) ? string(o.namespace) : variables.ns))`,
    n: `string(o.name)`,
    why: `(variables.deletes ? 'delete-removed' : 'release')`,
  })})`,
  ],
  [
    'requirements',
    `variables.deleting ? variables.targetRequirements :
variables.targetRequirements + variables.consumerRequirements + variables.restartRequirements + variables.serviceAccountRequirements
+ variables.sourceRequirements + variables.removedRequirements`,
  ],
];

/**
 * The check chain. w0 is the requirement list, each entry tagged with the
 * level to check it at next (l): kc (cluster-wide: no namespace, no name), kn
 * (namespace-wide), kx (exactly its namespace and name), or fail. Slot s
 * makes one check, for the head of w(s-1) at its level. Allowed: every entry
 * that grant covers is dropped (RBAC grants a name whenever it grants its
 * whole namespace, and a namespace whenever it grants the whole cluster).
 * Denied: the entries of that same check move to the next narrower level, or
 * to fail when none is left (a create has no name, a cluster-wide entry no
 * namespace). The head stays first until it is dropped or fails, so the first
 * failing requirement is the one reported.
 *
 * Where entries start: when the targets span three or more namespaces, at kc,
 * so that an author with cluster-wide rights costs one check per verb and
 * resource however many namespaces there are; otherwise at kn, so that a
 * tenant pays nothing for a cluster-wide check that would fail (a denied kn
 * implies a denied kc). Exact names are checked only where nothing wider is
 * granted, which keeps resourceNames-scoped RBAC working.
 */
function checkChainVariables(): [string, string][] {
  const out: [string, string][] = [
    ['wide', `size(variables.targetNamespaces) >= 3`],
    [
      'w0',
      `variables.requirements.map(q, {'k': q.k, 'g': q.g, 'r': q.r, 'v': q.v, 'ns': q.ns, 'n': q.n,
  'l': q.ns == '' || variables.wide ? 'kc' : 'kn'})`,
    ],
  ];
  for (let s = 1; s <= CHECK_SLOTS; s++) {
    const p = `variables.w${s - 1}`;
    const h = `${p}[0]`;
    // q is covered by the head's check: same verb and resource, and inside its namespace and name where the check has them.
    const covered = `q.g == ${h}.g && q.r == ${h}.r && q.v == ${h}.v && (${h}.l == 'kc' || q.ns == ${h}.ns && (${h}.l == 'kn' || q.n == ${h}.n))`;
    out.push([
      `c${s}`,
      `size(${p}) > 0 && ${h}.l != 'fail' &&
authorizer.group(${h}.g).resource(${h}.r)
  .namespace(${h}.l == 'kc' ? '' : ${h}.ns)
  .name(${h}.l == 'kx' ? ${h}.n : '')
  .check(${h}.v).allowed()`,
    ]);
    out.push([
      `w${s}`,
      `size(${p}) == 0 || ${h}.l == 'fail' ? ${p} :
variables.c${s}
  ? ${p}.filter(q, !(${covered}))
  : ${p}.map(q, !(q.l == ${h}.l && ${covered}) ? q : {'k': q.k, 'g': q.g, 'r': q.r, 'v': q.v, 'ns': q.ns, 'n': q.n,
      'l': q.l == 'kc' && q.ns != '' ? 'kn' : (q.l != 'kx' && q.n != '' ? 'kx' : 'fail')})`,
    ]);
  }
  const last = `variables.w${CHECK_SLOTS}`;
  // '' when every requirement holds, 'unproven' when the slots ran out first, else the key of the requirement that fails.
  out.push(['failed', `size(${last}) == 0 ? '' : (${last}[0].l == 'fail' ? ${last}[0].k : 'unproven')`]);
  out.push(messagesVariable());
  return out;
}

interface Validation {
  expression: string;
  messageExpression: string;
}

/**
 * The deny messages of the first NAMED_REQUIREMENTS requirements. A
 * messageExpression has no authorizer (the apiserver evaluates it apart,
 * without one), so it cannot see which check failed; it knows only that its
 * own validation failed, and describes requirement i, which needs no check.
 * Of several requirements with the failing key, the first one's validation
 * fails first, and its message is the one returned.
 */
function messagesVariable(): [string, string] {
  const q = 'variables.requirements[i]';
  return [
    'messages',
    `${range(NAMED_REQUIREMENTS)}.filter(i, i < size(variables.requirements)).map(i,
  variables.user + ' may not ' + ${q}.v + ' ' + (${q}.g == '' ? ${q}.r : ${q}.r + '.' + ${q}.g) + ' '
  + (${q}.ns == '' ? (${q}.n == '' ? 'in every namespace' : 'named ' + ${q}.n + ' in every namespace')
    : (${q}.n == '' ? 'in namespace ' + ${q}.ns : ${q}.ns + '/' + ${q}.n))
  + ': ' + ${reasonText(q)})`,
  ];
}

function validations(): Validation[] {
  const out: Validation[] = [];
  for (let i = 0; i < NAMED_REQUIREMENTS; i++) {
    out.push({
      expression: `size(variables.requirements) <= ${i} || variables.failed != variables.requirements[${i}].k`,
      messageExpression: `size(variables.messages) > ${i} ? variables.messages[${i}] : ''`,
    });
  }
  out.push({
    expression: `variables.failed == '' || variables.failed == 'unproven'
|| ${range(NAMED_REQUIREMENTS)}.exists(i, i < size(variables.requirements) && variables.requirements[i].k == variables.failed)`,
    messageExpression:
      `variables.user + ' lacks a right this ConfigPush needs (one of its ' + string(size(variables.requirements))` +
      ` + ' required rights past the first ${NAMED_REQUIREMENTS}, which this policy names one by one): a ConfigPush may only` +
      ` cause what its author could cause; see kubectl auth can-i and docs/authorization.md'`,
  });
  out.push({
    expression: `variables.failed != 'unproven'`,
    messageExpression:
      `variables.user + ' may hold every right this ConfigPush needs, but proving it takes more than ${CHECK_SLOTS}` +
      ` authorization checks (one per verb and resource in each namespace, and one per name, wherever nothing wider` +
      ` is granted): grant them cluster-wide or namespace-wide, or split the ConfigPush (docs/authorization.md)'`,
  });
  return out;
}

/** A YAML literal block scalar holding `text`, for a key indented by `indent` spaces. */
function block(text: string, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  return `|-\n${text
    .split('\n')
    .map((line) => pad + line)
    .join('\n')}`;
}

export function renderAdmissionPolicy(): string {
  const variables = [...REQUIREMENT_VARIABLES, ...checkChainVariables()]
    .map(([name, expression]) => `    - name: ${name}\n      expression: ${block(expression, 6)}`)
    .join('\n');
  const checks = validations()
    .map((v) => `    - expression: ${block(v.expression, 6)}\n      messageExpression: ${block(v.messageExpression, 6)}\n      reason: Forbidden`)
    .join('\n');
  return `# GENERATED by hack/admission-policy.ts: edit that file, then run
#   node hack/admission-policy.ts > manifests/admission-policy.yaml
#
# A ConfigPush may only cause what its author could cause directly
# (docs/authorization.md). The operator holds broad RBAC; without this policy
# anyone who may create a ConfigPush could have it write, adopt, delete or
# restart objects they may not touch themselves. On every CREATE of a
# ConfigPush, and every UPDATE that changes its spec, the apiserver asks its
# authorizer, as the requesting user, for each right the push needs:
#   targets                        update, create (namespace-wide), get; delete with deletionPolicy Delete
#   namespaceSelector targets      the same, and any restart, in every namespace (cluster-wide)
#   targets an update drops        update (Retain releases them) or delete (Delete)
#   spec.rollout.restart           patch on that kind in every target namespace (by name if named)
#   spec.rollout.restartConsumers  patch on deployments, statefulsets and daemonsets in every
#                                  target namespace (namespace-wide)
#   spec.serviceAccountName        impersonate that ServiceAccount
#   spec.sources                   get on each source
# On DELETE of a push with deletionPolicy Delete (and the operator's
# finalizer), whoever deletes it needs delete on each target, as above; the
# namespace controller and garbage collector are exempt (namespace deletion
# must never be blocked). Deleting a Retain push is not checked.
# Updates that leave the spec alone (the operator's finalizer, labels) and the
# status subresource are not checked. Pushes created before this policy are
# not re-checked (admission runs on writes only).
# failurePolicy Fail: if the policy cannot be evaluated, the write is refused.
# Needs Kubernetes 1.30 or later.
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: ${POLICY_NAME}
  labels:
    app.kubernetes.io/name: configpush-operator
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      # "configpushes" alone does not match configpushes/status.
      - apiGroups: ["configpush.io"]
        apiVersions: ["*"]
        operations: ["CREATE", "UPDATE", "DELETE"]
        resources: ["configpushes"]
  matchConditions:
${MATCH_CONDITIONS.map(([name, expression]) => `    - name: ${name}\n      expression: ${block(expression, 6)}`).join('\n')}
  variables:
${variables}
  validations:
${checks}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ${POLICY_NAME}
  labels:
    app.kubernetes.io/name: configpush-operator
spec:
  policyName: ${POLICY_NAME}
  validationActions: ["Deny"]
`;
}

if (import.meta.main) process.stdout.write(renderAdmissionPolicy());

import type { AuditEvent } from '../support/audit.js';

/**
 * The double-apply detector. The apiserver's audit log (Metadata level, one
 * line per completed write) is the ledger: it records every write that
 * happened, including those whose response the client never got.
 *
 * A target is a ConfigMap or Secret (main resource, not a subresource). An
 * operator write is a successful (2xx) create/update/patch/delete whose
 * User-Agent starts with "configpush-operator". Refused writes (409
 * AlreadyExists or a stale resourceVersion, 404, 422: any 4xx) change nothing
 * and are not counted; they are the operator's conditional writes doing their
 * job. A 5xx answer is different: its outcome is unknown. When the client's
 * connection goes away mid-request (a kill -9), the apiserver answers 504 at
 * once while the storage write goes on and may commit. Those are kept apart
 * (`unknownOutcomeOperatorWrites`); where the operator is the targets' only
 * creator, CountOptions.existing counts them without guessing.
 *
 * Each target may be written once per operation. A scenario says how many
 * operations a target legitimately had (`allowed`): 1 for a push created
 * once and never changed; the number of distinct contents the spec went
 * through; plus, under driftPolicy Correct, one per third-party write that
 * changed it. More successful operator writes than that is a double apply.
 */
export const OPERATOR_USER_AGENT = 'configpush-operator';
const TARGET_RESOURCES = new Set(['configmaps', 'secrets']);
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface TargetRef {
  resource: 'configmaps' | 'secrets';
  namespace: string;
  name: string;
}

export function targetId(ref: TargetRef): string {
  return `${ref.resource}/${ref.namespace}/${ref.name}`;
}

export function isSuccess(event: AuditEvent): boolean {
  const code = event.responseStatus?.code ?? 0;
  return code >= 200 && code < 300;
}

/**
 * 500 or 504 (or no code): the apiserver may or may not have committed the
 * write. 504 is what a client that went away mid-request leaves behind
 * (finisher.go answers "request did not complete within requested timeout -
 * context canceled" while the storage write runs on); 500 can be etcd timing
 * out on a write it then commits. 503 and 429 are refusals before storage.
 */
export function isUnknownOutcome(event: AuditEvent): boolean {
  const code = event.responseStatus?.code ?? 0;
  return code === 500 || code === 504 || code === 0;
}

export function isOperator(event: AuditEvent): boolean {
  return (event.userAgent ?? '').startsWith(OPERATOR_USER_AGENT);
}

/**
 * A revision's payload Secret (`<push>-<10 hex of the content digest>`,
 * docs/revisions.md): the operator's bookkeeping, not a target. The
 * Metadata-level audit log does not carry the Secret's type or labels, so it
 * is told by its name; no scenario names a target like that. The scenarios
 * that make revisions check these creates themselves (rollback.test.ts: one
 * per push; the soak: each once).
 */
const REVISION_PAYLOAD_NAME = /-[0-9a-f]{10}$/;

/** The ConfigMap or Secret in `namespaces` a completed write is to, revision payloads included. */
function writtenObjectOf(event: AuditEvent, namespaces: ReadonlySet<string>): TargetRef | undefined {
  const ref = event.objectRef;
  if (!ref?.resource || !TARGET_RESOURCES.has(ref.resource)) return undefined;
  if ((ref.subresource ?? '') !== '' || !ref.namespace || !ref.name) return undefined;
  if (!namespaces.has(ref.namespace)) return undefined;
  if (!WRITE_VERBS.has(event.verb) || event.stage !== 'ResponseComplete') return undefined;
  return { resource: ref.resource as TargetRef['resource'], namespace: ref.namespace, name: ref.name };
}

function isRevisionPayload(ref: TargetRef): boolean {
  return ref.resource === 'secrets' && REVISION_PAYLOAD_NAME.test(ref.name);
}

function targetOf(event: AuditEvent, namespaces: ReadonlySet<string>): TargetRef | undefined {
  const ref = writtenObjectOf(event, namespaces);
  return ref && !isRevisionPayload(ref) ? ref : undefined;
}

export interface TargetLedger {
  target: TargetRef;
  /** Successful operator writes, in order. */
  operatorWrites: AuditEvent[];
  /** Operator writes the apiserver refused (409, 404, 422, ...): not applied. */
  refusedOperatorWrites: AuditEvent[];
  /** Operator writes answered 500/504 (504 when the operator died mid-request): applied or not. */
  unknownOutcomeOperatorWrites: AuditEvent[];
  /** Every operator write, whatever its answer, in the audit log's order. */
  operatorAttempts: AuditEvent[];
  /** Successful writes by anyone else (the test, a third party). */
  otherWrites: AuditEvent[];
}

/** Groups the target writes in `namespaces` by target. */
export function ledgerByTarget(events: readonly AuditEvent[], namespaces: Iterable<string>): Map<string, TargetLedger> {
  return ledgerBy(events, new Set(namespaces), targetOf);
}

/** Groups the writes of revision payload Secrets in `namespaces` by Secret (the ledger above leaves them out). */
export function ledgerByRevisionPayload(events: readonly AuditEvent[], namespaces: Iterable<string>): Map<string, TargetLedger> {
  return ledgerBy(events, new Set(namespaces), (event, scope) => {
    const ref = writtenObjectOf(event, scope);
    return ref && isRevisionPayload(ref) ? ref : undefined;
  });
}

function ledgerBy(
  events: readonly AuditEvent[],
  scope: ReadonlySet<string>,
  objectOf: (event: AuditEvent, scope: ReadonlySet<string>) => TargetRef | undefined,
): Map<string, TargetLedger> {
  const ledgers = new Map<string, TargetLedger>();
  for (const event of events) {
    const target = objectOf(event, scope);
    if (!target) continue;
    const id = targetId(target);
    let ledger = ledgers.get(id);
    if (!ledger) {
      ledger = { target, operatorWrites: [], refusedOperatorWrites: [], unknownOutcomeOperatorWrites: [], operatorAttempts: [], otherWrites: [] };
      ledgers.set(id, ledger);
    }
    if (!isOperator(event)) {
      if (isSuccess(event)) ledger.otherWrites.push(event);
      continue;
    }
    ledger.operatorAttempts.push(event);
    if (isSuccess(event)) ledger.operatorWrites.push(event);
    else if (isUnknownOutcome(event)) ledger.unknownOutcomeOperatorWrites.push(event);
    else ledger.refusedOperatorWrites.push(event);
  }
  return ledgers;
}

export interface DoubleApply {
  target: string;
  allowed: number;
  writes: number;
  /** The operator's writes to it: verb, code, time, user agent. */
  evidence: string[];
}

export interface CountOptions {
  /**
   * The targets that exist now, for a scenario where the operator is their
   * only creator and nothing deletes them. Then each one's create is counted
   * once from its existence, whatever the audit log says of it: a create
   * answered 504 may have committed, and the 2xx create is then missing. Every
   * other operator write answered 2xx, or with an unknown outcome, counts too
   * (so a rewrite after a create that was cut short is not missed).
   */
  existing?: ReadonlySet<string>;
}

/** The operator writes to one target that count as applied, in order. */
function countedWrites(id: string, ledger: TargetLedger, options: CountOptions): { writes: number; evidence: AuditEvent[] } {
  if (!options.existing) return { writes: ledger.operatorWrites.length, evidence: ledger.operatorWrites };
  const maybeApplied = ledger.operatorAttempts.filter((e) => isSuccess(e) || isUnknownOutcome(e));
  const creates = options.existing.has(id) ? 1 : 0;
  return { writes: creates + maybeApplied.filter((e) => e.verb !== 'create').length, evidence: maybeApplied };
}

/**
 * Every target whose operator writes exceed what it was allowed: its
 * successful ones, or with `options.existing` those counted as described
 * there. `expected` lists the targets the scenario made (so a target the
 * operator wrote without being asked is caught too: it is allowed 0) with
 * their allowance; `allowance` may raise it from the ledger (e.g. drift).
 */
export function findDoubleApplies(
  ledgers: ReadonlyMap<string, TargetLedger>,
  expected: ReadonlyMap<string, number>,
  allowance: (ledger: TargetLedger, base: number) => number = (_l, base) => base,
  options: CountOptions = {},
): DoubleApply[] {
  const found: DoubleApply[] = [];
  for (const [id, ledger] of ledgers) {
    const allowed = allowance(ledger, expected.get(id) ?? 0);
    const { writes, evidence } = countedWrites(id, ledger, options);
    if (writes > allowed) found.push({ target: id, allowed, writes, evidence: evidence.map(describeEvent) });
  }
  return found;
}

export function describeEvent(event: AuditEvent): string {
  const ref = event.objectRef ?? {};
  const sub = ref.subresource ? `/${ref.subresource}` : '';
  return `${event.requestReceivedTimestamp} ${event.verb} ${ref.resource ?? '?'}/${ref.namespace ?? ''}/${ref.name ?? ''}${sub} -> ${
    event.responseStatus?.code ?? '?'
  } (${event.userAgent ?? 'no user agent'})`;
}

/** Operator writes of any kind (targets, status, finalizers, events) in `namespaces`, successful or not. */
export function operatorWriteCount(events: readonly AuditEvent[], namespaces: Iterable<string>): { total: number; byResource: Record<string, number> } {
  const scope = new Set(namespaces);
  const byResource: Record<string, number> = {};
  let total = 0;
  for (const event of events) {
    const ref = event.objectRef;
    if (!ref?.namespace || !scope.has(ref.namespace) || !isOperator(event)) continue;
    const key = `${ref.resource ?? '?'}${ref.subresource ? `/${ref.subresource}` : ''}`;
    byResource[key] = (byResource[key] ?? 0) + 1;
    total++;
  }
  return { total, byResource };
}

import type { AuditEvent } from '../support/audit.js';

/**
 * The double-apply detector. The apiserver's audit log (Metadata level, one
 * line per completed write) is the ledger: it records every write that
 * happened, including those whose response the client never got.
 *
 * A target is a ConfigMap or Secret (main resource, not a subresource). An
 * operator write is a successful (2xx) create/update/patch/delete whose
 * User-Agent starts with "configpush-operator". Failed writes (409
 * AlreadyExists or a stale resourceVersion, 404, 422) change nothing and are
 * not counted; they are the operator's conditional writes doing their job.
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

export function isOperator(event: AuditEvent): boolean {
  return (event.userAgent ?? '').startsWith(OPERATOR_USER_AGENT);
}

function targetOf(event: AuditEvent, namespaces: ReadonlySet<string>): TargetRef | undefined {
  const ref = event.objectRef;
  if (!ref?.resource || !TARGET_RESOURCES.has(ref.resource)) return undefined;
  if ((ref.subresource ?? '') !== '' || !ref.namespace || !ref.name) return undefined;
  if (!namespaces.has(ref.namespace)) return undefined;
  if (!WRITE_VERBS.has(event.verb) || event.stage !== 'ResponseComplete') return undefined;
  return { resource: ref.resource as TargetRef['resource'], namespace: ref.namespace, name: ref.name };
}

export interface TargetLedger {
  target: TargetRef;
  /** Successful operator writes, in order. */
  operatorWrites: AuditEvent[];
  /** Operator writes the apiserver refused (409, 404, 422, ...). */
  refusedOperatorWrites: AuditEvent[];
  /** Successful writes by anyone else (the test, a third party). */
  otherWrites: AuditEvent[];
}

/** Groups the target writes in `namespaces` by target. */
export function ledgerByTarget(events: readonly AuditEvent[], namespaces: Iterable<string>): Map<string, TargetLedger> {
  const scope = new Set(namespaces);
  const ledgers = new Map<string, TargetLedger>();
  for (const event of events) {
    const target = targetOf(event, scope);
    if (!target) continue;
    const id = targetId(target);
    let ledger = ledgers.get(id);
    if (!ledger) {
      ledger = { target, operatorWrites: [], refusedOperatorWrites: [], otherWrites: [] };
      ledgers.set(id, ledger);
    }
    if (isOperator(event)) (isSuccess(event) ? ledger.operatorWrites : ledger.refusedOperatorWrites).push(event);
    else if (isSuccess(event)) ledger.otherWrites.push(event);
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

/**
 * Every target whose successful operator writes exceed what it was allowed.
 * `expected` lists the targets the scenario made (so a target the operator
 * wrote without being asked is caught too: it is allowed 0) with their
 * allowance; `allowance` may raise it from the ledger (e.g. drift).
 */
export function findDoubleApplies(
  ledgers: ReadonlyMap<string, TargetLedger>,
  expected: ReadonlyMap<string, number>,
  allowance: (ledger: TargetLedger, base: number) => number = (_l, base) => base,
): DoubleApply[] {
  const found: DoubleApply[] = [];
  for (const [id, ledger] of ledgers) {
    const allowed = allowance(ledger, expected.get(id) ?? 0);
    if (ledger.operatorWrites.length > allowed) {
      found.push({ target: id, allowed, writes: ledger.operatorWrites.length, evidence: ledger.operatorWrites.map(describeEvent) });
    }
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

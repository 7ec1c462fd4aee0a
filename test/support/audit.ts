import { readFileSync } from 'node:fs';
import { auditLogPath } from './paths.js';

/** One line of the apiserver's audit log (audit.k8s.io/v1 Event, Metadata level). */
export interface AuditEvent {
  verb: string;
  stage: string;
  userAgent?: string;
  /** Who authenticated. */
  user: { username: string };
  /** Whom the request acted as, when it used impersonation. */
  impersonatedUser?: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  /** For failures, the apiserver's reason (e.g. Timeout) and message too. */
  responseStatus?: { code?: number; reason?: string; message?: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

export interface WriteFilter {
  resource: string;
  namespace?: string;
  name?: string;
  /** '' matches only the main resource; undefined matches any. */
  subresource?: string;
  /** Only writes whose User-Agent starts with this (the operator sends "configpush-operator"). */
  userAgent?: string;
  /** Include writes the apiserver refused (409, 422, ...). Default: only successful ones. */
  includeFailed?: boolean;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Every write event in the audit log, in order. The log is the ledger: tests count effects here. */
export function readAudit(path = auditLogPath): AuditEvent[] {
  const text = readFileSync(path, 'utf8');
  const events: AuditEvent[] = [];
  // Only complete lines: the apiserver may be half-way through writing the last one as the file is read (seen
  // in CI as "Unterminated string in JSON"). That event is not in the ledger yet; the next read has it.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.stage === 'ResponseComplete' && WRITE_VERBS.has(event.verb)) events.push(event);
  }
  return events;
}

/** The write events for one object (or a namespace), e.g. writes({ resource: 'configmaps', namespace, name }). */
export function writes(filter: WriteFilter, events = readAudit()): AuditEvent[] {
  return events.filter((e) => {
    const ref = e.objectRef ?? {};
    if (ref.resource !== filter.resource) return false;
    if (filter.namespace !== undefined && ref.namespace !== filter.namespace) return false;
    if (filter.name !== undefined && ref.name !== filter.name) return false;
    if (filter.subresource !== undefined && (ref.subresource ?? '') !== filter.subresource) return false;
    if (filter.userAgent !== undefined && !(e.userAgent ?? '').startsWith(filter.userAgent)) return false;
    const code = e.responseStatus?.code ?? 0;
    return filter.includeFailed === true || (code >= 200 && code < 300);
  });
}

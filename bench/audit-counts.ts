import { readAudit, writes, type AuditEvent } from '../test/support/audit.js';

/** Successful and refused writes of one resource (e.g. "configpushes/status"). */
export interface WriteCount {
  ok: number;
  failed: number;
}

export interface WriteBreakdown {
  /** Successful writes, all resources. */
  ok: number;
  /** Writes the apiserver refused (409 conflicts, ...). */
  failed: number;
  byResource: Record<string, WriteCount>;
}

/**
 * A window over the apiserver's audit log (the ledger of writes): mark() the
 * number of write events so far, then since(mark) gives the ones after it.
 */
export class AuditWindow {
  constructor(private readonly path: string) {}

  mark(): number {
    return readAudit(this.path).length;
  }

  since(mark: number): AuditEvent[] {
    return readAudit(this.path).slice(mark);
  }
}

/** The writes made by `userAgent` in `events`, per resource[/subresource], counted with test/support/audit.ts's filter. */
export function breakdown(events: AuditEvent[], userAgent: string, namespace?: string): WriteBreakdown {
  const combos = new Set(events.map((e) => `${e.objectRef?.resource ?? ''}/${e.objectRef?.subresource ?? ''}`));
  const out: WriteBreakdown = { ok: 0, failed: 0, byResource: {} };
  for (const combo of [...combos].sort()) {
    const [resource = '', subresource = ''] = combo.split('/');
    const filter = { resource, subresource, userAgent, ...(namespace !== undefined ? { namespace } : {}) };
    const ok = writes(filter, events).length;
    const all = writes({ ...filter, includeFailed: true }, events).length;
    if (all === 0) continue;
    out.byResource[subresource ? `${resource}/${subresource}` : resource] = { ok, failed: all - ok };
    out.ok += ok;
    out.failed += all - ok;
  }
  return out;
}

export function okOf(counts: WriteBreakdown, key: string): number {
  return counts.byResource[key]?.ok ?? 0;
}

export function failedOf(counts: WriteBreakdown, key: string): number {
  return counts.byResource[key]?.failed ?? 0;
}

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { AuditEvent } from '../support/audit.js';

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * Reads the apiserver's audit log incrementally (the long run's log grows to
 * hundreds of thousands of lines): each call parses only what was appended
 * since the last one. Keeps the completed write events, like readAudit().
 */
export class AuditTail {
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  readonly events: AuditEvent[] = [];

  constructor(private readonly path: string) {}

  /** Events appended since the last read are added; returns all events so far. */
  read(): AuditEvent[] {
    const size = statSync(this.path).size;
    if (size < this.offset) {
      // Truncated or replaced (a fresh cluster): start over.
      this.offset = 0;
      this.partial = Buffer.alloc(0);
      this.events.length = 0;
    }
    if (size === this.offset) return this.events;
    const fd = openSync(this.path, 'r');
    try {
      const chunk = Buffer.alloc(1 << 22);
      while (this.offset < size) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        // Split on the last newline byte, so no UTF-8 sequence is cut in two.
        const data = Buffer.concat([this.partial, chunk.subarray(0, n)]);
        const end = data.lastIndexOf(0x0a);
        this.partial = Buffer.from(data.subarray(end + 1));
        if (end < 0) continue;
        for (const line of data.subarray(0, end).toString('utf8').split('\n')) this.parse(line);
      }
    } finally {
      closeSync(fd);
    }
    return this.events;
  }

  /** Only events received at or after `since` (ms since the epoch). */
  since(since: number): AuditEvent[] {
    return this.read().filter((e) => Date.parse(e.requestReceivedTimestamp) >= since);
  }

  private parse(line: string): void {
    if (!line) return;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      return;
    }
    if (event.stage === 'ResponseComplete' && WRITE_VERBS.has(event.verb)) this.events.push(event);
  }
}

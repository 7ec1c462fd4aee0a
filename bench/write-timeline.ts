import type { AuditEvent } from '../test/support/audit.js';
import { percentile, round } from './stats.js';

/**
 * Where a push's time to Ready goes, on the apiserver's own clock. The audit
 * log holds every write on the way to Ready with when the apiserver received
 * it and when it answered, so for each push of a load run: the driver's
 * create, then the controller's writes of the push and of objects named
 * after it (the target, the revision `<push>-<hash>`, the Event
 * `<push>.<hex>`), in the order they arrived.
 *
 * Each step gets the time it waited (received minus the latest answer before
 * it: the controller's own work, its queue, the watch delivering the last
 * answer; negative when it was sent beside an earlier write) and the time the
 * apiserver took to answer it. The p50 and p99 of each say which requests
 * the difference between two controllers is made of; the figure the issue
 * judges (apply to Ready as the driver sees it) adds the create's own time
 * and the watch delivering the status.
 */
export interface StepTiming {
  /** e.g. "configmaps create", "configpushes/status update". */
  step: string;
  /** Pushes that made this write (its first, if more than one). */
  count: number;
  waitP50Ms: number;
  waitP99Ms: number;
  serveP50Ms: number;
  serveP99Ms: number;
}

export interface WriteTimeline {
  /** Pushes with both the driver's create and a status write in the log. */
  pushes: number;
  /** From the create's answer to the last status write's answer. */
  toStatusP50Ms: number;
  toStatusP90Ms: number;
  toStatusP99Ms: number;
  steps: StepTiming[];
}

/** Microseconds since the epoch of an audit timestamp (RFC 3339 with up to nanoseconds). */
export function auditMicros(timestamp: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp);
  if (!match) throw new Error(`not an audit timestamp: ${timestamp}`);
  const fraction = (match[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${match[1]}Z`) * 1000 + Number(fraction);
}

const stepOf = (e: AuditEvent) => `${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.verb}`;

/**
 * The timeline of every push in `namespace` whose name matches `pushName`
 * (its first capture group is the push's name, e.g. /^(load-\d+)(?:$|[-.])/
 * for `load-12`, `load-12-<hash>`, `load-12.<hex>`), created by `driver`.
 */
export function writeTimeline(events: readonly AuditEvent[], namespace: string, pushName: RegExp, driver: string): WriteTimeline {
  const byPush = new Map<string, AuditEvent[]>();
  for (const e of events) {
    if (e.objectRef?.namespace !== namespace) continue;
    const name = pushName.exec(e.objectRef.name ?? '')?.[1];
    if (name === undefined) continue;
    const list = byPush.get(name) ?? [];
    list.push(e);
    byPush.set(name, list);
  }
  const waits = new Map<string, number[]>();
  const serves = new Map<string, number[]>();
  const toStatus: number[] = [];
  for (const writes of byPush.values()) {
    const isCreate = (e: AuditEvent) => e.objectRef?.resource === 'configpushes' && !e.objectRef.subresource && e.verb === 'create' && (e.userAgent ?? '').startsWith(driver);
    const create = writes.find(isCreate);
    const statuses = writes.filter((e) => e.objectRef?.resource === 'configpushes' && e.objectRef.subresource === 'status');
    if (!create || statuses.length === 0) continue;
    const created = auditMicros(create.stageTimestamp);
    toStatus.push((Math.max(...statuses.map((s) => auditMicros(s.stageTimestamp))) - created) / 1000);
    const rest = writes
      .filter((e) => e !== create)
      .map((e) => ({ step: stepOf(e), received: auditMicros(e.requestReceivedTimestamp), answered: auditMicros(e.stageTimestamp) }))
      .sort((a, b) => a.received - b.received);
    const seen = new Set<string>();
    let lastAnswer = created;
    for (const w of rest) {
      if (!seen.has(w.step)) {
        seen.add(w.step);
        (waits.get(w.step) ?? waits.set(w.step, []).get(w.step)!).push((w.received - lastAnswer) / 1000);
        (serves.get(w.step) ?? serves.set(w.step, []).get(w.step)!).push((w.answered - w.received) / 1000);
      }
      lastAnswer = Math.max(lastAnswer, w.answered);
    }
  }
  const q = (values: number[], p: number) => round(percentile(values, p), 1);
  // Steps in the order the first push made them.
  const steps = [...waits.keys()].map((step) => {
    const wait = waits.get(step)!;
    const serve = serves.get(step)!;
    return { step, count: wait.length, waitP50Ms: q(wait, 50), waitP99Ms: q(wait, 99), serveP50Ms: q(serve, 50), serveP99Ms: q(serve, 99) };
  });
  return { pushes: toStatus.length, toStatusP50Ms: q(toStatus, 50), toStatusP90Ms: q(toStatus, 90), toStatusP99Ms: q(toStatus, 99), steps };
}

/**
 * The report's table: per side and step, the median over the load runs of
 * each figure, so one run's stall does not stand for the side.
 */
export function timelineTable(runs: readonly { kind: string; load: { timeline?: WriteTimeline } }[]): string[] {
  const sides = [...new Set(runs.map((r) => r.kind))].sort();
  const rows: string[] = [];
  const mid = (values: number[]) => round(percentile(values, 50), 1);
  for (const kind of sides) {
    const timelines = runs.filter((r) => r.kind === kind).flatMap((r) => (r.load.timeline ? [r.load.timeline] : []));
    if (timelines.length === 0) continue;
    rows.push(
      `| ${kind} | create answered to status answered | ${timelines.map((t) => t.pushes).join(', ')} | | | ${mid(timelines.map((t) => t.toStatusP50Ms))} / ${mid(timelines.map((t) => t.toStatusP99Ms))} |`,
    );
    const steps = [...new Set(timelines.flatMap((t) => t.steps.map((s) => s.step)))];
    for (const step of steps) {
      const of = timelines.flatMap((t) => t.steps.filter((s) => s.step === step));
      rows.push(
        `| ${kind} | ${step} | ${of.map((s) => s.count).join(', ')} | ${mid(of.map((s) => s.waitP50Ms))} / ${mid(of.map((s) => s.waitP99Ms))} | ${mid(of.map((s) => s.serveP50Ms))} / ${mid(of.map((s) => s.serveP99Ms))} | |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    '',
    '## Writes on the way to Ready, under load',
    '',
    "Each load run's pushes on the apiserver's clock (its audit log; bench/write-timeline.ts): for each write, the time it waited since the latest answer before it (negative: sent beside it) and the time the apiserver took to answer it, in ms; each figure the median over the side's load runs.",
    '',
    '| side | write | pushes per run | waited p50 / p99 | answered in p50 / p99 | total p50 / p99 |',
    '|---|---|---|---|---|---|',
    ...rows,
  ];
}

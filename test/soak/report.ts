import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { renderChart, type Panel, type Series } from '../../bench/chart.js';
import type { Rgb } from '../../bench/png.js';
import type { DoubleApply } from '../chaos/ledger.js';
import { MEMORY_TOLERANCE_PCT, type MinuteRow, type Sample, type Trend, type Verdict } from './analysis.js';
import type { SoakOptions } from './options.js';

export interface SoakResults {
  date: string;
  options: SoakOptions;
  runId: string;
  durationS: number;
  workMinutes: number;
  rounds: number;
  roundS: number;
  quietS: number;
  world: { pushes: number; targets: number; byRole: Record<string, number>; sources: number; namespaces: number };
  counts: Record<string, number>;
  harnessErrors: string[];
  faults: { kind: string; at: number; minute: number; durationS: number; pid?: number }[];
  marks: { minute: number; second: number; what: string }[];
  /** --heap-snapshots: the snapshots taken (file, pid, when, how long the write took). */
  heapSnapshots?: { label: string; pid: number; at: number; minute: number; second: number; seconds: number; file: string }[];
  incarnations: { pid: number; startedS: number; endedS: number | null; end: string | null; targetWrites: number; errors: number; retries: number }[];
  rows: MinuteRow[];
  samples: Sample[];
  sampleGaps: number;
  warmupMinutes: number;
  /** The last whole minute of work: verdicts judge no minute after it. */
  lastWorkMinute: number;
  verdicts: Verdict[];
  longestLived: number | null;
  correctness: {
    lost: { push: string; why: string }[];
    convergedAfterWorkS: number | null;
    doubleApplies: DoubleApply[];
    logDoubles: string[];
    revisionSecrets: { count: number; created: number; pruned: number; doubles: { id: string; creates: number; deletes: number; other: number }[] };
    operatorTargetWrites: number;
    unknownOutcomeTargetWrites: number;
    allowedTargetWrites: number;
    crashes: number;
    crashTails: string[];
    stillRunningAtEnd: boolean;
    cleanStop: boolean;
  };
  errorMessages: { message: string; count: number }[];
  warningMessages: { message: string; count: number }[];
}

const cell = (v: number | null | undefined) => (v === null || v === undefined ? '–' : String(v));
const yes = (v: boolean | null) => (v === null ? 'not judged' : v ? 'yes' : '**no**');

function trendLine(name: string, t: Trend | null, unit: string): string {
  if (!t) return `| ${name} | – | – | – | – | – |`;
  return `| ${name} | ${t.first} ${unit} | ${t.last} ${unit} | ${t.changePct} % | ${t.min}–${t.max} ${unit} | ${t.slopePerHour} ${unit}/h |`;
}

function verdictSection(v: Verdict, title: string): string[] {
  const out = [`### ${title}: pid ${v.pid}`, ''];
  if (!v.judged) return [...out, v.note ?? 'not judged', ''];
  out.push(
    `${v.lifeMinutes} whole minutes of life under work; minutes ${v.judged[0]}–${v.judged[1]} judged after a ${v.warmupMinutes}-minute warm-up (none after the work stopped); first and last windows of ${v.window} minutes compared (medians of the per-minute values).`,
    '',
    '| measure | first window | last window | change | range | trend (least squares) |',
    '|---|---|---|---|---|---|',
    trendLine('RSS (median per minute)', v.rssMiB, 'MiB'),
    trendLine('heap used (lowest per minute)', v.heapUsedMiB, 'MiB'),
    trendLine('sockets (/proc fds)', v.sockets, ''),
    trendLine('timers (active Timeout resources)', v.timers, ''),
    '',
    `Memory flat within ${MEMORY_TOLERANCE_PCT} %: ${yes(v.memoryFlat)}. Sockets not growing: ${yes(v.socketsFlat)}. Timers not growing: ${yes(v.timersFlat)}.`,
    '',
  );
  return out;
}

function markdown(r: SoakResults): string {
  const c = r.correctness;
  const longest = r.verdicts.find((v) => v.pid === r.longestLived);
  const lines = [
    `# Soak, ${r.date.slice(0, 10)}`,
    '',
    `\`npm run soak -- --minutes ${r.workMinutes} --seed ${r.options.seed}\` (docs/soak.md). Started ${r.date}; ${r.workMinutes} minutes of mixed work in rounds of ${r.roundS} s, ` +
      `then the final convergence and ${r.quietS} s of quiet: ${Math.round(r.durationS / 60)} minutes in all. Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, load average when this was written ${loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine is shared).`,
    '',
    `**World**: ${r.world.pushes} ConfigPushes (${Object.entries(r.world.byRole).map(([k, v]) => `${v} ${k}`).join(', ')}), ${r.world.targets} targets in ${r.world.namespaces} namespaces, ${r.world.sources} sources.`,
    '',
    `**Work done**: ${r.counts.specUpdates} spec changes (new generations), ${r.counts.sourceChanges} source changes, ${r.counts.correctEdits} foreign edits under driftPolicy Correct, ` +
      `${r.counts.reportEdits} under Report (${r.counts.refusedEdits} edits refused by a 404/409: no edit), ${r.counts.harnessErrors} harness errors.`,
    '',
    `**Faults**: ${r.faults.map((f) => `${f.kind} at minute ${f.minute} (${f.durationS.toFixed(1)} s${f.pid !== undefined ? `, pid ${f.pid}` : ''})`).join('; ') || 'none'}.`,
    '',
    '## Correctness',
    '',
    '| check | result |',
    '|---|---|',
    `| every push converged | ${c.lost.length === 0 ? `yes, ${c.convergedAfterWorkS?.toFixed(1)} s after the work stopped` : `**no: ${c.lost.length} not converged**`} |`,
    `| targets written more often than allowed (audit ledger) | ${c.doubleApplies.length} |`,
    `| (target, operation key) pairs written twice (operator log) | ${c.logDoubles.length} |`,
    `| operator target writes (2xx) / allowed | ${c.operatorTargetWrites} / ${c.allowedTargetWrites} |`,
    `| revision Secrets (docs/revisions.md): created / pruned / written more than once per content | ${c.revisionSecrets.created} / ${c.revisionSecrets.pruned} / ${c.revisionSecrets.doubles.length} |`,
    `| operator target writes with an unknown outcome (500/504) | ${c.unknownOutcomeTargetWrites} |`,
    `| crashes | ${c.crashes} |`,
    `| running at the end, clean stop on SIGTERM | ${c.stillRunningAtEnd && c.cleanStop ? 'yes' : '**no**'} |`,
    '',
    '## Leaks',
    '',
    ...(longest ? verdictSection(longest, 'The longest-lived process') : ['No process was sampled.', '']),
    '### Every process',
    '',
    '| pid | started (s) | ended (s) | end | whole minutes | RSS change | heap change | sockets first→last | timers first→last |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.incarnations.map((i) => {
      const v = r.verdicts.find((x) => x.pid === i.pid);
      return `| ${i.pid} | ${i.startedS} | ${cell(i.endedS)} | ${i.end ?? 'running'} | ${v?.lifeMinutes ?? 0} | ${v?.rssMiB ? `${v.rssMiB.changePct} %` : '–'} | ${
        v?.heapUsedMiB ? `${v.heapUsedMiB.changePct} %` : '–'
      } | ${v?.sockets ? `${v.sockets.first}→${v.sockets.last}` : '–'} | ${v?.timers ? `${v.timers.first}→${v.timers.last}` : '–'} |`;
    }),
    '',
    '## Per minute',
    '',
    `RSS: median of the minute's samples (one every ${r.options.sampleSeconds} s); heap used: the lowest sample (nearest to the live heap after a collection); sockets and timers: medians; ` +
      `queue: the deepest sample; errors: operator log lines at level error; reconcile errors: configpush_reconcile_total{result="error"} increase. ${r.sampleGaps} sample(s) missed (a process starting).`,
    '',
    '| min | pid | event | RSS MiB | heap used MiB | heap total MiB | queue max | fds | sockets | timers (max) | errors | warnings | reconcile errors | target writes |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (m) =>
        `| ${m.minute} | ${m.pids.join(', ') || '–'} | ${m.events.join('; ')} | ${cell(m.rssMiB)} | ${cell(m.heapUsedMiB)} | ${cell(m.heapTotalMiB)} | ${cell(m.queueDepthMax)} | ${cell(
          m.openFds,
        )} | ${cell(m.sockets)} | ${cell(m.timers)} (${cell(m.timersMax)}) | ${m.errors} | ${m.warnings} | ${m.reconcileErrors} | ${m.targetWrites} |`,
    ),
    '',
    '## Timeline',
    '',
    ...r.marks.map((m) => `- ${Math.floor(m.second / 60)}m${String(m.second % 60).padStart(2, '0')}s: ${m.what}`),
    '',
  ];
  if (r.errorMessages.length > 0) {
    lines.push('## Error lines logged, by message', '', '| count | message |', '|---|---|', ...r.errorMessages.map((e) => `| ${e.count} | ${e.message.replace(/\|/g, '\\|')} |`), '');
  }
  if (r.warningMessages.length > 0) {
    lines.push('## Warning lines logged, by message', '', '| count | message |', '|---|---|', ...r.warningMessages.map((e) => `| ${e.count} | ${e.message.replace(/\|/g, '\\|')} |`), '');
  }
  if (r.harnessErrors.length > 0) lines.push('## Harness errors', '', ...r.harnessErrors.map((e) => `- ${e}`), '');
  return `${lines.join('\n')}\n`;
}

const BLUE: Rgb = [40, 90, 200];
const RED: Rgb = [200, 60, 40];
const GREEN: Rgb = [40, 150, 70];
const GREY: Rgb = [120, 120, 120];

function series(rows: readonly MinuteRow[], label: string, color: Rgb, pick: (r: MinuteRow) => number | null, dashed = false): Series {
  const points = rows.flatMap((r) => {
    const y = pick(r);
    return y === null ? [] : [{ x: r.minute, y }];
  });
  // Sixty-odd minutes: no value printed at each point (the table has them).
  return { label, color, points, valueLabels: points.length <= 12, ...(dashed ? { dashed } : {}) };
}

function chart(r: SoakResults): Buffer {
  const panels: Panel[] = [
    {
      title: 'Memory',
      xLabel: 'minute',
      xTickEvery: r.rows.length > 12 ? 5 : 1,
      yLabel: 'MiB',
      series: [series(r.rows, 'RSS', RED, (m) => m.rssMiB), series(r.rows, 'heap used', BLUE, (m) => m.heapUsedMiB), series(r.rows, 'heap total', GREY, (m) => m.heapTotalMiB, true)],
    },
    {
      title: 'Sockets and timers',
      xLabel: 'minute',
      xTickEvery: r.rows.length > 12 ? 5 : 1,
      yLabel: 'count',
      series: [series(r.rows, 'sockets', RED, (m) => m.sockets), series(r.rows, 'timers', BLUE, (m) => m.timers), series(r.rows, 'fds', GREY, (m) => m.openFds, true)],
    },
    {
      title: 'Queue and errors',
      xLabel: 'minute',
      xTickEvery: r.rows.length > 12 ? 5 : 1,
      yLabel: 'per minute',
      series: [
        series(r.rows, 'queue depth (max)', BLUE, (m) => m.queueDepthMax),
        series(r.rows, 'error lines', RED, (m) => m.errors),
        series(r.rows, 'target writes / 10', GREEN, (m) => m.targetWrites / 10, true),
      ],
    },
  ];
  const kills = r.faults.filter((f) => f.kind === 'kill -9').map((f) => f.minute);
  const restarts = r.faults.filter((f) => f.kind !== 'kill -9').map((f) => f.minute);
  return renderChart(
    `configpush-operator soak ${r.date.slice(0, 10)}: kill -9 at minutes ${kills.join(', ') || '-'}; control-plane restarts at ${restarts.join(', ') || '-'}`,
    panels,
    `${r.world.pushes} pushes, ${r.world.targets} targets, ${r.workMinutes} min of work, ${cpus().length} cores (shared)`,
  );
}

/** Writes <out>.json, <out>.md and <out>.png; returns their paths. */
export function writeSoakReport(r: SoakResults, out: string): string[] {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${out}.md`, markdown(r));
  writeFileSync(`${out}.png`, chart(r));
  return [`${out}.json`, `${out}.md`, `${out}.png`];
}

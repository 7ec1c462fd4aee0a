import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { installFinalizerPolicy } from '../support/finalizer-policy.js';
import { installCrds } from '../../src/kube/install-crds.js';
import { AuditTail } from '../chaos/audit-tail.js';
import { clusterCommand, clusterEnv } from '../chaos/cluster.js';
import { findDoubleApplies, ledgerByRevisionPayload, ledgerByTarget, targetId, type TargetLedger } from '../chaos/ledger.js';
import { OperatorProcess, type LogLine } from '../chaos/operator-process.js';
import { runDir } from '../chaos/profile.js';
import { Random } from '../chaos/random.js';
import { clients, createPush, forEachLimit, listTargets, sleep } from '../chaos/workload.js';
import { judgeProcess, minuteRows, type Mark, type Sample } from './analysis.js';
import type { SoakOptions } from './options.js';
import { writeSoakReport, type SoakResults } from './report.js';
import { sampleProcess } from './sampler.js';
import { snapshotBeforeLastKillAtMs, heapSnapshotNodeOptions, takeHeapSnapshot } from './heap-snapshots.js';
import { faultSchedule, roundMs } from './schedule.js';
import { World } from './world.js';

const began = Date.now();
function say(message: string): void {
  const s = Math.round((Date.now() - began) / 1000);
  process.stderr.write(`soak [${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s] ${message}\n`);
}

/** hack/cluster.sh restart of the soak's control plane, without blocking the event loop (the work goes on, retrying). */
function restartControlPlane(repoRoot: string, clusterDir: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'hack/cluster.sh'), 'restart'], { env: { ...process.env, CLUSTER_DIR: clusterDir }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
    child.on('exit', (exitCode) => (exitCode === 0 ? resolve(Date.now() - started) : reject(new Error(`hack/cluster.sh restart failed (${String(exitCode)}): ${stderr}`))));
  });
}

async function sleepUntil(at: number, stop: () => boolean): Promise<void> {
  while (!stop() && Date.now() < at) await sleep(Math.max(1, Math.min(1_000, Math.ceil(at - Date.now()))));
}

/** One soak: returns the process exit code (0 when every check and the verdict passed). */
export async function runSoak(o: SoakOptions, repoRoot: string): Promise<number> {
  const clusterDir = process.env.CLUSTER_DIR ?? join(repoRoot, '.cache/cluster-soak');
  mkdirSync(runDir, { recursive: true });
  const totalMs = Math.round(o.minutes * 60_000);
  say(`${o.minutes} minute(s), seed ${o.seed}, control plane in ${clusterDir}; figures to ${o.out}.{md,json,png}`);

  // A fresh control plane: an empty audit log and etcd, so the ledger and the apiserver start clean.
  try {
    clusterCommand('down', clusterDir);
  } catch {
    // was not running
  }
  clusterCommand('up', clusterDir);
  const env = clusterEnv(clusterDir);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(env.kubeconfig);
  await installCrds(kubeConfig, join(repoRoot, 'crds'));
  // As manifests/ installs it on 1.36+: the apiserver sets the finalizer, the path that ships.
  await installFinalizerPolicy(kubeConfig, repoRoot);

  const rnd = new Random(o.seed);
  const runId = rnd.word(5);
  const world = new World(clients(env.kubeconfig, 'configpush-soak'), clients(env.kubeconfig, 'configpush-soak-third-party'), rnd, runId);
  await world.plan();

  const heapDir = join(repoRoot, '.cache/soak/heap');
  if (o.heapSnapshots) mkdirSync(heapDir, { recursive: true });
  const op = new OperatorProcess({
    name: `soak-${runId}`,
    kubeconfig: env.kubeconfig,
    workers: 4,
    requestTimeoutS: 10,
    metrics: true,
    ...(o.heapSnapshots ? { env: { NODE_OPTIONS: heapSnapshotNodeOptions(heapDir, process.env.NODE_OPTIONS) } } : {}),
  });
  const portByPid = new Map<number, number>();
  const logs = { errors: [] as number[], warnings: [] as number[], targetWrites: [] as number[] };
  const errorMessages = new Map<string, number>();
  const warningMessages = new Map<string, number>();
  /** Non-drift target writes logged per (target, operation key): more than one is a double apply the log shows. */
  const writesPerKey = new Map<string, number>();
  op.onLine((line: LogLine) => {
    const now = Date.now();
    const level = line.level ?? 0;
    if (line.msg === 'serving' && op.pid !== undefined) {
      const port = (line.address as { port?: number } | undefined)?.port;
      if (typeof port === 'number') portByPid.set(op.pid, port);
    }
    if (level >= 50) {
      logs.errors.push(now);
      const key = `${line.msg ?? '?'}: ${String((line.err as { message?: string } | undefined)?.message ?? '').slice(0, 160)}`;
      errorMessages.set(key, (errorMessages.get(key) ?? 0) + 1);
    } else if (level >= 40) {
      logs.warnings.push(now);
      const key = `${line.msg ?? '?'}: ${String((line.err as { message?: string } | undefined)?.message ?? '').slice(0, 160)}`;
      warningMessages.set(key, (warningMessages.get(key) ?? 0) + 1);
    }
    if (line.msg === 'target written') {
      logs.targetWrites.push(now);
      if (line.write !== 'drift') {
        const id = `${String(line.target)} ${String(line.key)}`;
        writesPerKey.set(id, (writesPerKey.get(id) ?? 0) + 1);
      }
    }
  });

  const marks: Mark[] = [];
  /** The faults alone, by kind, for the per-minute table. */
  const faultMarks: Mark[] = [];
  const mark = (what: string, at = Date.now()) => {
    marks.push({ at, what });
    say(what);
  };
  const startedAt = Date.now();
  await op.start();
  mark(`operator started (pid ${op.pid ?? '?'})`);

  // Samples of whichever operator process is running, every sampleSeconds.
  const samples: Sample[] = [];
  let sampleGaps = 0;
  let sampling = true;
  let lastMinuteSaid = -1;
  const sampler = (async () => {
    while (sampling) {
      const pid = op.pid;
      const port = pid === undefined ? undefined : portByPid.get(pid);
      if (pid !== undefined && port !== undefined) {
        try {
          const s = await sampleProcess(pid, port);
          samples.push(s);
          const minute = Math.floor((s.at - startedAt) / 60_000);
          if (minute !== lastMinuteSaid) {
            lastMinuteSaid = minute;
            say(
              `minute ${minute + 1}: pid ${pid} rss ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(s.heapUsedBytes / 2 ** 20).toFixed(1)} MiB, ` +
                `queue ${s.queueDepth}, fds ${s.openFds}, sockets ${s.sockets}, timers ${s.timers}, errors logged ${logs.errors.length}`,
            );
          }
        } catch {
          sampleGaps++;
        }
      } else {
        sampleGaps++;
      }
      await sleep(o.sampleSeconds * 1_000);
    }
  })();

  await forEachLimit(world.pushes, 4, async (push) => createPush(world.c, push));
  mark(`${world.pushes.length} pushes created (${world.pushes.reduce((n, p) => n + p.targets.length, 0)} targets)`);

  // Heap snapshots (--heap-snapshots, see heap-snapshots.ts): one of the
  // process the last kill ends, just before it, and two of the judged process
  // once its judged window is over (when the work stops, after the quiet).
  const heapSnapshots: { label: string; pid: number; at: number; seconds: number; file: string }[] = [];
  const snapshot = async (label: string): Promise<void> => {
    const pid = op.pid;
    if (pid === undefined) return void mark(`heap snapshot (${label}): no operator process running`);
    const at = Date.now();
    try {
      const { file, seconds } = await takeHeapSnapshot(pid, heapDir);
      heapSnapshots.push({ label, pid, at, seconds, file });
      mark(`heap snapshot (${label}) of pid ${pid}: ${file}, ${seconds.toFixed(1)} s`, at);
    } catch (err) {
      mark(`heap snapshot (${label}) of pid ${pid} failed: ${err instanceof Error ? err.message : String(err)}`, at);
    }
  };
  const preKillSnapshotAt = o.heapSnapshots ? snapshotBeforeLastKillAtMs(totalMs) : undefined;
  const endAt = startedAt + totalMs;
  let stopped = false;
  const faultRecords: { kind: string; at: number; durationS: number; pid?: number }[] = [];
  const faults = (async () => {
    for (const fault of faultSchedule(totalMs)) {
      if (preKillSnapshotAt !== undefined && fault.kind === 'kill -9' && fault.atMs > preKillSnapshotAt && heapSnapshots.length === 0) {
        await sleepUntil(startedAt + preKillSnapshotAt, () => stopped);
        if (stopped) return;
        await snapshot('before the last kill');
      }
      await sleepUntil(startedAt + fault.atMs, () => stopped);
      if (stopped) return;
      const at = Date.now();
      faultMarks.push({ at, what: fault.kind });
      if (fault.kind === 'kill -9') {
        const pid = op.pid;
        await op.kill9();
        await op.start(false);
        const ready = await op.ready(180_000);
        faultRecords.push({ kind: fault.kind, at, durationS: (Date.now() - at) / 1000, ...(pid !== undefined ? { pid } : {}) });
        mark(`kill -9 of pid ${pid ?? '?'}; pid ${op.pid ?? '?'} ${ready ? `ready after ${((Date.now() - at) / 1000).toFixed(1)} s` : 'NOT ready in 180 s'}`, at);
      } else {
        const ms = await restartControlPlane(repoRoot, clusterDir);
        faultRecords.push({ kind: fault.kind, at, durationS: ms / 1000 });
        mark(`control-plane restart (${(ms / 1000).toFixed(1)} s)`, at);
      }
    }
  })();

  // The mixed work: each round 6 spec changes, 1 source change, 3 foreign
  // edits under Correct and 1 under Report, spread evenly over the round.
  const round = roundMs(totalMs);
  let rounds = 0;
  const work = (async () => {
    while (Date.now() < endAt) {
      const roundStart = Date.now();
      const actions = [
        () => world.specChange(),
        () => world.foreignEdit('Correct'),
        () => world.specChange(),
        () => world.sourceChange(),
        () => world.specChange(),
        () => world.foreignEdit('Correct'),
        () => world.specChange(),
        () => world.foreignEdit('Report'),
        () => world.specChange(),
        () => world.foreignEdit('Correct'),
        () => world.specChange(),
      ];
      for (const [i, action] of actions.entries()) {
        if (Date.now() >= endAt) break;
        await action();
        await sleepUntil(roundStart + ((i + 1) * round) / actions.length, () => Date.now() >= endAt);
      }
      rounds++;
    }
  })();
  await work;
  stopped = true;
  await faults;
  const workEnded = Date.now();
  mark(`work stopped after ${rounds} round(s): ${JSON.stringify(world.counts)}`);
  if (o.heapSnapshots) await snapshot('work stopped');
  // Convergence is timed from here: a snapshot's pause is not the operator's.
  const convergeFrom = Date.now();

  const lost = await world.notConverged(5 * 60_000);
  const convergedAt = Date.now();
  mark(lost.length === 0 ? `every push converged ${((convergedAt - convergeFrom) / 1000).toFixed(1)} s after the work stopped${convergeFrom - workEnded > 1_000 ? ' and the heap snapshot' : ''}` : `${lost.length} push(es) NOT converged`);
  // A quiet stretch with no work: the queue must drain and stay empty.
  const quietMs = Math.min(120_000, Math.max(15_000, Math.round(totalMs * 0.03)));
  await sleep(quietMs);
  if (o.heapSnapshots) await snapshot('after the quiet');
  sampling = false;
  await sampler;
  const endedAt = Date.now();

  // The ledger: the apiserver's audit log, every operator write to a target, per target.
  const events = new AuditTail(env.auditLog).read();
  const { base, allowance } = world.allowedWrites();
  // A push that writes Secrets keeps each completed content's payload in a
  // Secret of its own namespace named <push>-<10 hex> (docs/revisions.md):
  // bookkeeping, not a target. Each is created once per content (its name is
  // the content's) and deleted once when pruned; anything more is a double.
  const ledgers = new Map<string, TargetLedger>();
  for (const [id, ledger] of ledgerByTarget(events, world.namespaces)) ledgers.set(id, ledger);
  const revisionSecrets: { id: string; creates: number; deletes: number; other: number }[] = [];
  for (const [id, ledger] of ledgerByRevisionPayload(events, world.namespaces)) {
    if (base.has(id) || !world.isRevisionSecret(ledger.target)) continue;
    const verbs = ledger.operatorWrites.map((e) => e.verb);
    const creates = verbs.filter((v) => v === 'create').length;
    const deletes = verbs.filter((v) => v === 'delete').length;
    revisionSecrets.push({ id, creates, deletes, other: verbs.length - creates - deletes });
  }
  const revisionDoubles = revisionSecrets.filter((r) => r.creates > 1 || r.deletes > 1 || r.other > 0);
  const existing = new Set<string>();
  for (const namespace of world.namespaces) for (const id of (await listTargets(world.c, namespace)).keys()) existing.add(id);
  const doubles = findDoubleApplies(ledgers, base, (ledger, n) => allowance(targetId(ledger.target), n), { existing });
  let operatorTargetWrites = 0;
  let unknownOutcome = 0;
  for (const ledger of ledgers.values()) {
    operatorTargetWrites += ledger.operatorWrites.length;
    unknownOutcome += ledger.unknownOutcomeOperatorWrites.length;
  }
  const allowedTotal = [...base].reduce((n, [id, b]) => n + allowance(id, b), 0);
  const logDoubles = [...writesPerKey].filter(([, n]) => n > 1).map(([id, n]) => `${id}: ${n} writes`);

  const stillRunning = op.running;
  await op.close();
  const last = op.incarnations.at(-1);
  const cleanStop = last?.end === 'stopped' && last.exitCode === 0;

  const rows = minuteRows(samples, logs, faultMarks, startedAt, (endedAt - startedAt) / 60_000);
  const warmupMinutes = Math.max(1, Math.min(5, Math.round(o.minutes * 0.1)));
  // Judged under work: up to the last whole minute before the work stopped.
  const lastWorkMinute = Math.floor((workEnded - startedAt) / 60_000);
  const verdicts = op.incarnations.map((i) => judgeProcess(rows, i.pid, warmupMinutes, lastWorkMinute));
  const longest = [...verdicts].sort((a, b) => b.lifeMinutes - a.lifeMinutes)[0];

  const results: SoakResults = {
    date: new Date(startedAt).toISOString(),
    options: o,
    runId,
    durationS: Math.round((endedAt - startedAt) / 1000),
    workMinutes: o.minutes,
    rounds,
    roundS: round / 1000,
    quietS: quietMs / 1000,
    world: {
      pushes: world.pushes.length,
      targets: world.pushes.reduce((n, p) => n + p.targets.length, 0),
      byRole: Object.fromEntries(['spec', 'wave', 'source', 'report'].map((r) => [r, world.pushes.filter((p) => p.role === r).length])),
      sources: world.sources.length,
      namespaces: world.namespaces.length,
    },
    counts: world.counts,
    harnessErrors: world.harnessErrors,
    faults: faultRecords.map((f) => ({ ...f, minute: Math.floor((f.at - startedAt) / 60_000) + 1 })),
    marks: marks.map((m) => ({ minute: Math.floor((m.at - startedAt) / 60_000) + 1, second: Math.round((m.at - startedAt) / 1000), what: m.what })),
    incarnations: op.incarnations.map((i) => ({
      pid: i.pid,
      startedS: Math.round((i.startedAt - startedAt) / 1000),
      endedS: i.endedAt === undefined ? null : Math.round((i.endedAt - startedAt) / 1000),
      end: i.end ?? null,
      targetWrites: i.targetWrites,
      errors: i.errors,
      retries: i.retries,
    })),
    rows,
    samples,
    sampleGaps,
    heapSnapshots: heapSnapshots.map((h) => ({ ...h, minute: Math.floor((h.at - startedAt) / 60_000) + 1, second: Math.round((h.at - startedAt) / 1000) })),
    warmupMinutes,
    lastWorkMinute,
    verdicts,
    longestLived: longest?.pid ?? null,
    correctness: {
      lost,
      convergedAfterWorkS: lost.length === 0 ? (convergedAt - convergeFrom) / 1000 : null,
      doubleApplies: doubles,
      logDoubles,
      revisionSecrets: {
        count: revisionSecrets.length,
        created: revisionSecrets.reduce((n, r) => n + r.creates, 0),
        pruned: revisionSecrets.reduce((n, r) => n + r.deletes, 0),
        doubles: revisionDoubles,
      },
      operatorTargetWrites,
      unknownOutcomeTargetWrites: unknownOutcome,
      allowedTargetWrites: allowedTotal,
      crashes: op.crashes.length,
      crashTails: op.crashes.map((c) => c.stderrTail.slice(-1_000)),
      stillRunningAtEnd: stillRunning,
      cleanStop,
    },
    errorMessages: [...errorMessages].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([message, count]) => ({ message, count })),
    warningMessages: [...warningMessages].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([message, count]) => ({ message, count })),
  };
  const files = writeSoakReport(results, o.out);
  say(`figures: ${files.join(', ')}`);

  if (!o.keepCluster) clusterCommand('down', clusterDir);

  const failures: string[] = [];
  if (lost.length > 0) failures.push(`${lost.length} push(es) did not converge: ${JSON.stringify(lost.slice(0, 5))}`);
  if (doubles.length > 0) failures.push(`${doubles.length} target(s) written more often than allowed: ${JSON.stringify(doubles.slice(0, 3))}`);
  if (logDoubles.length > 0) failures.push(`${logDoubles.length} (target, key) pair(s) written twice per the log: ${logDoubles.slice(0, 5).join('; ')}`);
  // Pushes that write Secrets, or copy one, record their completed content in payload Secrets: none at all means the check above saw nothing.
  const keepsSecretPayloads = world.pushes.some((p) => p.targets.some((t) => t.resource === 'secrets') || p.source?.kind === 'Secret');
  if (keepsSecretPayloads && revisionSecrets.length === 0) failures.push('no revision payload Secret was created, though pushes write Secrets: the ledger of revision Secrets is blind');
  if (revisionDoubles.length > 0) failures.push(`${revisionDoubles.length} revision Secret(s) written more than once per content: ${JSON.stringify(revisionDoubles.slice(0, 3))}`);
  if (op.crashes.length > 0) failures.push(`${op.crashes.length} crash(es)`);
  if (!stillRunning || !cleanStop) failures.push('the operator was not running at the end, or did not stop cleanly on SIGTERM');
  if (longest && longest.memoryFlat === false) failures.push(`memory not flat in pid ${longest.pid}: RSS ${longest.rssMiB?.changePct}%, heap ${longest.heapUsedMiB?.changePct}%`);
  if (longest && longest.socketsFlat === false) failures.push(`sockets grew in pid ${longest.pid}: ${JSON.stringify(longest.sockets)}`);
  if (longest && longest.timersFlat === false) failures.push(`timers grew in pid ${longest.pid}: ${JSON.stringify(longest.timers)}`);
  for (const f of failures) say(`FAIL: ${f}`);
  if (failures.length === 0) say(longest?.memoryFlat === null ? 'passed (too short to judge memory)' : 'passed');
  return failures.length === 0 ? 0 : 1;
}

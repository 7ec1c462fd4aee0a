/**
 * What one `target written` line costs the operator: its root logger
 * (src/operator/log.ts, pino's synchronous write to stdout) and the child a
 * reconcile logs through (configpush, namespace, key, generation, attempt),
 * writing the line the target applier writes for each target. The baseline,
 * in the same process and alternating rounds, is the same call with the
 * logger at warn, where pino drops the line before serializing it: the
 * difference is what the line costs, serialization and the write(2).
 *
 * Why: a CPU profile of a fan-out to 5,000 namespaces put ~8% of the
 * operator's busy time in sonic-boom's write of these lines, one a target,
 * and a 3-run A/B of the fan-out at log level warn against info read the
 * operator's CPU a target 0.86 against 0.96 of the baseline's. This times
 * the line itself, without the fan-out's noise.
 *
 * Run with stdout sent where the operator's log goes (the bench writes it to
 * a file):
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node --optimize-for-size .cache/bench-dist/bench/log-line-cost.js [--lines 20000] [--rounds 5] > .cache/bench/log-line-cost.log
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../src/operator/log.js';
import { median, round } from './stats.js';

const { values } = parseArgs({ options: { lines: { type: 'string' }, rounds: { type: 'string' } } });
const lines = Number(values.lines ?? 20_000);
const rounds = Number(values.rounds ?? 5);

/** CPU µs a call of `level`'s logger, over `lines` calls. */
function timeRound(level: 'info' | 'warn'): number {
  const log = createLogger(level).child({ configpush: 'fanout-5000', namespace: 'fanout', key: '1-0123456789', generation: 1, attempt: 1 });
  const before = process.cpuUsage();
  for (let i = 0; i < lines; i++) {
    log.info({ target: `ConfigMap/ns-${i}/fanout-5000`, write: 'created', resourceVersion: String(100_000 + i) }, 'target written');
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / lines;
}

// One warm-up round of each, so that neither side pays for the JIT.
timeRound('warn');
timeRound('info');
const times = { dropped: [] as number[], written: [] as number[] };
for (let r = 0; r < rounds; r++) {
  times.dropped.push(timeRound('warn'));
  times.written.push(timeRound('info'));
  process.stderr.write(`log-line-cost: round ${r + 1}: dropped ${round(times.dropped.at(-1)!, 2)} µs, written ${round(times.written.at(-1)!, 2)} µs\n`);
}
const dropped = median(times.dropped);
const written = median(times.written);
process.stderr.write(
  `log-line-cost: ${lines} lines a round, ${rounds} rounds, medians: a dropped call ${round(dropped, 2)} µs, a written line ${round(written, 2)} µs, ` +
    `so the line costs ${round(written - dropped, 2)} µs of CPU (${round((written - dropped) * 5, 0)} ms for a fan-out's 5,000)\n`,
);

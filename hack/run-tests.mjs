#!/usr/bin/env node
// `npm test`'s suites, in two vitest processes at once: the unit and e2e
// projects in one, the fault suite (chaos) in the other. Each e2e suite runs
// its files one at a time on its own control plane (.cache/cluster-e2e and
// .cache/cluster-chaos, never npm start's .cache/cluster), and both spend most of their time waiting on the
// apiserver, watches and timers, so on 2 cores the two together take about
// as long as the longer one instead of the sum (vitest 4 runs one process's
// projects one after the other even with workers to spare).
//
// Each line is prefixed with its suite. Under CI, each process writes its own
// JSON result and this script merges them into .cache/test-results.json, the
// file .ci/run prints its closing line from. Arguments (a file filter, -t ...)
// run one plain `vitest run` with them instead.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mergeTestResults } from './merge-test-results.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const merged = join(root, '.cache/test-results.json');
const json = Boolean(process.env.CI);

const args = process.argv.slice(2);
if (args.length > 0) {
  const child = spawn(process.execPath, [vitest, 'run', ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const suites = [
    { label: 'unit+e2e', projects: ['unit', 'e2e'], result: join(root, '.cache/test-results-e2e.json') },
    { label: 'chaos', projects: ['chaos'], result: join(root, '.cache/test-results-chaos.json') },
  ];
  for (const suite of suites) rmSync(suite.result, { force: true });
  const codes = await Promise.all(suites.map(run));
  if (json) writeFileSync(merged, JSON.stringify(mergeTestResults(suites.map((s) => s.result), console.error)));
  for (const [i, suite] of suites.entries()) console.log(`[${suite.label}] vitest exited ${codes[i]}`);
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}

/** Runs one vitest process, its output prefixed line by line; resolves to its exit code. */
function run(suite) {
  const argv = [vitest, 'run', ...suite.projects.flatMap((p) => ['--project', p])];
  if (json) argv.push(`--outputFile.json=${suite.result}`);
  const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`[${suite.label}] ${line}\n`));
  }
  // Stop both suites' children with this script (Ctrl-C, a CI timeout).
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/**
 * `node --max-old-space-size=8192 <build>/bench/heap-summary.js FILE`: prints
 * the summary of a heap snapshot as JSON. A separate process, because parsing
 * a snapshot of a large heap takes gigabytes and must not take the bench down.
 */
import { summarizeHeapSnapshot } from './profile.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: heap-summary.js FILE\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(summarizeHeapSnapshot(file))}\n`);

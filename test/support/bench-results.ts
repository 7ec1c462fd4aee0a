import { parseOptions } from '../../bench/options.js';
import { emptyResults, type BenchResults } from '../../bench/report.js';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const machine = { cpu: 'x', cores: 2, memoryGiB: 1, kernel: 'k', node: 'v24', kubeApiserver: 'v', etcd: 'v', loadAverageAtStart: [0, 0, 0], note: '' };

/** A results file with nothing measured, the default options, and `over` on top (the bench's unit tests). */
export function benchResults(over: Partial<BenchResults>): BenchResults {
  return { ...emptyResults({ date: '2026-11-29', startedAt: '', smoke: false, machine, options: parseOptions([], {}, root) }), ...over };
}

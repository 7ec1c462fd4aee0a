// Merges vitest's JSON results (its jest-style `json` reporter) from the
// suites hack/run-tests.mjs runs side by side into one, so .ci/run's closing
// line ("N passed, N failed, N skipped") counts every test.
import { existsSync, readFileSync } from 'node:fs';

const COUNTS = ['numTotalTestSuites', 'numPassedTestSuites', 'numFailedTestSuites', 'numPendingTestSuites', 'numTotalTests', 'numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests'];

/**
 * Counts summed, test files concatenated, `success` only if every suite
 * succeeded. A missing file (its vitest process died before writing) counts
 * as one failed suite, so the merge never reads as a clean run.
 */
export function mergeTestResults(files, warn = () => {}) {
  const out = Object.fromEntries(COUNTS.map((key) => [key, 0]));
  let startTime = Infinity;
  let success = true;
  const testResults = [];
  for (const file of files) {
    if (!existsSync(file)) {
      success = false;
      out.numFailedTestSuites += 1;
      out.numTotalTestSuites += 1;
      warn(`merge-test-results: ${file} was not written; counting that suite as failed`);
      continue;
    }
    const result = JSON.parse(readFileSync(file, 'utf8'));
    for (const key of COUNTS) out[key] += Number(result[key] ?? 0);
    startTime = Math.min(startTime, result.startTime ?? Infinity);
    success &&= result.success === true;
    testResults.push(...(result.testResults ?? []));
  }
  return { ...out, startTime: Number.isFinite(startTime) ? startTime : Date.now(), success, testResults };
}

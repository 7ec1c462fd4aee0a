import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * hack/merge-test-results.mjs: `npm test` runs the unit+e2e and the chaos
 * suites as two vitest processes (hack/run-tests.mjs), and .ci/run prints its
 * closing line from the merge of their JSON results.
 */
type Merged = Record<string, number | boolean | unknown[]>;
const { mergeTestResults } = (await import(pathToFileURL(join(import.meta.dirname, '../../hack/merge-test-results.mjs')).href)) as {
  mergeTestResults: (files: string[], warn?: (message: string) => void) => Merged;
};

function result(dir: string, name: string, fields: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(fields));
  return file;
}

describe('mergeTestResults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-test-results-'));
  const e2e = result(dir, 'e2e.json', { numTotalTests: 10, numPassedTests: 9, numFailedTests: 0, numPendingTests: 1, numTotalTestSuites: 3, numPassedTestSuites: 3, startTime: 2000, success: true, testResults: [{ name: 'a' }, { name: 'b' }] });
  const chaos = result(dir, 'chaos.json', { numTotalTests: 5, numPassedTests: 4, numFailedTests: 1, numPendingTests: 0, numTotalTestSuites: 2, numPassedTestSuites: 1, numFailedTestSuites: 1, startTime: 1000, success: false, testResults: [{ name: 'c' }] });
  const clean = result(dir, 'clean.json', { numTotalTests: 5, numPassedTests: 5, numFailedTests: 0, startTime: 3000, success: true, testResults: [{ name: 'd' }] });

  it('sums the counts and keeps every test file', () => {
    const merged = mergeTestResults([e2e, chaos]);
    expect(merged).toMatchObject({ numTotalTests: 15, numPassedTests: 13, numFailedTests: 1, numPendingTests: 1, numTotalTestSuites: 5, numFailedTestSuites: 1, startTime: 1000, success: false });
    expect((merged.testResults as { name: string }[]).map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });

  it('succeeds only when every suite did', () => {
    expect(mergeTestResults([e2e, clean]).success).toBe(true);
    expect(mergeTestResults([clean, chaos]).success).toBe(false);
  });

  it('counts a suite that wrote no result as failed', () => {
    const warnings: string[] = [];
    const merged = mergeTestResults([e2e, join(dir, 'never-written.json')], (m) => warnings.push(m));
    expect(merged).toMatchObject({ success: false, numFailedTestSuites: 1, numPassedTests: 9 });
    expect(warnings.join('\n')).toContain('never-written.json');
  });
});

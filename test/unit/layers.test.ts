import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;

/**
 * The layering lint (`npm run lint:layers`, .dependency-cruiser.cjs) can fail:
 * the real rules, run on a two-file tree in a temp dir, report an upward
 * import and accept a downward one.
 */
describe('the layering lint', () => {
  let options: ICruiseOptions;
  let dir: string | undefined;

  beforeAll(async () => {
    options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
  });

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Writes the files into a fresh temp dir and cruises its src/ with the real rules. */
  async function lint(files: Record<string, string>): Promise<ICruiseResult> {
    dir = mkdtempSync(join(tmpdir(), 'layers-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    // The project's packages, so that imports of @kubernetes/client-node resolve as they do in the real tree.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const { output } = await cruise(['src'], { ...options, baseDir: dir, outputType: 'json' });
    return JSON.parse(output as string) as ICruiseResult;
  }

  const violations = (result: ICruiseResult) =>
    result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));

  it('reports core importing configpush (an upward import)', async () => {
    const result = await lint({
      'src/core/a.ts': "import { b } from '../configpush/b.js';\nexport const a = b + 1;\n",
      'src/configpush/b.ts': 'export const b = 1;\n',
    });
    expect(violations(result)).toEqual([{ rule: 'core-only-api-util', from: 'src/core/a.ts', to: 'src/configpush/b.ts' }]);
    expect(result.summary.error).toBe(1);
  });

  it('reports an upward import that is type-only too', async () => {
    const result = await lint({
      'src/core/a.ts': "import type { B } from '../configpush/b.js';\nexport const a = (b: B) => b.n;\n",
      'src/configpush/b.ts': 'export interface B { n: number }\n',
    });
    expect(violations(result)).toEqual([{ rule: 'core-only-api-util', from: 'src/core/a.ts', to: 'src/configpush/b.ts' }]);
  });

  it('accepts configpush importing core (a downward import)', async () => {
    const result = await lint({
      'src/core/a.ts': 'export const a = 1;\n',
      'src/configpush/b.ts': "import { a } from '../core/a.js';\nexport const b = a + 1;\n",
    });
    expect(violations(result)).toEqual([]);
    expect(result.summary.totalCruised).toBe(2);
    expect(result.summary.totalDependenciesCruised).toBe(1);
  });

  // Values come from src/kube/client-node.ts, which the build bundles (hack/bundle-client-node.mjs); types from anywhere.
  it('reports a client-node value imported from the package instead of src/kube/client-node.ts', async () => {
    const result = await lint({
      'src/kube/client-node.ts': "export { Watch } from '@kubernetes/client-node';\n",
      'src/kube/a.ts': "import { KubeConfig } from '@kubernetes/client-node';\nexport const a = new KubeConfig();\n",
      'src/kube/b.ts': "import type { KubeConfig } from '@kubernetes/client-node';\nimport { Watch } from './client-node.js';\nexport const b = (k: KubeConfig) => new Watch(k);\n",
    });
    expect(violations(result)).toEqual([
      // The package resolves through the symlink to its real path.
      { rule: 'client-node-values-through-one-module', from: 'src/kube/a.ts', to: expect.stringMatching(/node_modules\/@kubernetes\/client-node\/dist\/index\.js$/) },
    ]);
  });
});

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiException, isNotFound, statusCode } from '../../src/kube/api-errors.js';
import * as reexport from '../../src/kube/client-node.js';

const root = new URL('../..', import.meta.url).pathname;
// Inside the repository, so that the bundler resolves @kubernetes/client-node and undici from node_modules as it does for dist/.
const outDir = join(root, '.cache/unit-client-node-bundle');
const bundled = join(outDir, 'src/kube/client-node.js');

/**
 * hack/bundle-client-node.mjs, run as `npm run build` runs it: on the module
 * tsc emits for src/kube/client-node.ts, in an outDir of its own. The bundle
 * must export the same values under the same names, load nothing from
 * @kubernetes/client-node, share undici with the operator's HTTP layer, and
 * work (a client built from it makes a request and reports an error as
 * client-node does).
 */
describe('the client-node bundle', () => {
  let bundle: Record<string, unknown>;

  beforeAll(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(join(outDir, 'src/kube'), { recursive: true });
    const source = readFileSync(join(root, 'src/kube/client-node.ts'), 'utf8');
    // ESNext: what NodeNext emits for this ESM package (transpileModule alone cannot see package.json's "type").
    const emitted = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true } });
    writeFileSync(bundled, emitted.outputText);
    const run = spawnSync(process.execPath, [join(root, 'hack/bundle-client-node.mjs'), outDir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    bundle = (await import(bundled)) as Record<string, unknown>;
  }, 120_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('exports every value src/kube/client-node.ts exports, of the same kind', () => {
    const names = Object.keys(reexport).sort();
    expect(names.length).toBeGreaterThan(10);
    expect(Object.keys(bundle).sort()).toEqual(names);
    for (const name of names) expect(typeof bundle[name], name).toBe(typeof (reexport as Record<string, unknown>)[name]);
  });

  it('imports nothing from @kubernetes/client-node, undici from the package, is ASCII, and is a fraction of the generated API', () => {
    const text = readFileSync(bundled, 'utf8');
    expect(text).not.toContain('@kubernetes/client-node');
    expect(text).toMatch(/from\s*"undici"/);
    // ASCII, so V8 holds the source as one byte a character (the escapes of the three characters that are not).
    expect(text).not.toMatch(/[^\x00-\x7f]/);
    expect(text).toContain('\\ufffd');
    // The generated ObservableAPI.js alone is ~7 MB; the bundle of what the operator uses is ~2.3 MB.
    const observable = readFileSync(join(root, 'node_modules/@kubernetes/client-node/dist/gen/types/ObservableAPI.js'), 'utf8');
    expect(text.length).toBeLessThan(observable.length / 2);
  });

  it('refuses to bundle a file that is not the re-export tsc emits', () => {
    const again = spawnSync(process.execPath, [join(root, 'hack/bundle-client-node.mjs'), outDir], { cwd: root, encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('is not the re-export');
  });

  it('builds a client that sends a request and turns a 404 into its ApiException', async () => {
    const { createServer } = await import('node:http');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'configmaps "x" not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const KubeConfig = bundle.KubeConfig as typeof reexport.KubeConfig;
      const CoreV1Api = bundle.CoreV1Api as typeof reexport.CoreV1Api;
      const ApiException = bundle.ApiException as typeof reexport.ApiException;
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const error = await kubeConfig
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: 'x', namespace: 'ns' })
        .then(() => undefined, (err: unknown) => err);
      expect(seen).toEqual(['GET /api/v1/namespaces/ns/configmaps/x']);
      expect(error).toBeInstanceOf(ApiException);
      expect((error as { code: number }).code).toBe(404);
      // Here src/ runs on the package's classes, so the bundle's ApiException is another class of the same name, as
      // the package's is to a build (the bench's helpers): the error mapping goes by its shape and still reads it.
      expect(error).not.toBeInstanceOf(reexport.ApiException);
      expect(isApiException(error)).toBe(true);
      expect(statusCode(error)).toBe(404);
      expect(isNotFound(error)).toBe(true);
    } finally {
      server.close();
    }
  });
});

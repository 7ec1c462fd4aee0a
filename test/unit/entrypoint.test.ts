import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { imageNodeFlags } from '../support/image.js';

const root = new URL('../..', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${root}/${path}`, 'utf8');

/** What runs locally (`npm start`) and in the bench must be what the image runs. */
describe('the node flags of the operator', () => {
  it('are the same in the image (Dockerfile ENTRYPOINT) and in hack/start.sh', () => {
    const image = imageNodeFlags(root);
    expect(image).toContain('--optimize-for-size');
    const start = read('hack/start.sh').match(/^exec node (.*) dist\/src\/main\.js "\$@"$/m);
    expect(start?.[1]?.split(/\s+/)).toEqual(image);
  });
});

/** The literal env of the Deployment's operator container (what the bench gives the operator, bench/options.ts). */
function containerEnv(yamlText: string): Record<string, string> {
  type Container = { name?: string; env?: { name: string; value?: string }[] };
  const docs = parseAllDocuments(yamlText).map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } });
  const container = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.containers?.find((c) => c.name === 'operator');
  const env: Record<string, string> = {};
  for (const e of container?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/** glibc's malloc arenas, capped at 2 (docs/benchmarks.md, memory, 2026-11-29 night): wherever the operator is started. */
describe('MALLOC_ARENA_MAX of the operator', () => {
  it('is 2 in the image, the Deployment, the chart (its copy and its template) and hack/start.sh', () => {
    expect(read('Dockerfile')).toMatch(/^ENV MALLOC_ARENA_MAX=2$/m);
    expect(containerEnv(read('manifests/deployment.yaml')).MALLOC_ARENA_MAX).toBe('2');
    expect(containerEnv(read('charts/configpush-operator/files/manifests/deployment.yaml')).MALLOC_ARENA_MAX).toBe('2');
    // The template is not YAML until helm renders it; its env entry is literal text.
    expect(read('charts/configpush-operator/templates/deployment.yaml')).toMatch(/- name: MALLOC_ARENA_MAX\n\s+value: "2"\n/);
    // A caller's own value wins locally; the default is the image's.
    expect(read('hack/start.sh')).toMatch(/^export MALLOC_ARENA_MAX="\$\{MALLOC_ARENA_MAX:-2\}"$/m);
  });
});

/** The image builds with `npm run build`, which bundles client-node (hack/bundle-client-node.mjs, src/kube/client-node.ts). */
describe('the image build', () => {
  it('has the bundle step and the bundler: the script in the context, optional dependencies (the native binding) installed', () => {
    const dockerfile = read('Dockerfile');
    expect(JSON.parse(read('package.json')).scripts.build).toMatch(/^tsc -p tsconfig\.json && node hack\/bundle-client-node\.mjs dist( |$)/);
    expect(dockerfile).toMatch(/^COPY hack\/bundle-client-node\.mjs \.\/hack\/$/m);
    const buildStage = dockerfile.slice(dockerfile.indexOf(' AS build'), dockerfile.indexOf(' AS runtime'));
    expect(buildStage).toMatch(/npm ci /);
    expect(buildStage).not.toMatch(/--omit=optional/);
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toContain('hack');
    expect(ignored).toContain('!hack/bundle-client-node.mjs');
  });
});

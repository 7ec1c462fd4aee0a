// Layering lint for src/ (`npm run lint:layers`, part of `npm test`).
//
// Layers, lowest first; a file may import only from its own folder or a lower layer:
//   0 api/         types and constants
//   1 util/, core/ generic helpers; pure domain logic (util never imports core)
//   2 kube/        apiserver I/O
//   3 runtime/     generic controller runtime
//   4 configpush/  the ConfigPush domain
//   5 operator/, cli/, main.ts  composition root
// With tsPreCompilationDeps, type-only imports count too, except where a rule
// says otherwise (core may use client-node and pino types, never their values).
// A mixed import (`import { x, type Y }`) is a runtime import.
// test/unit/layers.test.ts loads this file to prove the rules fire.

/** Folders above each layer, as a `to.path` pattern. */
const above = (...folders) => `^src/(${folders.join('|')})/|^src/main\\.ts$`;

// What core must never load at runtime: Node builtins that do I/O, and the
// packages that talk to the apiserver or do logging or metrics. Resolved
// builtins lose their 'node:' prefix ('node:http' resolves to 'http').
const IO_BUILTINS = ['http', 'https', 'http2', 'net', 'tls', 'dgram', 'dns', 'fs', 'child_process', 'cluster', 'worker_threads'];
const IO_PACKAGES = ['undici', 'pino', 'prom-client'];
const builtin = (names) => `^(node:)?(${names.join('|')})(/|$)`;
const npmPackage = (names) => `(^|/)node_modules/(${names.join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules in src/ must not depend on each other in a cycle; cycles make layering and load order meaningless.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test-or-bench',
      comment: 'Production code in src/ must never import from test/ or bench/.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'api-imports-nothing-from-src',
      comment: 'src/api/ is the lowest layer (types and constants) and imports nothing else from src/, not even types.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: '^src/api/' },
    },
    {
      name: 'util-only-api',
      comment: 'src/util/ is generic and may import only src/api/ (never core/, which is domain logic, nor anything higher).',
      severity: 'error',
      from: { path: '^src/util/' },
      to: { path: '^src/', pathNot: '^src/(api|util)/' },
    },
    {
      name: 'core-only-api-util',
      comment: 'src/core/ is pure domain logic and may import only src/api/ and src/util/ from src/.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/(api|util|core)/' },
    },
    {
      name: 'core-client-node-type-only',
      comment: 'src/core/ may use @kubernetes/client-node only through `import type`, never as a runtime value (no ApiException, no API classes).',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: npmPackage(['@kubernetes/client-node']), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-no-runtime-io',
      comment: 'src/core/ is pure: it must not load I/O builtins (node:http, node:fs, ...), undici, pino or prom-client at runtime; `import type` (e.g. pino Logger) is fine.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        path: [builtin(IO_BUILTINS), npmPackage(IO_PACKAGES)],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'client-node-values-through-one-module',
      comment:
        'Values of @kubernetes/client-node (classes, functions, enums) come from src/kube/client-node.ts, which the build replaces with a tree-shaken bundle of just them (hack/bundle-client-node.mjs); a value imported from the package itself would load all of it again (~20 MiB RSS). `import type` is fine anywhere.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/kube/client-node\\.ts$' },
      to: { path: npmPackage(['@kubernetes/client-node']), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'kube-not-upward',
      comment: 'src/kube/ (apiserver I/O) may import only api/, util/ and core/ from src/, never runtime/, configpush/ or the composition root.',
      severity: 'error',
      from: { path: '^src/kube/' },
      to: { path: above('runtime', 'configpush', 'operator', 'cli') },
    },
    {
      name: 'runtime-not-upward',
      comment: 'src/runtime/ is a generic controller runtime and must not import configpush/ or the composition root.',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: above('configpush', 'operator', 'cli') },
    },
    {
      name: 'configpush-not-upward',
      comment: 'src/configpush/ (the ConfigPush domain) must not import the composition root (operator/, cli/, main.ts).',
      severity: 'error',
      from: { path: '^src/configpush/' },
      to: { path: above('operator', 'cli') },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

#!/usr/bin/env node
/**
 * Replaces the compiled src/kube/client-node.js (a re-export of the
 * @kubernetes/client-node values the operator uses) with a tree-shaken,
 * minified bundle of just those values and what they need.
 *
 *   node hack/bundle-client-node.mjs [outDir]     # outDir: dist (default), .cache/bench-dist, ...
 *
 * Why: the package's index loads the generated classes of every API group
 * (~50 MB of JavaScript on disk, ~17 MB of it source the process keeps for
 * its whole life); the operator uses five groups. Measured at startup
 * (docs/benchmarks.md): RSS 111 -> 90 MiB, JS heap 32 -> 13 MiB.
 *
 * Identifiers are not mangled, so a stack trace through client-node still
 * names its functions. No source map: the bundle is the package's code, whose
 * own maps the operator does not load either (src/main.ts).
 *
 * Run by `npm run build` after tsc, and by every script that compiles to
 * another outDir (bench, soak), so that what is measured is what ships.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'rolldown';

const outDir = resolve(process.argv[2] ?? 'dist');
const file = join(outDir, 'src', 'kube', 'client-node.js');
if (!existsSync(file)) {
  console.error(`bundle-client-node: ${file} does not exist; compile first (tsc -p tsconfig.json --outDir ${process.argv[2] ?? 'dist'})`);
  process.exit(1);
}
const compiled = readFileSync(file, 'utf8');
// Only ever the plain re-export tsc emits: bundling an already bundled file again would be a no-op at best.
if (!compiled.includes("from '@kubernetes/client-node'")) {
  console.error(`bundle-client-node: ${file} is not the re-export that tsc compiles; nothing done`);
  process.exit(1);
}

await build({
  input: file,
  platform: 'node',
  treeshake: true,
  // The operator's own HTTP layer (src/kube/undici-http-library.ts) uses the same undici as client-node (one
  // deduplicated copy in package-lock.json): it stays one module, so the dispatchers client-node builds from the
  // kubeconfig are the very classes the operator hands requests to, and undici is loaded once.
  external: ['undici'],
  logLevel: 'warn',
  output: {
    file,
    format: 'esm',
    // client-node imports some of its auth providers lazily; one file keeps the layout of dist/ unchanged.
    codeSplitting: false,
    minify: { mangle: false, compress: true, codegen: { removeWhitespace: true } },
    sourcemap: false,
  },
});
// tsc's map describes the re-export, not the bundle now in its place.
rmSync(`${file}.map`, { force: true });

// ASCII only, as esbuild writes by default: V8 keeps a module's source for the
// process's life, and one non-Latin-1 character (client-node's bundled
// dependencies have three, in string literals) makes it keep the whole source
// as UTF-16, twice the bytes (4.6 MB instead of 2.3 in a heap snapshot). An
// escape means the same character in a string, a template or a regular
// expression; astral characters become surrogate pairs, which all three accept.
const escaped = readFileSync(file, 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
writeFileSync(file, escaped);

const bundled = readFileSync(file, 'utf8');
if (/[^\x00-\x7f]/.test(bundled)) {
  console.error(`bundle-client-node: ${file} still holds characters outside ASCII`);
  process.exit(1);
}
if (bundled.includes('@kubernetes/client-node')) {
  console.error(`bundle-client-node: ${file} still imports @kubernetes/client-node`);
  process.exit(1);
}
console.log(`bundle-client-node: ${file}: ${(bundled.length / 1e6).toFixed(2)} MB`);

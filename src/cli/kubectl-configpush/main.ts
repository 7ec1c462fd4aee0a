#!/usr/bin/env node
/**
 * kubectl-configpush: the kubectl plugin (`kubectl configpush ...`; kubectl
 * runs any executable named kubectl-<name> on PATH). package.json "bin"
 * points here. Only Node builtins are loaded before the version check
 * (node-runtime.ts); then source maps for our own modules (as src/main.ts),
 * then the program.
 */
import { relaunchIfUnsupported } from './node-runtime.js';

const argv = process.argv.slice(2);
const relaunched = relaunchIfUnsupported(import.meta.url, argv);
if (relaunched !== undefined) process.exit(relaunched);

// Dynamic: setSourceMapsSupport does not exist on the old Node handled above.
const { setSourceMapsSupport } = await import('node:module');
setSourceMapsSupport(true, { nodeModules: false, generatedCode: false });
const { run, processIo } = await import('./program.js');
const code = await run(argv, processIo());
// Exit now rather than when the connection pool's idle sockets time out,
// once the output is flushed (pipes are asynchronous on some platforms).
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
process.exit(code);

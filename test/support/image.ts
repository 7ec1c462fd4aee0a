import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The image's ENTRYPOINT, split where the program starts (Dockerfile: ["node", ...flags, "dist/src/main.js"]). */
function entrypoint(root: string): { flags: string[]; program: string } {
  const line = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error('Dockerfile has no ENTRYPOINT');
  const args = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  const script = args.findIndex((arg) => arg.endsWith('main.js'));
  if (args[0] !== 'node' || script < 0 || script !== args.length - 1) throw new Error(`Dockerfile ENTRYPOINT is not ["node", ...flags, ".../main.js"]: ${line}`);
  return { flags: args.slice(1, script), program: args[script]! };
}

/**
 * The flags the image gives node. The bench and the fault suite run the
 * operator with them, so they measure and test what ships.
 */
export function imageNodeFlags(root: string): string[] {
  return entrypoint(root).flags;
}

/** The program the image runs (the Helm chart's `nodeFlags` command repeats it). */
export function imageProgram(root: string): string {
  return entrypoint(root).program;
}

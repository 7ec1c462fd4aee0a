import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The flags the image gives node (Dockerfile: ENTRYPOINT ["node", ...flags,
 * "dist/src/main.js"]). The bench and the fault suite run the operator with
 * them, so they measure and test what ships.
 */
export function imageNodeFlags(root: string): string[] {
  const line = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  if (!line) throw new Error('Dockerfile has no ENTRYPOINT');
  const entrypoint = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  const script = entrypoint.findIndex((arg) => arg.endsWith('main.js'));
  if (entrypoint[0] !== 'node' || script < 0) throw new Error(`Dockerfile ENTRYPOINT is not ["node", ...flags, ".../main.js"]: ${line}`);
  return entrypoint.slice(1, script);
}

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../support/paths.js';
import { parseSoakOptions } from './options.js';

/**
 * `npm run soak`: compiled with the rest of the tree into .cache/soak-dist
 * (as the bench is), it runs the operator from that same build, so a fault
 * suite run that rebuilds .cache/chaos/dist meanwhile does not change the
 * operator under soak; its logs and pids live in .cache/soak/run, apart from
 * the fault suite's. Those are read when the chaos modules load, hence the
 * dynamic import after they are set.
 */
let options;
try {
  options = parseSoakOptions(process.argv.slice(2), repoRoot);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
process.env.CHAOS_OPERATOR_DIST ??= resolve(dirname(fileURLToPath(import.meta.url)), '../..');
process.env.CHAOS_RUN_DIR ??= join(repoRoot, '.cache/soak/run');
process.env.CLUSTER_DIR ??= join(repoRoot, '.cache/cluster-soak');
const { runSoak } = await import('./soak.js');
// Clients may keep idle connections open: exit once the figures are written.
process.exit(await runSoak(options, repoRoot));

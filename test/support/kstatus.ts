import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** What sigs.k8s.io/cli-utils' status.Compute says about one object (hack/kstatus prints it). */
export interface KstatusVerdict {
  kind: string;
  namespace?: string;
  name: string;
  /** InProgress, Failed, Current, Terminating, NotFound or Unknown. */
  status: string;
  message: string;
}

let binary: string | undefined;

/**
 * The checker binary: hack/kstatus/build.sh builds it from the Go module
 * proxy the first time (about 30 s with warm Go caches, 1-2 min cold) and
 * prints the cached path at once afterwards.
 */
export function kstatusBinary(): string {
  if (binary) return binary;
  const build = spawnSync('bash', [join(repoRoot, 'hack/kstatus/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (build.error) throw new Error(`hack/kstatus/build.sh could not run: ${build.error.message}`);
  if (build.status !== 0) throw new Error(`hack/kstatus/build.sh failed (exit ${build.status}); see the output above`);
  binary = build.stdout.trim();
  return binary;
}

/** Runs the real kstatus library on objects as the apiserver returned them; one verdict per object, in order. */
export function kstatus(...objects: unknown[]): KstatusVerdict[] {
  const input = objects.map((o) => JSON.stringify(o)).join('\n');
  const run = spawnSync(kstatusBinary(), [], { input, encoding: 'utf8' });
  if (run.error) throw new Error(`the kstatus checker could not run: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`the kstatus checker failed (exit ${run.status}): ${run.stderr.trim()}`);
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as KstatusVerdict);
}
